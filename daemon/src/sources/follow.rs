//! Following other agents' sessions (`FollowSource`): for each follow —
//! an agent and a scope, one project or all of the agent's sessions — a
//! task watches the agent's directories (notify, recursively, and a poll
//! every second as a safety net) and imports what changed, the way
//! `ImportSource` does: each source session stays the saved session an
//! earlier import or look made of it, and gets only what it lacks (or
//! what changed, updated in place).
//!
//! A look lists the agent's files on a blocking thread and takes each
//! one's signature (device, inode, size, modification time; for opencode's
//! database its WAL's too). A file whose signature equals the follow's
//! cursor is not read. A changed file is read on a blocking thread, in
//! parts as the import reads it: a JSON Lines file on from where the last
//! read stopped, with the parser kept from then ([`super::tail`], within
//! [`TAILS_BUDGET_BYTES`] per follow), anything else from its start. Its
//! sessions go to the store with the new cursor in the same transaction as
//! the last part: a crash before the commit leaves the old cursor and the
//! file is read again from its start (what is already stored is recognised
//! by its source ids, so nothing is added twice); a crash after it leaves
//! both.
//! The signature is taken before the file is read, so a write that races
//! the read only makes the next look read it again. A file the agent
//! deletes or rotates away loses nothing: its sessions are in the store,
//! and a rotated file's new inode is simply read. Follows and their
//! cursors live in the store, so a restarted daemon resumes every follow
//! and catches up on what changed while it was down.

