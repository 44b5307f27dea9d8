//! Following aider's chat history: for each followed project, a task
//! watches `.aider.chat.history.md` (notify on its directory, and a poll
//! every second as a safety net) and appends what aider writes to the
//! project's working session, as ordinary store mutations.
//!
//! The task keeps a cursor: the file's identity (device, inode), where
//! aider's current run starts, how far complete lines were read, and the
//! messages of the current run already in the working session (their ids
//! and a digest of each). On a change it parses the current run again
//! from its start with the shared aider parser and compares: new messages
//! are appended, a message that changed (a reply that got its token line,
//! output that grew) is updated in place. So:
//!
//! - only complete lines are read, and a message read half-written is
//!   corrected by the next look rather than duplicated;
//! - a file that was truncated or replaced (rotated, rewritten by an
//!   editor) is read again from the start of its last run: if that run is
//!   the one being followed, nothing already appended is appended again;
//!   if it is a new run, or the file has no run header (aider appended to
//!   a truncated file), everything in it is new;
//! - the cursors are saved in the data directory after every change, so
//!   a restarted daemon resumes where it stopped, catching up on whatever
//!   aider wrote meanwhile.
//!
//! Re-reading the run on each change costs the run's size; aider writes a
//! reply at once and its output a line at a time, and changes are
//! coalesced for a tenth of a second, so this stays small.

use std::{
    collections::HashMap,
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use chronicle_interop::aider;
use chronicle_proto::v1::{AiderFollow, Message};
use notify::{RecursiveMode, Watcher};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::activity::Activity;
use crate::store::{self, Mutation, ProjectPath, Store, StoreError, validate};

/// The file in the data directory that keeps the follows and their
/// cursors across restarts.
pub const STATE_FILE: &str = "aider-follows.json";
/// How often the file is looked at when no notification came.
const POLL: Duration = Duration::from_secs(1);
/// Changes closer together than this are handled as one.
const SETTLE: Duration = Duration::from_millis(100);
/// Most bytes of one run read at a time; a longer run is followed from
/// its last this-many bytes (aider never writes runs near this).
const MAX_RUN_BYTES: u64 = 64 * 1024 * 1024;

/// What a follow task needs from the daemon.
#[derive(Clone)]
pub struct FollowCtx {
    pub store: Store,
    pub activity: Activity,
    /// Cancelled when the daemon shuts down.
    pub shutdown: CancellationToken,
}

/// A message of the current run that is in the working session: its id
/// there (0 = it was in the file before the follow began, never touched)
/// and a digest of what it said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pushed {
    id: u64,
    digest: u64,
}

/// How far a follow has read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Cursor {
    /// (device, inode) of the file read; `None` before it existed.
    identity: Option<(u64, u64)>,
    /// Byte offset where the current run starts.
    run_start: u64,
    /// The current run's header time; `None` for a run without a header.
    run_header: Option<String>,
    /// Bytes of complete lines read.
    done: u64,
    pushed: Vec<Pushed>,
}

/// One follow, as listed and saved.
#[derive(Debug)]
struct Entry {
    info: AiderFollow,
    cursor: Cursor,
}

struct Running {
    entry: Arc<Mutex<Entry>>,
    stop: CancellationToken,
}

