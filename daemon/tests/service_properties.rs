//! Hostile input straight into the service layer, no socket in the way,
//! property-based so that every CI run tries new inputs: (a) arbitrary
//! bytes — random, or a valid request of any type with bytes flipped,
//! inserted, dropped or cut off — decoded as every request type and, where
//! prost accepts them, handed to the real `SessionsService` over a real
//! store; (b) arbitrary sequences of API calls with valid and invalid
//! arguments and expected revisions. It guards that nothing panics (a hook
//! counts panics anywhere: handlers, spawned tasks, the writer thread);
//! that every refusal carries one of the documented client-error codes and
//! a message, and changes nothing; that every success moves the project's
//! revision by exactly one (zero for the calls documented to change
//! nothing); that counts always match the messages and files that can be
//! read back; and that a small model of the working and saved sessions
//! always agrees with what the daemon returns.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Once,
        atomic::{AtomicUsize, Ordering},
    },
};

use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, AppendToMessageRequest, ClearMessagesRequest, ContextFile,
    DeleteMessagesRequest, DeleteSessionRequest, ExportBundleRequest, ExportImageRequest, ExportRequest,
    FollowAiderRequest, GetSessionRequest, GetStatusRequest, GetWorkingSessionRequest, ImportBundleChunk,
    ListAiderFollowsRequest, ListProjectsRequest, ListSessionsRequest, ListTrashRequest, LoadSessionRequest, Message,
    OpenProjectRequest, ProjectState, PurgeTrashRequest, RemoveContextFilesRequest, RenameSessionRequest,
    RestoreTrashRequest, SaveSessionRequest, SessionContent, SessionInfo, SetContextFilesRequest, TrashEntry,
    UnfollowAiderRequest, UpdateMessageRequest, WatchRequest, sessions_server::Sessions,
};
use chronicled::{
    service::{DaemonFacts, SessionsService},
    store::{Limits, Store, StoreConfig, validate},
};
use proptest::{
    prelude::*,
    sample::{Index, select},
    test_runner::{Config, TestCaseError, TestRunner},
};
use prost::Message as _;
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Status};

/// Inputs tried by the bytes test; each is cheap (a decode, maybe a call).
const BYTE_CASES: u32 = 8192;
/// Call sequences tried, each on a fresh store.
const SEQUENCE_CASES: u32 = 256;
/// Longest call sequence.
const MAX_STEPS: usize = 32;

/// `cases` times CHRONICLE_PROPTEST_SCALE (default 1), for a deeper run by
/// hand: `CHRONICLE_PROPTEST_SCALE=50 cargo test -p chronicled --test
/// service_properties`.
fn scaled(cases: u32) -> u32 {
    let scale = std::env::var("CHRONICLE_PROPTEST_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    cases.saturating_mul(scale)
}

/// The codes a refusal may carry: the client-error codes of the contract.
/// INTERNAL (storage failure), UNKNOWN (a handler bug) or UNAVAILABLE (the
/// writer died) are never an answer to bad input.
const REFUSALS: [Code; 5] = [
    Code::InvalidArgument,
    Code::NotFound,
    Code::AlreadyExists,
    Code::FailedPrecondition,
    Code::ResourceExhausted,
];

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// The tests of this file: a panic on their own threads reaches proptest
/// (handlers run there, on a current-thread runtime) and fails the case.
const TEST_THREADS: [&str; 2] = [
    "arbitrary_bytes_as_any_request_never_panic_and_refusals_change_nothing",
    "call_sequences_keep_revisions_counts_and_contents_consistent",
];

/// Counts the panics on every other thread — the writer thread, tokio's
/// blocking pool (exports) — which would otherwise go unseen.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            if !thread.name().is_some_and(|name| TEST_THREADS.contains(&name)) {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

/// A scratch directory, on tmpfs where there is one: the sequences commit
/// thousands of times and the fsyncs are not what is under test.
fn scratch_dir() -> tempfile::TempDir {
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("chronicle-props-");
        b
    };
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = builder.tempdir_in(shm)
    {
        return dir;
    }
    builder.tempdir().expect("create a temp dir")
}

