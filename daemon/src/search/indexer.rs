//! The indexer thread: keeps the tantivy index in step with redb, off the
//! write path. It opens the index (rebuilding it when missing, damaged,
//! of another format, or when `--reindex` asks), catches up from redb,
//! then follows the store's committed events: an append or an update is
//! written straight from its event, anything else (save, load, delete,
//! trash, import, a gap) re-reads that project's catalog from redb and
//! indexes what is new, drops what is gone and, when its messages may have
//! changed, re-indexes the working session. Every commit carries, as its
//! payload, which revision of each project and which sessions it holds,
//! so a restart (or a kill) resumes from exactly there.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use chronicle_proto::v1::{Event, EventKind, Message};
use serde_json::{Value, json};
use tantivy::{
    Executor, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, indexer::IndexWriterOptions,
};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::directory::IndexDirectory;
use super::queue::{Queue, QueuedDoc};
use super::schema::{self, FORMAT, Fields};
use super::{IndexError, Shared};
use crate::store::Store;
use crate::store::catalog::Catalog;

/// The writer's memory budget while the index is built or caught up,
/// shared by its threads (the bound is 64 MB).
pub const WRITER_HEAP_BYTES: usize = 48 * 1024 * 1024;
/// The writer's budget once it follows the events: a commit every 200 ms
/// holds a few messages, and a saved session an import adds is flushed in
/// segments of this size. Near tantivy's floor (15 MB per thread), so
/// the daemon's resident size during an import is not the index's heap.
const FOLLOW_HEAP_BYTES: usize = 16 * 1024 * 1024;
/// Indexing threads while the index is built or caught up: both cores of
/// the small machines Chronicle is measured on, and no more.
fn build_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

/// An index writer on `threads` threads sharing `heap` bytes, with one
/// merge thread: merges run beside the indexing, and each holds memory of
/// its own (tantivy's default is four).
fn new_writer(index: &Index, threads: usize, heap: usize) -> Result<IndexWriter<QueuedDoc>, IndexError> {
    let options = IndexWriterOptions::builder()
        .num_worker_threads(threads)
        .memory_budget_per_thread(heap / threads.max(1))
        .num_merge_threads(1)
        .build();
    Ok(index.writer_with_options(options)?)
}

/// Messages read from redb at a time while indexing a session: about as
/// many as tantivy may hold queued ([`super::queue::MAX_QUEUED_DOCS`]).
const READ_CHUNK: usize = 250;
/// When a saved session grows, its last messages from before are indexed
/// again too: an import or a follow updates the few messages at the end
/// of what it stored before (a call completed by its output, a reply's
/// later blocks) in place.
const UPDATED_TAIL: u64 = 64;
/// A long build commits this often, so search sees it grow and a kill
/// loses little.
const BUILD_COMMIT_DOCS: u64 = 200_000;
/// Messages indexed between two returns of freed heap to the system while
/// the index catches up (an import's sessions, a build): each chunk read
/// from redb and each document is freed on another thread than the one
/// that made it, and glibc kept that memory. The daemon's anonymous
/// memory in that phase peaked at 78–90 MiB with it against 91–110
/// without (`chronicle-bench-sources`, 200 MB).
const TRIM_EVERY_DOCS: u64 = 10_000;
/// Most events folded into one commit.
const MAX_BATCH_EVENTS: usize = 4096;
/// How long events are gathered after the first before they are
/// committed together.
const BATCH_WINDOW: Duration = Duration::from_millis(200);
/// How often the indexer looks whether tantivy's queue has room again.
const QUEUE_POLL: Duration = Duration::from_millis(1);
/// How often the indexer looks whether the imports it waits for ended.
const IMPORT_POLL: Duration = Duration::from_millis(50);

/// Why the loop stopped.
enum Stop {
    Shutdown,
    Failed(IndexError),
}

impl From<IndexError> for Stop {
    fn from(err: IndexError) -> Self {
        match err {
            IndexError::Stopped => Stop::Shutdown,
            err => Stop::Failed(err),
        }
    }
}

