//! Store behaviour without the gRPC layer: one behaviour per test.

use chronicle_proto::v1::{ContextFile, Message, Role, Usage};

use super::*;

fn message(text: &str) -> Message {
    Message {
        role: Role::User as i32,
        content: text.into(),
        ..Message::default()
    }
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("chronicle.redb"), StoreConfig::default()).expect("open store")
}

const P: &str = "/work/project";

/// Without the write-ahead log, so that each batch is a durable redb
/// commit: for the tests of what a failing or slow redb disk does.
fn redb_commits() -> StoreConfig {
    StoreConfig {
        wal: false,
        ..StoreConfig::default()
    }
}

/// The database file at `path` as a redb backend, opened (or created) for
/// a store on a test backend.
fn file_backend(path: &Path) -> std::io::Result<redb::backends::FileBackend> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    redb::backends::FileBackend::new(file).map_err(std::io::Error::other)
}

/// A call into a [`HookedLog`]: its error fails the call.
type LogHook = Box<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// A log in memory whose writes and syncs first run a hook: to fail them
/// as a failing disk would, or to note what called them.
#[derive(Default)]
struct HookedLog {
    inner: MemoryLog,
    before_write: Option<LogHook>,
    before_sync: Option<LogHook>,
}

impl LogStorage for HookedLog {
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }

    fn read_at(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read_at(offset, out)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.before_write.as_ref().map_or(Ok(()), |hook| hook())?;
        self.inner.write_at(offset, data)
    }

    fn sync_data(&self) -> std::io::Result<()> {
        self.before_sync.as_ref().map_or(Ok(()), |hook| hook())?;
        self.inner.sync_data()
    }
}

fn pp(raw: &str) -> ProjectPath {
    ProjectPath::new(raw).expect("a valid project path")
}

fn sn(raw: &str) -> SessionName {
    SessionName::new(raw).expect("a valid session name")
}

#[tokio::test]
async fn appends_get_increasing_ids_and_contiguous_revisions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    for i in 1..=5u64 {
        let ack = store
            .mutate(
                &pp(P),
                None,
                Mutation::Append {
                    message: message(&format!("m{i}")),
                },
            )
            .await
            .expect("append");
        assert_eq!(ack.revision, i);
        assert_eq!(ack.message_id, i);
    }
    let page = store.working_page(&pp(P), 0, 2).expect("read").expect("project exists");
    assert_eq!(
        page.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["m1", "m2"]
    );
    assert!(page.more);
    assert_eq!(page.total_messages, 5);
    let rest = store.working_page(&pp(P), 2, 0).expect("read").expect("project exists");
    assert_eq!(rest.messages.len(), 3);
    assert!(!rest.more);
}

#[tokio::test]
async fn a_stale_expected_revision_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    store
        .mutate(&pp(P), None, Mutation::Append { message: message("a") })
        .await
        .expect("append");
    let err = store
        .mutate(&pp(P), Some(0), Mutation::Append { message: message("b") })
        .await
        .err();
    assert!(
        matches!(err, Some(StoreError::Conflict(ref m)) if m.contains("revision 1")),
        "{err:?}"
    );
    let state = store.project_state(&pp(P)).expect("read").expect("exists");
    assert_eq!((state.revision, state.message_count), (1, 1));
}

#[tokio::test]
async fn usage_totals_follow_updates_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let mut m = message("a");
    m.usage = Some(Usage {
        sent_tokens: 10,
        cost: 0.5,
        ..Usage::default()
    });
    store
        .mutate(&pp(P), None, Mutation::Append { message: m.clone() })
        .await
        .expect("append");
    store
        .mutate(&pp(P), None, Mutation::Append { message: m.clone() })
        .await
        .expect("append");
    store
        .mutate(
            &pp(P),
            None,
            Mutation::Delete {
                message_id: 1,
                truncate_after: false,
            },
        )
        .await
        .expect("delete");
    store
        .mutate(
            &pp(P),
            None,
            Mutation::Save {
                name: sn("s"),
                overwrite: false,
            },
        )
        .await
        .expect("save");
    let sessions = store.list_sessions(&pp(P)).expect("list");
    let usage = sessions[0].total_usage.unwrap_or_default();
    assert_eq!((sessions[0].message_count, usage.sent_tokens), (1, 10));
    assert!((usage.cost - 0.5).abs() < 1e-9);
}