/// A real store in a temp dir and the real service over it.
struct Harness {
    service: SessionsService,
    store: Store,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new(limits: Limits) -> Self {
        let dir = scratch_dir();
        let config = StoreConfig {
            limits,
            ..StoreConfig::default()
        };
        let store = Store::open(&dir.path().join("chronicle.redb"), config).expect("open the store");
        let facts = DaemonFacts {
            socket: dir.path().join("unused.sock"),
            data_dir: dir.path().to_path_buf(),
            started_at_ms: 0,
        };
        let service = SessionsService::new(store.clone(), facts, CancellationToken::new());
        Harness {
            service,
            store,
            _dir: dir,
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.store.close();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime")
}

/// Checks a refusal: a documented client-error code, with a message.
fn check_refusal(status: &Status, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        REFUSALS.contains(&status.code()),
        "{what}: refused with {:?} ({}), not a client-error code",
        status.code(),
        status.message()
    );
    prop_assert!(!status.message().is_empty(), "{what}: refused without a message");
    prop_assert!(
        status.message().len() <= validate::MAX_ERROR_BYTES + 16,
        "{what}: a {}-byte error message",
        status.message().len()
    );
    Ok(())
}

// ------------------------------------------------------ (a) arbitrary bytes

const FUZZ_PROJECT: &str = "/fuzz/project";

/// Declares every request type once: its name, a valid instance (the seed
/// that edits start from) and how a decoded request is called. `stream`
/// drains a server stream; `first` takes the first event of an endless
/// one; `decode` only decodes (image export belongs to its own suite).
macro_rules! rpcs {
    ($($name:literal: $ty:ty => $method:ident, $kind:ident, $seed:expr;)*) => {
        const RPC_NAMES: &[&str] = &[$($name),*];

        fn seeds() -> Vec<Vec<u8>> {
            vec![$(<$ty>::encode_to_vec(&$seed)),*]
        }

        /// Decodes `bytes` as request type `rpc` and, when prost accepts
        /// them, makes the call. `None` when they do not decode.
        async fn call_decoded(service: &SessionsService, rpc: usize, bytes: &[u8]) -> Option<Result<(), Status>> {
            let mut index = 0usize;
            $(
                if rpc == index {
                    let request = <$ty>::decode(bytes).ok()?;
                    return Some(rpcs!(@$kind service, $method, request));
                }
                index += 1;
            )*
            let _ = index;
            None
        }
    };
    (@unary $service:ident, $method:ident, $request:ident) => {
        $service.$method(Request::new($request)).await.map(|_| ())
    };
    (@stream $service:ident, $method:ident, $request:ident) => {
        match $service.$method(Request::new($request)).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                let mut result = Ok(());
                while let Some(item) = stream.next().await {
                    if let Err(status) = item {
                        result = Err(status);
                    }
                }
                result
            }
            Err(status) => Err(status),
        }
    };
    (@first $service:ident, $method:ident, $request:ident) => {
        match $service.$method(Request::new($request)).await {
            Ok(response) => match response.into_inner().next().await {
                Some(Err(status)) => Err(status),
                _ => Ok(()),
            },
            Err(status) => Err(status),
        }
    };
    (@decode $service:ident, $method:ident, $request:ident) => {{
        let _ = (&$service, $request);
        Ok(())
    }};
}

fn seed_message() -> Message {
    Message {
        id: 1,
        role: 2,
        content: "seed".into(),
        model: "m".into(),
        edited_files: vec!["a.rs".into()],
        metadata: [("k".to_owned(), "v".to_owned())].into(),
        ..Message::default()
    }
}

fn seed_file() -> ContextFile {
    ContextFile {
        path: "src/a.rs".into(),
        read_only: true,
        ..ContextFile::default()
    }
}

rpcs! {
    "OpenProject": OpenProjectRequest => open_project, unary,
        OpenProjectRequest { project: FUZZ_PROJECT.into(), start: 1, expected_revision: None };
    "ListProjects": ListProjectsRequest => list_projects, unary, ListProjectsRequest {};
    "GetWorkingSession": GetWorkingSessionRequest => get_working_session, unary,
        GetWorkingSessionRequest { project: FUZZ_PROJECT.into(), after_message_id: 1, limit: 2 };
    "AppendMessage": AppendMessageRequest => append_message, unary,
        AppendMessageRequest { project: FUZZ_PROJECT.into(), message: Some(seed_message()), expected_revision: Some(3) };
    "AppendToMessage": AppendToMessageRequest => append_to_message, unary,
        AppendToMessageRequest { project: FUZZ_PROJECT.into(), message_id: 1, delta: "more".into(), expected_revision: None };
    "UpdateMessage": UpdateMessageRequest => update_message, unary,
        UpdateMessageRequest { project: FUZZ_PROJECT.into(), message: Some(seed_message()), expected_revision: None };
    "DeleteMessages": DeleteMessagesRequest => delete_messages, unary,
        DeleteMessagesRequest { project: FUZZ_PROJECT.into(), message_id: 2, truncate_after: true, expected_revision: None };
    "ClearMessages": ClearMessagesRequest => clear_messages, unary,
        ClearMessagesRequest { project: FUZZ_PROJECT.into(), expected_revision: Some(1) };
    "AddContextFiles": AddContextFilesRequest => add_context_files, unary,
        AddContextFilesRequest { project: FUZZ_PROJECT.into(), files: vec![seed_file(), seed_file()], expected_revision: None };
    "RemoveContextFiles": RemoveContextFilesRequest => remove_context_files, unary,
        RemoveContextFilesRequest { project: FUZZ_PROJECT.into(), paths: vec!["src/a.rs".into()], expected_revision: None };
    "SetContextFiles": SetContextFilesRequest => set_context_files, unary,
        SetContextFilesRequest { project: FUZZ_PROJECT.into(), files: vec![seed_file()], expected_revision: None };
    "ListSessions": ListSessionsRequest => list_sessions, unary,
        ListSessionsRequest { project: FUZZ_PROJECT.into() };
    "SaveSession": SaveSessionRequest => save_session, unary,
        SaveSessionRequest { project: FUZZ_PROJECT.into(), name: "saved".into(), mode: 1, expected_revision: None };
    "LoadSession": LoadSessionRequest => load_session, unary,
        LoadSessionRequest { project: FUZZ_PROJECT.into(), name: "saved".into(), messages: true, files: true, expected_revision: None };
    "RenameSession": RenameSessionRequest => rename_session, unary,
        RenameSessionRequest { project: FUZZ_PROJECT.into(), name: "saved".into(), new_name: "renamed".into(), expected_revision: None };
    "DeleteSession": DeleteSessionRequest => delete_session, unary,
        DeleteSessionRequest { project: FUZZ_PROJECT.into(), name: "saved".into(), expected_revision: None };
    "GetSession": GetSessionRequest => get_session, unary,
        GetSessionRequest { project: FUZZ_PROJECT.into(), name: "saved".into(), after_message_id: 0, limit: 1 };
    "ListTrash": ListTrashRequest => list_trash, unary, ListTrashRequest { project: FUZZ_PROJECT.into() };
    "RestoreTrash": RestoreTrashRequest => restore_trash, unary,
        RestoreTrashRequest { id: "1".into(), new_name: "restored".into(), expected_revision: None };
    "PurgeTrash": PurgeTrashRequest => purge_trash, unary, PurgeTrashRequest { id: "1".into(), older_than_ms: 0, expected_revision: None };
    "ExportMarkdown": ExportRequest => export_markdown, stream,
        ExportRequest { project: FUZZ_PROJECT.into(), ..ExportRequest::default() };
    "ExportImage": ExportImageRequest => export_image, decode,
        ExportImageRequest { project: FUZZ_PROJECT.into(), width_px: 800, scale: 2.0, ..ExportImageRequest::default() };
    "Watch": WatchRequest => watch, first, WatchRequest { project: FUZZ_PROJECT.into() };
    "GetStatus": GetStatusRequest => get_status, unary, GetStatusRequest {};
    "ExportBundle": ExportBundleRequest => export_bundle, stream,
        ExportBundleRequest { project: FUZZ_PROJECT.into() };
    "ImportBundle": ImportBundleChunk => import_bundle, decode,
        ImportBundleChunk { data: b"{}\n".to_vec(), project: FUZZ_PROJECT.into(), ..ImportBundleChunk::default() };
    "FollowAider": FollowAiderRequest => follow_aider, unary,
        FollowAiderRequest { project: FUZZ_PROJECT.into(), path: String::new(), catch_up: true };
    "UnfollowAider": UnfollowAiderRequest => unfollow_aider, unary,
        UnfollowAiderRequest { project: FUZZ_PROJECT.into() };
    "ListAiderFollows": ListAiderFollowsRequest => list_aider_follows, unary, ListAiderFollowsRequest {};
}

