//! The store owns the redb database: it decides what every mutation does,
//! makes it durable, and only then reports it and publishes its event.
//!
//! Shape: any number of tasks read through short read transactions, while
//! one commit runs at a time. A lone caller commits its own mutation on its
//! own thread; whatever arrives while a commit is in flight is queued for
//! the writer thread, which takes it all into the next transaction
//! together (group commit): one fsync acknowledges the whole batch, and
//! each caller hears back only after that fsync succeeded.

mod bundle;
pub mod catalog;
mod database;
mod error;
mod migrate;
mod ops;
mod records;
pub mod repair;
mod sources;
mod tables;
pub mod validate;
mod wal;
mod writer;

use std::{
    fs::{self, OpenOptions},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use chronicle_proto::v1::{ContextFile, Event, Message, ProjectState, SessionContent, SessionInfo, TrashEntry};
use redb::{Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use tokio::sync::{broadcast, mpsc, oneshot};

pub use bundle::{BundleSource, IMPORTED_WORKING_NAME, ImportJob, Item as BundleItem};
pub use error::StoreError;
pub use ops::{FileProbes, Job, Mutation, Outcome};
pub use records::SCHEMA_VERSION;
pub use sources::{FileCursor, FollowKey, SourceBatch, SourceCounts};
pub use validate::{Limits, ProjectPath, SessionName, TrashId};
pub use wal::{LogStorage, MemoryLog, WalTuning, path_beside as wal_path};

use records::{
    FILES, MESSAGES, META, PROJECTS, ProjectRecord, SAVED, SESSIONS, SOURCE_CURSORS, SOURCE_FOLLOWS, SOURCE_IDS,
    SOURCES, SessionRecord, TRASH, TrashRecord,
};

/// Free space below which the disk counts as full: a database that failed
/// for lack of space is reopened only once this much is free again.
const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// redb's page cache unless configured (`chronicled --cache-mib`): enough
/// for the hot pages of many projects and the B-tree's upper levels. An
/// import fills it with the pages just written and the search index's
/// catch-up with every message it reads, so it is the largest part of the
/// daemon then: at 32 MiB the peak once a 1 GB import was searchable was
/// 103–119 MiB, above the 100 MB the daemon is allowed; at 16 MiB it was
/// within it, and reading a session of 6,000 or 10,000 messages took about
/// as long (docs/BENCHMARKS.md).
pub const DEFAULT_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Messages per page when the client asks for the default (limit 0).
pub const DEFAULT_PAGE_MESSAGES: u32 = 1000;
/// Most messages one page may hold.
pub const MAX_PAGE_MESSAGES: u32 = 10_000;
/// A page stops growing past this many content bytes (it always holds at
/// least one message), so a page of huge messages stays a sane size.
pub const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// How the store is set up.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub limits: Limits,
    /// Most mutations applied in one write transaction.
    pub max_batch: usize,
    /// Events a slow `Watch` subscriber may fall behind before it is told
    /// to resync.
    pub event_buffer: usize,
    /// redb's page cache, in bytes. Reads keep hot pages in it and a write
    /// transaction buffers up to half of it before writing pages out, so
    /// it bounds the daemon's memory whatever the size of the database, an
    /// export or an import (redb's default of 1 GiB let the resident size
    /// grow to the size of the file).
    pub cache_bytes: usize,
    /// How a context file is looked for on disk (see [`FileCheck`]).
    pub file_check: FileCheck,
    /// How long the checks of one job's context files may take; files not
    /// answered by then count as missing (a hung network mount, say).
    pub file_check_timeout: Duration,
    /// Make batches durable through the write-ahead log (`<db>.wal`) rather
    /// than a durable redb commit each (see `wal`). Off, the log is still
    /// replayed at open, never written.
    pub wal: bool,
    pub wal_tuning: WalTuning,
}

/// Tells whether a context file exists (can be stat'ed, not followed
/// through a symlink). Run off the writer and off the async workers, before
/// a job is queued; replaceable so a test can make it hang.
#[derive(Clone)]
pub struct FileCheck(Arc<dyn Fn(&Path) -> bool + Send + Sync>);

impl FileCheck {
    pub fn new(exists: impl Fn(&Path) -> bool + Send + Sync + 'static) -> Self {
        FileCheck(Arc::new(exists))
    }

    fn exists(&self, path: &Path) -> bool {
        (self.0)(path)
    }
}

impl Default for FileCheck {
    fn default() -> Self {
        FileCheck::new(|path| fs::symlink_metadata(path).is_ok())
    }
}

impl std::fmt::Debug for FileCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileCheck")
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            limits: Limits::default(),
            max_batch: 256,
            event_buffer: 4096,
            cache_bytes: DEFAULT_CACHE_BYTES,
            file_check: FileCheck::default(),
            file_check_timeout: Duration::from_secs(2),
            wal: true,
            wal_tuning: WalTuning::default(),
        }
    }
}

