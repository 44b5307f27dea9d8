//! Sustained load on one daemon: 32 clients, each on its own connection,
//! for 30 seconds — 16 writers (appends, streamed appends to their own
//! messages, context files, a few saves), 8 readers (pages, listings,
//! status, the odd export) and 8 `Watch` followers — plus one deliberately
//! slow `Watch` subscriber that reads nothing until the load is over. It
//! guards that no call fails; that every acknowledged append is present
//! afterwards with exactly the content acknowledged; that acknowledged
//! revisions are distinct and account for the final revision; that
//! followers see each project's revisions without gaps (or an explicit
//! RESYNC); that the slow subscriber is told RESYNC instead of the daemon
//! buffering for it; that the daemon logs no error; and that its memory
//! stays flat: resident memory at the end is within a bound of what it
//! was 5 seconds in. Peak RSS and the operation counts are printed.

use crate::common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::common::{Client, file, message, path_str, rss_kib, working};
use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, AppendToMessageRequest, Event, EventKind, ExportRequest,
    GetStatusRequest, GetWorkingSessionRequest, ListProjectsRequest, ListSessionsRequest, Role, SaveMode,
    SaveSessionRequest, WatchRequest,
};
use chronicle_tests::Sandbox;
use tokio::time::timeout_at;
use tonic::{Status, Streaming};

const LOAD: Duration = Duration::from_secs(30);
const WRITERS: usize = 16;
const READERS: usize = 8;
const WATCHERS: usize = 8;
const PROJECTS: usize = 4;
/// Saves per writer: each copies the whole session, so only a few.
const SAVES_PER_WRITER: u64 = 3;
/// Files each writer adds to its project's context.
const FILES_PER_WRITER: u64 = 40;
/// Growth of resident memory between 5 s in and the end that still counts
/// as flat: the database's page cache grows with the data written, a leak
/// or an unbounded queue grows with the load.
const RSS_GROWTH_BOUND_KIB: u64 = 128 * 1024;

/// A small deterministic generator per task, for sizes and choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one writer had acknowledged.
#[derive(Debug, Default)]
struct Written {
    /// (project, message id) → the content acknowledged for it.
    messages: HashMap<(usize, u64), String>,
    /// (project, revision) of every acknowledged mutation.
    revisions: Vec<(usize, u64)>,
    appends: u64,
    append_tos: u64,
    file_adds: u64,
    saves: u64,
}

async fn writer(
    mut client: Client,
    index: usize,
    projects: Arc<Vec<String>>,
    deadline: Instant,
) -> Result<Written, Status> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (index as u64 + 1));
    let p = index % PROJECTS;
    let project = &projects[p];
    let mut done = Written::default();
    let mut mine: Vec<u64> = Vec::new();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let choice = rng.below(100);
        if choice < 15 && !mine.is_empty() {
            let id = mine[rng.below(mine.len() as u64) as usize];
            let delta = format!(" +{n}");
            let ack = client
                .append_to_message(AppendToMessageRequest {
                    project: project.clone(),
                    message_id: id,
                    delta: delta.clone(),
                    expected_revision: None,
                })
                .await?
                .into_inner();
            if let Some(content) = done.messages.get_mut(&(p, id)) {
                content.push_str(&delta);
            }
            done.revisions.push((p, ack.revision));
            done.append_tos += 1;
        } else if choice < 20 && done.file_adds < FILES_PER_WRITER {
            let ack = client
                .add_context_files(AddContextFilesRequest {
                    project: project.clone(),
                    files: vec![file(&format!("w{index}/f{n}.rs"), n.is_multiple_of(2))],
                    expected_revision: None,
                })
                .await?
                .into_inner();
            done.revisions.push((p, ack.revision));
            done.file_adds += 1;
        } else if choice < 21 && done.saves < SAVES_PER_WRITER {
            client
                .save_session(SaveSessionRequest {
                    project: project.clone(),
                    name: format!("writer {index} save {n}"),
                    mode: SaveMode::CreateNew as i32,
                    expected_revision: None,
                })
                .await?;
            // A save answers with the session, not the revision: counted
            // below from the final state instead.
            done.saves += 1;
        } else {
            let size = 16 + rng.below(480) as usize;
            let content = format!("w{index} n{n} {}", "x".repeat(size));
            let ack = client
                .append_message(AppendMessageRequest {
                    project: project.clone(),
                    message: Some(message(Role::Assistant, &content)),
                    expected_revision: None,
                })
                .await?
                .into_inner();
            done.messages.insert((p, ack.message_id), content);
            done.revisions.push((p, ack.revision));
            mine.push(ack.message_id);
            done.appends += 1;
        }
    }
    Ok(done)
}