/// Where the bytes of one input come from.
#[derive(Clone, Debug)]
enum Bytes {
    Random(Vec<u8>),
    /// A valid request of type `seed` (maybe not the type it is decoded
    /// as), with edits: (where, byte, what) — 0 flips bits, 1 inserts,
    /// 2 deletes, 3 cuts the rest off.
    Edited {
        seed: usize,
        edits: Vec<(Index, u8, u8)>,
    },
}

impl Bytes {
    fn build(&self, seeds: &[Vec<u8>]) -> Vec<u8> {
        match self {
            Bytes::Random(bytes) => bytes.clone(),
            Bytes::Edited { seed, edits } => {
                let mut bytes = seeds[*seed].clone();
                for (at, byte, what) in edits {
                    let len = bytes.len();
                    match what {
                        0 if len > 0 => bytes[at.index(len)] ^= byte.max(&1),
                        1 => bytes.insert(at.index(len + 1), *byte),
                        2 if len > 0 => {
                            bytes.remove(at.index(len));
                        }
                        3 if len > 0 => bytes.truncate(at.index(len)),
                        _ => {}
                    }
                }
                bytes
            }
        }
    }
}

fn hostile_bytes() -> impl Strategy<Value = (usize, Bytes)> {
    let rpcs = RPC_NAMES.len();
    let bytes = prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Bytes::Random),
        3 => (0..rpcs, prop::collection::vec((any::<Index>(), any::<u8>(), 0..4u8), 0..8))
            .prop_map(|(seed, edits)| Bytes::Edited { seed, edits }),
    ];
    (0..rpcs, bytes)
}

/// What a refused call must leave alone: every project, the whole trash,
/// the totals.
#[derive(Debug, PartialEq)]
struct Fingerprint {
    projects: Vec<ProjectState>,
    trash: Vec<TrashEntry>,
    totals: (u32, u32, u32),
}

async fn fingerprint(service: &SessionsService) -> Result<Fingerprint, Status> {
    let projects = service
        .list_projects(Request::new(ListProjectsRequest {}))
        .await?
        .into_inner()
        .projects;
    let trash = service
        .list_trash(Request::new(ListTrashRequest::default()))
        .await?
        .into_inner()
        .entries;
    let status = service
        .get_status(Request::new(GetStatusRequest {}))
        .await?
        .into_inner();
    Ok(Fingerprint {
        projects,
        trash,
        totals: (status.project_count, status.saved_session_count, status.trash_count),
    })
}

/// Gives the fuzz store something to hit: messages 1–3, a file, a saved
/// session "saved", a trash entry.
async fn seed_store(service: &SessionsService) -> Result<(), Status> {
    for content in ["one", "two", "three"] {
        service
            .append_message(Request::new(AppendMessageRequest {
                project: FUZZ_PROJECT.into(),
                message: Some(Message {
                    role: 1,
                    content: content.into(),
                    ..Message::default()
                }),
                expected_revision: None,
            }))
            .await?;
    }
    service
        .add_context_files(Request::new(AddContextFilesRequest {
            project: FUZZ_PROJECT.into(),
            files: vec![seed_file()],
            expected_revision: None,
        }))
        .await?;
    for name in ["saved", "trashed"] {
        service
            .save_session(Request::new(SaveSessionRequest {
                project: FUZZ_PROJECT.into(),
                name: name.into(),
                mode: 0,
                expected_revision: None,
            }))
            .await?;
    }
    service
        .delete_session(Request::new(DeleteSessionRequest {
            project: FUZZ_PROJECT.into(),
            name: "trashed".into(),
            expected_revision: None,
        }))
        .await?;
    Ok(())
}

/// Tallies of one run, printed for docs/RELIABILITY.md.
#[derive(Debug, Default)]
struct Tally {
    inputs: u64,
    decoded: u64,
    ok: u64,
    refused: BTreeMap<String, u64>,
}