impl From<tantivy::TantivyError> for Stop {
    fn from(err: tantivy::TantivyError) -> Self {
        Stop::Failed(err.into())
    }
}

impl From<crate::store::StoreError> for Stop {
    fn from(err: crate::store::StoreError) -> Self {
        Stop::Failed(err.into())
    }
}

/// Runs until `shutdown`; rebuilds from scratch after any failure.
pub fn run(
    store: Store,
    dir: PathBuf,
    mut wipe: bool,
    shared: Arc<Shared>,
    mut events: broadcast::Receiver<Arc<Event>>,
    runtime: tokio::runtime::Handle,
    shutdown: CancellationToken,
) {
    yield_to_the_write_path();
    loop {
        shared.catching_up.store(true, Ordering::SeqCst);
        let result = Indexer::open(&store, &dir, wipe, &shared, &shutdown)
            .map_err(Stop::from)
            .and_then(|mut indexer| indexer.follow(&mut events, &runtime));
        match result {
            Ok(()) | Err(Stop::Shutdown) => return,
            Err(Stop::Failed(err)) => {
                tracing::error!(error = %err, dir = %dir.display(), "the search index failed; rebuilding it from the database");
                *shared.index.write().unwrap_or_else(|e| e.into_inner()) = None;
                wipe = true;
            }
        }
        let pause = runtime.block_on(async {
            tokio::select! {
                () = shutdown.cancelled() => true,
                () = tokio::time::sleep(Duration::from_secs(1)) => false,
            }
        });
        if pause {
            return;
        }
    }
}

/// How much lower the index's threads run than the rest of the daemon
/// where the idle class is refused (a nice value; 19 is the lowest).
const INDEXER_NICE: i32 = 10;

/// Puts this thread, and with it every thread tantivy starts from it
/// (indexing, merging: Linux threads inherit their creator's policy; not
/// the searches', see [`search_threads`]), in
/// the idle scheduling class: it runs on whatever a core has left, and
/// gives the core up at once when a handler or the writer wakes, where at
/// nice 10 a woken handler could wait out the indexer's time slice. The
/// index only lags while every core is busy, and catches up from redb
/// afterwards (`chronicle-bench`'s sustained run, docs/BENCHMARKS.md).
#[allow(unsafe_code)]
fn yield_to_the_write_path() {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 names the calling thread, and `idle` is a valid
    // parameter block (the idle class takes priority 0) that outlives the call.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) } == 0 {
        return;
    }
    tracing::debug!(error = %std::io::Error::last_os_error(), "the idle scheduling class was refused; lowering the search indexer's nice value instead");
    // `None`: the calling thread; the nice value is per thread on Linux.
    if let Err(err) = rustix::process::setpriority_process(None, INDEXER_NICE) {
        tracing::debug!(error = %err, "could not lower the search indexer's priority");
    }
}

struct Indexer<'a> {
    store: &'a Store,
    shared: &'a Shared,
    shutdown: &'a CancellationToken,
    fields: Fields,
    writer: IndexWriter<QueuedDoc>,
    /// The documents `writer` has queued and not yet indexed.
    queue: Queue,
    reader: IndexReader,
    /// Each project's revision the index holds.
    revisions: HashMap<String, u64>,
    /// Sessions whose every message is in the index: their project and
    /// the session's next message id when it was indexed.
    indexed: HashMap<u64, (String, u64)>,
    catalog: Catalog,
    docs_since_commit: u64,
    /// Projects an import is writing to: their changes are indexed from
    /// redb once no import runs ([`super::SearchIndex::import_running`]).
    held_back: HashSet<String>,
}