async fn reader(
    mut client: Client,
    index: usize,
    projects: Arc<Vec<String>>,
    deadline: Instant,
) -> Result<u64, Status> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (index as u64 + 1));
    let mut calls = 0u64;
    while Instant::now() < deadline {
        calls += 1;
        let project = projects[rng.below(PROJECTS as u64) as usize].clone();
        match rng.below(100) {
            0 => {
                let mut stream = client
                    .export_markdown(ExportRequest {
                        project,
                        ..ExportRequest::default()
                    })
                    .await?
                    .into_inner();
                while stream.message().await?.is_some() {}
            }
            1..=10 => {
                client.list_sessions(ListSessionsRequest { project }).await?;
            }
            11..=15 => {
                client.list_projects(ListProjectsRequest {}).await?;
            }
            16..=20 => {
                client.get_status(GetStatusRequest {}).await?;
            }
            _ => {
                client
                    .get_working_session(GetWorkingSessionRequest {
                        project,
                        after_message_id: rng.below(4000),
                        limit: 50,
                    })
                    .await?;
            }
        }
    }
    Ok(calls)
}

/// What one follower saw.
#[derive(Debug, Default)]
struct Followed {
    events: u64,
    gaps: u64,
    resyncs: u64,
}

async fn follower(mut client: Client, project: String, deadline: Instant) -> Result<Followed, Status> {
    let mut stream = client.watch(WatchRequest { project }).await?.into_inner();
    let mut seen = Followed::default();
    let mut last: HashMap<String, u64> = HashMap::new();
    while let Ok(next) = timeout_at(deadline.into(), stream.message()).await {
        let Some(event) = next? else {
            return Err(Status::aborted("the daemon ended a Watch stream"));
        };
        seen.events += 1;
        match EventKind::try_from(event.kind) {
            Ok(EventKind::Snapshot) => {
                if !event.project.is_empty() {
                    last.insert(event.project, event.revision);
                }
            }
            Ok(EventKind::Resync) => {
                seen.resyncs += 1;
                last.clear();
            }
            _ => {
                if let Some(previous) = last.get(&event.project)
                    && event.revision != previous + 1
                {
                    seen.gaps += 1;
                }
                last.insert(event.project, event.revision);
            }
        }
    }
    Ok(seen)
}