#[test]
fn arbitrary_bytes_as_any_request_never_panic_and_refusals_change_nothing() {
    count_panics();
    let rt = runtime();
    let harness = Harness::new(Limits::default());
    let service = &harness.service;
    rt.block_on(seed_store(service)).expect("seed the store");
    let seeds = seeds();
    let tally = std::cell::RefCell::new(Tally::default());
    let mut runner = TestRunner::new(Config {
        cases: scaled(BYTE_CASES),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&hostile_bytes(), |(rpc, bytes)| {
        let bytes = bytes.build(&seeds);
        let name = RPC_NAMES[rpc];
        let panics = PANICS.load(Ordering::SeqCst);
        rt.block_on(async {
            let before = fingerprint(service)
                .await
                .map_err(|s| TestCaseError::fail(s.to_string()))?;
            let outcome = call_decoded(service, rpc, &bytes).await;
            {
                let mut tally = tally.borrow_mut();
                tally.inputs += 1;
                match &outcome {
                    None => {}
                    Some(Ok(())) => (tally.decoded, tally.ok) = (tally.decoded + 1, tally.ok + 1),
                    Some(Err(status)) => {
                        tally.decoded += 1;
                        *tally.refused.entry(format!("{:?}", status.code())).or_default() += 1;
                    }
                }
            }
            let Some(result) = outcome else {
                return Ok(());
            };
            match result {
                Ok(()) => {}
                Err(status) => {
                    check_refusal(&status, name)?;
                    let after = fingerprint(service)
                        .await
                        .map_err(|s| TestCaseError::fail(s.to_string()))?;
                    prop_assert_eq!(&after, &before, "{} was refused but changed the store", name);
                }
            }
            // The service keeps answering.
            prop_assert!(
                service.get_status(Request::new(GetStatusRequest {})).await.is_ok(),
                "GetStatus fails after {}",
                name
            );
            Ok(())
        })?;
        prop_assert_eq!(PANICS.load(Ordering::SeqCst), panics, "{} panicked", name);
        Ok(())
    });
    let tally = tally.into_inner();
    eprintln!(
        "hostile bytes: {} inputs, {} decoded, {} accepted, refused {:?}",
        tally.inputs, tally.decoded, tally.ok, tally.refused
    );
    if let Err(err) = result {
        panic!("{err}");
    }
}

// -------------------------------------------------- (b) sequences of calls

const PROJECT: &str = "/props/project";
/// Tight limits, so that random input reaches them often.
const MAX_CONTENT: usize = 64;
const MAX_FILES: usize = 4;

/// `expected_revision` as a client might send it.
#[derive(Clone, Debug)]
enum Expect {
    Unconditional,
    Current,
    /// The current revision plus this (never 0): always stale.
    Stale(u64),
}

impl Expect {
    fn resolve(&self, current: u64) -> Option<u64> {
        match self {
            Expect::Unconditional => None,
            Expect::Current => Some(current),
            Expect::Stale(delta) => Some(current.wrapping_add(*delta)),
        }
    }

    fn is_stale(&self) -> bool {
        matches!(self, Expect::Stale(_))
    }
}

/// A message id: one that exists right now, or an arbitrary one.
#[derive(Clone, Debug)]
enum Target {
    Existing(Index),
    Other(u64),
}

/// A trash id: an entry that exists right now, or an arbitrary string.
#[derive(Clone, Debug)]
enum TrashTarget {
    Existing(Index),
    Other(String),
}

#[derive(Clone, Debug)]
enum Op {
    Open {
        empty: bool,
    },
    Append {
        role: i32,
        content: String,
        expect: Expect,
    },
    AppendNothing,
    AppendTo {
        target: Target,
        delta: String,
        expect: Expect,
    },
    Update {
        target: Target,
        role: i32,
        content: String,
        expect: Expect,
    },
    Delete {
        target: Target,
        truncate: bool,
        expect: Expect,
    },
    Clear {
        expect: Expect,
    },
    AddFiles {
        paths: Vec<String>,
        expect: Expect,
    },
    RemoveFiles {
        paths: Vec<String>,
        expect: Expect,
    },
    SetFiles {
        paths: Vec<String>,
        expect: Expect,
    },
    Save {
        name: String,
        overwrite: bool,
    },
    Load {
        name: String,
        messages: bool,
        files: bool,
        expect: Expect,
    },
    Rename {
        name: String,
        new_name: String,
    },
    DeleteSession {
        name: String,
    },
    Restore {
        entry: TrashTarget,
        new_name: String,
    },
    Purge {
        entry: Option<TrashTarget>,
        older_than_ms: i64,
    },
}

impl Op {
    fn expect(&self) -> Option<&Expect> {
        match self {
            Op::Append { expect, .. }
            | Op::AppendTo { expect, .. }
            | Op::Update { expect, .. }
            | Op::Delete { expect, .. }
            | Op::Clear { expect }
            | Op::AddFiles { expect, .. }
            | Op::RemoveFiles { expect, .. }
            | Op::SetFiles { expect, .. }
            | Op::Load { expect, .. } => Some(expect),
            _ => None,
        }
    }

    /// Calls that name no project ignore the project of the step.
    fn names_project(&self) -> bool {
        !matches!(self, Op::Restore { .. } | Op::Purge { .. })
    }
}

/// One call: the op, against our project or a malformed project path.
#[derive(Clone, Debug)]
struct Step {
    bad_project: Option<&'static str>,
    op: Op,
}

fn expect() -> impl Strategy<Value = Expect> {
    prop_oneof![
        6 => Just(Expect::Unconditional),
        2 => Just(Expect::Current),
        1 => select(vec![1u64, 2, u64::MAX, u64::MAX / 2]).prop_map(Expect::Stale),
    ]
}

fn role() -> impl Strategy<Value = i32> {
    prop_oneof![9 => 1..=6i32, 1 => select(vec![0, 7, -1, i32::MAX])]
}

/// Often under the content limit, sometimes over it (é is two bytes).
fn content() -> BoxedStrategy<String> {
    prop_oneof![9 => "[a-z é\n#`]{0,40}", 1 => "[a-zé]{56,70}"].boxed()
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        4 => any::<Index>().prop_map(Target::Existing),
        1 => select(vec![0u64, 999_999, u64::MAX]).prop_map(Target::Other),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => select(vec!["alpha", "beta", "gamma"]).prop_map(str::to_owned),
        1 => Just("  alpha ".to_owned()),
        1 => select(vec![
            String::new(),
            "   ".into(),
            "bell\u{7}".into(),
            "line\nbreak".into(),
            "n".repeat(129),
        ]),
    ]
}