/// Every follow of this daemon; cheap to clone.
#[derive(Clone)]
pub struct Follows {
    state_path: Arc<PathBuf>,
    running: Arc<Mutex<HashMap<String, Running>>>,
    /// Held while the state file is written: tasks save concurrently.
    saving: Arc<Mutex<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters and cursors: whatever a panicking holder left is usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Follows {
    pub fn new(state_path: PathBuf) -> Self {
        Follows {
            state_path: Arc::new(state_path),
            running: Arc::new(Mutex::new(HashMap::new())),
            saving: Arc::new(Mutex::new(())),
        }
    }

    /// Starts following `project`'s history file (replacing an earlier
    /// follow of it). Without `catch_up`, what the file already holds is
    /// taken as known: only what aider writes from now on is appended.
    pub fn follow(
        &self,
        ctx: &FollowCtx,
        project: &ProjectPath,
        path: &str,
        catch_up: bool,
    ) -> Result<AiderFollow, StoreError> {
        let path = history_path(project, path)?;
        // A stat never blocks; opening a FIFO would, until a writer came.
        if let Ok(meta) = fs::metadata(&path)
            && !meta.is_file()
        {
            let what = if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file"
            };
            return Err(StoreError::InvalidArgument(format!(
                "{} is {what} — pass aider's history file, such as {}",
                path.display(),
                Path::new(project.as_str()).join(aider::HISTORY_FILE).display()
            )));
        }
        let cursor = if catch_up {
            Cursor::default()
        } else {
            baseline(&path).map_err(|err| {
                StoreError::InvalidArgument(format!("cannot read {}: {err} — check the path", path.display()))
            })?
        };
        let info = AiderFollow {
            project: project.to_string(),
            path: path.display().to_string(),
            since_ms: store::now_ms(),
            ..AiderFollow::default()
        };
        self.spawn(
            ctx,
            project.clone(),
            Entry {
                info: info.clone(),
                cursor,
            },
        );
        self.save();
        Ok(info)
    }

    /// Stops following `project`; returns the follow that ran, if any.
    pub fn unfollow(&self, project: &ProjectPath) -> Result<Option<AiderFollow>, StoreError> {
        let stopped = lock(&self.running).remove(project.as_str());
        let info = stopped.map(|running| {
            running.stop.cancel();
            lock(&running.entry).info.clone()
        });
        self.save();
        Ok(info)
    }

    pub fn list(&self) -> Vec<AiderFollow> {
        let running = lock(&self.running);
        let mut follows: Vec<AiderFollow> = running.values().map(|r| lock(&r.entry).info.clone()).collect();
        follows.sort_by(|a, b| a.project.cmp(&b.project));
        follows
    }

    /// Starts again the follows that ran when the daemon last stopped.
    pub fn resume(&self, ctx: &FollowCtx) {
        let text = match fs::read_to_string(&*self.state_path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return,
            Err(err) => {
                tracing::warn!(file = %self.state_path.display(), error = %err, "cannot read the aider follows; none resumed");
                return;
            }
        };
        let entries = match parse_state(&text) {
            Some(entries) => entries,
            None => {
                tracing::warn!(file = %self.state_path.display(), "the aider follows file is damaged; none resumed");
                return;
            }
        };
        for entry in entries {
            // The file is data from disk: its paths are checked like a
            // client's.
            let project = match ProjectPath::new(&entry.info.project) {
                Ok(project) => project,
                Err(err) => {
                    tracing::warn!(file = %self.state_path.display(), error = %err, "skipped a follow with a bad project path");
                    continue;
                }
            };
            tracing::info!(project = %project, path = %entry.info.path, "resuming an aider follow");
            self.spawn(ctx, project, entry);
        }
    }

    fn spawn(&self, ctx: &FollowCtx, project: ProjectPath, entry: Entry) {
        let entry = Arc::new(Mutex::new(entry));
        let stop = CancellationToken::new();
        let previous = lock(&self.running).insert(
            project.to_string(),
            Running {
                entry: entry.clone(),
                stop: stop.clone(),
            },
        );
        if let Some(previous) = previous {
            previous.stop.cancel();
        }
        let task = Task {
            ctx: ctx.clone(),
            project,
            entry,
            follows: self.clone(),
        };
        tokio::spawn(task.run(stop));
    }

    /// Writes every follow and its cursor atomically and durably: a new
    /// private (0600) file beside the old one, synced, renamed over it,
    /// and the directory synced, so a crash or power cut leaves the old
    /// file or the new one.
    fn save(&self) {
        let entries: Vec<Value> = {
            let running = lock(&self.running);
            let mut entries: Vec<Value> = running.values().map(|r| entry_json(&lock(&r.entry))).collect();
            entries.sort_by(|a, b| a["project"].as_str().cmp(&b["project"].as_str()));
            entries
        };
        let text = json!({"version": 1, "follows": entries}).to_string();
        let _saving = lock(&self.saving);
        if let Err(err) = chronicle_client::fs::write_atomic(&self.state_path, text.as_bytes()) {
            tracing::warn!(file = %self.state_path.display(), error = %err, "cannot save the aider follows");
        }
    }
}

