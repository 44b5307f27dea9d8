//! The write-ahead log on a failing disk: a batch whose log append fails
//! fails alone and changes nothing.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_log_append_fails_its_batch_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chronicle.redb");
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let disk_path = path.clone();
    let disk = move || file_backend(&disk_path);
    // The log's writes fail while `failing` is set, as on a failing disk.
    let log_failing = failing.clone();
    let log = HookedLog {
        before_write: Some(Box::new(move || {
            if log_failing.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(std::io::Error::other("the log's disk failed"));
            }
            Ok(())
        })),
        ..HookedLog::default()
    };
    let store = Store::open_with_backend(&path, disk, log, || true, StoreConfig::default()).expect("open");
    store.run(append(P, "before")).await.expect("append");
    let mut events = store.subscribe();
    failing.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = store.run(append(P, "lost")).await.err();
    assert!(matches!(err, Some(ref e) if e.is_storage()), "{err:?}");
    let state = store.project_state(&pp(P)).expect("read").expect("exists");
    assert_eq!(
        (state.revision, state.message_count),
        (1, 1),
        "the failed batch is not visible"
    );
    assert!(events.try_recv().is_err(), "nothing published for the failed batch");
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let ack = store
        .run(append(P, "after"))
        .await
        .expect("append after the log recovers");
    assert_eq!(ack.revision, 2, "revisions stay contiguous");
    let page = store.working_page(&pp(P), 0, 0).expect("read").expect("exists");
    let texts: Vec<&str> = page.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["before", "after"]);
}
