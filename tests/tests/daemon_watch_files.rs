//! Context files on disk, watched by the daemon for every project a client
//! has open: a file deleted or moved away is flagged `missing` by a durable
//! mutation with a FILE_MISSING event, and cleared with FILE_RESTORED when
//! it comes back — within 2 s, files never dropped from the list. Loading a
//! saved session's files flags the ones that are gone. Watches are released
//! when no client has the project open, and 5,000 files neither exhaust
//! watches (directories past the cap are polled) nor memory.

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use crate::common::{Client, add_files, append, file, path_str, save, working};
use chronicle_proto::v1::{
    ContextFile, Event, EventKind, GetStatusRequest, LoadSessionRequest, Role, SaveMode, SetContextFilesRequest,
    WatchRequest,
};
use chronicle_tests::Sandbox;
use tonic::Streaming;

/// What the issue promises: the event arrives within this long.
const PROMPT: Duration = Duration::from_secs(2);
/// Guard against a hung test; never a measurement.
const PATIENCE: Duration = Duration::from_secs(15);

async fn watch(client: &mut Client, project: &str) -> Streaming<Event> {
    let mut stream = client
        .watch(WatchRequest {
            project: project.to_owned(),
        })
        .await
        .expect("Watch")
        .into_inner();
    let hello = next_event(&mut stream, PATIENCE).await.expect("a SNAPSHOT");
    assert_eq!(hello.kind, EventKind::Snapshot as i32);
    stream
}

async fn next_event(stream: &mut Streaming<Event>, wait: Duration) -> Option<Event> {
    match tokio::time::timeout(wait, stream.message()).await {
        Ok(Ok(Some(event))) => Some(event),
        Ok(Ok(None)) => panic!("the watch stream ended"),
        Ok(Err(status)) => panic!("the watch stream failed: {status}"),
        Err(_) => None,
    }
}

/// Waits for the next event of `kind`, and says how long it took.
async fn expect_event(stream: &mut Streaming<Event>, kind: EventKind, since: Instant) -> (Event, Duration) {
    let deadline = since + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = next_event(stream, left)
            .await
            .unwrap_or_else(|| panic!("no {kind:?} event within {PATIENCE:?}"));
        if event.kind == kind as i32 {
            return (event, since.elapsed());
        }
    }
}

fn flag(files: &[ContextFile], path: &str) -> bool {
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is still in the list: {files:?}"))
        .missing
}

/// The inotify watches a process holds, from /proc.
fn inotify_watches(pid: u32) -> usize {
    let mut watches = 0;
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    for fd in fds.flatten() {
        let is_inotify = fs::read_link(fd.path()).is_ok_and(|target| target.to_string_lossy().contains("inotify"));
        if is_inotify {
            let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy()))
                .unwrap_or_default();
            watches += info.lines().filter(|l| l.starts_with("inotify wd:")).count();
        }
    }
    watches
}