use std::{
    collections::{HashMap, HashSet},
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use chronicle_client::paths;
use chronicle_interop::sources::{Agent, ParseOptions, Skipped, SourceSession};
use chronicle_proto::v1::{SourceFollow, SourceKind};
use notify::{RecursiveMode, Watcher};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::aider::FollowCtx;
use super::tail::{self, Tail};
use super::{import, place};
use crate::store::{FileCursor, FollowKey, Job, ProjectPath, SourceBatch, SourceCounts, StoreError};

/// How often the files are looked at when no notification came.
const POLL: Duration = Duration::from_secs(1);
/// Changes closer together than this are handled as one look.
const SETTLE: Duration = Duration::from_millis(20);
/// How many bytes a follow's kept parsers may hold together (a Claude
/// transcript's: its tree's shape and up to 4 MiB of texts; a rollout's:
/// its last reply): past it the least recently changed file's is dropped,
/// and that file is read from its start when it changes next.
pub const TAILS_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// The proto's name for an agent.
pub fn kind_of(agent: Agent) -> SourceKind {
    match agent {
        Agent::Claude => SourceKind::Claude,
        Agent::Codex => SourceKind::Codex,
        Agent::Opencode => SourceKind::Opencode,
        Agent::Gemini => SourceKind::Gemini,
        Agent::Aider => SourceKind::Aider,
    }
}

struct Running {
    info: Arc<Mutex<SourceFollow>>,
    stop: CancellationToken,
}

/// Every follow of other agents' sessions in this daemon; cheap to clone.
#[derive(Clone, Default)]
pub struct SourceFollows {
    running: Arc<Mutex<HashMap<FollowKey, Running>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters and a status line: whatever a panicking holder left is usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The record a follow is kept as in the store.
fn record(paths: &[PathBuf], since_ms: i64) -> Vec<u8> {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    json!({"paths": paths, "since_ms": since_ms}).to_string().into_bytes()
}

fn parse_record(bytes: &[u8]) -> Option<(Vec<PathBuf>, i64)> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let paths = value["paths"]
        .as_array()?
        .iter()
        .map(|p| p.as_str().map(PathBuf::from))
        .collect::<Option<Vec<_>>>()?;
    Some((paths, value["since_ms"].as_i64().unwrap_or(0)))
}

impl SourceFollows {
    /// Starts following `key` (replacing an earlier follow of it) over
    /// `roots` (the agent's default locations when empty). What the files
    /// already hold is imported first.
    pub async fn follow(
        &self,
        ctx: &FollowCtx,
        key: FollowKey,
        roots: Vec<PathBuf>,
    ) -> Result<SourceFollow, StoreError> {
        let roots = if roots.is_empty() {
            paths::agent_session_dirs(key.agent.as_str())
        } else {
            roots
        };
        if roots.is_empty() {
            return Err(StoreError::InvalidArgument(format!(
                "the daemon knows no default location for {} sessions (HOME is not set) — name the directories to follow",
                key.agent
            )));
        }
        let since_ms = chronicle_client::time::now_ms();
        ctx.store
            .run(Job::SourceFollow {
                key: key.clone(),
                record: Some(record(&roots, since_ms)),
            })
            .await?;
        Ok(self.spawn(ctx, key, roots, since_ms, HashMap::new()))
    }

    /// Stops following `key` and forgets its cursors (the sessions stay).
    pub async fn unfollow(&self, ctx: &FollowCtx, key: &FollowKey) -> Result<Option<SourceFollow>, StoreError> {
        let known = ctx.store.source_follows()?.iter().any(|(k, _)| k == key);
        let running = lock(&self.running).remove(key);
        if known || running.is_some() {
            ctx.store
                .run(Job::SourceFollow {
                    key: key.clone(),
                    record: None,
                })
                .await?;
        }
        Ok(running.map(|r| {
            r.stop.cancel();
            lock(&r.info).clone()
        }))
    }

    /// Every follow, sorted by agent and scope.
    pub fn list(&self) -> Vec<SourceFollow> {
        let mut follows: Vec<SourceFollow> = lock(&self.running).values().map(|r| lock(&r.info).clone()).collect();
        follows.sort_by(|a, b| (a.kind, &a.project).cmp(&(b.kind, &b.project)));
        follows
    }

    /// Starts again the follows the store holds, each from its cursors.
    pub fn resume(&self, ctx: &FollowCtx) {
        let follows = match ctx.store.source_follows() {
            Ok(follows) => follows,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the source follows; none resumed");
                return;
            }
        };
        for (key, bytes) in follows {
            let Some((roots, since_ms)) = parse_record(&bytes) else {
                tracing::warn!(agent = %key.agent, scope = %key.scope, "a source follow's record is damaged; not resumed");
                continue;
            };
            if !key.scope.is_empty() && ProjectPath::new(&key.scope).is_err() {
                tracing::warn!(agent = %key.agent, "a source follow names a bad project; not resumed");
                continue;
            }
            let cursors = match ctx.store.source_cursors(&key) {
                Ok(cursors) => cursors,
                Err(err) => {
                    tracing::warn!(agent = %key.agent, error = %err, "cannot read a follow's cursors; reading its files again");
                    HashMap::new()
                }
            };
            tracing::info!(agent = %key.agent, scope = %key.scope, "resuming a source follow");
            self.spawn(ctx, key, roots, since_ms, cursors);
        }
    }

    fn spawn(
        &self,
        ctx: &FollowCtx,
        key: FollowKey,
        roots: Vec<PathBuf>,
        since_ms: i64,
        cursors: HashMap<String, Vec<u8>>,
    ) -> SourceFollow {
        let info = SourceFollow {
            kind: kind_of(key.agent) as i32,
            project: key.scope.clone(),
            all: key.scope.is_empty(),
            paths: roots.iter().map(|p| p.to_string_lossy().into_owned()).collect(),
            since_ms,
            ..SourceFollow::default()
        };
        let shared = Arc::new(Mutex::new(info.clone()));
        let stop = CancellationToken::new();
        let previous = lock(&self.running).insert(
            key.clone(),
            Running {
                info: shared.clone(),
                stop: stop.clone(),
            },
        );
        if let Some(previous) = previous {
            previous.stop.cancel();
        }
        let scope = (!key.scope.is_empty())
            .then(|| ProjectPath::new(&key.scope).ok())
            .flatten();
        let options = ParseOptions {
            max_inline_bytes: ctx
                .store
                .limits()
                .max_content_bytes
                .min(ParseOptions::default().max_inline_bytes),
        };
        let task = Task {
            ctx: ctx.clone(),
            key,
            scope,
            roots,
            info: shared,
            cursors,
            tails: Tails::default(),
            options,
        };
        tokio::spawn(task.run(stop));
        info
    }
}

/// A file's signature: what changes whenever its content may have.
/// opencode writes its database's WAL first, so that counts too; a
/// directory (opencode's older tree) signs every file under it.
fn signature(agent: Agent, path: &Path) -> Option<Vec<u8>> {
    let meta = fs::metadata(path).ok()?;
    let mut parts = vec![
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime() as u64,
        meta.mtime_nsec() as u64,
    ];
    if meta.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).ok()?.flatten() {
                let Ok(m) = entry.metadata() else { continue };
                if m.is_dir() {
                    stack.push(entry.path());
                } else {
                    parts.extend([m.ino(), m.len(), m.mtime() as u64, m.mtime_nsec() as u64]);
                }
            }
        }
    } else if agent == Agent::Opencode {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        if let Ok(m) = fs::metadata(PathBuf::from(wal)) {
            parts.extend([m.ino(), m.len(), m.mtime() as u64, m.mtime_nsec() as u64]);
        }
    }
    Some(json!(parts).to_string().into_bytes())
}