/// Two saves committed in one group-commit batch share its clock reading;
/// the later one must still list first.
#[tokio::test]
async fn saves_in_the_same_millisecond_list_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    store
        .mutate(&pp(P), None, Mutation::Append { message: message("a") })
        .await
        .expect("append");
    let now = now_ms();
    {
        let db = store.inner.db.get().expect("database");
        let txn = db.begin_write().expect("write transaction");
        {
            let mut t = tables::WriteTables::open(&txn).expect("tables");
            let mut events = Vec::new();
            for name in ["a saved first", "b saved second"] {
                let job = Job::Project {
                    project: pp(P),
                    expected_revision: None,
                    mutation: Mutation::Save {
                        name: sn(name),
                        overwrite: false,
                    },
                };
                ops::apply(
                    &mut t,
                    &job,
                    &ops::FileProbes::default(),
                    now,
                    store.limits(),
                    &mut events,
                )
                .expect("save");
            }
        }
        txn.commit().expect("commit");
    }
    let sessions = store.list_sessions(&pp(P)).expect("list");
    let names: Vec<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["b saved second", "a saved first"]);
    assert_eq!(sessions[0].updated_at_ms, sessions[1].updated_at_ms);
}

#[tokio::test]
async fn clear_keeps_files_and_trashes_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    store
        .mutate(&pp(P), None, Mutation::Append { message: message("a") })
        .await
        .expect("append");
    let file = ContextFile {
        path: "src/lib.rs".into(),
        ..ContextFile::default()
    };
    store
        .mutate(&pp(P), None, Mutation::AddFiles { files: vec![file] })
        .await
        .expect("files");
    store.mutate(&pp(P), None, Mutation::Clear).await.expect("clear");
    let page = store.working_page(&pp(P), 0, 0).expect("read").expect("exists");
    assert!(page.messages.is_empty());
    assert_eq!(page.files.len(), 1);
    let trash = store.list_trash(Some(&pp(P))).expect("trash");
    assert_eq!(trash.len(), 1);
    assert_eq!(
        (trash[0].reason.as_str(), trash[0].message_count, trash[0].file_count),
        ("cleared", 1, 0)
    );
    // Ids continue after a clear: none is reused.
    let ack = store
        .mutate(&pp(P), None, Mutation::Append { message: message("b") })
        .await
        .expect("append");
    assert_eq!(ack.message_id, 2);
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(&dir);
        store
            .mutate(
                &pp(P),
                None,
                Mutation::Append {
                    message: message("kept"),
                },
            )
            .await
            .expect("append");
        store.close();
    }
    let store = open(&dir);
    let page = store.working_page(&pp(P), 0, 0).expect("read").expect("exists");
    assert_eq!(page.messages[0].content, "kept");
    assert_eq!(page.revision, 1);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chronicle.redb");
    {
        let db = redb::Database::create(&path).expect("create");
        let txn = db.begin_write().expect("txn");
        txn.open_table(records::META)
            .expect("meta")
            .insert(records::KEY_SCHEMA, 99)
            .expect("insert");
        txn.commit().expect("commit");
    }
    let err = Store::open(&path, StoreConfig::default()).err();
    assert!(
        matches!(err, Some(StoreError::SchemaTooNew { found: 99, .. })),
        "{err:?}"
    );
}