/// Resident memory of a process in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc status")
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("create the directory");
    }
    fs::write(path, text).expect("write a context file");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_rename_and_recreate_are_flagged_and_cleared_within_two_seconds() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let root = sandbox.project("app");
    let project = path_str(&root);
    write(&root.join("README.md"), "readme");
    write(&root.join("src/login.rs"), "fn login() {}");
    add_files(
        &mut client,
        &project,
        vec![file("README.md", false), file("src/login.rs", true)],
    )
    .await;
    let mut stream = watch(&mut client, &project).await;
    // The watcher takes the project up as soon as it is opened; give it a
    // moment so the first change is not raced against that.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut latencies = Vec::new();

    // Deleted.
    let start = Instant::now();
    fs::remove_file(root.join("README.md")).expect("delete README.md");
    let (event, took) = expect_event(&mut stream, EventKind::FileMissing, start).await;
    latencies.push(("delete", took));
    assert!(flag(&event.files, "README.md"), "the event carries the flag");
    assert!(!flag(&event.files, "src/login.rs"));
    let session = working(&mut client, &project).await;
    assert_eq!(session.revision, event.revision, "a durable mutation with its revision");
    assert!(flag(&session.files, "README.md"), "GetWorkingSession shows the flag");
    assert_eq!(session.files.len(), 2, "the file stays in the list");

    // Recreated.
    let start = Instant::now();
    write(&root.join("README.md"), "back again");
    let (event, took) = expect_event(&mut stream, EventKind::FileRestored, start).await;
    latencies.push(("recreate", took));
    assert!(!flag(&event.files, "README.md"));
    assert!(!flag(&working(&mut client, &project).await.files, "README.md"));

    // Renamed away, then back.
    let start = Instant::now();
    fs::rename(root.join("src/login.rs"), root.join("src/login.rs.bak")).expect("rename away");
    let (event, took) = expect_event(&mut stream, EventKind::FileMissing, start).await;
    latencies.push(("rename away", took));
    assert!(flag(&event.files, "src/login.rs"));
    let files = working(&mut client, &project).await.files;
    assert!(flag(&files, "src/login.rs"));
    assert!(
        files
            .iter()
            .find(|f| f.path == "src/login.rs")
            .is_some_and(|f| f.read_only),
        "nothing else about the file changes"
    );
    let start = Instant::now();
    fs::rename(root.join("src/login.rs.bak"), root.join("src/login.rs")).expect("rename back");
    let (_, took) = expect_event(&mut stream, EventKind::FileRestored, start).await;
    latencies.push(("rename back", took));

    eprintln!("event latencies: {latencies:?}");
    for (what, took) in latencies {
        assert!(took < PROMPT, "{what}: the event took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_touched_by_any_call_is_watched_without_a_stream() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let root = sandbox.project("app");
    let project = path_str(&root);
    write(&root.join("notes.md"), "n");
    add_files(&mut client, &project, vec![file("notes.md", false)]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let start = Instant::now();
    fs::remove_file(root.join("notes.md")).expect("delete");
    loop {
        let files = working(&mut client, &project).await.files;
        if flag(&files, "notes.md") {
            break;
        }
        assert!(start.elapsed() < PATIENCE, "the file was never flagged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(start.elapsed() < PROMPT, "flagged after {:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn watches_are_released_when_no_client_has_the_project_open() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start_with(&["--file-watch-window", "1s"]);
    let mut client = daemon.client().await;
    let root = sandbox.project("app");
    let project = path_str(&root);
    write(&root.join("a.rs"), "a");
    write(&root.join("lib/b.rs"), "b");
    add_files(
        &mut client,
        &project,
        vec![file("a.rs", false), file("lib/b.rs", false)],
    )
    .await;
    // A stream on every project follows the events without opening any.
    let mut everything = watch(&mut client, "").await;

    let deadline = Instant::now() + PATIENCE;
    while inotify_watches(daemon.pid()) != 2 {
        assert!(Instant::now() < deadline, "the two directories were never watched");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The window passes with no call: the project closes.
    let deadline = Instant::now() + PATIENCE;
    while inotify_watches(daemon.pid()) != 0 {
        assert!(Instant::now() < deadline, "the watches were never released");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    fs::remove_file(root.join("a.rs")).expect("delete");
    assert!(
        next_event(&mut everything, Duration::from_millis(1500)).await.is_none(),
        "nobody has the project open: nothing is watched"
    );
    // Opening it again checks every file: what changed meanwhile is seen.
    let start = Instant::now();
    let _ = working(&mut client, &project).await;
    let (event, _) = expect_event(&mut everything, EventKind::FileMissing, start).await;
    assert!(flag(&event.files, "a.rs"));
    assert!(!flag(&event.files, "lib/b.rs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_directory_is_polled_until_it_returns() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start_with(&["--file-poll-interval", "500ms"]);
    let mut client = daemon.client().await;
    let root = sandbox.project("app");
    let project = path_str(&root);
    write(&root.join("gen/out.rs"), "x");
    add_files(&mut client, &project, vec![file("gen/out.rs", false)]).await;
    let mut stream = watch(&mut client, &project).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let start = Instant::now();
    fs::remove_dir_all(root.join("gen")).expect("remove the directory");
    expect_event(&mut stream, EventKind::FileMissing, start).await;
    let start = Instant::now();
    write(&root.join("gen/out.rs"), "regenerated");
    let (event, took) = expect_event(&mut stream, EventKind::FileRestored, start).await;
    assert!(!flag(&event.files, "gen/out.rs"));
    assert!(took < PROMPT, "restored after {took:?}");
    // ... and the new directory is watched again: a second delete is seen.
    let start = Instant::now();
    fs::remove_file(root.join("gen/out.rs")).expect("delete");
    let (_, took) = expect_event(&mut stream, EventKind::FileMissing, start).await;
    assert!(took < PROMPT, "flagged after {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn loading_a_sessions_files_flags_the_ones_that_are_gone() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let root = sandbox.project("app");
    let project = path_str(&root);
    write(&root.join("kept.rs"), "k");
    write(&root.join("gone.rs"), "g");
    add_files(
        &mut client,
        &project,
        vec![file("kept.rs", false), file("gone.rs", false)],
    )
    .await;
    append(&mut client, &project, Role::User, "hello").await;
    save(&mut client, &project, "with files", SaveMode::CreateNew).await;
    client
        .set_context_files(SetContextFilesRequest {
            project: project.clone(),
            files: Vec::new(),
            expected_revision: None,
        })
        .await
        .expect("SetContextFiles");
    fs::remove_file(root.join("gone.rs")).expect("delete");

    client
        .load_session(LoadSessionRequest {
            project: project.clone(),
            name: "with files".into(),
            messages: false,
            files: true,
            expected_revision: None,
        })
        .await
        .expect("LoadSession");
    let files = working(&mut client, &project).await.files;
    assert_eq!(files.len(), 2, "a vanished file is loaded, not dropped");
    assert!(flag(&files, "gone.rs"), "and flagged at load");
    assert!(!flag(&files, "kept.rs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn five_thousand_files_exhaust_neither_watches_nor_memory() {
    const DIRS: usize = 100;
    const PER_DIR: usize = 50;
    const CAP: usize = 40;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start_with(&["--max-file-watches", &CAP.to_string(), "--file-poll-interval", "1s"]);
    let mut client = daemon.client().await;
    let root = sandbox.project("big");
    let project = path_str(&root);
    let mut files = Vec::with_capacity(DIRS * PER_DIR);
    for d in 0..DIRS {
        for f in 0..PER_DIR {
            let path = format!("mod{d:03}/file{f:02}.rs");
            write(&root.join(&path), "// x");
            files.push(file(&path, false));
        }
    }
    let rss_before = rss_kib(daemon.pid());
    add_files(&mut client, &project, files).await;
    let mut stream = watch(&mut client, &project).await;
    let deadline = Instant::now() + PATIENCE;
    while inotify_watches(daemon.pid()) < CAP {
        assert!(Instant::now() < deadline, "the watcher never took the project up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let watches = inotify_watches(daemon.pid());
    assert_eq!(watches, CAP, "at most the cap of directories is watched");

    // One file gone in every directory: watched and polled ones alike.
    let start = Instant::now();
    for d in 0..DIRS {
        fs::remove_file(root.join(format!("mod{d:03}/file07.rs"))).expect("delete");
    }
    let mut flagged = 0;
    while flagged < DIRS {
        let (event, _) = expect_event(&mut stream, EventKind::FileMissing, start).await;
        flagged = event.files.iter().filter(|f| f.missing).count();
    }
    let took = start.elapsed();
    let session = working(&mut client, &project).await;
    assert_eq!(session.files.len(), DIRS * PER_DIR, "nothing dropped");
    assert_eq!(session.files.iter().filter(|f| f.missing).count(), DIRS);

    let rss_after = rss_kib(daemon.pid());
    eprintln!(
        "5,000 files in {DIRS} dirs: {watches} inotify watches, all {DIRS} deletions flagged after {took:?}, RSS {rss_before} KiB before, {rss_after} KiB after"
    );
    assert!(rss_after < 150 * 1024, "RSS {rss_after} KiB");
    let status = client.get_status(GetStatusRequest {}).await.expect("still serving");
    assert_eq!(status.into_inner().pid, daemon.pid());
    let log = daemon.log_text();
    assert_eq!(
        log.matches("watching the most directories allowed").count(),
        1,
        "the fallback is logged once:\n{log}"
    );
}