struct Task {
    ctx: FollowCtx,
    key: FollowKey,
    /// `None`: every session of the agent, each into its own project.
    scope: Option<ProjectPath>,
    roots: Vec<PathBuf>,
    info: Arc<Mutex<SourceFollow>>,
    /// By file: the signature last committed.
    cursors: HashMap<String, Vec<u8>>,
    tails: Tails,
    options: ParseOptions,
}

/// The parsers a follow keeps, by file, the least recently used dropped
/// past [`TAILS_BUDGET_BYTES`].
#[derive(Default)]
struct Tails {
    by_file: HashMap<String, (u64, Tail)>,
    uses: u64,
}

impl Tails {
    fn take(&mut self, file: &str) -> Option<Tail> {
        self.by_file.remove(file).map(|(_, tail)| tail)
    }

    fn keep(&mut self, file: String, tail: Tail) {
        self.uses += 1;
        self.by_file.insert(file, (self.uses, tail));
        let mut held: usize = self.by_file.values().map(|(_, t)| t.held_bytes()).sum();
        while held > TAILS_BUDGET_BYTES {
            let Some(oldest) = self
                .by_file
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(f, _)| f.clone())
            else {
                break;
            };
            if let Some((_, tail)) = self.by_file.remove(&oldest) {
                held -= tail.held_bytes();
            }
        }
    }
}

impl Task {
    async fn run(mut self, stop: CancellationToken) {
        let (tx, mut rx) = mpsc::channel(1);
        let mut watchers = Vec::new();
        let mut watched = HashSet::new();
        loop {
            // A root that appears later (the agent's first run) is watched
            // from then on; until then the poll covers it.
            for root in &self.roots {
                if !watched.contains(root)
                    && let Some(w) = watch(root, tx.clone())
                {
                    watchers.push(w);
                    watched.insert(root.clone());
                }
            }
            self.look().await;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.ctx.shutdown.cancelled() => return,
                got = rx.recv() => {
                    if got.is_some() {
                        tokio::time::sleep(SETTLE).await;
                        while rx.try_recv().is_ok() {}
                    }
                }
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Reads every file that changed since its cursor.
    async fn look(&mut self) {
        let agent = self.key.agent;
        let roots: Vec<PathBuf> = self.roots.iter().filter(|r| r.exists()).cloned().collect();
        let cursors = self.cursors.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let found = import::find(agent, &roots).map_err(|e| e.to_string())?;
            let changed: Vec<(PathBuf, Vec<u8>)> = found
                .files
                .iter()
                .filter_map(|f| {
                    let sig = signature(agent, &f.path)?;
                    let key = f.path.to_string_lossy();
                    (cursors.get(key.as_ref()) != Some(&sig)).then(|| (f.path.clone(), sig))
                })
                .collect();
            Ok::<_, String>((changed, found.titles))
        })
        .await;
        let (changed, titles) = match listed {
            Ok(Ok(listed)) => listed,
            Ok(Err(message)) => return self.error(message),
            Err(err) => return self.error(format!("the file walk failed: {err}")),
        };
        for (path, sig) in changed {
            match self.read(&path, sig, &titles).await {
                Ok(()) => {
                    let mut info = lock(&self.info);
                    info.files = u32::try_from(self.cursors.len()).unwrap_or(u32::MAX);
                    if !info.last_error.is_empty() {
                        info.last_error.clear();
                    }
                }
                Err(err) => self.error(format!("{}: {err}", path.display())),
            }
        }
    }

    /// Reads one changed file into the store, a part at a time as the
    /// import does (a rollout of gigabytes is never held whole) and only
    /// what was appended when its tail is kept, its cursor with the last
    /// of its batches: a crash before that commit leaves the old cursor,
    /// and the parts stored already are recognised by their source ids
    /// when the file is read again.
    async fn read(&mut self, path: &Path, sig: Vec<u8>, titles: &HashMap<String, String>) -> Result<(), StoreError> {
        let file = path.to_string_lossy().into_owned();
        let mut kept = self.tails.take(&file);
        let mut imported = 0;
        let kept = loop {
            let whole = kept.is_none();
            let (stored, kept_now) = self.read_on(path, &sig, titles, kept).await?;
            imported += stored.messages_imported;
            if stored.unheld == 0 || whole {
                break kept_now;
            }
            // The store no longer holds a session the tail had handed it
            // (purged since): read the file whole to make it anew.
            kept = None;
        };
        if let Some(kept) = kept {
            // Only once its reading is stored: a failed store reads the
            // file again from its start.
            self.tails.keep(file.clone(), kept);
        }
        self.cursors.insert(file, sig);
        lock(&self.info).messages_imported += imported;
        Ok(())
    }