/// A disk that can be made "full": writes, resizes and syncs fail with
/// `StorageFull` while the switch is on.
#[derive(Debug)]
struct FillableDisk {
    inner: redb::backends::FileBackend,
    full: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FillableDisk {
    fn check(&self) -> std::io::Result<()> {
        if self.full.load(std::sync::atomic::Ordering::SeqCst) {
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        } else {
            Ok(())
        }
    }
}

impl redb::StorageBackend for FillableDisk {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.check()?;
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> std::io::Result<()> {
        self.check()?;
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.inner.write(offset, data)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_commit_fails_every_job_in_its_batch_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chronicle.redb");
    let full = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (disk_path, disk_full) = (path.clone(), full.clone());
    let disk = move || {
        Ok(FillableDisk {
            inner: file_backend(&disk_path)?,
            full: disk_full.clone(),
        })
    };
    let room_full = full.clone();
    let has_room = move || !room_full.load(std::sync::atomic::Ordering::SeqCst);
    let store = Store::open_with_backend(&path, disk, MemoryLog::default(), has_room, redb_commits()).expect("open");
    store
        .mutate(
            &pp(P),
            None,
            Mutation::Append {
                message: message("before"),
            },
        )
        .await
        .expect("append");
    let mut events = store.subscribe();

    full.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut jobs = tokio::task::JoinSet::new();
    for i in 0..32 {
        let store = store.clone();
        jobs.spawn(async move {
            store
                .mutate(
                    &pp(P),
                    None,
                    Mutation::Append {
                        message: message(&format!("lost {i}")),
                    },
                )
                .await
        });
    }
    let mut failures = 0;
    while let Some(result) = jobs.join_next().await {
        let err = result.expect("task").err();
        assert!(matches!(err, Some(StoreError::DiskFull)), "{err:?}");
        failures += 1;
    }
    assert_eq!(failures, 32, "every member of every failed batch hears of it");
    assert!(events.try_recv().is_err(), "nothing is published for a failed commit");
    let state = store.project_state(&pp(P)).expect("reads still work").expect("exists");
    assert_eq!((state.revision, state.message_count), (1, 1));

    // Space comes back: writing works again, and the revision goes on
    // from where the last durable mutation left it.
    full.store(false, std::sync::atomic::Ordering::SeqCst);
    let ack = store
        .mutate(
            &pp(P),
            None,
            Mutation::Append {
                message: message("after"),
            },
        )
        .await
        .expect("append after recovery");
    assert_eq!(ack.revision, 2);
    let page = store.working_page(&pp(P), 0, 0).expect("read").expect("exists");
    let contents: Vec<&str> = page.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["before", "after"]);
}

/// `daemon/tests/fixtures/schema-v1.redb` was written by schema 1 (revision
/// in the project record): project `/fixture/project` at revision 9 with one
/// message after a clear, saved session "saved one", a deleted "saved two"
/// and a cleared working state in the trash; `/fixture/other` at revision 1.
#[tokio::test]
async fn a_schema_1_database_is_backed_up_then_migrated() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v1.redb");
    let original = std::fs::read(&fixture).expect("read fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chronicle.redb");
    std::fs::write(&path, &original).expect("copy fixture");

    let store = Store::open(&path, StoreConfig::default()).expect("open and migrate");
    let backup = dir.path().join("chronicle.redb.schema-1.backup");
    let copy = std::fs::read(&backup).expect("backup written");
    assert!(copy == original, "the backup is the untouched file");

    let project = "/fixture/project";
    let page = store
        .working_page(&pp(project), 0, 0)
        .expect("read")
        .expect("project kept");
    assert_eq!(page.revision, 9);
    assert_eq!(
        page.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["after clear"]
    );
    assert_eq!(
        page.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["src/main.rs"]
    );
    let saved = store
        .saved_page(&pp(project), &sn("saved one"), 0, 0)
        .expect("saved session kept");
    assert_eq!(saved.messages.len(), 2);
    assert_eq!(saved.messages[1].model, "fixture-model");
    let reasons: Vec<String> = store
        .list_trash(Some(&pp(project)))
        .expect("trash")
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert!(
        reasons.contains(&"deleted".to_owned()) && reasons.contains(&"cleared".to_owned()),
        "{reasons:?}"
    );
    assert_eq!(
        store
            .project_state(&pp("/fixture/other"))
            .expect("read")
            .map(|s| s.revision),
        Some(1)
    );

    // The revision goes on from where schema 1 left it.
    let ack = store
        .mutate(
            &pp(project),
            Some(9),
            Mutation::Append {
                message: message("after migration"),
            },
        )
        .await
        .expect("append");
    assert_eq!(ack.revision, 10);
    store.close();
    drop(store);
    // Opening again finds schema 2: no second migration, no second backup.
    let again = Store::open(&path, StoreConfig::default()).expect("reopen");
    assert_eq!(
        again.project_state(&pp(project)).expect("read").map(|s| s.revision),
        Some(10)
    );
    let backups = std::fs::read_dir(dir.path())
        .expect("list")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().contains("backup"))
        })
        .count();
    assert_eq!(backups, 1);
}

