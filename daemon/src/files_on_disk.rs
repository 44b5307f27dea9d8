//! Watches the context files of the projects clients have open and tells
//! the store when one vanishes or comes back. The watcher only observes:
//! it reports paths as [`Mutation::MarkFiles`], and the store decides — it
//! checks the list and the disk again — and commits, with a revision and a
//! FILE_MISSING or FILE_RESTORED event like any other change.
//!
//! A project is open while a `Watch` stream follows it, or for a while
//! after its last call (see [`crate::activity`]). Its files are watched
//! through their parent directories (one watch per directory, so a file
//! that is deleted and created again is seen), with notify's recommended
//! watcher behind a debouncer. Watches are bounded: a directory past
//! [`WatchConfig::max_watches`], past the system's inotify limit, or that
//! does not exist (yet) is stat'ed every [`WatchConfig::poll_interval`]
//! instead. Everything is released when no client has the project open.

use std::{
    collections::{HashMap, HashSet},
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use chronicle_proto::v1::{ContextFile, Event, EventKind};
use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::{
    sync::{broadcast, mpsc},
    task::JoinHandle,
    time::MissedTickBehavior,
};
use tokio_util::sync::CancellationToken;

use crate::activity::Activity;
use crate::store::{Mutation, ProjectPath, Store, StoreError};

/// How the watcher is bounded and how quickly it reacts.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// Most directories watched at once; files in the others are polled.
    pub max_watches: usize,
    /// How often files that cannot be watched are stat'ed.
    pub poll_interval: Duration,
    /// Quiet time the debouncer waits for before reporting a changed path.
    pub debounce: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            max_watches: 1024,
            poll_interval: Duration::from_secs(5),
            debounce: Duration::from_millis(200),
        }
    }
}

/// How often the set of open projects is looked at again (a project that
/// opens wakes the watcher at once; this only bounds how late a closed one
/// is released).
const REFRESH: Duration = Duration::from_secs(1);
/// Debounced batches buffered between notify's thread and the watcher.
const NOTICE_QUEUE: usize = 64;

/// Starts the watcher; it runs until `stop` is cancelled.
pub fn spawn(store: Store, activity: Activity, config: WatchConfig, stop: CancellationToken) -> JoinHandle<()> {
    let (notice_tx, notices) = mpsc::channel(NOTICE_QUEUE);
    let events = store.subscribe();
    let watcher = FileWatcher {
        store,
        activity,
        config,
        notice_tx,
        debouncer: None,
        projects: HashMap::new(),
        files: HashMap::new(),
        dirs: HashMap::new(),
        watched: 0,
        system_limit_hit: false,
        no_watcher: false,
        said_cap: false,
        said_limit: false,
        said_error: false,
        said_read_error: false,
    };
    tokio::spawn(watcher.run(events, notices, stop))
}

type Notices = Debouncer<RecommendedWatcher, RecommendedCache>;

struct FileWatcher {
    store: Store,
    activity: Activity,
    config: WatchConfig,
    notice_tx: mpsc::Sender<DebounceEventResult>,
    /// Created when the first directory is watched, dropped when none is,
    /// so an idle daemon keeps no watcher thread.
    debouncer: Option<Notices>,
    /// The open projects and what the watcher knows of their files.
    projects: HashMap<String, Project>,
    /// Absolute path of a context file → the open projects listing it.
    files: HashMap<PathBuf, Vec<String>>,
    /// Parent directories of those files.
    dirs: HashMap<PathBuf, Dir>,
    /// Directories in [`DirMode::Watched`].
    watched: usize,
    /// The system refused a watch for lack of room: no more are tried
    /// until every watch has been released.
    system_limit_hit: bool,
    /// The OS watcher could not even be created: everything is polled.
    no_watcher: bool,
    said_cap: bool,
    said_limit: bool,
    said_error: bool,
    said_read_error: bool,
}

struct Project {
    /// The revision the file flags below are as of.
    revision: u64,
    files: HashMap<PathBuf, Tracked>,
}

struct Tracked {
    /// The path as the store keeps it (relative to the project, or absolute).
    stored: String,
    missing: bool,
}