/// The history file: `path` as given (relative to the project), or the
/// project's `.aider.chat.history.md`.
fn history_path(project: &str, path: &str) -> Result<PathBuf, StoreError> {
    if path.contains('\0') {
        return Err(StoreError::InvalidArgument(
            "the history file path contains a NUL byte".into(),
        ));
    }
    let root = Path::new(project);
    Ok(match path.trim() {
        "" => root.join(aider::HISTORY_FILE),
        given => root.join(given),
    })
}

fn entry_json(entry: &Entry) -> Value {
    let c = &entry.cursor;
    json!({
        "project": entry.info.project,
        "path": entry.info.path,
        "since_ms": entry.info.since_ms,
        "identity": c.identity.map(|(dev, ino)| json!([dev, ino])),
        "run_start": c.run_start,
        "run_header": c.run_header,
        "done": c.done,
        "pushed": c.pushed.iter().map(|p| json!([p.id, p.digest])).collect::<Vec<_>>(),
    })
}

fn parse_state(text: &str) -> Option<Vec<Entry>> {
    let value: Value = serde_json::from_str(text).ok()?;
    let mut entries = Vec::new();
    for e in value.get("follows")?.as_array()? {
        let identity = match e.get("identity") {
            Some(Value::Array(pair)) => Some((pair.first()?.as_u64()?, pair.get(1)?.as_u64()?)),
            _ => None,
        };
        let mut pushed = Vec::new();
        for p in e.get("pushed")?.as_array()? {
            pushed.push(Pushed {
                id: p.get(0)?.as_u64()?,
                digest: p.get(1)?.as_u64()?,
            });
        }
        entries.push(Entry {
            info: AiderFollow {
                project: e.get("project")?.as_str()?.to_owned(),
                path: e.get("path")?.as_str()?.to_owned(),
                since_ms: e.get("since_ms")?.as_i64()?,
                ..AiderFollow::default()
            },
            cursor: Cursor {
                identity,
                run_start: e.get("run_start")?.as_u64()?,
                run_header: e.get("run_header").and_then(Value::as_str).map(str::to_owned),
                done: e.get("done")?.as_u64()?,
                pushed,
            },
        });
    }
    Some(entries)
}

/// FNV-1a over what a message says: stable across builds, so a saved
/// cursor still matches after an upgrade.
fn digest(m: &Message) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes.iter().chain(&[0xff]) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&m.role.to_le_bytes());
    eat(m.content.as_bytes());
    eat(m.command.as_bytes());
    eat(m.model.as_bytes());
    if let Some(u) = &m.usage {
        for n in [
            u.sent_tokens,
            u.received_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
            u.cost.to_bits(),
        ] {
            eat(&n.to_le_bytes());
        }
    }
    hash
}

/// A run found in the file: where it starts, its header, its lines.
#[derive(Debug)]
struct Segment {
    start: u64,
    header: Option<String>,
    text: String,
}

/// What a look at the file found.
#[derive(Debug)]
enum Scan {
    /// No file (yet), or nothing new.
    Nothing,
    Changed {
        identity: (u64, u64),
        /// The runs from the current one on, in order.
        segments: Vec<Segment>,
        /// The first segment is the run whose messages were pushed.
        same_run: bool,
        done: u64,
    },
}

/// The cursor for a follow that takes what the file holds now as known:
/// the last run's messages count as present (id 0: never touched).
fn baseline(path: &Path) -> io::Result<Cursor> {
    let mut cursor = Cursor::default();
    if let Scan::Changed {
        identity,
        segments,
        done,
        ..
    } = scan(&cursor, path)?
    {
        cursor.identity = Some(identity);
        cursor.done = done;
        if let Some(last) = segments.last() {
            cursor.run_start = last.start;
            cursor.run_header = last.header.clone();
            cursor.pushed = parse(&last.text)
                .iter()
                .map(|m| Pushed {
                    id: 0,
                    digest: digest(m),
                })
                .collect();
        }
    }
    Ok(cursor)
}

fn parse(text: &str) -> Vec<Message> {
    let lines: Vec<&str> = text.lines().filter(|l| aider::run_header(l).is_none()).collect();
    aider::parse_run(&lines)
}