/// Counts for `GetStatus`.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub projects: u32,
    pub saved_sessions: u32,
    pub trash_entries: u32,
}

/// A handle to the store; cheap to clone, shared by every handler.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<database::DatabaseSlot>,
    path: PathBuf,
    limits: Limits,
    file_check: FileCheck,
    file_check_timeout: Duration,
    jobs: Mutex<Option<mpsc::Sender<writer::Message>>>,
    committer: Arc<writer::Committer>,
    events: broadcast::Sender<Arc<Event>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// Milliseconds since the Unix epoch, the time base of every record.
pub use chronicle_client::time::now_ms;

impl Store {
    /// Opens (or creates, mode 0600) the database at `path`, checks its
    /// schema and starts the writer thread.
    pub fn open(path: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.to_path_buf(),
            cause: source,
        };
        // Create the file ourselves so it is never, even briefly, readable
        // by others; redb then initialises the empty file.
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(path)
            .and_then(|file| file.set_permissions(fs::Permissions::from_mode(0o600)))
            .map_err(|err| open_error(redb::DatabaseError::Storage(redb::StorageError::Io(err))))?;
        // A migration must find an untouched copy beside it: take it before
        // redb opens the file for writing.
        let backup = match migrate::peek_version(path) {
            Some(found) if found < SCHEMA_VERSION => Some(migrate::backup(path, found)?),
            _ => None,
        };
        let db = builder(&config).create(path).map_err(open_error)?;
        let reopen_config = config.clone();
        let reopen_path = path.to_path_buf();
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let room =
            move || rustix::fs::statvfs(&dir).is_ok_and(|s| s.f_bavail.saturating_mul(s.f_frsize) >= MIN_FREE_BYTES);
        // Preallocating the log is only worth it with room to spare: on a
        // nearly full disk it would take the last of the space itself.
        let mut config = config;
        let free = rustix::fs::statvfs(path.parent().unwrap_or(Path::new(".")))
            .map_or(0, |s| s.f_bavail.saturating_mul(s.f_frsize));
        if free < config.wal_tuning.preallocate_bytes.saturating_mul(4) {
            config.wal_tuning.preallocate_bytes = 0;
        }
        let log = wal::LogFile::open(&wal::path_beside(path))
            .map_err(|err| open_error(redb::DatabaseError::Storage(redb::StorageError::Io(err))))?;
        Self::start(
            db,
            Box::new(move || builder(&reopen_config).open(&reopen_path)),
            Box::new(room),
            Box::new(log),
            path,
            backup,
            config,
        )
    }

    /// Opens a database on any redb storage backend, with the settings
    /// [`Store::open`] uses — for fault injection only (a backend that
    /// fails writes stands in for a full disk, one that forgets unsynced
    /// writes for a power cut). `path` only names the database in messages.
    /// `backend` is called again whenever the database must be reopened,
    /// which happens after a storage failure once `has_room` says so.
    /// `log` holds the write-ahead log.
    #[doc(hidden)]
    pub fn open_with_backend<B: redb::StorageBackend>(
        path: &Path,
        backend: impl Fn() -> std::io::Result<B> + Send + Sync + 'static,
        log: impl LogStorage + 'static,
        has_room: impl Fn() -> bool + Send + Sync + 'static,
        config: StoreConfig,
    ) -> Result<Store, StoreError> {
        let reopen_config = config.clone();
        let open = move || {
            let backend = backend().map_err(|err| redb::DatabaseError::Storage(redb::StorageError::Io(err)))?;
            builder(&reopen_config).create_with_backend(backend)
        };
        let db = open().map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            cause: source,
        })?;
        Self::start(
            db,
            Box::new(open),
            Box::new(has_room),
            Box::new(log),
            path,
            None,
            config,
        )
    }

    /// Checks the schema, replays the write-ahead log and starts the writer
    /// thread.
    fn start(
        db: Database,
        opener: database::Opener,
        room: database::RoomCheck,
        log: Box<dyn LogStorage>,
        path: &Path,
        backup: Option<PathBuf>,
        config: StoreConfig,
    ) -> Result<Store, StoreError> {
        match migrate::stored_version(&db)? {
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    path: path.to_path_buf(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(found) if found < SCHEMA_VERSION => {
                let backup = match backup {
                    Some(taken) => taken,
                    None => migrate::backup(path, found)?,
                };
                migrate::run(&db, found)?;
                tracing::info!(from = found, to = SCHEMA_VERSION, backup = %backup.display(), "migrated the database");
            }
            _ => {}
        }
        init_schema(&db)?;
        let wal = wal::Wal::recover(&db, log, config.wal, config.wal_tuning.clone())?;
        let db = Arc::new(database::DatabaseSlot::new(db, opener, room));
        let (jobs, queue) = mpsc::channel(config.max_batch.max(1) * 4);
        let (events, _) = broadcast::channel(config.event_buffer.max(16));
        let committer = writer::Committer::new(db.clone(), events.clone(), config.clone(), wal);
        let writer = writer::spawn(committer.clone(), queue).map_err(|err| StoreError::Open {
            path: path.to_path_buf(),
            cause: redb::DatabaseError::Storage(redb::StorageError::Io(err)),
        })?;
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                path: path.to_path_buf(),
                limits: config.limits,
                file_check: config.file_check,
                file_check_timeout: config.file_check_timeout,
                jobs: Mutex::new(Some(jobs)),
                committer,
                events,
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Runs a job and waits until it is durable (or failed): on this very
    /// thread when nothing else is committing, else in the writer thread's
    /// next batch.
    pub async fn run(&self, job: Job) -> Result<Outcome, StoreError> {
        let probes = self.check_files(&job).await;
        let sender = self
            .inner
            .jobs
            .lock()
            .map_err(|_| StoreError::ShuttingDown)?
            .clone()
            .ok_or(StoreError::ShuttingDown)?;
        let (reply, answer) = oneshot::channel();
        let request = writer::Request {
            job,
            probes,
            reply,
            chain: None,
        };
        if let Some(request) = self.inner.committer.lead(request, &sender) {
            self.inner.committer.queueing(1);
            if sender.send(writer::Message::Job(request)).await.is_err() {
                self.inner.committer.not_queued(1);
                return Err(StoreError::ShuttingDown);
            }
        }
        answer.await.map_err(|_| StoreError::ShuttingDown)?
    }

    /// Runs jobs in order as one chain, committed together (one sync for
    /// all): each is applied only if none before it was refused. Returns
    /// the results up to and including the first failure; the jobs after
    /// it were not applied.
    pub async fn run_chain(&self, jobs: Vec<Job>) -> Vec<Result<Outcome, StoreError>> {
        if jobs.len() <= 1 {
            let mut results = Vec::with_capacity(1);
            for job in jobs {
                results.push(self.run(job).await);
            }
            return results;
        }
        let sender = match self.inner.jobs.lock().ok().and_then(|jobs| jobs.clone()) {
            Some(sender) => sender,
            None => return vec![Err(StoreError::ShuttingDown)],
        };
        let chain = Some(self.inner.committer.new_chain());
        let mut requests = Vec::with_capacity(jobs.len());
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            let probes = self.check_files(&job).await;
            let (reply, answer) = oneshot::channel();
            requests.push(writer::Request {
                job,
                probes,
                reply,
                chain,
            });
            answers.push(answer);
        }
        let count = requests.len();
        self.inner.committer.queueing(count);
        if sender.send(writer::Message::Chain(requests)).await.is_err() {
            self.inner.committer.not_queued(count);
            return vec![Err(StoreError::ShuttingDown)];
        }
        let mut results = Vec::with_capacity(count);
        for answer in answers {
            let result = answer.await.unwrap_or(Err(StoreError::ShuttingDown));
            let failed = result.is_err();
            results.push(result);
            if failed {
                break;
            }
        }
        results
    }

    /// Looks on disk for the context files a job names, on a blocking
    /// thread and for at most `file_check_timeout`, so that neither the
    /// writer nor an async worker ever waits on a hung mount. A file whose
    /// check did not answer in time counts as missing.
    async fn check_files(&self, job: &Job) -> FileProbes {
        let Job::Project { project, mutation, .. } = job else {
            return FileProbes::default();
        };
        let paths: Vec<String> = match mutation {
            // The writer refuses what does not validate; the paths to check
            // are the stored (normalised) ones.
            Mutation::AddFiles { files } | Mutation::SetFiles { files } => {
                validate::context_files(project.as_str(), files, &self.inner.limits)
                    .map(|files| files.into_iter().map(|f| f.path).collect())
                    .unwrap_or_default()
            }
            Mutation::MarkFiles { paths, .. } => paths.clone(),
            Mutation::Load { name, files: true, .. } => self.saved_file_paths(project, name).unwrap_or_default(),
            _ => Vec::new(),
        };
        if paths.is_empty() {
            return FileProbes::default();
        }
        let check = self.inner.file_check.clone();
        let root = PathBuf::from(project.as_str());
        let asked = paths.clone();
        let task = tokio::task::spawn_blocking(move || {
            asked
                .into_iter()
                .map(|path| {
                    let missing = !check.exists(&root.join(&path));
                    (path, missing)
                })
                .collect::<Vec<_>>()
        });
        match tokio::time::timeout(self.inner.file_check_timeout, task).await {
            Ok(Ok(found)) => FileProbes::new(found),
            _ => {
                tracing::warn!(%project, files = paths.len(), "context files did not answer in time; counted as missing");
                FileProbes::new(paths.into_iter().map(|path| (path, true)))
            }
        }
    }

    /// The context files of a saved session, as stored; the writer keeps
    /// the stored flag of any it finds that are not among them.
    fn saved_file_paths(&self, project: &ProjectPath, name: &str) -> Result<Vec<String>, StoreError> {
        let name = SessionName::new(name)?;
        let r = self.read()?;
        let (id, _) = r.saved(project.as_str(), &name)?;
        Ok(tables::read_files(&r.files, id)?.into_iter().map(|f| f.path).collect())
    }

    /// Jobs sent to the writer thread, not yet committing.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.inner.committer.waiting()
    }

    /// Runs a mutation of one project.
    pub async fn mutate(
        &self,
        project: &ProjectPath,
        expected_revision: Option<u64>,
        mutation: Mutation,
    ) -> Result<Outcome, StoreError> {
        self.run(Job::Project {
            project: project.clone(),
            expected_revision,
            mutation,
        })
        .await
    }

    /// Stops taking jobs, lets the writer finish what is queued, and waits
    /// for it. Later mutations fail with `ShuttingDown`.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.inner.jobs.lock() {
            jobs.take();
        }
        let handle = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// Every committed mutation's event, in commit order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.events.subscribe()
    }

    fn read(&self) -> Result<Reader, StoreError> {
        Reader::begin(&*self.inner.db.get()?)
    }

    /// The project's state, or `None` if it was never opened.
    pub fn project_state(&self, project: &ProjectPath) -> Result<Option<ProjectState>, StoreError> {
        let r = self.read()?;
        r.project_state(project)
    }

    pub fn list_projects(&self) -> Result<Vec<ProjectState>, StoreError> {
        let r = self.read()?;
        let mut names = Vec::new();
        for row in r.projects.iter()? {
            let (key, _) = row?;
            names.push(key.value().to_owned());
        }
        let mut states = Vec::with_capacity(names.len());
        for name in names {
            if let Some(state) = r.project_state(&name)? {
                states.push(state);
            }
        }
        states.sort_by(|a, b| b.updated_at_ms.cmp(&a.updated_at_ms).then(a.project.cmp(&b.project)));
        Ok(states)
    }

    /// A page of the working session, or `None` if the project is unknown.
    pub fn working_page(
        &self,
        project: &ProjectPath,
        after: u64,
        limit: u32,
    ) -> Result<Option<SessionContent>, StoreError> {
        let r = self.read()?;
        let Some((id, header)) = r.working(project)? else {
            return Ok(None);
        };
        let mut content = r.page(id, &header, after, limit)?;
        content.project = project.to_string();
        content.revision = header.revision;
        Ok(Some(content))
    }

    /// A page of a saved session.
    pub fn saved_page(
        &self,
        project: &ProjectPath,
        name: &SessionName,
        after: u64,
        limit: u32,
    ) -> Result<SessionContent, StoreError> {
        let r = self.read()?;
        let (id, header) = r.saved(project, name)?;
        let mut content = r.page(id, &header, after, limit)?;
        content.project = project.to_string();
        content.name = header.name.clone();
        content.revision = r.working(project)?.map_or(0, |(_, w)| w.revision);
        Ok(content)
    }

    /// Saved sessions of a project, most recently updated first.
    pub fn list_sessions(&self, project: &ProjectPath) -> Result<Vec<SessionInfo>, StoreError> {
        let project = project.as_str();
        let r = self.read()?;
        let mut sessions = Vec::new();
        for row in r.saved.range((project, "")..)? {
            let (key, id) = row?;
            if key.value().0 != project {
                break;
            }
            let header = tables::read_session(&r.sessions, id.value())?;
            sessions.push((
                (header.updated_at_ms, header.updated_revision),
                ops::session_info(&header),
            ));
        }
        // Newest update first: by time, and within one millisecond (one
        // group-commit batch shares its clock reading) by the project
        // revision that wrote it; the name settles what is left.
        sessions.sort_by(|(a_key, a), (b_key, b)| b_key.cmp(a_key).then(a.name.cmp(&b.name)));
        Ok(sessions.into_iter().map(|(_, info)| info).collect())
    }

    /// Trash entries (of one project, or all), newest first.
    pub fn list_trash(&self, project: Option<&ProjectPath>) -> Result<Vec<TrashEntry>, StoreError> {
        let project = project.map(ProjectPath::as_str);
        let r = self.read()?;
        let mut entries = Vec::new();
        for row in r.trash.iter()? {
            let (key, value) = row?;
            let id = key.value();
            let record: TrashRecord = records::decode(value.value(), || format!("trash entry {id}"))?;
            if project.is_some_and(|p| p != record.project) {
                continue;
            }
            let header = tables::read_session(&r.sessions, record.session_id)?;
            entries.push(TrashEntry {
                id: id.to_string(),
                project: record.project,
                name: record.name,
                reason: record.reason,
                trashed_at_ms: record.trashed_at_ms,
                message_count: header.message_count,
                file_count: header.file_count,
            });
        }
        entries.sort_by(|a, b| b.trashed_at_ms.cmp(&a.trashed_at_ms).then(b.id.cmp(&a.id)));
        Ok(entries)
    }

    /// Current revision of one project (0 if unknown) or of every project.
    pub fn revisions(&self, project: Option<&ProjectPath>) -> Result<Vec<(String, u64)>, StoreError> {
        let project = project.map(ProjectPath::as_str);
        let r = self.read()?;
        match project {
            Some(project) => Ok(vec![(
                project.to_owned(),
                r.working(project)?.map_or(0, |(_, w)| w.revision),
            )]),
            None => {
                let mut out = Vec::new();
                for row in r.projects.iter()? {
                    let (key, value) = row?;
                    let name = key.value().to_owned();
                    let record: ProjectRecord = records::decode(value.value(), || format!("project {name}"))?;
                    let working = tables::read_session(&r.sessions, record.working_session)?;
                    out.push((name, working.revision));
                }
                Ok(out)
            }
        }
    }

    pub fn totals(&self) -> Result<Totals, StoreError> {
        let r = self.read()?;
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Totals {
            projects: clamp(r.projects.len()?),
            saved_sessions: clamp(r.saved.len()?),
            trash_entries: clamp(r.trash.len()?),
        })
    }

    /// A consistent snapshot of one session for export: its header, files,
    /// and a cursor over its messages.
    pub fn export_source(&self, project: &ProjectPath, name: Option<&SessionName>) -> Result<ExportSource, StoreError> {
        let project = project.as_str();
        let r = self.read()?;
        let (id, header) = match name {
            Some(name) => r.saved(project, name)?,
            None => {
                let record = r.project(project)?.ok_or_else(|| {
                    StoreError::NotFound(format!("project {project} has no working session yet — open it first"))
                })?;
                let header = tables::read_session(&r.sessions, record.working_session)?;
                (record.working_session, header)
            }
        };
        let files = tables::read_files(&r.files, id)?;
        Ok(ExportSource {
            info: ops::session_info(&header),
            files,
            session_id: id,
            messages: r.messages,
        })
    }
}

