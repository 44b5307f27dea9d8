//! The power-cut harness (test code only). A disk with a volatile write
//! cache, holding two files — the redb database (through redb's storage
//! backend) and the write-ahead log (through `wal::LogStorage`) — records
//! every call the store makes, in one order; concurrent clients drive a
//! randomized workload through the store's real writer, each reading back
//! its project after every answer; then power is cut, after the fact, at
//! every point of that record (in a log append, between a log sync and the
//! redb commit, inside a checkpoint, anywhere):
//!
//! - mode 1: every write to a file since that file's last `sync_data` is
//!   lost;
//! - mode 2: a random subset of them survives, torn at 4 KiB granularity
//!   (each 4 KiB-aligned piece of each write kept or lost on its own, in
//!   issue order), and a pending resize survives or not.
//!
//! Each surviving pair of files is opened (which replays the log), and
//! that open is itself recorded and cut at each of its syncs and once torn:
//! the second open must find exactly what the first one did.
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
use redb::StorageBackend;

use super::*;

/// Torn writes keep or lose whole pieces of this size.
const SECTOR: u64 = 4096;

/// The two files on the disk.
const DATABASE: usize = 0;
const LOG: usize = 1;

/// What each file holds.
type Images = [Vec<u8>; 2];

/// One call the store made on its disk.
enum DiskOp {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
    Sync,
}

#[derive(Default)]
struct Platter {
    /// What reads see: every write, synced or not (the page cache).
    live: Images,
    /// Every call, with its file, in order: what a power cut chooses from.
    ops: Vec<(usize, DiskOp)>,
}

/// One file of the disk under the workload.
#[derive(Clone, Default)]
struct RecordingDisk {
    platter: Arc<Mutex<Platter>>,
    file: usize,
}

impl fmt::Debug for RecordingDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordingDisk")
    }
}

impl RecordingDisk {
    /// A disk whose files hold `images`, as if synced.
    fn holding(images: &Images) -> RecordingDisk {
        RecordingDisk {
            platter: Arc::new(Mutex::new(Platter {
                live: images.clone(),
                ops: Vec::new(),
            })),
            file: DATABASE,
        }
    }

    /// The log file of the same disk.
    fn log(&self) -> RecordingDisk {
        RecordingDisk {
            platter: self.platter.clone(),
            file: LOG,
        }
    }

    fn platter(&self) -> io::Result<MutexGuard<'_, Platter>> {
        self.platter
            .lock()
            .map_err(|_| io::Error::other("the disk's lock was poisoned"))
    }

    /// Calls made so far: an acknowledgement seen now was made durable by
    /// a sync before this point.
    fn position(&self) -> usize {
        self.platter.lock().map_or(0, |p| p.ops.len())
    }

    /// Every call made, once the store has let go of the disk.
    fn into_ops(self) -> Vec<(usize, DiskOp)> {
        Arc::try_unwrap(self.platter)
            .ok()
            .and_then(|m| m.into_inner().ok())
            .expect("the store let go of its disk")
            .ops
    }

    fn read_file(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let platter = self.platter()?;
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let source = platter.live[self.file]
            .get(start..start + out.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the disk"))?;
        out.copy_from_slice(source);
        Ok(())
    }

    fn write_file(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut platter = self.platter()?;
        write_at(&mut platter.live[self.file], offset, data);
        platter.ops.push((
            self.file,
            DiskOp::Write {
                offset,
                data: data.to_vec(),
            },
        ));
        Ok(())
    }

    fn sync_file(&self) -> io::Result<()> {
        self.platter()?.ops.push((self.file, DiskOp::Sync));
        Ok(())
    }
}

impl wal::LogStorage for RecordingDisk {
    fn size(&self) -> io::Result<u64> {
        Ok(self.platter()?.live[self.file].len() as u64)
    }

    fn read_at(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.read_file(offset, out)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.write_file(offset, data)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync_file()
    }
}