impl<'a> Indexer<'a> {
    /// Opens (or rebuilds) the index and catches up from redb.
    fn open(
        store: &'a Store,
        dir: &Path,
        wipe: bool,
        shared: &'a Shared,
        shutdown: &'a CancellationToken,
    ) -> Result<Indexer<'a>, IndexError> {
        let (mut index, payload) = open_index(dir, wipe)?;
        index.set_executor(shared.searches.clone());
        // A build or a long catch-up tokenizes on every core; following
        // adds a few messages per commit, so one thread does.
        let writer = new_writer(&index, build_threads(), WRITER_HEAP_BYTES)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        *shared.index.write().unwrap_or_else(|e| e.into_inner()) = Some((index.clone(), reader.clone()));
        let (revisions, indexed) = payload;
        let mut indexer = Indexer {
            store,
            shared,
            shutdown,
            fields: shared.fields,
            writer,
            queue: Queue::default(),
            reader,
            revisions,
            indexed,
            catalog: Catalog::default(),
            docs_since_commit: 0,
            held_back: HashSet::new(),
        };
        let started = std::time::Instant::now();
        let before = indexer.indexed.len();
        match indexer.reconcile(None, false) {
            Ok(()) => {}
            Err(Stop::Shutdown) => return Err(IndexError::Stopped),
            Err(Stop::Failed(err)) => return Err(err),
        }
        indexer.commit()?;
        // Only one writer may hold the index: the build's goes first.
        let Indexer {
            writer,
            reader,
            revisions,
            indexed,
            catalog,
            ..
        } = indexer;
        drop(writer);
        let indexer = Indexer {
            store,
            shared,
            shutdown,
            fields: shared.fields,
            writer: new_writer(&index, 1, FOLLOW_HEAP_BYTES)?,
            queue: Queue::default(),
            reader,
            revisions,
            indexed,
            catalog,
            docs_since_commit: 0,
            held_back: HashSet::new(),
        };
        shared.catching_up.store(false, Ordering::SeqCst);
        tracing::info!(
            sessions = indexer.indexed.len(),
            new_sessions = indexer.indexed.len().saturating_sub(before),
            took_ms = started.elapsed().as_millis() as u64,
            "the search index is up to date"
        );
        Ok(indexer)
    }

    /// Follows the store's events until shutdown.
    fn follow(
        &mut self,
        events: &mut broadcast::Receiver<Arc<Event>>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(), Stop> {
        loop {
            let holding = !self.held_back.is_empty();
            let first = runtime.block_on(async {
                tokio::select! {
                    () = self.shutdown.cancelled() => None,
                    received = events.recv() => Some(Some(received)),
                    () = tokio::time::sleep(IMPORT_POLL), if holding => Some(None),
                }
            });
            let mut batch = Vec::new();
            let mut lagged = false;
            match first {
                None | Some(Some(Err(RecvError::Closed))) => return Err(Stop::Shutdown),
                Some(None) => {
                    if !self.import_running() {
                        self.release_held_back()?;
                    }
                    continue;
                }
                Some(Some(Err(RecvError::Lagged(_)))) => lagged = true,
                Some(Some(Ok(event))) => batch.push(event),
            }
            // Gather what follows for a moment: one commit per window
            // instead of one per event keeps the indexer's share of the
            // CPU small under load, for a lag of about the window.
            let window_ends = tokio::time::Instant::now() + BATCH_WINDOW;
            while batch.len() < MAX_BATCH_EVENTS {
                let next = runtime.block_on(async {
                    tokio::select! {
                        () = self.shutdown.cancelled() => None,
                        () = tokio::time::sleep_until(window_ends) => None,
                        received = events.recv() => Some(received),
                    }
                });
                match next {
                    Some(Ok(event)) => batch.push(event),
                    Some(Err(RecvError::Lagged(_))) => lagged = true,
                    Some(Err(RecvError::Closed)) | None => break,
                }
            }
            if lagged {
                // Events were missed: whatever they did is in redb.
                tracing::warn!("the search index fell behind the events; catching up from the database");
                self.shared.catching_up.store(true, Ordering::SeqCst);
                self.reconcile(None, true)?;
                self.held_back.clear();
                self.shared.catching_up.store(false, Ordering::SeqCst);
            }
            for event in batch {
                self.apply(&event)?;
            }
            // Also here: under a steady stream of events the poll never wins.
            if !self.held_back.is_empty() && !self.import_running() {
                self.release_held_back()?;
            } else {
                self.commit()?;
            }
        }
    }

    fn apply(&mut self, event: &Event) -> Result<(), Stop> {
        let project = event.project.as_str();
        if self.held_back.contains(project) {
            return Ok(());
        }
        let Some(&seen) = self.revisions.get(project) else {
            return self.reconcile_or_hold_back(project, true);
        };
        if event.revision <= seen {
            return Ok(());
        }
        let next = event.revision == seen + 1;
        let kind = EventKind::try_from(event.kind).unwrap_or(EventKind::Unspecified);
        let working = self.catalog.projects.get(project).map(|p| p.working_session);
        match (next, kind, &event.message, working) {
            (true, EventKind::MessageAppended | EventKind::MessageUpdated, Some(message), Some(working)) => {
                self.upsert(project, working, message)?;
            }
            (true, EventKind::FilesChanged | EventKind::FileMissing | EventKind::FileRestored, _, Some(working)) => {
                if let Some(session) = self.catalog.sessions.get_mut(&working) {
                    session.files = event.files.iter().map(|f| f.path.clone()).collect();
                }
            }
            (
                true,
                EventKind::SessionSaved
                | EventKind::SessionRenamed
                | EventKind::SessionDeleted
                | EventKind::TrashChanged,
                _,
                Some(_),
            ) => return self.reconcile_or_hold_back(project, false),
            _ => return self.reconcile_or_hold_back(project, true),
        }
        self.revisions.insert(project.to_owned(), event.revision);
        Ok(())
    }

    fn upsert(&mut self, project: &str, session: u64, message: &Message) -> Result<(), Stop> {
        self.writer.delete_term(Term::from_field_text(
            self.fields.key,
            &schema::key(session, message.id),
        ));
        self.add(schema::document(&self.fields, project, session, message))?;
        self.docs_since_commit += 1;
        Ok(())
    }

    /// Hands a document to tantivy once its queue has room
    /// ([`super::queue::MAX_QUEUED_DOCS`]).
    fn add(&mut self, doc: TantivyDocument) -> Result<(), Stop> {
        while !self.queue.has_room() {
            if self.shutdown.is_cancelled() {
                return Err(Stop::Shutdown);
            }
            std::thread::sleep(QUEUE_POLL);
        }
        self.writer.add_document(self.queue.ticket(doc))?;
        Ok(())
    }

    /// Whether an `ImportSource` runs ([`super::SearchIndex::import_running`]).
    fn import_running(&self) -> bool {
        self.shared.imports.load(Ordering::SeqCst) > 0
    }

    /// Reconciles `project` now, or once no import runs: an import's
    /// sessions are indexed after it, not while it writes them.
    fn reconcile_or_hold_back(&mut self, project: &str, working: bool) -> Result<(), Stop> {
        if !self.import_running() {
            return self.reconcile(Some(project), working);
        }
        self.held_back.insert(project.to_owned());
        self.shared.catching_up.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Indexes the projects held back during imports, now that none runs.
    fn release_held_back(&mut self) -> Result<(), Stop> {
        for project in std::mem::take(&mut self.held_back) {
            self.reconcile(Some(&project), true)?;
        }
        self.commit()?;
        self.shared.catching_up.store(false, Ordering::SeqCst);
        crate::memory::release_freed_heap();
        Ok(())
    }

    /// Brings one project (or all) in line with redb as of one snapshot.
    /// `working`: re-index working sessions even where the revision agrees.
    fn reconcile(&mut self, project: Option<&str>, working: bool) -> Result<(), Stop> {
        let fresh = self.store.catalog(project)?;
        let in_scope = |p: &str| project.is_none_or(|only| only == p);
        let gone: Vec<u64> = self
            .indexed
            .iter()
            .filter(|(id, (p, _))| in_scope(p.as_str()) && !fresh.sessions.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.writer.delete_term(Term::from_field_u64(self.fields.session, id));
            self.indexed.remove(&id);
        }
        let mut ids: Vec<u64> = fresh.sessions.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let Some(session) = fresh.sessions.get(&id) else {
                continue;
            };
            let is_working = fresh
                .projects
                .get(&session.project)
                .is_some_and(|p| p.working_session == id);
            let stale_working = is_working
                && (working
                    || self.revisions.get(&session.project)
                        != fresh.projects.get(&session.project).map(|p| &p.revision));
            let project = session.project.clone();
            let next = session.next_message_id;
            match self.indexed.get(&id).map(|(_, indexed_next)| *indexed_next) {
                None => self.index_session(id, &project, next)?,
                Some(_) if stale_working => self.index_session(id, &project, next)?,
                // A saved session that grew (an import in parts, a follow):
                // what was added, and the tail an import may have updated.
                Some(indexed_next) if !is_working && indexed_next != next => {
                    self.index_tail(
                        id,
                        &project,
                        indexed_next.saturating_sub(UPDATED_TAIL + 1),
                        next,
                        indexed_next,
                    )?;
                }
                Some(_) => {}
            }
        }
        for (name, state) in &fresh.projects {
            self.revisions.insert(name.clone(), state.revision);
        }
        match project {
            Some(_) => self.catalog.merge(fresh),
            None => self.catalog = fresh,
        }
        Ok(())
    }

    /// (Re)writes every message of one session; `next` is its next
    /// message id as of the catalog read.
    fn index_session(&mut self, session: u64, project: &str, next: u64) -> Result<(), Stop> {
        self.indexed.remove(&session);
        self.writer
            .delete_term(Term::from_field_u64(self.fields.session, session));
        self.index_tail(session, project, 0, next, 0)
    }

    /// Writes the messages of one session with ids above `after`; those
    /// below `replace_below` may be in the index already and are replaced.
    /// Only they get a delete: tantivy keeps every pending delete's query
    /// (about 1 KB each) until the commit, which for a session grown by
    /// tens of thousands of messages took more memory than the rest of the
    /// daemon.
    fn index_tail(
        &mut self,
        session: u64,
        project: &str,
        mut after: u64,
        next: u64,
        replace_below: u64,
    ) -> Result<(), Stop> {
        let mut indexed_to = next;
        loop {
            if self.shutdown.is_cancelled() {
                return Err(Stop::Shutdown);
            }
            let messages = self.store.session_messages(session, after, READ_CHUNK)?;
            let Some(last) = messages.last() else { break };
            after = last.id;
            indexed_to = indexed_to.max(last.id + 1);
            for message in &messages {
                if message.id < replace_below {
                    self.writer.delete_term(Term::from_field_text(
                        self.fields.key,
                        &schema::key(session, message.id),
                    ));
                }
                self.add(schema::document(&self.fields, project, session, message))?;
            }
            self.docs_since_commit += messages.len() as u64;
            if messages.len() < READ_CHUNK {
                break;
            }
            if self.docs_since_commit % TRIM_EVERY_DOCS < READ_CHUNK as u64 {
                crate::memory::release_freed_heap();
            }
            if self.docs_since_commit >= BUILD_COMMIT_DOCS {
                self.commit()?;
            }
        }
        // Messages added since the catalog was read are indexed too: the
        // next tail starts after them, and replaces them when updated.
        self.indexed.insert(session, (project.to_owned(), indexed_to));
        Ok(())
    }

    /// Commits with the state as payload, then shows it to searches.
    fn commit(&mut self) -> Result<(), IndexError> {
        let payload = json!({
            "format": FORMAT,
            "projects": self.revisions,
            "sessions": self.indexed.iter().map(|(id, (p, next))| json!([id, p, next])).collect::<Vec<_>>(),
        });
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload.to_string());
        prepared.commit()?;
        self.reader.reload()?;
        self.docs_since_commit = 0;
        *self.shared.catalog.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(self.catalog.clone());
        Ok(())
    }
}