/// Another agent's session of `n` messages, as a parser hands it over.
fn codex_session(n: u64) -> chronicle_interop::sources::SourceSession {
    use chronicle_interop::sources::{Agent, SourceSession, meta};
    let mut session = SourceSession::new(Agent::Codex, "rollout-1");
    session.cwd = Some(P.into());
    session.messages = (1..=n)
        .map(|i| {
            let mut m = message(&format!("line {i}"));
            m.metadata.insert(meta::AGENT.into(), "codex".into());
            m.metadata.insert(meta::SESSION.into(), "rollout-1".into());
            m.metadata.insert(meta::ID.into(), format!("line:{i}"));
            m
        })
        .collect();
    session
}

async fn import(store: &Store, session: chronicle_interop::sources::SourceSession) -> SourceCounts {
    let job = Job::Sources(std::sync::Arc::new(SourceBatch {
        project: pp(P),
        sessions: vec![session],
        cursor: None,
    }));
    store.run(job).await.expect("import").sources.expect("counts")
}

/// Schema 3 indexes imported messages by source id. A schema-2 database
/// (the same tables without `source_ids`) is migrated by indexing what
/// earlier imports stored, so importing the same session again adds
/// nothing and a longer copy adds only the new messages.
#[tokio::test]
async fn a_schema_2_database_gets_its_imported_messages_indexed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chronicle.redb");
    let store = open(&dir);
    assert_eq!(import(&store, codex_session(3)).await.messages_imported, 3);
    store.close();
    drop(store);
    {
        let db = redb::Database::open(&path).expect("raw open");
        let txn = db.begin_write().expect("write");
        txn.delete_table(records::SOURCE_IDS).expect("drop the index");
        txn.open_table(records::META)
            .expect("meta")
            .insert(records::KEY_SCHEMA, 2)
            .expect("schema 2");
        txn.commit().expect("commit");
    }

    let store = open(&dir);
    assert!(dir.path().join("chronicle.redb.schema-2.backup").exists());
    let again = import(&store, codex_session(3)).await;
    assert_eq!((again.messages_imported, again.sessions_updated), (0, 0), "{again:?}");
    let longer = import(&store, codex_session(5)).await;
    assert_eq!(
        (longer.messages_imported, longer.sessions_updated),
        (2, 1),
        "{longer:?}"
    );
    let listed = store.list_sessions(&pp(P)).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].message_count, 5);
}

/// A follow hands over only what changed since its last batch. When the
/// store no longer holds the session those changes continue (purged
/// since), it makes nothing of them and says so; the whole session then
/// comes back as it was.
#[tokio::test]
async fn a_continued_source_session_the_store_no_longer_holds_is_left_for_a_whole_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let mut tail = codex_session(3);
    tail.messages.drain(..2);
    tail.continued = true;
    let counts = import(&store, tail.clone()).await;
    assert_eq!(
        (counts.unheld, counts.sessions_imported, counts.messages_imported),
        (1, 0, 0),
        "{counts:?}"
    );
    assert!(store.list_sessions(&pp(P)).expect("list").is_empty());

    // Held, the same continuation is taken as any later part is.
    import(&store, codex_session(2)).await;
    let counts = import(&store, tail).await;
    assert_eq!((counts.unheld, counts.messages_imported), (0, 1), "{counts:?}");
    let listed = store.list_sessions(&pp(P)).expect("list");
    assert_eq!(listed[0].message_count, 3);
}

