//! The write-ahead log through the real daemon: what a daemon acknowledged
//! just before it was killed with SIGKILL (so only the log held it beyond
//! the last checkpoint) is there after a restart with `--no-wal`, which
//! replays an existing log but writes none; a restart with the log on again
//! keeps everything; and the log file stays within its bound.

use chronicle_proto::v1::Role;
use chronicle_tests::Sandbox;

use crate::common::{append, open, path_str, working};

/// The log's preallocated size: 16 MiB between checkpoints plus one 4 MiB
/// record plus a record header (`store::WalTuning`'s defaults).
const LOG_BOUND: u64 = 20 * 1024 * 1024 + 28;

fn log_len(sandbox: &Sandbox) -> u64 {
    std::fs::metadata(sandbox.data_dir().join("chronicle.redb.wal"))
        .expect("the daemon keeps its log beside the database")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill_through_the_log_and_no_wal_replays_it() {
    let sandbox = Sandbox::new();
    let project = path_str(&sandbox.project("logged"));

    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    open(&mut client, &project).await;
    for i in 1..=40u64 {
        let ack = append(&mut client, &project, Role::User, &format!("logged {i}")).await;
        assert_eq!(ack.revision, i);
    }
    daemon.crash();
    assert!(log_len(&sandbox) <= LOG_BOUND, "the log outgrew its bound");

    let daemon = sandbox.start_with(&["--no-wal"]);
    let mut client = daemon.client().await;
    let content = working(&mut client, &project).await;
    let texts: Vec<String> = content.messages.iter().map(|m| m.content.clone()).collect();
    let expected: Vec<String> = (1..=40).map(|i| format!("logged {i}")).collect();
    assert_eq!(texts, expected, "every acknowledged message, in order");
    assert_eq!(content.revision, 40);
    let ack = append(&mut client, &project, Role::Assistant, "without the log").await;
    assert_eq!(ack.revision, 41, "revisions continue where the log left them");
    daemon.crash();
    if std::fs::read_to_string(sandbox.log())
        .unwrap_or_default()
        .contains("replayed the write-ahead log")
    {
        eprintln!("the restart replayed the log");
    }

    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let content = working(&mut client, &project).await;
    assert_eq!(content.messages.len(), 41);
    assert_eq!(
        content.messages.last().map(|m| m.content.as_str()),
        Some("without the log")
    );
    assert_eq!(content.revision, 41);
    let ack = append(&mut client, &project, Role::User, "logged again").await;
    assert_eq!(ack.revision, 42);
    assert!(daemon.stop().success());
    assert!(log_len(&sandbox) <= LOG_BOUND, "the log outgrew its bound");

    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    assert_eq!(working(&mut client, &project).await.revision, 42);
}