struct Dir {
    /// Context files (of any open project) in this directory.
    users: usize,
    mode: DirMode,
    /// (device, inode) of the directory when its watch was put on: a watch
    /// follows the directory, so once another one stands at the path (or
    /// none does) the watch must be renewed.
    identity: Option<(u64, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DirMode {
    Watched,
    /// Stat'ed periodically: it does not exist (watched once it does).
    Absent,
    /// Stat'ed periodically: no watch could be had for it.
    Polled,
}

/// What the disk says and the store does not know yet, per project.
#[derive(Default)]
struct Marks {
    gone: Vec<String>,
    back: Vec<String>,
}

/// A file counts as present when it can be stat'ed, as the store sees it.
fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Which directory stands at `dir` now, as inotify would watch it.
fn identity(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

/// Events whose `files` are the working session's whole list afterwards.
fn carries_files(kind: i32) -> bool {
    matches!(
        EventKind::try_from(kind),
        Ok(EventKind::FilesChanged
            | EventKind::SessionLoaded
            | EventKind::MessagesCleared
            | EventKind::FileMissing
            | EventKind::FileRestored)
    )
}

impl FileWatcher {
    async fn run(
        mut self,
        mut events: broadcast::Receiver<std::sync::Arc<Event>>,
        mut notices: mpsc::Receiver<DebounceEventResult>,
        stop: CancellationToken,
    ) {
        let mut refresh = tokio::time::interval(REFRESH);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut poll = tokio::time::interval(self.config.poll_interval.max(Duration::from_millis(100)));
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let activity = self.activity.clone();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = activity.opened() => self.refresh().await,
                _ = refresh.tick() => self.refresh().await,
                _ = poll.tick() => self.poll().await,
                Some(notice) = notices.recv() => self.on_notice(notice).await,
                received = events.recv() => match received {
                    Ok(event) => self.on_event(&event).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => self.resync().await,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    }

    /// Takes up projects that became open and releases those that closed.
    async fn refresh(&mut self) {
        let open = self.activity.open_projects();
        let closed: Vec<String> = self
            .projects
            .keys()
            .filter(|p| open.binary_search(p).is_err())
            .cloned()
            .collect();
        for project in closed {
            self.release(&project);
        }
        let mut marks = HashMap::new();
        for project in open {
            if !self.projects.contains_key(&project) {
                self.acquire(&project, &mut marks);
            }
        }
        self.report(marks).await;
        if self.watched == 0 && self.debouncer.is_some() {
            self.debouncer = None;
            self.system_limit_hit = false;
        }
    }

    /// Starts following a project: its files from the store, their
    /// directories watched, then every file stat'ed once (after the
    /// watches, so nothing slips between the two).
    fn acquire(&mut self, project: &str, marks: &mut HashMap<String, Marks>) {
        let page = checked(project).map_or(Ok(None), |project| self.store.working_page(&project, u64::MAX, 1));
        let (revision, files) = match page {
            Ok(Some(page)) => (page.revision, page.files),
            Ok(None) => (0, Vec::new()),
            Err(err) => {
                // Retried at every refresh: said once.
                if !self.said_read_error {
                    self.said_read_error = true;
                    tracing::warn!(error = %err, "could not read a project's context files; will retry");
                }
                return;
            }
        };
        self.projects.insert(
            project.to_owned(),
            Project {
                revision,
                files: HashMap::new(),
            },
        );
        let added = self.set_files(project, revision, &files);
        self.check(added, marks);
    }

    fn release(&mut self, project: &str) {
        if let Some(state) = self.projects.remove(project) {
            for path in state.files.into_keys() {
                self.forget_file(project, &path);
            }
        }
    }

    /// Makes the watcher's view of a project's files the store's list;
    /// returns the files new to it, to be stat'ed.
    fn set_files(&mut self, project: &str, revision: u64, files: &[ContextFile]) -> Vec<PathBuf> {
        let Some(state) = self.projects.get_mut(project) else {
            return Vec::new();
        };
        state.revision = revision;
        let mut listed: HashMap<PathBuf, Tracked> = files
            .iter()
            .map(|f| {
                (
                    Path::new(project).join(&f.path),
                    Tracked {
                        stored: f.path.clone(),
                        missing: f.missing,
                    },
                )
            })
            .collect();
        let dropped: Vec<PathBuf> = state
            .files
            .keys()
            .filter(|p| !listed.contains_key(*p))
            .cloned()
            .collect();
        let added: Vec<PathBuf> = listed
            .keys()
            .filter(|p| !state.files.contains_key(*p))
            .cloned()
            .collect();
        for (path, tracked) in state.files.iter_mut() {
            if let Some(now) = listed.remove(path) {
                *tracked = now;
            }
        }
        state.files.extend(listed);
        for path in &dropped {
            if let Some(state) = self.projects.get_mut(project) {
                state.files.remove(path);
            }
            self.forget_file(project, path);
        }
        for path in &added {
            self.follow_file(project, path);
        }
        added
    }

    fn follow_file(&mut self, project: &str, path: &Path) {
        self.files
            .entry(path.to_path_buf())
            .or_default()
            .push(project.to_owned());
        let Some(dir) = path.parent() else { return };
        if let Some(entry) = self.dirs.get_mut(dir) {
            entry.users += 1;
            return;
        }
        let (mode, identity) = self.watch_dir(dir);
        self.dirs.insert(
            dir.to_path_buf(),
            Dir {
                users: 1,
                mode,
                identity,
            },
        );
    }

    fn forget_file(&mut self, project: &str, path: &Path) {
        if let Some(projects) = self.files.get_mut(path) {
            if let Some(at) = projects.iter().position(|p| p == project) {
                projects.swap_remove(at);
            }
            if projects.is_empty() {
                self.files.remove(path);
            }
        }
        let Some(dir) = path.parent() else { return };
        let Some(entry) = self.dirs.get_mut(dir) else { return };
        entry.users = entry.users.saturating_sub(1);
        if entry.users == 0 {
            let mode = entry.mode;
            self.dirs.remove(dir);
            if mode == DirMode::Watched {
                self.unwatch_dir(dir);
            }
        }
    }

    /// Tries to watch a directory; says how its files will be followed,
    /// and which directory a new watch is on.
    fn watch_dir(&mut self, dir: &Path) -> (DirMode, Option<(u64, u64)>) {
        let identity = identity(dir);
        let mode = self.try_watch(dir);
        (mode, identity.filter(|_| mode == DirMode::Watched))
    }

    fn try_watch(&mut self, dir: &Path) -> DirMode {
        if self.no_watcher || self.system_limit_hit {
            return DirMode::Polled;
        }
        if self.watched >= self.config.max_watches {
            if !self.said_cap {
                self.said_cap = true;
                tracing::info!(
                    max_watches = self.config.max_watches,
                    poll_every = ?self.config.poll_interval,
                    "watching the most directories allowed; context files in the others are checked periodically"
                );
            }
            return DirMode::Polled;
        }
        let Some(debouncer) = self.debouncer() else {
            return DirMode::Polled;
        };
        match debouncer.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched += 1;
                DirMode::Watched
            }
            Err(err) => match err.kind {
                notify::ErrorKind::MaxFilesWatch => {
                    self.system_limit_hit = true;
                    if std::mem::replace(&mut self.said_limit, true) {
                        return DirMode::Polled;
                    }
                    tracing::warn!(
                        watched = self.watched,
                        poll_every = ?self.config.poll_interval,
                        "the system's inotify watch limit is reached (fs.inotify.max_user_watches); the remaining context files are checked periodically"
                    );
                    DirMode::Polled
                }
                notify::ErrorKind::PathNotFound => DirMode::Absent,
                notify::ErrorKind::Io(ref io) if io.kind() == std::io::ErrorKind::NotFound => DirMode::Absent,
                _ => {
                    tracing::debug!(error = %err, dir = %dir.display(), "cannot watch a directory; polling it");
                    DirMode::Polled
                }
            },
        }
    }

    fn unwatch_dir(&mut self, dir: &Path) {
        self.watched = self.watched.saturating_sub(1);
        if let Some(debouncer) = self.debouncer.as_mut() {
            // The watch may already be gone with the directory itself.
            let _ = debouncer.unwatch(dir);
        }
    }

    /// The OS watcher, created on first use.
    fn debouncer(&mut self) -> Option<&mut Notices> {
        if self.debouncer.is_none() && !self.no_watcher {
            let tx = self.notice_tx.clone();
            let handler = move |result: DebounceEventResult| {
                // The receiver is gone only while the daemon stops.
                let _ = tx.blocking_send(result);
            };
            match new_debouncer(self.config.debounce, None, handler) {
                Ok(debouncer) => self.debouncer = Some(debouncer),
                Err(err) => {
                    self.no_watcher = true;
                    tracing::warn!(
                        error = %err,
                        poll_every = ?self.config.poll_interval,
                        "cannot create a file watcher; context files are checked periodically instead"
                    );
                }
            }
        }
        self.debouncer.as_mut()
    }

    /// Compares the disk with what the store said for each path, and notes
    /// every difference for [`Self::report`].
    fn check(&self, paths: impl IntoIterator<Item = PathBuf>, marks: &mut HashMap<String, Marks>) {
        for path in paths {
            let Some(projects) = self.files.get(&path) else {
                continue;
            };
            let present = exists(&path);
            for project in projects {
                let Some(tracked) = self.projects.get(project).and_then(|p| p.files.get(&path)) else {
                    continue;
                };
                if tracked.missing == present {
                    let entry = marks.entry(project.clone()).or_default();
                    if present {
                        entry.back.push(tracked.stored.clone());
                    } else {
                        entry.gone.push(tracked.stored.clone());
                    }
                }
            }
        }
    }

    /// Hands what the disk said to the store, which decides and commits;
    /// its events then update the flags here.
    async fn report(&self, marks: HashMap<String, Marks>) {
        for (project, marks) in marks {
            let Some(project) = checked(&project) else {
                continue;
            };
            for (paths, missing) in [(marks.gone, true), (marks.back, false)] {
                if paths.is_empty() {
                    continue;
                }
                match self
                    .store
                    .mutate(&project, None, Mutation::MarkFiles { paths, missing })
                    .await
                {
                    Ok(_) | Err(StoreError::NotFound(_) | StoreError::ShuttingDown) => {}
                    Err(err) => tracing::warn!(error = %err, "could not record a context file change"),
                }
            }
        }
    }

    /// Every file of every open project, stat'ed again.
    async fn check_all(&self) {
        let mut marks = HashMap::new();
        self.check(self.files.keys().cloned().collect::<Vec<_>>(), &mut marks);
        self.report(marks).await;
    }

    /// Stats the files no watch covers, and watches directories that have
    /// appeared (or for which there is room again).
    async fn poll(&mut self) {
        let retry: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter(|(dir, d)| match d.mode {
                DirMode::Watched => false,
                DirMode::Absent => exists(dir),
                DirMode::Polled => !self.system_limit_hit && !self.no_watcher && self.watched < self.config.max_watches,
            })
            .map(|(dir, _)| dir.clone())
            .collect();
        for dir in &retry {
            self.rewatch(dir, false);
        }
        // A directory watched just now may have got its files before the
        // watch did: stat those too.
        let unwatched: HashSet<&Path> = self
            .dirs
            .iter()
            .filter(|(_, d)| d.mode != DirMode::Watched)
            .map(|(dir, _)| dir.as_path())
            .chain(retry.iter().map(PathBuf::as_path))
            .collect();
        if unwatched.is_empty() {
            return;
        }
        let paths: Vec<PathBuf> = self
            .files
            .keys()
            .filter(|p| p.parent().is_some_and(|d| unwatched.contains(d)))
            .cloned()
            .collect();
        let mut marks = HashMap::new();
        self.check(paths, &mut marks);
        self.report(marks).await;
    }

    /// A debounced batch from notify: stat every context file it names; a
    /// watched directory that was itself removed or moved is watched anew
    /// (or polled until it is back) and all its files are stat'ed.
    async fn on_notice(&mut self, notice: DebounceEventResult) {
        let events = match notice {
            Ok(events) => events,
            Err(errors) => {
                if !self.said_error {
                    self.said_error = true;
                    if let Some(err) = errors.first() {
                        tracing::warn!(error = %err, "the file watcher reported an error; checking every context file");
                    }
                }
                self.check_all().await;
                return;
            }
        };
        let mut paths: HashSet<PathBuf> = HashSet::new();
        let mut rescan = false;
        let mut moved_dirs = Vec::new();
        for event in &events {
            rescan |= event.need_rescan();
            for path in &event.paths {
                if self.files.contains_key(path) {
                    paths.insert(path.clone());
                }
                if self.dirs.get(path).is_some_and(|d| d.mode == DirMode::Watched) {
                    moved_dirs.push(path.clone());
                }
            }
        }
        if rescan {
            self.check_all().await;
            return;
        }
        for dir in moved_dirs {
            // Most events about a directory itself are harmless (it was
            // listed, its times changed); only another or no directory at
            // its path needs a new watch.
            let current = self.dirs.get(&dir).and_then(|d| d.identity);
            if current.is_some() && identity(&dir) == current {
                continue;
            }
            self.rewatch(&dir, true);
            paths.extend(self.files.keys().filter(|p| p.parent() == Some(dir.as_path())).cloned());
        }
        let mut marks = HashMap::new();
        self.check(paths, &mut marks);
        self.report(marks).await;
    }

    /// Puts a new watch on a directory (dropping the old one first when
    /// `renew`), or leaves it polled when none can be had.
    fn rewatch(&mut self, dir: &Path, renew: bool) {
        if renew && self.dirs.get(dir).is_some_and(|d| d.mode == DirMode::Watched) {
            self.unwatch_dir(dir);
        }
        let (mode, identity) = self.watch_dir(dir);
        if let Some(entry) = self.dirs.get_mut(dir) {
            entry.mode = mode;
            entry.identity = identity;
        }
    }

    /// A committed change: files of an open project changed in the store.
    async fn on_event(&mut self, event: &Event) {
        if !carries_files(event.kind) {
            return;
        }
        let Some(state) = self.projects.get(&event.project) else {
            return;
        };
        if event.revision <= state.revision {
            return;
        }
        let added = self.set_files(&event.project, event.revision, &event.files);
        let mut marks = HashMap::new();
        self.check(added, &mut marks);
        self.report(marks).await;
    }

    /// The watcher fell behind the store's events: read every open
    /// project's files again (which stats them all).
    async fn resync(&mut self) {
        tracing::info!("the file watcher fell behind; reading every open project again");
        let open: Vec<String> = self.projects.keys().cloned().collect();
        for project in &open {
            self.release(project);
        }
        let mut marks = HashMap::new();
        for project in &open {
            self.acquire(project, &mut marks);
        }
        self.report(marks).await;
    }
}

/// A project path as the store takes it. Projects reach the watcher from
/// [`Activity`] and from the store's events, both holding paths a handler
/// already checked, so this never refuses one; checking is idempotent and
/// cheap, and keeps the store's signatures honest.
fn checked(project: &str) -> Option<ProjectPath> {
    ProjectPath::new(project).ok()
}

#[cfg(test)]
mod tests {
    use chronicle_proto::v1::ContextFile;

    fn pp(raw: &str) -> ProjectPath {
        ProjectPath::new(raw).expect("a valid project path")
    }

    use super::*;
    use crate::store::StoreConfig;

    fn open_store(dir: &Path) -> Store {
        Store::open(&dir.join("chronicle.redb"), StoreConfig::default()).expect("open store")
    }

    fn file(path: &str) -> ContextFile {
        ContextFile {
            path: path.into(),
            ..ContextFile::default()
        }
    }

    async fn add(store: &Store, project: &str, paths: &[&str]) -> u64 {
        let files = paths.iter().map(|p| file(p)).collect();
        store
            .mutate(&pp(project), None, Mutation::AddFiles { files })
            .await
            .expect("add files")
            .revision
    }

    fn flags(store: &Store, project: &str) -> Vec<(String, bool)> {
        let page = store
            .working_page(&pp(project), u64::MAX, 1)
            .expect("read")
            .expect("project exists");
        page.files.into_iter().map(|f| (f.path, f.missing)).collect()
    }

    async fn mark(store: &Store, project: &str, paths: &[&str], missing: bool) -> Result<u64, StoreError> {
        let paths = paths.iter().map(|p| p.to_string()).collect();
        store
            .mutate(&pp(project), None, Mutation::MarkFiles { paths, missing })
            .await
            .map(|o| o.revision)
    }

    #[tokio::test]
    async fn marking_a_vanished_file_is_one_revision_and_one_event() {
        let db = tempfile::tempdir().expect("tempdir");
        let work = tempfile::tempdir().expect("tempdir");
        let project = work.path().to_str().expect("utf-8").to_owned();
        fs::write(work.path().join("a.rs"), "a").expect("write");
        fs::write(work.path().join("b.rs"), "b").expect("write");
        let store = open_store(db.path());
        let before = add(&store, &project, &["a.rs", "b.rs"]).await;
        let mut events = store.subscribe();

        fs::remove_file(work.path().join("a.rs")).expect("remove");
        let after = mark(&store, &project, &["a.rs", "b.rs"], true).await.expect("mark");
        assert_eq!(after, before + 1, "one revision");
        let event = events.recv().await.expect("an event");
        assert_eq!(event.kind, EventKind::FileMissing as i32);
        assert_eq!(event.revision, after);
        assert_eq!(event.files.len(), 2, "the event carries the whole list");
        assert_eq!(
            flags(&store, &project),
            [("a.rs".into(), true), ("b.rs".into(), false)],
            "b.rs exists: the store did not believe the report"
        );

        fs::write(work.path().join("a.rs"), "again").expect("write");
        let restored = mark(&store, &project, &["a.rs"], false).await.expect("mark");
        assert_eq!(restored, after + 1);
        let event = events.recv().await.expect("an event");
        assert_eq!(event.kind, EventKind::FileRestored as i32);
        assert_eq!(
            flags(&store, &project),
            [("a.rs".into(), false), ("b.rs".into(), false)]
        );
    }

    #[tokio::test]
    async fn a_report_the_disk_contradicts_changes_nothing() {
        let db = tempfile::tempdir().expect("tempdir");
        let work = tempfile::tempdir().expect("tempdir");
        let project = work.path().to_str().expect("utf-8").to_owned();
        fs::write(work.path().join("a.rs"), "a").expect("write");
        let store = open_store(db.path());
        let before = add(&store, &project, &["a.rs"]).await;
        assert_eq!(mark(&store, &project, &["a.rs"], true).await.expect("mark"), before);
        assert_eq!(mark(&store, &project, &["a.rs"], false).await.expect("mark"), before);
        assert_eq!(flags(&store, &project), [("a.rs".into(), false)]);
    }

    #[tokio::test]
    async fn marking_files_of_an_unknown_project_leaves_no_trace() {
        let db = tempfile::tempdir().expect("tempdir");
        let store = open_store(db.path());
        let err = mark(&store, "/nowhere/project", &["a.rs"], true).await;
        assert!(matches!(err, Err(StoreError::NotFound(_))), "{err:?}");
        assert!(store.list_projects().expect("list").is_empty(), "no project registered");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deleted_and_recreated_file_is_flagged_and_cleared() {
        let db = tempfile::tempdir().expect("tempdir");
        let work = tempfile::tempdir().expect("tempdir");
        let project = work.path().to_str().expect("utf-8").to_owned();
        let target = work.path().join("src").join("lib.rs");
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::write(&target, "x").expect("write");
        let store = open_store(db.path());
        add(&store, &project, &["src/lib.rs"]).await;
        let activity = Activity::new(Duration::from_secs(60));
        let stop = CancellationToken::new();
        let task = spawn(store.clone(), activity.clone(), WatchConfig::default(), stop.clone());
        let mut events = store.subscribe();
        activity.touch(&project);
        // Let the watcher take the project up before touching the disk.
        tokio::time::sleep(Duration::from_millis(300)).await;

        fs::remove_file(&target).expect("remove");
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("FILE_MISSING in time")
            .expect("an event");
        assert_eq!(event.kind, EventKind::FileMissing as i32);

        fs::write(&target, "back").expect("write");
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("FILE_RESTORED in time")
            .expect("an event");
        assert_eq!(event.kind, EventKind::FileRestored as i32);
        stop.cancel();
        task.await.expect("the watcher stops");
        store.close();
    }
}