/// A disk whose next sync can be held: the writer stops inside a commit,
/// so every job queued meanwhile lands in the next batch together.
#[derive(Debug, Clone)]
struct HeldDisk {
    inner: std::sync::Arc<redb::backends::InMemoryBackend>,
    hold: std::sync::Arc<(std::sync::Mutex<(bool, bool)>, std::sync::Condvar)>,
    /// The thread that made each sync.
    syncs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HeldDisk {
    fn new() -> Self {
        HeldDisk {
            inner: std::sync::Arc::new(redb::backends::InMemoryBackend::new()),
            hold: std::sync::Arc::new((std::sync::Mutex::new((false, false)), std::sync::Condvar::new())),
            syncs: Default::default(),
        }
    }

    /// The threads that made the syncs so far, in order.
    fn syncing_threads(&self) -> Vec<String> {
        self.syncs.lock().expect("sync list").clone()
    }

    /// The next sync waits until [`release`](Self::release).
    fn hold_next_sync(&self) {
        *self.hold.0.lock().expect("hold") = (true, false);
    }

    /// Waits until the writer is held inside a sync.
    fn wait_until_held(&self) {
        let (lock, turn) = &*self.hold;
        let _held = turn
            .wait_while(lock.lock().expect("hold"), |(_, waiting)| !*waiting)
            .expect("hold");
    }

    fn release(&self) {
        let (lock, turn) = &*self.hold;
        *lock.lock().expect("hold") = (false, false);
        turn.notify_all();
    }
}

impl redb::StorageBackend for HeldDisk {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> std::io::Result<()> {
        let name = std::thread::current().name().unwrap_or("unnamed").to_owned();
        self.syncs
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .push(name);
        let (lock, turn) = &*self.hold;
        let mut state = lock.lock().map_err(|_| std::io::Error::other("poisoned"))?;
        if state.0 {
            state.1 = true;
            turn.notify_all();
            let _released = turn
                .wait_while(state, |(held, _)| *held)
                .map_err(|_| std::io::Error::other("poisoned"))?;
        }
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.inner.write(offset, data)
    }
}

/// Queues `jobs` while the writer is held in a commit, so that they form
/// one batch, and returns their answers in order.
async fn one_batch(store: &Store, disk: &HeldDisk, jobs: Vec<Job>) -> Vec<Result<Outcome, StoreError>> {
    disk.hold_next_sync();
    let blocker = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .mutate(
                    &pp("/work/blocker"),
                    None,
                    Mutation::Append {
                        message: message("blocker"),
                    },
                )
                .await
        })
    };
    let held = disk.clone();
    tokio::task::spawn_blocking(move || held.wait_until_held())
        .await
        .expect("held");
    let mut answers = Vec::new();
    for job in jobs {
        let store = store.clone();
        answers.push(tokio::spawn(async move { store.run(job).await }));
    }
    // Every job is in the queue once the writer has room to take them all.
    while store.queued() < answers.len() {
        tokio::task::yield_now().await;
    }
    disk.release();
    blocker.await.expect("blocker").expect("the blocker commits");
    let mut results = Vec::new();
    for answer in answers {
        results.push(answer.await.expect("job task"));
    }
    results
}

fn held_store() -> (Store, HeldDisk) {
    let disk = HeldDisk::new();
    let opened = disk.clone();
    let store = Store::open_with_backend(
        Path::new("held.redb"),
        move || Ok(opened.clone()),
        MemoryLog::default(),
        || true,
        redb_commits(),
    )
    .expect("open");
    (store, disk)
}