/// One session as an exporter sees it.
pub struct ExportSource {
    /// Name is empty for the working session.
    pub info: SessionInfo,
    pub files: Vec<ContextFile>,
    session_id: u64,
    messages: ReadOnlyTable<(u64, u64), &'static [u8]>,
}

impl ExportSource {
    /// Messages with ids in `first..=last`, in order, read lazily.
    pub fn messages(
        &self,
        first: u64,
        last: u64,
    ) -> Result<impl Iterator<Item = Result<Message, StoreError>> + '_, StoreError> {
        let session = self.session_id;
        let range = self.messages.range((session, first)..=(session, last))?;
        Ok(range.map(move |row| {
            let (key, value) = row?;
            let id = key.value().1;
            records::decode(value.value(), || format!("message {id} of session {session}"))
        }))
    }
}

/// The tables as of one read snapshot.
struct Reader {
    _txn: ReadTransaction,
    projects: ReadOnlyTable<&'static str, &'static [u8]>,
    sessions: ReadOnlyTable<u64, &'static [u8]>,
    files: ReadOnlyTable<u64, &'static [u8]>,
    messages: ReadOnlyTable<(u64, u64), &'static [u8]>,
    saved: ReadOnlyTable<(&'static str, &'static str), u64>,
    trash: ReadOnlyTable<u64, &'static [u8]>,
    sources: ReadOnlyTable<(&'static str, &'static str), u64>,
    source_follows: ReadOnlyTable<(&'static str, &'static str), &'static [u8]>,
    source_cursors: ReadOnlyTable<(&'static str, &'static str, &'static str), &'static [u8]>,
    source_ids: ReadOnlyTable<(u64, &'static str), u64>,
}

impl Reader {
    fn begin(db: &Database) -> Result<Reader, StoreError> {
        let txn = db.begin_read()?;
        Ok(Reader {
            projects: txn.open_table(PROJECTS)?,
            sessions: txn.open_table(SESSIONS)?,
            files: txn.open_table(FILES)?,
            messages: txn.open_table(MESSAGES)?,
            saved: txn.open_table(SAVED)?,
            trash: txn.open_table(TRASH)?,
            sources: txn.open_table(SOURCES)?,
            source_follows: txn.open_table(SOURCE_FOLLOWS)?,
            source_cursors: txn.open_table(SOURCE_CURSORS)?,
            source_ids: txn.open_table(SOURCE_IDS)?,
            _txn: txn,
        })
    }

    fn project(&self, project: &str) -> Result<Option<ProjectRecord>, StoreError> {
        match self.projects.get(project)? {
            Some(bytes) => records::decode(bytes.value(), || format!("project {project}")).map(Some),
            None => Ok(None),
        }
    }

    /// The working session's id and header, or `None` for an unknown project.
    fn working(&self, project: &str) -> Result<Option<(u64, SessionRecord)>, StoreError> {
        let Some(record) = self.project(project)? else {
            return Ok(None);
        };
        let header = tables::read_session(&self.sessions, record.working_session)?;
        Ok(Some((record.working_session, header)))
    }

    fn project_state(&self, project: &str) -> Result<Option<ProjectState>, StoreError> {
        let Some((_, working)) = self.working(project)? else {
            return Ok(None);
        };
        let saved = tables::count_saved(&self.saved, project)?;
        Ok(Some(ops::project_state(project, &working, saved)))
    }

    fn saved(&self, project: &str, name: &SessionName) -> Result<(u64, SessionRecord), StoreError> {
        let id = self
            .saved
            .get((project, name.as_str()))?
            .map(|v| v.value())
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "no saved session named \"{name}\" in {project} — `chronicle ls` lists the saved sessions"
                ))
            })?;
        Ok((id, tables::read_session(&self.sessions, id)?))
    }

    fn page(&self, session: u64, header: &SessionRecord, after: u64, limit: u32) -> Result<SessionContent, StoreError> {
        let limit = match limit {
            0 => DEFAULT_PAGE_MESSAGES,
            n => n.min(MAX_PAGE_MESSAGES),
        } as usize;
        let mut messages = Vec::new();
        let mut bytes = 0usize;
        let mut more = false;
        let start = after.saturating_add(1);
        for row in self.messages.range((session, start)..=(session, u64::MAX))? {
            let (key, value) = row?;
            if messages.len() >= limit || (bytes >= MAX_PAGE_BYTES && !messages.is_empty()) {
                more = true;
                break;
            }
            let id = key.value().1;
            let value = value.value();
            bytes += value.len();
            messages.push(records::decode(value, || format!("message {id} of session {session}"))?);
        }
        Ok(SessionContent {
            messages,
            files: tables::read_files(&self.files, session)?,
            more,
            total_messages: header.message_count,
            ..SessionContent::default()
        })
    }
}

/// redb's settings, one place for the file and for any test backend.
/// Every page's checksum is verified on open: a file damaged since redb
/// wrote it is refused, never trusted (nor served half-empty).
fn builder(config: &StoreConfig) -> redb::Builder {
    let mut builder = Database::builder();
    builder
        .set_check_integrity_on_open(true)
        .set_cache_size(config.cache_bytes);
    builder
}

/// Creates every table and records the schema version in a new database.
fn init_schema(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        if meta.get(records::KEY_SCHEMA)?.is_none() {
            meta.insert(records::KEY_SCHEMA, records::SCHEMA_VERSION)?;
        }
        txn.open_table(PROJECTS)?;
        txn.open_table(SESSIONS)?;
        txn.open_table(FILES)?;
        txn.open_table(MESSAGES)?;
        txn.open_table(SAVED)?;
        txn.open_table(TRASH)?;
        txn.open_table(SOURCES)?;
        txn.open_table(SOURCE_FOLLOWS)?;
        txn.open_table(SOURCE_CURSORS)?;
        txn.open_table(SOURCE_IDS)?;
    }
    txn.commit()?;
    Ok(())
}

#[cfg(test)]
mod power_cut;
#[cfg(test)]
mod tests;