fn paths() -> impl Strategy<Value = Vec<String>> {
    let valid = select(vec![
        "a.rs",
        "src/b.rs",
        "./a.rs",
        "src/../c.rs",
        "/elsewhere/d.rs",
        "e.rs",
        "f.rs",
    ]);
    let invalid = select(vec!["", ".", "nul\0.rs"]);
    let one = prop_oneof![12 => valid, 1 => invalid].prop_map(str::to_owned);
    prop::collection::vec(one, 0..6)
}

fn trash_target() -> impl Strategy<Value = TrashTarget> {
    prop_oneof![
        4 => any::<Index>().prop_map(TrashTarget::Existing),
        1 => select(vec!["999999", "0", "not-a-number", "-1", "", "18446744073709551615"])
            .prop_map(|s| TrashTarget::Other(s.to_owned())),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => any::<bool>().prop_map(|empty| Op::Open { empty }),
        8 => (role(), content(), expect()).prop_map(|(role, content, expect)| Op::Append { role, content, expect }),
        1 => Just(Op::AppendNothing),
        2 => (target(), "[a-z ]{0,40}", expect())
            .prop_map(|(target, delta, expect)| Op::AppendTo { target, delta, expect }),
        2 => (target(), role(), content(), expect())
            .prop_map(|(target, role, content, expect)| Op::Update { target, role, content, expect }),
        2 => (target(), any::<bool>(), expect())
            .prop_map(|(target, truncate, expect)| Op::Delete { target, truncate, expect }),
        1 => expect().prop_map(|expect| Op::Clear { expect }),
        2 => (paths(), expect()).prop_map(|(paths, expect)| Op::AddFiles { paths, expect }),
        1 => (paths(), expect()).prop_map(|(paths, expect)| Op::RemoveFiles { paths, expect }),
        1 => (paths(), expect()).prop_map(|(paths, expect)| Op::SetFiles { paths, expect }),
        3 => (name(), prop::bool::weighted(0.3)).prop_map(|(name, overwrite)| Op::Save { name, overwrite }),
        2 => (name(), any::<bool>(), any::<bool>(), expect())
            .prop_map(|(name, messages, files, expect)| Op::Load { name, messages, files, expect }),
        1 => (name(), name()).prop_map(|(name, new_name)| Op::Rename { name, new_name }),
        1 => name().prop_map(|name| Op::DeleteSession { name }),
        2 => (trash_target(), prop_oneof![3 => Just(String::new()), 1 => name()])
            .prop_map(|(entry, new_name)| Op::Restore { entry, new_name }),
        1 => (
            prop::option::weighted(0.7, trash_target()),
            select(vec![0i64, i64::MIN, i64::MAX, -1])
        )
            .prop_map(|(entry, older_than_ms)| Op::Purge { entry, older_than_ms }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let bad = prop_oneof![
        19 => Just(None),
        1 => select(vec!["", "relative/dir", "./here", "/nul\0inside"]).prop_map(Some),
    ];
    (bad, op()).prop_map(|(bad_project, op)| Step { bad_project, op })
}

fn files(paths: &[String]) -> Vec<ContextFile> {
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| ContextFile {
            path: path.clone(),
            read_only: i % 2 == 0,
            ..ContextFile::default()
        })
        .collect()
}

/// Everything a client can see of the one project of a sequence, read
/// through the service with small pages.
#[derive(Clone, Debug, PartialEq)]
struct Snapshot {
    projects: Vec<ProjectState>,
    working: SessionContent,
    sessions: Vec<SessionInfo>,
    saved: BTreeMap<String, SessionContent>,
    trash: Vec<TrashEntry>,
}

impl Snapshot {
    fn revision(&self) -> u64 {
        self.working.revision
    }
}

fn fail(status: Status) -> TestCaseError {
    TestCaseError::fail(format!("a read failed: {status}"))
}

async fn read_all(service: &SessionsService, name: Option<&str>) -> Result<SessionContent, TestCaseError> {
    let mut whole: Option<SessionContent> = None;
    let mut after = 0;
    loop {
        let page = match name {
            None => service
                .get_working_session(Request::new(GetWorkingSessionRequest {
                    project: PROJECT.into(),
                    after_message_id: after,
                    limit: 3,
                }))
                .await
                .map_err(fail)?,
            Some(name) => service
                .get_session(Request::new(GetSessionRequest {
                    project: PROJECT.into(),
                    name: name.into(),
                    after_message_id: after,
                    limit: 3,
                }))
                .await
                .map_err(fail)?,
        }
        .into_inner();
        let more = page.more;
        prop_assert!(
            page.messages.len() <= 3,
            "a page of limit 3 held {}",
            page.messages.len()
        );
        prop_assert!(!more || !page.messages.is_empty(), "an empty page said more follow");
        after = page.messages.last().map_or(after, |m| m.id);
        match whole.as_mut() {
            None => whole = Some(page),
            Some(whole) => {
                prop_assert_eq!(whole.total_messages, page.total_messages, "pages disagree on the total");
                whole.messages.extend(page.messages);
            }
        }
        if !more {
            break;
        }
    }
    whole.ok_or_else(|| TestCaseError::fail("no page"))
}

async fn snapshot(service: &SessionsService) -> Result<Snapshot, TestCaseError> {
    let projects = service
        .list_projects(Request::new(ListProjectsRequest {}))
        .await
        .map_err(fail)?
        .into_inner()
        .projects;
    let working = read_all(service, None).await?;
    let sessions = service
        .list_sessions(Request::new(ListSessionsRequest {
            project: PROJECT.into(),
        }))
        .await
        .map_err(fail)?
        .into_inner()
        .sessions;
    let mut saved = BTreeMap::new();
    for info in &sessions {
        saved.insert(info.name.clone(), read_all(service, Some(&info.name)).await?);
    }
    let trash = service
        .list_trash(Request::new(ListTrashRequest::default()))
        .await
        .map_err(fail)?
        .into_inner()
        .entries;
    Ok(Snapshot {
        projects,
        working,
        sessions,
        saved,
        trash,
    })
}

/// The invariants every state must satisfy, whatever led to it.
fn check_consistent(s: &Snapshot) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.projects.len(), 1, "exactly one project exists: {:?}", s.projects);
    let state = &s.projects[0];
    prop_assert_eq!(
        state.revision,
        s.working.revision,
        "ListProjects and the working session disagree"
    );
    prop_assert_eq!(
        state.message_count,
        s.working.messages.len() as u64,
        "ProjectState.message_count"
    );
    prop_assert_eq!(
        s.working.total_messages,
        s.working.messages.len() as u64,
        "total_messages"
    );
    prop_assert_eq!(
        state.file_count as usize,
        s.working.files.len(),
        "ProjectState.file_count"
    );
    prop_assert_eq!(
        state.saved_session_count as usize,
        s.sessions.len(),
        "saved_session_count"
    );
    prop_assert!(
        s.working.files.len() <= MAX_FILES,
        "{} files exceed the limit",
        s.working.files.len()
    );
    let ids: Vec<u64> = s.working.messages.iter().map(|m| m.id).collect();
    prop_assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "message ids not increasing: {:?}",
        ids
    );
    prop_assert!(ids.iter().all(|&id| id > 0), "message id 0 handed out: {:?}", ids);
    for info in &s.sessions {
        let content = &s.saved[&info.name];
        prop_assert_eq!(
            info.message_count,
            content.messages.len() as u64,
            "count of saved {}",
            info.name
        );
        prop_assert_eq!(
            content.total_messages,
            content.messages.len() as u64,
            "total of saved {}",
            info.name
        );
        prop_assert_eq!(
            info.file_count as usize,
            content.files.len(),
            "files of saved {}",
            info.name
        );
        prop_assert_eq!(&content.name, &info.name);
    }
    let mut trash_ids: Vec<&str> = s.trash.iter().map(|e| e.id.as_str()).collect();
    trash_ids.sort_unstable();
    trash_ids.dedup();
    prop_assert_eq!(trash_ids.len(), s.trash.len(), "duplicate trash ids");
    Ok(())
}

