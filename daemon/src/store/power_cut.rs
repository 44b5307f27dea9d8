//! The power-cut harness (test code only). A redb storage backend that
//! behaves like a disk with a volatile write cache records every call the
//! store makes; concurrent clients drive a randomized workload through the
//! store's real writer, each reading back its project after every answer;
//! then power is cut, after the fact, at every point of that record:
//!
//! - mode 1: every write since the last `sync_data` is lost;
//! - mode 2: a random subset of them survives, torn at 4 KiB granularity
//!   (each 4 KiB-aligned piece of each write kept or lost on its own, in
//!   issue order), and a pending resize survives or not.
//!
//! The disk image that survives is opened as the daemon would open it, and
//! each client's project must be exactly as it was after its last
//! acknowledged mutation, or after the one it had in flight: never missing
//! an acknowledged change, never half of one. Saved sessions are compared
//! message by message, trash entries entry by entry, revisions included.
//!
//! Each client owns its project, so its history is a line of states, and
//! a client waits for each answer before sending the next: with several
//! clients at once, batches hold several jobs (counted and asserted).
//! `CHRONICLE_POWER_CUTS` sets the number of mode-2 cuts (mode 1 is cut
//! at every point anyway), `CHRONICLE_POWER_SEED` the workload's seed.

use std::{
    collections::HashSet,
    fmt,
    io::{self, Seek, Write},
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
};

use chronicle_interop::bundle::{
    ProjectRecord as BundleProject, Scope, SessionKind, SessionRecord as BundleSession, Writer,
};
use chronicle_proto::v1::{ContextFile, Message, ProjectState, Role, SessionInfo, TrashEntry, Usage};
use redb::{StorageBackend, backends::InMemoryBackend};

use super::*;

/// Torn writes keep or lose whole pieces of this size.
const SECTOR: u64 = 4096;

/// One call the store made on its disk.
enum DiskOp {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
    Sync,
}

#[derive(Default)]
struct Platter {
    /// What reads see: every write, synced or not (the page cache).
    live: Vec<u8>,
    /// Every call, in order: what a power cut chooses from.
    ops: Vec<DiskOp>,
}

/// The disk under the workload.
#[derive(Clone, Default)]
struct RecordingDisk(Arc<Mutex<Platter>>);

impl fmt::Debug for RecordingDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordingDisk")
    }
}

impl RecordingDisk {
    fn platter(&self) -> io::Result<MutexGuard<'_, Platter>> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("the disk's lock was poisoned"))
    }

    /// Calls made so far: an acknowledgement seen now was made durable by
    /// a sync before this point.
    fn position(&self) -> usize {
        self.0.lock().map_or(0, |p| p.ops.len())
    }
}