type Payload = (HashMap<String, u64>, HashMap<u64, (String, u64)>);

/// Opens the index in `dir`, or creates it empty there when it is missing,
/// unreadable, damaged (a checksum fails) or of another format, or when
/// `wipe` says so. Returns the state its last commit recorded.
fn open_index(dir: &Path, wipe: bool) -> Result<(Index, Payload), IndexError> {
    if !wipe {
        match try_open(dir) {
            Ok(Some(opened)) => return Ok(opened),
            Ok(None) => {}
            Err(reason) => tracing::warn!(dir = %dir.display(), %reason, "rebuilding the search index"),
        }
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(IndexError::Io(dir.to_path_buf(), err)),
    }
    create_dir(dir)?;
    let (schema, _) = schema::build();
    let directory = IndexDirectory::open(dir).map_err(|err| IndexError::Index(err.into()))?;
    let index = prepare(Index::create(directory, schema, tantivy::IndexSettings::default())?)?;
    Ok((index, (HashMap::new(), HashMap::new())))
}

/// `Ok(None)` when there is no index yet; `Err` says why an existing one
/// cannot be used.
fn try_open(dir: &Path) -> Result<Option<(Index, Payload)>, String> {
    if !dir.join("meta.json").exists() {
        return Ok(None);
    }
    let index = IndexDirectory::open(dir)
        .map_err(tantivy::TantivyError::from)
        .and_then(Index::open)
        .and_then(prepare)
        .map_err(|err| format!("cannot open it: {err}"))?;
    let (expected, _) = schema::build();
    if index.schema() != expected {
        return Err("its fields are of another format".into());
    }
    let metas = index
        .load_metas()
        .map_err(|err| format!("cannot read its state: {err}"))?;
    let payload: Value = metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or("its state is missing")?;
    if payload.get("format").and_then(Value::as_u64) != Some(FORMAT) {
        return Err("it is of another format".into());
    }
    let damaged = index
        .validate_checksum()
        .map_err(|err| format!("cannot check it: {err}"))?;
    if !damaged.is_empty() {
        return Err(format!("{} of its files are damaged", damaged.len()));
    }
    let mut revisions = HashMap::new();
    if let Some(projects) = payload.get("projects").and_then(Value::as_object) {
        for (name, revision) in projects {
            revisions.insert(name.clone(), revision.as_u64().ok_or("its state is damaged")?);
        }
    }
    let mut indexed = HashMap::new();
    for entry in payload.get("sessions").and_then(Value::as_array).into_iter().flatten() {
        let id = entry.get(0).and_then(Value::as_u64).ok_or("its state is damaged")?;
        let project = entry.get(1).and_then(Value::as_str).ok_or("its state is damaged")?;
        // Absent in indexes written before it was recorded: 0, so the
        // session is brought up to date at the next catch-up.
        let next = entry.get(2).and_then(Value::as_u64).unwrap_or(0);
        indexed.insert(id, (project.to_owned(), next));
    }
    Ok(Some((index, (revisions, indexed))))
}

/// What every index needs before it is written or searched: the stemmed
/// field's analyser.
fn prepare(index: Index) -> tantivy::Result<Index> {
    schema::register_tokenizers(&index);
    Ok(index)
}

/// The threads a search goes over the index's segments on: as many as a
/// build indexes with (a phrase over common words checks positions in
/// every segment). Start them outside the indexer thread: threads inherit
/// their creator's scheduling class, and the indexer's is idle, which would
/// leave a search waiting for as long as the writes keep every core busy.
pub fn search_threads() -> tantivy::Result<Executor> {
    match build_threads() {
        1 => Ok(Executor::single_thread()),
        threads => Executor::multi_thread(threads, "search-thread-"),
    }
}

fn create_dir(dir: &Path) -> Result<(), IndexError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|err| IndexError::Io(dir.to_path_buf(), err))
}