/// Looks at the file against the cursor: what is new, from where.
fn scan(cursor: &Cursor, path: &Path) -> io::Result<Scan> {
    let mut file = match open_regular(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Scan::Nothing),
        Err(err) => return Err(err),
    };
    let meta = file.metadata()?;
    let identity = (meta.dev(), meta.ino());
    let len = meta.len();
    if cursor.identity == Some(identity) && len >= cursor.done {
        if len == cursor.done {
            return Ok(Scan::Nothing);
        }
        let (start, text) = read_lines(&mut file, cursor.run_start, len)?;
        // Truncated and written past the old length before this look:
        // the run no longer starts where it did, so read it as replaced.
        let intact = match &cursor.run_header {
            Some(header) => text.lines().next().and_then(aider::run_header) == Some(header.as_str()),
            None => true,
        };
        if intact {
            let header = (start == cursor.run_start).then(|| cursor.run_header.clone()).flatten();
            return Ok(split(identity, start, header, &text, true));
        }
    }
    let (from, same_run) = match last_header(&mut file)? {
        Some((offset, header)) => (offset, cursor.run_header.as_deref() == Some(header.as_str())),
        // No header: what aider appended to a truncated file, all new.
        None => (0, false),
    };
    let (start, text) = read_lines(&mut file, from, len)?;
    Ok(split(identity, start, None, &text, same_run))
}

/// Opens a history file without ever blocking: non-blocking, so a FIFO
/// put in its place cannot hang the open, and refused unless it is a
/// regular file (what is stat'ed is what was opened).
fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = File::options()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(file)
}