impl StorageBackend for RecordingDisk {
    fn len(&self) -> io::Result<u64> {
        Ok(self.platter()?.live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let platter = self.platter()?;
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let source = platter
            .live
            .get(start..start + out.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the disk"))?;
        out.copy_from_slice(source);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut platter = self.platter()?;
        platter.live.resize(usize::try_from(len).map_err(io::Error::other)?, 0);
        platter.ops.push(DiskOp::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.platter()?.ops.push(DiskOp::Sync);
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut platter = self.platter()?;
        write_at(&mut platter.live, offset, data);
        platter.ops.push(DiskOp::Write {
            offset,
            data: data.to_vec(),
        });
        Ok(())
    }
}

fn write_at(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = offset as usize;
    let end = start + data.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[start..end].copy_from_slice(data);
}

fn apply(image: &mut Vec<u8>, op: &DiskOp) {
    match op {
        DiskOp::Write { offset, data } => write_at(image, *offset, data),
        DiskOp::SetLen(len) => image.resize(*len as usize, 0),
        DiskOp::Sync => {}
    }
}

/// Mode 2: what a disk may have kept of the unsynced calls.
fn torn(durable: &[u8], pending: &[DiskOp], rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut image = durable.to_vec();
    for op in pending {
        match op {
            DiskOp::Write { offset, data } => {
                let mut at = *offset;
                let end = offset + data.len() as u64;
                while at < end {
                    let piece_end = ((at / SECTOR + 1) * SECTOR).min(end);
                    if rng.bool() {
                        let from = (at - offset) as usize;
                        write_at(&mut image, at, &data[from..from + (piece_end - at) as usize]);
                    }
                    at = piece_end;
                }
            }
            DiskOp::SetLen(_) if rng.bool() => apply(&mut image, op),
            DiskOp::SetLen(_) | DiskOp::Sync => {}
        }
    }
    image
}

/// Everything a user could see of one project.
#[derive(Clone, Debug, PartialEq)]
struct ProjectImage {
    state: Option<ProjectState>,
    working: Vec<Message>,
    files: Vec<ContextFile>,
    saved: Vec<(SessionInfo, Vec<Message>, Vec<ContextFile>)>,
    trash: Vec<TrashEntry>,
}

impl ProjectImage {
    fn read(store: &Store, project: &ProjectPath) -> Result<ProjectImage, StoreError> {
        let state = store.project_state(project)?;
        let (mut working, mut files) = (Vec::new(), Vec::new());
        if state.is_some() {
            let mut after = 0;
            loop {
                let Some(page) = store.working_page(project, after, 0)? else {
                    break;
                };
                after = page.messages.last().map_or(after, |m| m.id);
                working.extend(page.messages);
                files = page.files;
                if !page.more {
                    break;
                }
            }
        }
        let mut saved = Vec::new();
        for info in store.list_sessions(project)? {
            let name = SessionName::new(&info.name)?;
            let (mut messages, mut after) = (Vec::new(), 0);
            let mut files;
            loop {
                let page = store.saved_page(project, &name, after, 0)?;
                after = page.messages.last().map_or(after, |m| m.id);
                messages.extend(page.messages);
                files = page.files;
                if !page.more {
                    break;
                }
            }
            saved.push((info, messages, files));
        }
        Ok(ProjectImage {
            state,
            working,
            files,
            saved,
            trash: store.list_trash(Some(project))?,
        })
    }
}

/// One client's history: `states[j]` is its project after its j-th
/// answer (`states[0]`: before any), `acked_at[j - 1]` the disk position
/// at which that answer was seen.
struct History {
    project: ProjectPath,
    states: Vec<ProjectImage>,
    acked_at: Vec<usize>,
}

impl History {
    /// Answers seen before a cut at `position`.
    fn acked_before(&self, position: usize) -> usize {
        self.acked_at.partition_point(|&at| at <= position)
    }

    /// The state found after a cut at `position` must be the last
    /// acknowledged one or the one in flight. Returns how many
    /// acknowledged mutations this checked.
    fn check(&self, position: usize, found: &ProjectImage, what: &str) -> usize {
        let acked = self.acked_before(position);
        let allowed = &self.states[acked..(acked + 2).min(self.states.len())];
        assert!(
            allowed.iter().any(|state| state == found),
            "{what}: {} after {acked} acknowledged mutations is neither their result nor the next one's\nfound: {found:#?}\nacknowledged: {:#?}",
            self.project,
            self.states[acked]
        );
        acked
    }
}

fn message(rng: &mut fastrand::Rng, step: usize) -> Message {
    let roles = [Role::User, Role::Assistant, Role::Tool, Role::System];
    // Mostly small, sometimes past a page, so one message spans pages.
    let len = if rng.u8(..10) == 0 {
        rng.usize(5_000..20_000)
    } else {
        rng.usize(1..400)
    };
    let content: String = std::iter::repeat_with(|| rng.alphanumeric()).take(len).collect();
    Message {
        role: roles[rng.usize(..roles.len())] as i32,
        content: format!("step {step}: {content}"),
        usage: rng.bool().then(|| Usage {
            sent_tokens: rng.u64(..5000),
            received_tokens: rng.u64(..5000),
            ..Usage::default()
        }),
        ..Message::default()
    }
}

/// A staged import of one saved session into `project`.
fn import_job(project: &ProjectPath, step: usize) -> io::Result<Job> {
    let mut spool = tempfile::tempfile()?;
    let mut bundle = Writer::new(&mut spool, &Scope::Project(project.to_string()))?;
    bundle.project(&BundleProject {
        project: project.to_string(),
        created_at_ms: 1_000,
    })?;
    bundle.session(&BundleSession {
        kind: SessionKind::Saved,
        name: format!("imported {step}"),
        created_at_ms: 1_000,
        updated_at_ms: 2_000,
        next_message_id: 3,
        reason: String::new(),
        trashed_at_ms: 0,
    })?;
    bundle.file(&ContextFile {
        path: "imported.txt".into(),
        added_at_ms: 1_500,
        ..ContextFile::default()
    })?;
    for id in 1..=2 {
        bundle.message(&Message {
            id,
            role: Role::User as i32,
            content: format!("imported message {id} of step {step}"),
            created_at_ms: 1_500,
            ..Message::default()
        })?;
    }
    bundle.finish()?;
    spool.flush()?;
    spool.rewind()?;
    Ok(Job::Import(Arc::new(bundle::ImportJob::new(spool, None, false))))
}

/// The next job of a client, chosen from what its project holds now.
fn next_job(
    rng: &mut fastrand::Rng,
    dir: &std::path::Path,
    project: &ProjectPath,
    now: &ProjectImage,
    step: usize,
) -> Job {
    let on_project = |mutation| Job::Project {
        project: project.clone(),
        expected_revision: None,
        mutation,
    };
    let message_id = |rng: &mut fastrand::Rng| now.working.get(rng.usize(..now.working.len().max(1))).map(|m| m.id);
    let saved_name = |rng: &mut fastrand::Rng| {
        now.saved
            .get(rng.usize(..now.saved.len().max(1)))
            .map(|s| s.0.name.clone())
    };
    let file = |n: u8| ContextFile {
        path: format!("src/file{n}.rs"),
        read_only: n.is_multiple_of(2),
        ..ContextFile::default()
    };
    loop {
        let job = match rng.u8(..20) {
            0..=4 => on_project(Mutation::Append {
                message: message(rng, step),
            }),
            5 => match message_id(rng) {
                Some(message_id) => on_project(Mutation::AppendTo {
                    message_id,
                    delta: format!(" +{step}"),
                }),
                None => continue,
            },
            6 => match message_id(rng) {
                Some(id) => on_project(Mutation::Update {
                    message: Message {
                        id,
                        ..message(rng, step)
                    },
                }),
                None => continue,
            },
            7 => match message_id(rng) {
                Some(message_id) => on_project(Mutation::Delete {
                    message_id,
                    truncate_after: rng.bool(),
                }),
                None => continue,
            },
            8 if rng.u8(..3) == 0 => on_project(Mutation::Clear),
            9 => on_project(Mutation::AddFiles {
                files: (0..rng.u8(1..4)).map(|_| file(rng.u8(..8))).collect(),
            }),
            10 => match now.files.first() {
                Some(f) => on_project(Mutation::RemoveFiles {
                    paths: vec![f.path.clone()],
                }),
                None => continue,
            },
            11 => on_project(Mutation::SetFiles {
                files: (0..rng.u8(..4)).map(|_| file(rng.u8(..8))).collect(),
            }),
            12 => {
                let name = format!("s{}", rng.u8(..4));
                let overwrite = now.saved.iter().any(|s| s.0.name == name);
                on_project(Mutation::Save {
                    name: SessionName::new(&name).expect("a valid name"),
                    overwrite,
                })
            }
            13 => match saved_name(rng) {
                Some(name) => on_project(Mutation::Load {
                    name,
                    messages: rng.bool(),
                    files: true,
                }),
                None => continue,
            },
            14 => match saved_name(rng) {
                Some(name) => on_project(Mutation::Rename {
                    name: SessionName::new(&name).expect("a stored name"),
                    new_name: SessionName::new(&format!("renamed {step}")).expect("a valid name"),
                }),
                None => continue,
            },
            15 => match saved_name(rng) {
                Some(name) => on_project(Mutation::DeleteSession {
                    name: SessionName::new(&name).expect("a stored name"),
                }),
                None => continue,
            },
            16 => {
                // Flip a file on disk, then report it as the watcher would.
                let Some(f) = now.files.get(rng.usize(..now.files.len().max(1))) else {
                    continue;
                };
                let path = dir.join(&f.path);
                let missing = path.exists();
                if missing {
                    std::fs::remove_file(&path).expect("remove a context file");
                } else {
                    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create src/");
                    std::fs::write(&path, "fn main() {}").expect("write a context file");
                }
                on_project(Mutation::MarkFiles {
                    paths: vec![f.path.clone()],
                    missing,
                })
            }
            17 => match now.trash.get(rng.usize(..now.trash.len().max(1))) {
                Some(entry) if rng.bool() => Job::RestoreTrash {
                    id: TrashId::parse(&entry.id).expect("a listed id"),
                    new_name: Some(SessionName::new(&format!("restored {step}")).expect("a valid name")),
                    expected_revision: None,
                },
                Some(entry) => Job::PurgeTrash {
                    id: Some(TrashId::parse(&entry.id).expect("a listed id")),
                    older_than_ms: 0,
                    expected_revision: None,
                },
                None => continue,
            },
            18 if rng.u8(..3) == 0 => import_job(project, step).expect("stage an import"),
            19 => on_project(Mutation::Open {
                start_empty: rng.u8(..4) == 0,
            }),
            _ => continue,
        };
        return job;
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Opens a surviving image as the daemon would, or says why it cannot.
fn reopen(image: &[u8]) -> Store {
    let image = image.to_vec();
    let backend = move || {
        let disk = InMemoryBackend::new();
        disk.set_len(image.len() as u64)?;
        disk.write(0, &image)?;
        Ok(disk)
    };
    Store::open_with_backend(Path::new("power-cut.redb"), backend, || true, StoreConfig::default())
        .unwrap_or_else(|err| panic!("the database must open after a power cut: {err}"))
}

fn read_all(store: &Store, histories: &[History]) -> Vec<ProjectImage> {
    histories
        .iter()
        .map(|h| ProjectImage::read(store, &h.project).expect("read a project after a power cut"))
        .collect()
}

const CLIENTS: usize = 8;
const STEPS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_mutation_survives_a_power_cut_and_none_is_half_applied() {
    let seed = env_number("CHRONICLE_POWER_SEED", 0x5eed_c0de);
    let torn_cuts = env_number("CHRONICLE_POWER_CUTS", 3000) as usize;
    eprintln!("power-cut workload seed {seed} (CHRONICLE_POWER_SEED), {torn_cuts} torn cuts (CHRONICLE_POWER_CUTS)");
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = RecordingDisk::default();
    let opened = disk.clone();
    let store = Store::open_with_backend(
        Path::new("power-cut.redb"),
        move || Ok(opened.clone()),
        || true,
        StoreConfig::default(),
    )
    .expect("open the store on the recording disk");
    let start = disk.position();

    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (store, disk) = (store.clone(), disk.clone());
        let root: PathBuf = dir.path().join(format!("client-{client}"));
        std::fs::create_dir_all(&root).expect("project directory");
        clients.spawn(async move {
            let project = ProjectPath::new(root.to_str().expect("a UTF-8 temp dir")).expect("a project path");
            let mut rng = fastrand::Rng::with_seed(seed ^ (client as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut history = History {
                states: vec![ProjectImage::read(&store, &project).expect("read")],
                project,
                acked_at: Vec::new(),
            };
            let mut refused = 0;
            for step in 0..STEPS {
                let now = history.states.last().expect("a state");
                let job = next_job(&mut rng, &root, &history.project, now, step);
                let answer = store.run(job).await;
                history.acked_at.push(disk.position());
                match answer {
                    Ok(_) => {}
                    Err(err) if !err.is_storage() => refused += 1,
                    Err(err) => panic!("client {client} step {step}: storage failure {err}"),
                }
                history
                    .states
                    .push(ProjectImage::read(&store, &history.project).expect("read back"));
            }
            (history, refused)
        });
    }
    let mut histories = Vec::new();
    let mut refused = 0;
    while let Some(done) = clients.join_next().await {
        let (history, n) = done.expect("client task");
        histories.push(history);
        refused += n;
    }
    store.close();
    drop(store);
    let platter = Arc::try_unwrap(disk.0)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .expect("the store let go of its disk");
    let ops = platter.ops;
    let syncs: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| matches!(op, DiskOp::Sync).then_some(i))
        .filter(|&i| i >= start)
        .collect();
    let mutations = CLIENTS * STEPS;
    assert!(
        refused < mutations / 3,
        "{refused} of {mutations} jobs refused: the workload tests little"
    );

    // Mode 1: the image at each sync, opened once; every cut point between
    // two syncs finds that image.
    let mut durable = Vec::new();
    let mut applied = 0;
    let mut recovered_at_sync: Vec<Vec<ProjectImage>> = Vec::with_capacity(syncs.len());
    let mut image_at_sync: Vec<Vec<u8>> = Vec::new();
    for &sync in &syncs {
        for op in &ops[applied..=sync] {
            apply(&mut durable, op);
        }
        applied = sync + 1;
        let store = reopen(&durable);
        recovered_at_sync.push(read_all(&store, &histories));
        store.close();
        image_at_sync.push(durable.clone());
    }
    // The jobs of a commit are the projects that changed between two syncs.
    let jobs_in: Vec<usize> = (0..syncs.len())
        .map(|s| match s {
            0 => 0,
            _ => (0..CLIENTS)
                .filter(|&c| recovered_at_sync[s][c] != recovered_at_sync[s - 1][c])
                .count(),
        })
        .collect();
    let multi_job_commits = jobs_in.iter().filter(|&&n| n >= 2).count();
    assert!(
        multi_job_commits > 0,
        "no batch held several jobs: the cuts test no group commit"
    );

    let mut crash_points = 0u64;
    let mut acked_verified = 0u64;
    let mut multi_job_interrupted = 0u64;
    // Which sync's image a cut at `position` finds, and which commit it
    // interrupts (the next sync's).
    let last_sync = |position: usize| syncs.partition_point(|&s| s < position).checked_sub(1);
    for position in syncs[0] + 1..=ops.len() {
        let Some(s) = last_sync(position) else { continue };
        for (c, history) in histories.iter().enumerate() {
            acked_verified += history.check(position, &recovered_at_sync[s][c], "mode 1") as u64;
        }
        crash_points += 1;
        if jobs_in.get(s + 1).is_some_and(|&n| n >= 2) {
            multi_job_interrupted += 1;
        }
    }

    // Mode 2: torn survivors of the unsynced calls, at random points.
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut seen_torn = HashSet::new();
    for cut in 0..torn_cuts {
        let position = rng.usize(syncs[0] + 1..=ops.len());
        let Some(s) = last_sync(position) else { continue };
        let image = torn(&image_at_sync[s], &ops[syncs[s] + 1..position], &mut rng);
        seen_torn.insert(position);
        let store = reopen(&image);
        let found = read_all(&store, &histories);
        store.close();
        for (c, history) in histories.iter().enumerate() {
            acked_verified += history.check(position, &found[c], &format!("mode 2 cut {cut}")) as u64;
        }
        crash_points += 1;
        if jobs_in.get(s + 1).is_some_and(|&n| n >= 2) {
            multi_job_interrupted += 1;
        }
    }
    eprintln!(
        "power cuts: {crash_points} crash points ({} mode 1, {torn_cuts} torn at {} distinct points) over {} disk calls, {} commits ({multi_job_commits} with several jobs); {acked_verified} acknowledged mutations verified; {multi_job_interrupted} cuts interrupted a batch of several jobs; {mutations} mutations, {refused} refused",
        crash_points - torn_cuts as u64,
        seen_torn.len(),
        ops.len() - start,
        syncs.len(),
    );
    assert!(multi_job_interrupted > 0, "no cut fell inside a batch of several jobs");
}