type Rows = Vec<(u64, i32, String)>;

fn rows(content: &SessionContent) -> Rows {
    content
        .messages
        .iter()
        .map(|m| (m.id, m.role, m.content.clone()))
        .collect()
}

/// What the messages of the working and the saved sessions should be.
#[derive(Debug, Default)]
struct Model {
    working: Rows,
    saved: BTreeMap<String, Rows>,
}

impl Model {
    fn check(&self, s: &Snapshot) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            &rows(&s.working),
            &self.working,
            "the working session differs from the model"
        );
        let names: Vec<&String> = s.saved.keys().collect();
        let expected: Vec<&String> = self.saved.keys().collect();
        prop_assert_eq!(names, expected, "the saved sessions differ from the model");
        for (name, content) in &s.saved {
            prop_assert_eq!(
                &rows(content),
                &self.saved[name],
                "saved session {} differs from the model",
                name
            );
        }
        Ok(())
    }
}

/// What a successful call answered, for the checks that follow it.
enum Answer {
    Ack { revision: u64, message_id: u64 },
    Info(SessionInfo),
    Trashed(String),
    Purged(u32),
    Opened(ProjectState),
}

fn pick<T: Clone>(items: &[T], index: &Index) -> Option<T> {
    (!items.is_empty()).then(|| items[index.index(items.len())].clone())
}