/// The complete lines from `from` on (a last line without its newline
/// may still be being written), reading at most the run size limit;
/// returns where the text starts.
fn read_lines(file: &mut File, from: u64, len: u64) -> io::Result<(u64, String)> {
    let from = from.max(len.saturating_sub(MAX_RUN_BYTES)).min(len);
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.take(len - from).read_to_end(&mut bytes)?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
    bytes.truncate(complete);
    Ok((from, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Cuts text read from `from` into runs at their headers.
fn split(identity: (u64, u64), from: u64, header: Option<String>, text: &str, same_run: bool) -> Scan {
    let mut segments = vec![Segment {
        start: from,
        header,
        text: String::new(),
    }];
    let mut offset = from;
    for line in text.split_inclusive('\n') {
        if let Some(time) = aider::run_header(line.trim_end()) {
            let current = segments
                .last_mut()
                .filter(|s| s.text.trim().is_empty() && s.start == offset);
            match current {
                // The run starts right here: this header is its own.
                Some(segment) => segment.header = Some(time.to_owned()),
                None => segments.push(Segment {
                    start: offset,
                    header: Some(time.to_owned()),
                    text: String::new(),
                }),
            }
        } else if let Some(segment) = segments.last_mut() {
            segment.text.push_str(line);
        }
        offset += line.len() as u64;
    }
    Scan::Changed {
        identity,
        segments,
        same_run,
        done: offset,
    }
}

/// The offset and time of the last run header in the file.
fn last_header(file: &mut File) -> io::Result<Option<(u64, String)>> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = io::BufReader::new(file);
    let mut line = Vec::new();
    let mut offset = 0u64;
    let mut found = None;
    loop {
        line.clear();
        let n = io::BufRead::read_until(&mut reader, b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.ends_with(b"\n")
            && let Some(time) = aider::run_header(String::from_utf8_lossy(&line).trim_end())
        {
            found = Some((offset, time.to_owned()));
        }
        offset += n as u64;
    }
    Ok(found)
}

struct Task {
    ctx: FollowCtx,
    project: ProjectPath,
    entry: Arc<Mutex<Entry>>,
    follows: Follows,
}

impl Task {
    async fn run(self, stop: CancellationToken) {
        // A followed project is open (its files are watched) and the
        // daemon is busy: it must not idle out while aider writes.
        let _open = self.ctx.activity.stream(Some(&self.project));
        let path = PathBuf::from(lock(&self.entry).info.path.clone());
        let (tx, mut changed) = mpsc::channel::<()>(1);
        let _watcher = watch_dir(&path, tx);
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.ctx.shutdown.cancelled() => return,
                Some(()) = changed.recv() => {
                    // Let a burst of writes settle into one look.
                    tokio::time::sleep(SETTLE).await;
                    while changed.try_recv().is_ok() {}
                }
                _ = poll.tick() => {}
            }
            if stop.is_cancelled() {
                return;
            }
            self.look(&path).await;
        }
    }

    /// One look at the file: append what is new, update what changed.
    async fn look(&self, path: &Path) {
        let cursor = lock(&self.entry).cursor.clone();
        let scan_path = path.to_path_buf();
        let scanned = tokio::task::spawn_blocking(move || scan(&cursor, &scan_path)).await;
        let scan = match scanned {
            Ok(Ok(scan)) => scan,
            Ok(Err(err)) => return self.error(format!("cannot read {}: {err}", path.display())),
            Err(err) => return self.error(format!("reading {} failed: {err}", path.display())),
        };
        let Scan::Changed {
            identity,
            segments,
            same_run,
            done,
        } = scan
        else {
            return;
        };
        let mut cursor = lock(&self.entry).cursor.clone();
        cursor.identity = Some(identity);
        let count = segments.len();
        for (i, segment) in segments.into_iter().enumerate() {
            let mut pushed = if i == 0 && same_run {
                std::mem::take(&mut cursor.pushed)
            } else {
                Vec::new()
            };
            let result = self.apply(&parse(&segment.text), &mut pushed).await;
            cursor.run_start = segment.start;
            cursor.run_header = segment.header;
            cursor.pushed = pushed;
            if let Err(err) = result {
                // Retried at the next look, from this run's start: the
                // cursor keeps what did get through.
                self.set_cursor(cursor);
                return self.error(format!("cannot append to the working session: {err}"));
            }
            if i + 1 == count {
                cursor.done = done;
            }
        }
        self.set_cursor(cursor);
        lock(&self.entry).info.last_error.clear();
    }

    fn set_cursor(&self, cursor: Cursor) {
        let changed = {
            let mut entry = lock(&self.entry);
            let changed = entry.cursor != cursor;
            entry.cursor = cursor;
            changed
        };
        if changed {
            self.follows.save();
        }
    }

    /// Makes the working session hold `messages` after those `pushed`.
    async fn apply(&self, messages: &[Message], pushed: &mut Vec<Pushed>) -> Result<(), StoreError> {
        for (i, message) in messages.iter().enumerate() {
            let sum = digest(message);
            match pushed.get_mut(i) {
                Some(known) if known.digest == sum => {}
                Some(known) => {
                    if known.id != 0 {
                        let mut update = message.clone();
                        update.id = known.id;
                        match self.mutate(Mutation::Update { message: update }).await {
                            Ok(_) => lock(&self.entry).info.messages_updated += 1,
                            // Deleted or cleared meanwhile: leave it be.
                            Err(StoreError::NotFound(_)) => {}
                            Err(err) => return Err(err),
                        }
                    }
                    known.digest = sum;
                }
                None => {
                    let outcome = self
                        .mutate(Mutation::Append {
                            message: message.clone(),
                        })
                        .await?;
                    lock(&self.entry).info.messages_appended += 1;
                    pushed.push(Pushed {
                        id: outcome.message_id,
                        digest: sum,
                    });
                }
            }
        }
        Ok(())
    }

    async fn mutate(&self, mutation: Mutation) -> Result<store::Outcome, StoreError> {
        self.ctx.store.mutate(&self.project, None, mutation).await
    }

    fn error(&self, message: String) {
        let mut entry = lock(&self.entry);
        if entry.info.last_error != message {
            tracing::warn!(project = %self.project, "aider follow: {message}");
            entry.info.last_error = validate::bounded_message(message);
        }
    }
}

/// Watches the file's directory (so a file created, replaced or rotated
/// is seen); `None` when that cannot be done — the poll still runs.
fn watch_dir(path: &Path, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    let dir = path.parent()?.to_path_buf();
    let name = path.file_name()?.to_owned();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = match &event {
            Ok(event) => event.paths.iter().any(|p| p.file_name() == Some(name.as_os_str())),
            Err(_) => true,
        };
        if relevant {
            // Full means a look is already due.
            let _ = tx.try_send(());
        }
    })
    .ok()?;
    watcher.watch(&dir, RecursiveMode::NonRecursive).ok()?;
    Some(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::write(path, text).expect("write");
    }

    fn append(path: &Path, text: &str) {
        use std::io::Write as _;
        let mut file = fs::OpenOptions::new().append(true).open(path).expect("open");
        file.write_all(text.as_bytes()).expect("append");
    }

    fn changed(cursor: &Cursor, path: &Path) -> (Vec<Segment>, bool, u64) {
        match scan(cursor, path).expect("scan") {
            Scan::Changed {
                segments,
                same_run,
                done,
                ..
            } => (segments, same_run, done),
            Scan::Nothing => panic!("expected a change"),
        }
    }

    #[test]
    fn the_baseline_knows_the_last_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(aider::HISTORY_FILE);
        write(
            &path,
            "\n# aider chat started at 2024-01-01 10:00:00\n\n#### one  \n\n# aider chat started at 2024-01-02 10:00:00\n\n#### two  \n\nreply\n\n#### partial",
        );
        let cursor = baseline(&path).expect("baseline");
        assert_eq!(cursor.run_header.as_deref(), Some("2024-01-02 10:00:00"));
        assert_eq!(cursor.pushed.len(), 2, "{cursor:?}");
        assert!(cursor.pushed.iter().all(|p| p.id == 0));
        let len = fs::metadata(&path).expect("stat").len();
        assert_eq!(
            cursor.done,
            len - "#### partial".len() as u64,
            "an incomplete line is not read"
        );
    }

    #[test]
    fn appends_are_read_from_the_current_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(aider::HISTORY_FILE);
        write(&path, "\n# aider chat started at 2024-01-02 10:00:00\n\n#### two  \n");
        let cursor = baseline(&path).expect("baseline");
        assert!(matches!(scan(&cursor, &path), Ok(Scan::Nothing)));
        append(&path, "\nreply\n\n");
        let (segments, same_run, _) = changed(&cursor, &path);
        assert!(same_run);
        assert_eq!(segments.len(), 1);
        assert_eq!(parse(&segments[0].text).len(), 2);
        append(&path, "\n# aider chat started at 2024-01-03 10:00:00\n\n#### three  \n");
        let (segments, _, _) = changed(&cursor, &path);
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[1].header.as_deref(), Some("2024-01-03 10:00:00"));
        assert_eq!(parse(&segments[1].text).len(), 1);
    }

    #[test]
    fn a_rewritten_file_resumes_its_run_and_a_truncated_one_starts_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(aider::HISTORY_FILE);
        let text = "\n# aider chat started at 2024-01-02 10:00:00\n\n#### two  \n";
        write(&path, text);
        let cursor = baseline(&path).expect("baseline");
        // Replaced by a copy (a new inode) with more in it: same run.
        let copy = dir.path().join("copy");
        write(&copy, &format!("old stuff\n{text}\nreply\n\n"));
        fs::rename(&copy, &path).expect("rename");
        let (segments, same_run, _) = changed(&cursor, &path);
        assert!(same_run);
        assert_eq!(segments[0].header.as_deref(), Some("2024-01-02 10:00:00"));
        // Truncated, then appended without a header: all new.
        let cursor = baseline(&path).expect("baseline");
        write(&path, "");
        append(&path, "#### after truncation  \n");
        let (segments, same_run, done) = changed(&cursor, &path);
        assert!(!same_run);
        assert_eq!(segments[0].start, 0);
        assert_eq!(done, "#### after truncation  \n".len() as u64);
    }

    #[test]
    fn the_state_file_round_trips() {
        let entry = Entry {
            info: AiderFollow {
                project: "/p".into(),
                path: "/p/.aider.chat.history.md".into(),
                since_ms: 5,
                ..AiderFollow::default()
            },
            cursor: Cursor {
                identity: Some((1, 2)),
                run_start: 3,
                run_header: Some("2024-01-01 00:00:00".into()),
                done: 9,
                pushed: vec![Pushed {
                    id: 4,
                    digest: u64::MAX,
                }],
            },
        };
        let text = json!({"version": 1, "follows": [entry_json(&entry)]}).to_string();
        let back = parse_state(&text).expect("parses");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].cursor, entry.cursor);
        assert_eq!(back[0].info, entry.info);
    }
}