fn append(project: &str, text: &str) -> Job {
    Job::Project {
        project: pp(project),
        expected_revision: None,
        mutation: Mutation::Append { message: message(text) },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_record_fails_only_the_job_that_met_it() {
    let (store, disk) = held_store();
    store
        .mutate(
            &pp(P),
            None,
            Mutation::Append {
                message: message("one"),
            },
        )
        .await
        .expect("append");
    // Damage message 1 of P's working session, as a bad disk would.
    {
        let db = store.inner.db.get().expect("db");
        let txn = db.begin_write().expect("write");
        {
            let projects = txn.open_table(PROJECTS).expect("projects");
            let record: ProjectRecord =
                records::decode(projects.get(P).expect("get").expect("P").value(), || "P".into()).expect("decode");
            let mut messages = txn.open_table(MESSAGES).expect("messages");
            messages
                .insert((record.working_session, 1), [0xffu8, 0xff, 0xff].as_slice())
                .expect("insert");
        }
        txn.commit().expect("commit");
    }
    let damaged = Job::Project {
        project: pp(P),
        expected_revision: None,
        mutation: Mutation::Update {
            message: Message {
                id: 1,
                ..message("changed")
            },
        },
    };
    let jobs = vec![
        append("/work/a", "a1"),
        damaged,
        append("/work/b", "b1"),
        append("/work/a", "a2"),
    ];
    let results = one_batch(&store, &disk, jobs).await;
    match &results[1] {
        Err(err @ StoreError::Corrupt { .. }) => {
            assert!(err.to_string().contains(P), "the error names the project: {err}")
        }
        other => panic!("the damaged job gets a damaged-record error, got {other:?}"),
    }
    for (i, result) in results.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert!(result.is_ok(), "job {i} of the batch commits: {result:?}");
    }
    let contents = |project: &str| -> Vec<String> {
        let page = store.working_page(&pp(project), 0, 0).expect("read").expect("exists");
        page.messages.into_iter().map(|m| m.content).collect()
    };
    assert_eq!(contents("/work/a"), ["a1", "a2"]);
    assert_eq!(contents("/work/b"), ["b1"]);
    // The writer goes on: later jobs commit without a reopen.
    store.run(append("/work/b", "b2")).await.expect("later append");
    assert_eq!(contents("/work/b"), ["b1", "b2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_that_cannot_be_applied_fails_alone_and_leaves_nothing() {
    let (store, disk) = held_store();
    let mut spool = tempfile::tempfile().expect("spool");
    // A project line and then a line that is not a record: the import
    // writes the project, then fails.
    std::io::Write::write_all(
        &mut spool,
        b"{\"type\":\"project\",\"project\":\"/work/imported\",\"created_at_ms\":1}\nnot a record\n",
    )
    .expect("write spool");
    let import = Job::Import(std::sync::Arc::new(bundle::ImportJob::new(spool, None, false)));
    let jobs = vec![append("/work/a", "a1"), import, append("/work/b", "b1")];
    let results = one_batch(&store, &disk, jobs).await;
    assert!(
        matches!(&results[1], Err(StoreError::ImportFailed(_))),
        "{:?}",
        results[1]
    );
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        store.project_state(&pp("/work/imported")).expect("read").is_none(),
        "nothing of the import stays"
    );
    assert!(store.project_state(&pp("/work/a")).expect("read").is_some());
}

/// While the writer reopens the database after a storage failure, reads
/// are answered at once (the database is being reopened) instead of
/// waiting on the slot's lock: they run on the async workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_do_not_wait_for_a_reopen() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chronicle.redb");
    let full = Arc::new(AtomicBool::new(false));
    let opens = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let (disk_path, disk_full, disk_opens, disk_gate) = (path.clone(), full.clone(), opens.clone(), gate.clone());
    let disk = move || {
        if disk_opens.fetch_add(1, Ordering::SeqCst) >= 1 {
            // The reopen: held here until the test has read.
            let (lock, turn) = &*disk_gate;
            let _open = turn
                .wait_while(lock.lock().expect("gate"), |released| !*released)
                .expect("gate");
        }
        Ok(FillableDisk {
            inner: file_backend(&disk_path)?,
            full: disk_full.clone(),
        })
    };
    let room_full = full.clone();
    let has_room = move || !room_full.load(Ordering::SeqCst);
    let store = Store::open_with_backend(&path, disk, MemoryLog::default(), has_room, redb_commits()).expect("open");
    store.run(append(P, "before")).await.expect("append");
    full.store(true, Ordering::SeqCst);
    assert!(matches!(store.run(append(P, "lost")).await, Err(StoreError::DiskFull)));
    full.store(false, Ordering::SeqCst);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.run(append(P, "after")).await })
    };
    while opens.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    // The writer is inside the reopen now. A read from another thread
    // must come back; a bound turns a wait into a failure.
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = store.clone();
    std::thread::spawn(move || {
        let _ = tx.send(reader.project_state(&pp(P)).map(|s| s.map(|s| s.revision)));
    });
    let during = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("a read during the reopen is answered, not held");
    assert!(
        matches!(&during, Err(StoreError::Storage(_))),
        "told the database is being reopened: {during:?}"
    );
    let (lock, turn) = &*gate;
    *lock.lock().expect("gate") = true;
    turn.notify_all();
    writer
        .await
        .expect("writer task")
        .expect("the write after the reopen commits");
    let state = store.project_state(&pp(P)).expect("read").expect("exists");
    assert_eq!((state.revision, state.message_count), (2, 2));
}

mod file_checks;
mod leader;
mod wal_failures;