impl StorageBackend for RecordingDisk {
    fn len(&self) -> io::Result<u64> {
        Ok(self.platter()?.live[self.file].len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.read_file(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut platter = self.platter()?;
        let file = self.file;
        platter.live[file].resize(usize::try_from(len).map_err(io::Error::other)?, 0);
        platter.ops.push((file, DiskOp::SetLen(len)));
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync_file()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.write_file(offset, data)
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
fn torn<'a>(durable: &[u8], pending: impl Iterator<Item = &'a DiskOp>, rng: &mut fastrand::Rng) -> Vec<u8> {
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

/// What each file durably holds after each sync of a record of calls.
struct Timeline {
    /// Indices of the syncs (of either file) in the record.
    syncs: Vec<usize>,
    /// Both files' durable images right after each of them.
    images: Vec<Images>,
    /// Each file's last sync at or before each of them.
    last_sync: Vec<[Option<usize>; 2]>,
}

impl Timeline {
    fn of(base: &Images, ops: &[(usize, DiskOp)]) -> Timeline {
        let mut timeline = Timeline {
            syncs: Vec::new(),
            images: Vec::new(),
            last_sync: Vec::new(),
        };
        let mut durable = base.clone();
        let mut applied = [0usize; 2];
        let mut last = [None; 2];
        for (i, (file, op)) in ops.iter().enumerate() {
            if !matches!(op, DiskOp::Sync) {
                continue;
            }
            for (of, op) in &ops[applied[*file]..=i] {
                if of == file {
                    apply(&mut durable[*file], op);
                }
            }
            applied[*file] = i + 1;
            last[*file] = Some(i);
            timeline.syncs.push(i);
            timeline.images.push(durable.clone());
            timeline.last_sync.push(last);
        }
        timeline
    }

    /// The last sync before a cut at `position` (after `ops[..position]`).
    fn before(&self, position: usize) -> Option<usize> {
        self.syncs.partition_point(|&s| s < position).checked_sub(1)
    }

    /// Mode 2: both files after a cut at `position`, each keeping a torn
    /// random part of what it was sent since its own last sync.
    fn torn_at(&self, base: &Images, ops: &[(usize, DiskOp)], position: usize, rng: &mut fastrand::Rng) -> Images {
        let s = self.before(position);
        [DATABASE, LOG].map(|file| {
            let durable = s.map_or(&base[file], |s| &self.images[s][file]);
            let from = s.and_then(|s| self.last_sync[s][file]).map_or(0, |i| i + 1);
            let pending = ops[from..position]
                .iter()
                .filter(|(of, _)| *of == file)
                .map(|(_, op)| op);
            torn(durable, pending, rng)
        })
    }
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
        forked_from: String::new(),
        forked_at_message_id: 0,
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

/// The store's settings under the harness: small checkpoints and a small
/// record limit, so that the workload crosses many checkpoints and some
/// batches bypass the log; no preallocation (it would only write zeros).
fn harness_config() -> StoreConfig {
    StoreConfig {
        wal: true,
        wal_tuning: WalTuning {
            checkpoint_bytes: 96 * 1024,
            checkpoint_interval: std::time::Duration::from_millis(50),
            record_limit: 40 * 1024,
            preallocate_bytes: 0,
        },
        ..StoreConfig::default()
    }
}

fn open_on(disk: &RecordingDisk) -> Result<Store, StoreError> {
    let database = disk.clone();
    Store::open_with_backend(
        Path::new("power-cut.redb"),
        move || Ok(database.clone()),
        disk.log(),
        || true,
        harness_config(),
    )
}

/// Opens surviving files as the daemon would (replaying the log), or says
/// why it cannot; returns what each client's project holds and the calls
/// that open made.
fn reopen(images: &Images, histories: &[History]) -> (Vec<ProjectImage>, Vec<(usize, DiskOp)>) {
    let disk = RecordingDisk::holding(images);
    let store = open_on(&disk).unwrap_or_else(|err| panic!("the database must open after a power cut: {err}"));
    let found = read_all(&store, histories);
    store.close();
    drop(store);
    (found, disk.into_ops())
}

/// Counts of the cuts made inside recoveries.
#[derive(Default)]
struct ReplayCuts {
    recoveries_that_wrote: u64,
    cuts: u64,
}

/// Opens surviving files; when `cut_inside`, then cuts power inside that
/// open (which replays the log) once right after one of its syncs and once
/// torn at a random call: opening again must find exactly what the first
/// open found.
fn recover(
    images: &Images,
    histories: &[History],
    cut_inside: bool,
    rng: &mut fastrand::Rng,
    stats: &mut ReplayCuts,
) -> Vec<ProjectImage> {
    let (found, ops) = reopen(images, histories);
    if !ops.iter().any(|(_, op)| matches!(op, DiskOp::Write { .. })) {
        return found;
    }
    stats.recoveries_that_wrote += 1;
    if !cut_inside {
        return found;
    }
    let timeline = Timeline::of(images, &ops);
    let mut cuts = Vec::new();
    if !timeline.images.is_empty() {
        cuts.push(timeline.images[rng.usize(..timeline.images.len())].clone());
    }
    let position = rng.usize(1..=ops.len());
    cuts.push(timeline.torn_at(images, &ops, position, rng));
    for cut in &cuts {
        let (again, _) = reopen(cut, histories);
        assert!(
            again == found,
            "a power cut during recovery changed what the next recovery finds"
        );
        stats.cuts += 1;
    }
    found
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
    let store = open_on(&disk).expect("open the store on the recording disk");
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
    let ops = disk.into_ops();
    let base: Images = Default::default();
    let timeline = Timeline::of(&base, &ops);
    // Cuts begin once the store has opened.
    let first = timeline.syncs.partition_point(|&i| i < start);
    let mutations = CLIENTS * STEPS;
    assert!(
        refused < mutations / 3,
        "{refused} of {mutations} jobs refused: the workload tests little"
    );
    let log_syncs = timeline.syncs[first..].iter().filter(|&&i| ops[i].0 == LOG).count();
    assert!(log_syncs > 0, "no batch went through the write-ahead log");

    // Mode 1: the files at each sync, opened once; every cut point between
    // two syncs finds them.
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut replay = ReplayCuts::default();
    let recovered_at_sync: Vec<Vec<ProjectImage>> = (first..timeline.syncs.len())
        .map(|s| recover(&timeline.images[s], &histories, true, &mut rng, &mut replay))
        .collect();
    // The jobs of a commit are the projects that changed between two syncs.
    let jobs_in: Vec<usize> = (0..recovered_at_sync.len())
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
    // Which sync's files a cut at `position` finds (relative to the first
    // cut), and which commit it interrupts (the next sync's).
    let last_sync = |position: usize| timeline.before(position).and_then(|s| s.checked_sub(first));
    let cuts_from = timeline.syncs[first] + 1;
    for position in cuts_from..=ops.len() {
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
    let mut seen_torn = HashSet::new();
    for cut in 0..torn_cuts {
        let position = rng.usize(cuts_from..=ops.len());
        let Some(s) = last_sync(position) else { continue };
        let images = timeline.torn_at(&base, &ops, position, &mut rng);
        seen_torn.insert(position);
        let found = recover(&images, &histories, cut % 8 == 0, &mut rng, &mut replay);
        for (c, history) in histories.iter().enumerate() {
            acked_verified += history.check(position, &found[c], &format!("mode 2 cut {cut}")) as u64;
        }
        crash_points += 1;
        if jobs_in.get(s + 1).is_some_and(|&n| n >= 2) {
            multi_job_interrupted += 1;
        }
    }
    eprintln!(
        "power cuts: {crash_points} crash points ({} mode 1, {torn_cuts} torn at {} distinct points) over {} disk calls, {} syncs ({log_syncs} of the log), {multi_job_commits} commits with several jobs; {acked_verified} acknowledged mutations verified; {multi_job_interrupted} cuts interrupted a batch of several jobs; {} recoveries replayed the log, cut {} times inside; {mutations} mutations, {refused} refused",
        crash_points - torn_cuts as u64,
        seen_torn.len(),
        ops.len() - start,
        timeline.syncs.len() - first,
        replay.recoveries_that_wrote,
        replay.cuts,
    );
    assert!(multi_job_interrupted > 0, "no cut fell inside a batch of several jobs");
    assert!(replay.cuts > 0, "no cut fell inside a recovery that replayed the log");
}