    /// [`Task::read`] from `kept` (from the start when `None`): what was
    /// stored, and the tail to keep.
    async fn read_on(
        &self,
        path: &Path,
        sig: &[u8],
        titles: &HashMap<String, String>,
        kept: Option<Tail>,
    ) -> Result<(SourceCounts, Option<Tail>), StoreError> {
        let agent = self.key.agent;
        let options = self.options;
        let file = path.to_path_buf();
        let (parts_tx, mut parts) = mpsc::channel::<Vec<SourceSession>>(1);
        let reader = tokio::task::spawn_blocking(move || {
            tail::read_on(agent, &file, options, kept, import::PART_BYTES, &mut |sessions| {
                parts_tx.blocking_send(sessions).is_ok()
            })
        });
        let mut stored = SourceCounts::default();
        while let Some(sessions) = parts.recv().await {
            stored.add(&self.store(sessions, titles, None).await?);
        }
        let (parsed, kept) = reader
            .await
            .map_err(|e| StoreError::InvalidArgument(format!("reading failed: {e}")))?;
        let whole_source = |s: &&Skipped| s.line == 0 && Path::new(&s.file) == path;
        if let Some(whole) = parsed
            .skipped
            .iter()
            .find(whole_source)
            .filter(|_| agent == Agent::Opencode)
        {
            // The database could not be read at all (busy past the
            // timeout): keep the old cursor, so the next look retries. A
            // record of its tree that is not JSON is skipped like a line.
            return Err(StoreError::InvalidArgument(whole.reason.clone()));
        }
        let cursor = FileCursor {
            follow: self.key.clone(),
            file: path.to_string_lossy().into_owned(),
            state: sig.to_vec(),
        };
        stored.add(&self.store(parsed.sessions, titles, Some(cursor)).await?);
        Ok((stored, kept))
    }

    /// Stores sessions read from one file, one job per project they go
    /// into, `cursor` (when given) with the last.
    async fn store(
        &self,
        sessions: Vec<SourceSession>,
        titles: &HashMap<String, String>,
        cursor: Option<FileCursor>,
    ) -> Result<SourceCounts, StoreError> {
        let mut groups: Vec<(ProjectPath, Vec<SourceSession>)> = Vec::new();
        for mut session in sessions {
            if session.title.is_none() {
                session.title = titles.get(&session.source_session_id).cloned();
            }
            let Ok(target) = place::project_of(&session) else {
                // No directory: only a follow of one project could place
                // it, and that one is for sessions that name it.
                continue;
            };
            if self.scope.as_ref().is_some_and(|scope| *scope != target) {
                continue;
            }
            place::settle(&self.ctx.store, &mut session)?;
            match groups.iter_mut().find(|(p, _)| *p == target) {
                Some((_, list)) => list.push(session),
                None => groups.push((target, vec![session])),
            }
        }
        if groups.is_empty() {
            if let Some(cursor) = cursor {
                self.ctx.store.run(Job::SourceCursor(cursor)).await?;
            }
            return Ok(SourceCounts::default());
        }
        let last = groups.len() - 1;
        let mut stored = SourceCounts::default();
        for (n, (project, sessions)) in groups.into_iter().enumerate() {
            let outcome = self
                .ctx
                .store
                .run(Job::Sources(Arc::new(SourceBatch {
                    project,
                    sessions,
                    cursor: if n == last { cursor.clone() } else { None },
                })))
                .await?;
            if let Some(counts) = outcome.sources {
                stored.add(&counts);
            }
        }
        Ok(stored)
    }

    fn error(&self, message: String) {
        tracing::warn!(agent = %self.key.agent, scope = %self.key.scope, "source follow: {message}");
        lock(&self.info).last_error = message;
    }
}

/// Watches `root` (a directory recursively, a file through its directory);
/// `None` when that cannot be done — the poll still runs. Reads (access
/// events) are ignored: the follow's own reads must not wake it.
fn watch(root: &Path, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    let meta = fs::metadata(root).ok()?;
    let (dir, mode) = if meta.is_dir() {
        (root.to_path_buf(), RecursiveMode::Recursive)
    } else {
        (root.parent()?.to_path_buf(), RecursiveMode::NonRecursive)
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = match &event {
            Ok(event) => !matches!(event.kind, notify::EventKind::Access(_)),
            Err(_) => true,
        };
        if relevant {
            // Full means a look is already due.
            let _ = tx.try_send(());
        }
    })
    .ok()?;
    watcher.watch(&dir, mode).ok()?;
    Some(watcher)
}