async fn call(service: &SessionsService, project: &str, op: &Op, before: &Snapshot) -> Result<Answer, Status> {
    let p = || project.to_owned();
    let revision = before.revision();
    let id = |target: &Target| match target {
        Target::Existing(index) => pick(&before.working.messages, index).map_or(1, |m| m.id),
        Target::Other(id) => *id,
    };
    let trash_id = |entry: &TrashTarget| match entry {
        TrashTarget::Existing(index) => pick(&before.trash, index).map_or_else(|| "1".to_owned(), |e| e.id),
        TrashTarget::Other(id) => id.clone(),
    };
    let ack = |r: tonic::Response<chronicle_proto::v1::MutationAck>| {
        let r = r.into_inner();
        Answer::Ack {
            revision: r.revision,
            message_id: r.message_id,
        }
    };
    Ok(match op {
        Op::Open { empty } => Answer::Opened(
            service
                .open_project(Request::new(OpenProjectRequest {
                    project: p(),
                    start: i32::from(*empty),
                    expected_revision: None,
                }))
                .await?
                .into_inner(),
        ),
        Op::Append { role, content, expect } => ack(service
            .append_message(Request::new(AppendMessageRequest {
                project: p(),
                message: Some(Message {
                    role: *role,
                    content: content.clone(),
                    ..Message::default()
                }),
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::AppendNothing => ack(service
            .append_message(Request::new(AppendMessageRequest {
                project: p(),
                message: None,
                expected_revision: None,
            }))
            .await?),
        Op::AppendTo { target, delta, expect } => ack(service
            .append_to_message(Request::new(AppendToMessageRequest {
                project: p(),
                message_id: id(target),
                delta: delta.clone(),
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::Update {
            target,
            role,
            content,
            expect,
        } => ack(service
            .update_message(Request::new(UpdateMessageRequest {
                project: p(),
                message: Some(Message {
                    id: id(target),
                    role: *role,
                    content: content.clone(),
                    ..Message::default()
                }),
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::Delete {
            target,
            truncate,
            expect,
        } => ack(service
            .delete_messages(Request::new(DeleteMessagesRequest {
                project: p(),
                message_id: id(target),
                truncate_after: *truncate,
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::Clear { expect } => ack(service
            .clear_messages(Request::new(ClearMessagesRequest {
                project: p(),
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::AddFiles { paths, expect } => ack(service
            .add_context_files(Request::new(AddContextFilesRequest {
                project: p(),
                files: files(paths),
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::RemoveFiles { paths, expect } => ack(service
            .remove_context_files(Request::new(RemoveContextFilesRequest {
                project: p(),
                paths: paths.clone(),
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::SetFiles { paths, expect } => ack(service
            .set_context_files(Request::new(SetContextFilesRequest {
                project: p(),
                files: files(paths),
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::Save { name, overwrite } => Answer::Info(
            service
                .save_session(Request::new(SaveSessionRequest {
                    project: p(),
                    name: name.clone(),
                    mode: i32::from(*overwrite),
                    expected_revision: None,
                }))
                .await?
                .into_inner(),
        ),
        Op::Load {
            name,
            messages,
            files,
            expect,
        } => ack(service
            .load_session(Request::new(LoadSessionRequest {
                project: p(),
                name: name.clone(),
                messages: *messages,
                files: *files,
                expected_revision: expect.resolve(revision),
            }))
            .await?),
        Op::Rename { name, new_name } => Answer::Info(
            service
                .rename_session(Request::new(RenameSessionRequest {
                    project: p(),
                    name: name.clone(),
                    new_name: new_name.clone(),
                    expected_revision: None,
                }))
                .await?
                .into_inner(),
        ),
        Op::DeleteSession { name } => Answer::Trashed(
            service
                .delete_session(Request::new(DeleteSessionRequest {
                    project: p(),
                    name: name.clone(),
                    expected_revision: None,
                }))
                .await?
                .into_inner()
                .trash_id,
        ),
        Op::Restore { entry, new_name } => Answer::Info(
            service
                .restore_trash(Request::new(RestoreTrashRequest {
                    id: trash_id(entry),
                    new_name: new_name.clone(),
                    expected_revision: None,
                }))
                .await?
                .into_inner(),
        ),
        Op::Purge { entry, older_than_ms } => Answer::Purged(
            service
                .purge_trash(Request::new(PurgeTrashRequest {
                    id: entry.as_ref().map(trash_id).unwrap_or_default(),
                    older_than_ms: *older_than_ms,
                    expected_revision: None,
                }))
                .await?
                .into_inner()
                .purged,
        ),
    })
}

/// Checks one successful call against the states around it and moves the
/// model along.
fn check_success(
    op: &Op,
    answer: &Answer,
    before: &Snapshot,
    after: &Snapshot,
    model: &mut Model,
) -> Result<(), TestCaseError> {
    let bump = after.revision().wrapping_sub(before.revision());
    let had_content = !before.working.messages.is_empty() || !before.working.files.is_empty();
    let expected_bump = match (op, answer) {
        (Op::Open { empty }, _) => u64::from(*empty && had_content),
        (Op::Purge { .. }, Answer::Purged(n)) => u64::from(*n > 0),
        _ => 1,
    };
    prop_assert_eq!(bump, expected_bump, "revision moved by {} after {:?}", bump, op);
    if let Some(expect) = op.expect() {
        prop_assert!(!expect.is_stale(), "a stale expected_revision was accepted: {:?}", op);
    }
    match answer {
        Answer::Ack { revision, .. } => prop_assert_eq!(*revision, after.revision(), "ack revision"),
        Answer::Opened(state) => prop_assert_eq!(state, &after.projects[0], "OpenProject answered another state"),
        Answer::Purged(n) => prop_assert_eq!(
            *n as usize,
            before.trash.len() - after.trash.len(),
            "purged count vs trash listing"
        ),
        Answer::Trashed(id) => {
            prop_assert!(after.trash.iter().any(|e| &e.id == id), "trash id {} not listed", id)
        }
        Answer::Info(info) => {
            // The answer also carries the project's new revision; listings
            // carry none.
            prop_assert_eq!(info.revision, after.revision(), "the answered session's revision");
            let answered = SessionInfo {
                revision: 0,
                ..info.clone()
            };
            let listed = after.sessions.iter().find(|s| s.name == info.name);
            prop_assert_eq!(listed, Some(&answered), "the answered session is not the listed one");
        }
    }
    let by_id = |target: &Target| match target {
        Target::Existing(index) => pick(&before.working.messages, index).map_or(1, |m| m.id),
        Target::Other(id) => *id,
    };
    let trimmed = |name: &str| name.trim().to_owned();
    match op {
        Op::Open { empty } => {
            if *empty {
                model.working.clear();
            }
        }
        Op::Append { role, content, .. } => {
            let Answer::Ack { message_id, .. } = answer else {
                return Err(TestCaseError::fail("append answered no ack"));
            };
            let last = model.working.last().map_or(0, |r| r.0);
            prop_assert!(*message_id > last, "new id {} not after {}", message_id, last);
            model.working.push((*message_id, *role, content.clone()));
        }
        Op::AppendNothing => return Err(TestCaseError::fail("an append without a message was accepted")),
        Op::AppendTo { target, delta, .. } => {
            let id = by_id(target);
            let row = model.working.iter_mut().find(|r| r.0 == id);
            let Some(row) = row else {
                return Err(TestCaseError::fail(format!(
                    "append-to of unknown message {id} accepted"
                )));
            };
            row.2.push_str(delta);
        }
        Op::Update {
            target, role, content, ..
        } => {
            let id = by_id(target);
            let Some(row) = model.working.iter_mut().find(|r| r.0 == id) else {
                return Err(TestCaseError::fail(format!("update of unknown message {id} accepted")));
            };
            row.1 = *role;
            row.2 = content.clone();
        }
        Op::Delete { target, truncate, .. } => {
            let id = by_id(target);
            if *truncate {
                model.working.retain(|r| r.0 < id);
            } else {
                model.working.retain(|r| r.0 != id);
            }
        }
        Op::Clear { .. } => model.working.clear(),
        Op::AddFiles { .. } | Op::RemoveFiles { .. } | Op::SetFiles { .. } | Op::Purge { .. } => {}
        Op::Save { name, .. } => {
            model.saved.insert(trimmed(name), model.working.clone());
        }
        Op::Load { name, messages, .. } => {
            if *messages {
                model.working = model.saved.get(&trimmed(name)).cloned().unwrap_or_default();
            }
        }
        Op::Rename { name, new_name } => {
            let rows = model.saved.remove(&trimmed(name)).unwrap_or_default();
            model.saved.insert(trimmed(new_name), rows);
        }
        Op::DeleteSession { name } => {
            model.saved.remove(&trimmed(name));
        }
        Op::Restore { .. } => {
            // What a trash entry held is not modelled: take it as read.
            let Answer::Info(info) = answer else {
                return Err(TestCaseError::fail("restore answered no session"));
            };
            let restored = after.saved.get(&info.name).map(rows).unwrap_or_default();
            model.saved.insert(info.name.clone(), restored);
        }
    }
    Ok(())
}

async fn run_sequence(service: &SessionsService, steps: &[Step]) -> Result<u64, TestCaseError> {
    service
        .open_project(Request::new(OpenProjectRequest {
            project: PROJECT.into(),
            start: 0,
            expected_revision: None,
        }))
        .await
        .map_err(fail)?;
    let mut model = Model::default();
    let mut refused = 0;
    let mut before = snapshot(service).await?;
    for (n, step) in steps.iter().enumerate() {
        let project = step.bad_project.filter(|_| step.op.names_project()).unwrap_or(PROJECT);
        let answer = call(service, project, &step.op, &before).await;
        let after = snapshot(service).await?;
        check_consistent(&after).map_err(|e| TestCaseError::fail(format!("step {n} {step:?}: {e}")))?;
        match answer {
            Err(status) => {
                refused += 1;
                check_refusal(&status, &format!("step {n} {step:?}"))?;
                prop_assert_eq!(
                    &after,
                    &before,
                    "step {} {:?} was refused ({}) but changed something",
                    n,
                    step,
                    status
                );
                if step.bad_project.is_some() && step.op.names_project() {
                    prop_assert_eq!(status.code(), Code::InvalidArgument, "a malformed project path");
                } else if step.op.expect().is_some_and(Expect::is_stale) {
                    prop_assert_eq!(status.code(), Code::FailedPrecondition, "a stale expected_revision");
                }
            }
            Ok(answer) => {
                prop_assert!(
                    step.bad_project.is_none() || !step.op.names_project(),
                    "a malformed project path was accepted: {:?}",
                    step
                );
                check_success(&step.op, &answer, &before, &after, &mut model)
                    .map_err(|e| TestCaseError::fail(format!("step {n} {step:?}: {e}")))?;
            }
        }
        model
            .check(&after)
            .map_err(|e| TestCaseError::fail(format!("after step {n} {step:?}: {e}")))?;
        before = after;
    }
    Ok(refused)
}

#[test]
fn call_sequences_keep_revisions_counts_and_contents_consistent() {
    count_panics();
    let rt = runtime();
    let limits = Limits {
        max_content_bytes: MAX_CONTENT,
        max_context_files: MAX_FILES,
    };
    let (calls, refused) = (std::cell::Cell::new(0u64), std::cell::Cell::new(0u64));
    let mut runner = TestRunner::new(Config {
        cases: scaled(SEQUENCE_CASES),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(step(), 1..=MAX_STEPS), |steps| {
        let panics = PANICS.load(Ordering::SeqCst);
        let harness = Harness::new(limits.clone());
        let refusals = rt.block_on(run_sequence(&harness.service, &steps))?;
        calls.set(calls.get() + steps.len() as u64);
        refused.set(refused.get() + refusals);
        prop_assert_eq!(PANICS.load(Ordering::SeqCst), panics, "something panicked");
        Ok(())
    });
    eprintln!(
        "call sequences: {} sequences, {} calls, {} refused",
        scaled(SEQUENCE_CASES),
        calls.get(),
        refused.get()
    );
    if let Err(err) = result {
        panic!("{err}");
    }
}