/// Reads a stream that was left unread until it says RESYNC; returns the
/// events read before it, or `None` if it never came.
async fn read_until_resync(stream: &mut Streaming<Event>) -> Option<u64> {
    let mut read = 0u64;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(20), stream.message()).await;
        let event = next.ok()?.ok()??;
        if event.kind == EventKind::Resync as i32 {
            return Some(read);
        }
        read += 1;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_subscriber_of_big_messages_is_told_to_resync_early() {
    let _alone = common::heavy().await;
    // 80 MiB of events: well past what the daemon holds for one client in
    // bytes (32 MiB waiting, plus 16 events queued for the encoder and what
    // HTTP/2 flow control lets through), far below what it holds in events
    // (4096).
    const BIG: usize = 1024 * 1024;
    const APPENDS: u64 = 80;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let project = path_str(&sandbox.project("big"));
    let mut client = daemon.client().await;
    common::open(&mut client, &project).await;
    let mut watcher = daemon.client().await;
    let mut slow = common::watch(&mut watcher, &project).await;
    let rss_before = rss_kib(daemon.pid());
    for i in 0..APPENDS {
        common::append(&mut client, &project, Role::Tool, &format!("{i:04}{}", "b".repeat(BIG))).await;
    }
    let rss_after = rss_kib(daemon.pid());
    let before_resync = read_until_resync(&mut slow).await;
    eprintln!(
        "big events: {APPENDS} × 1 MiB to an unread Watch; RSS {rss_before} → {rss_after} KiB; {before_resync:?} events before RESYNC"
    );
    // The SNAPSHOT and fewer appends than were made: the rest was dropped
    // in favour of RESYNC instead of being held for the client.
    let read = before_resync.expect("the unread Watch stream never got RESYNC");
    assert!(read < APPENDS, "all {read} events were held for the slow client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_clients_for_thirty_seconds_lose_nothing_and_memory_stays_flat() {
    let _alone = common::heavy().await;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let pid = daemon.pid();
    let projects: Arc<Vec<String>> = Arc::new(
        (0..PROJECTS)
            .map(|i| path_str(&sandbox.project(&format!("p{i}"))))
            .collect(),
    );
    let mut setup = daemon.client().await;
    for project in projects.iter() {
        common::open(&mut setup, project).await;
    }
    // Subscribed now, read only when the load is over.
    let mut slow = setup
        .watch(WatchRequest { project: String::new() })
        .await
        .expect("the slow Watch")
        .into_inner();
    let rss_start = rss_kib(pid);

    let start = Instant::now();
    let deadline = start + LOAD;
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let samples = samples.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                let rss = rss_kib(pid);
                samples.lock().expect("samples").push((start.elapsed(), rss));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let mut writers = Vec::new();
    for i in 0..WRITERS {
        let client = daemon.client().await;
        writers.push(tokio::spawn(writer(client, i, projects.clone(), deadline)));
    }
    let mut readers = Vec::new();
    for i in 0..READERS {
        let client = daemon.client().await;
        readers.push(tokio::spawn(reader(client, i, projects.clone(), deadline)));
    }
    let mut followers = Vec::new();
    for i in 0..WATCHERS {
        let client = daemon.client().await;
        // Half follow one project, half follow them all.
        let project = if i % 2 == 0 {
            projects[i / 2 % PROJECTS].clone()
        } else {
            String::new()
        };
        followers.push(tokio::spawn(follower(client, project, deadline)));
    }

    let mut written = Vec::new();
    for (i, task) in writers.into_iter().enumerate() {
        let result = task.await.expect("a writer task panicked");
        written.push(result.unwrap_or_else(|s| panic!("writer {i} failed: {s}")));
    }
    let mut reads = 0;
    for (i, task) in readers.into_iter().enumerate() {
        reads += task
            .await
            .expect("a reader task panicked")
            .unwrap_or_else(|s| panic!("reader {i} failed: {s}"));
    }
    let mut followed = Followed::default();
    for (i, task) in followers.into_iter().enumerate() {
        let seen = task
            .await
            .expect("a follower task panicked")
            .unwrap_or_else(|s| panic!("follower {i} failed: {s}"));
        followed.events += seen.events;
        followed.gaps += seen.gaps;
        followed.resyncs += seen.resyncs;
    }
    sampler.await.expect("the sampler panicked");
    let rss_end = rss_kib(pid);

    // The slow subscriber fell behind and is told so.
    let before_resync = read_until_resync(&mut slow).await;
    drop(slow);

    // Every acknowledged append is there, with exactly what was acknowledged.
    let mut client = daemon.client().await;
    let mut stored = Vec::new();
    for project in projects.iter() {
        stored.push(working(&mut client, project).await);
    }
    let mut checked = 0u64;
    for done in &written {
        for ((p, id), content) in &done.messages {
            let found = stored[*p].messages.iter().find(|m| m.id == *id);
            assert_eq!(
                found.map(|m| m.content.as_str()),
                Some(content.as_str()),
                "acknowledged message {id} of project {p}"
            );
            checked += 1;
        }
    }
    // Revisions: distinct per project, and every mutation is accounted for
    // (saves answer without one, so they are counted instead).
    for (p, content) in stored.iter().enumerate() {
        let mut revisions: Vec<u64> = written
            .iter()
            .flat_map(|w| w.revisions.iter())
            .filter(|(q, _)| *q == p)
            .map(|(_, r)| *r)
            .collect();
        let acked = revisions.len() as u64;
        revisions.sort_unstable();
        revisions.dedup();
        assert_eq!(revisions.len() as u64, acked, "project {p}: two acks share a revision");
        let saves: u64 = written
            .iter()
            .enumerate()
            .filter(|(i, _)| i % PROJECTS == p)
            .map(|(_, w)| w.saves)
            .sum();
        assert_eq!(
            content.revision,
            acked + saves,
            "project {p}: the final revision is not the number of mutations"
        );
    }

    let samples = samples.lock().expect("samples").clone();
    let peak = samples
        .iter()
        .map(|(_, rss)| *rss)
        .max()
        .unwrap_or(rss_end)
        .max(rss_end);
    let at_5s = samples
        .iter()
        .find(|(t, _)| *t >= Duration::from_secs(5))
        .map_or(rss_start, |(_, rss)| *rss);
    let sum = |f: fn(&Written) -> u64| written.iter().map(f).sum::<u64>();
    eprintln!(
        "load: {WRITERS} writers, {READERS} readers, {WATCHERS} followers for {}s: {} appends, {} append-tos, {} file adds, {} saves, {reads} reads, {} events followed ({} resyncs, {} gaps); {checked} acknowledged messages checked",
        LOAD.as_secs(),
        sum(|w| w.appends),
        sum(|w| w.append_tos),
        sum(|w| w.file_adds),
        sum(|w| w.saves),
        followed.events,
        followed.resyncs,
        followed.gaps,
    );
    eprintln!(
        "load: RSS {rss_start} KiB at start, {at_5s} KiB at 5 s, peak {peak} KiB, {rss_end} KiB at the end; the slow subscriber read {before_resync:?} events before RESYNC"
    );
    assert_eq!(followed.gaps, 0, "a follower saw a revision gap without a RESYNC");
    assert!(before_resync.is_some(), "the unread Watch stream never got RESYNC");
    assert!(
        rss_end <= at_5s + RSS_GROWTH_BOUND_KIB,
        "memory grew from {at_5s} KiB at 5 s to {rss_end} KiB at the end"
    );
    let log = daemon.log_text();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "the daemon logged errors: {errors:#?}");
}
