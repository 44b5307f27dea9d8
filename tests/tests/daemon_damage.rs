//! A damaged database: the daemon refuses to start (it never serves a
//! damaged file half-empty), names the file, changes and moves nothing;
//! `chronicled --check` says what is wrong and `chronicled --repair` keeps
//! the damaged file and recovers what can be read.

use std::{fs, process::Output};

use chronicle_proto::v1::{AppendMessageRequest, GetWorkingSessionRequest, Message, Role};
use chronicle_tests::Sandbox;

const MARKER: &str = "the quick brown fox remembers everything";

/// A data dir with a few messages containing `MARKER`, daemon stopped.
async fn populated() -> (Sandbox, String) {
    let sandbox = Sandbox::new();
    let project = sandbox.project("damaged").display().to_string();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    for i in 0..5 {
        let message = Message {
            role: Role::User as i32,
            content: format!("{MARKER} {i}"),
            ..Message::default()
        };
        client
            .append_message(AppendMessageRequest {
                project: project.clone(),
                message: Some(message),
                expected_revision: None,
            })
            .await
            .expect("append");
    }
    assert!(daemon.stop().success());
    (sandbox, project)
}

fn database(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.data_dir().join("chronicle.redb")
}

fn run_daemon(sandbox: &Sandbox, extra: &[&str]) -> Output {
    sandbox.daemon_command().args(extra).output().expect("run chronicled")
}

fn listing(sandbox: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(sandbox.data_dir())
        .expect("list data dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// Overwrites every stored copy of the marker text, as a bad disk would.
fn corrupt_live_pages(sandbox: &Sandbox) {
    let path = database(sandbox);
    let mut bytes = fs::read(&path).expect("read db");
    let needle = MARKER.as_bytes();
    let mut hits = 0;
    let mut at = 0;
    while let Some(pos) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
        bytes[at + pos..at + pos + 5].copy_from_slice(b"#####");
        at += pos + needle.len();
        hits += 1;
    }
    assert!(hits > 0, "the marker is stored in the file");
    fs::write(&path, bytes).expect("write damaged db");
}

fn assert_refused(sandbox: &Sandbox, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the daemon must not start on a damaged file:\n{stderr}"
    );
    assert!(
        stderr.contains(&database(sandbox).display().to_string()),
        "names the file: {stderr}"
    );
    assert!(stderr.contains("--repair"), "names the way out: {stderr}");
    assert!(!sandbox.socket().exists(), "never served");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_database_is_refused_and_left_alone() {
    let (sandbox, _) = populated().await;
    let path = database(&sandbox);
    let len = fs::metadata(&path).expect("stat").len();
    let file = fs::OpenOptions::new().write(true).open(&path).expect("open db");
    file.set_len(len / 3).expect("truncate");
    let damaged = fs::read(&path).expect("read");
    let before = listing(&sandbox);

    let out = run_daemon(&sandbox, &[]);
    assert_refused(&sandbox, &out);
    assert!(
        fs::read(&path).expect("read") == damaged,
        "the damaged file is not touched"
    );
    let mut after = listing(&sandbox);
    after.retain(|n| n != "chronicled.lock");
    let mut before = before;
    before.retain(|n| n != "chronicled.lock");
    assert_eq!(after, before, "nothing is moved or created");
}

#[tokio::test(flavor = "multi_thread")]
async fn flipped_bytes_in_live_data_are_refused_then_repaired() {
    let (sandbox, project) = populated().await;
    corrupt_live_pages(&sandbox);
    let damaged = fs::read(database(&sandbox)).expect("read");

    assert_refused(&sandbox, &run_daemon(&sandbox, &[]));
    let check = run_daemon(&sandbox, &["--check"]);
    assert!(!check.status.success());
    assert!(String::from_utf8_lossy(&check.stderr).contains("is damaged"));

    let repair = run_daemon(&sandbox, &["--repair"]);
    let report = String::from_utf8_lossy(&repair.stdout);
    assert!(
        repair.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&repair.stderr)
    );
    assert!(report.contains("Recovered"), "{report}");
    let kept: Vec<_> = listing(&sandbox)
        .into_iter()
        .filter(|n| n.contains(".damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "a copy of the damaged file is kept");
    assert!(
        fs::read(sandbox.data_dir().join(&kept[0])).expect("read kept") == damaged,
        "kept unchanged"
    );

    // The daemon starts on the recovered file and serves what was readable.
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let page = client
        .get_working_session(GetWorkingSessionRequest {
            project,
            after_message_id: 0,
            limit: 0,
        })
        .await
        .expect("read recovered")
        .into_inner();
    assert_eq!(page.messages.len(), 5);
    assert_eq!(page.revision, 5);
    let healthy = run_daemon(&sandbox, &["--check"]);
    assert!(!healthy.status.success(), "--check refuses to run beside a daemon");
    assert!(String::from_utf8_lossy(&healthy.stderr).contains("already running"));
    assert!(daemon.stop().success());
    let healthy = run_daemon(&sandbox, &["--check"]);
    assert!(
        String::from_utf8_lossy(&healthy.stdout).contains("is healthy"),
        "{healthy:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_is_not_a_database_is_never_overwritten() {
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.data_dir()).expect("data dir");
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(database(&sandbox), &garbage).expect("write garbage");

    assert_refused(&sandbox, &run_daemon(&sandbox, &[]));
    let repair = run_daemon(&sandbox, &["--repair"]);
    let stderr = String::from_utf8_lossy(&repair.stderr);
    assert!(!repair.status.success());
    assert!(
        stderr.contains("nothing could be recovered") && stderr.contains("kept, unchanged"),
        "{stderr}"
    );
    assert!(
        fs::read(database(&sandbox)).expect("read") == garbage,
        "the original stays where it was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chronicle_doctor_explains_a_damaged_database() {
    let (sandbox, _) = populated().await;
    let dir = sandbox.project("doctor");
    let healthy = sandbox.chronicle(&dir, &["doctor"]);
    assert_eq!(healthy.code, Some(0), "{}{}", healthy.stdout, healthy.stderr);
    assert!(healthy.stdout.contains("is healthy"), "{}", healthy.stdout);
    assert!(!sandbox.socket().exists(), "doctor does not start a daemon");

    corrupt_live_pages(&sandbox);
    let sick = sandbox.chronicle(&dir, &["doctor"]);
    assert_eq!(sick.code, Some(1), "{}{}", sick.stdout, sick.stderr);
    assert!(sick.stdout.contains("is damaged"), "{}", sick.stdout);
    assert!(sick.stderr.contains("chronicled --repair"), "{}", sick.stderr);

    sandbox.daemon_command().arg("--repair").output().expect("repair");
    let daemon = sandbox.start();
    let running = sandbox.chronicle(&dir, &["doctor"]);
    assert_eq!(running.code, Some(0), "{}{}", running.stdout, running.stderr);
    assert!(
        running
            .stdout
            .contains(&format!("daemon running (pid {}", daemon.pid())),
        "{}",
        running.stdout
    );
}
