//! Who commits: a lone caller on its own thread, concurrent ones through
//! the writer thread's batches, checkpoints always on the writer thread.

use std::sync::{Arc, Mutex as StdMutex};

use super::*;

/// The threads that made each sync of a store's log, in order.
#[derive(Clone, Default)]
struct SyncingThreads(Arc<StdMutex<Vec<String>>>);

impl SyncingThreads {
    fn note(&self) {
        let name = std::thread::current().name().unwrap_or("unnamed").to_owned();
        self.0.lock().expect("sync list").push(name);
    }

    fn list(&self) -> Vec<String> {
        self.0.lock().expect("sync list").clone()
    }
}

fn noting_store(dir: &tempfile::TempDir, config: StoreConfig) -> (Store, SyncingThreads) {
    let path = dir.path().join("chronicle.redb");
    let syncs = SyncingThreads::default();
    let noted = syncs.clone();
    let log = HookedLog {
        before_sync: Some(Box::new(move || {
            noted.note();
            Ok(())
        })),
        ..HookedLog::default()
    };
    let store = Store::open_with_backend(
        Path::new("noting.redb"),
        move || file_backend(&path),
        log,
        || true,
        config,
    )
    .expect("open");
    // Opening syncs the log on the opening thread: count from here.
    syncs.0.lock().expect("sync list").clear();
    (store, syncs)
}

fn checkpointed_seq(store: &Store) -> u64 {
    let db = store.inner.db.get().expect("database");
    let read = db.begin_read().expect("read");
    let meta = read.open_table(records::META).expect("meta");
    meta.get(wal::KEY_CHECKPOINT).expect("get").map_or(0, |v| v.value())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_caller_commits_on_its_own_thread_and_the_writer_checkpoints_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = StoreConfig::default();
    config.wal_tuning.checkpoint_interval = Duration::from_millis(50);
    let (store, syncs) = noting_store(&dir, config);
    for round in 0..2u64 {
        // Let the writer thread fall asleep on a clean log: only the
        // leaders' word can wake it for the checkpoint.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for n in 0..5 {
            let outcome = store.run(append(P, &format!("lone {n}"))).await.expect("append");
            assert_eq!(outcome.revision, round * 5 + n + 1);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while checkpointed_seq(&store) < (round + 1) * 5 {
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: no checkpoint after lone appends"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let threads = syncs.list();
    assert_eq!(threads.len(), 10, "one log sync per lone append: {threads:?}");
    assert!(
        threads.iter().all(|t| t != "chronicle-writer"),
        "a lone append waited for the writer thread: {threads:?}"
    );
    let state = store.project_state(&pp(P)).expect("read").expect("exists");
    assert_eq!(state.revision, 10);
}

#[tokio::test]
async fn on_a_single_threaded_runtime_every_commit_goes_through_the_writer_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, syncs) = noting_store(&dir, StoreConfig::default());
    for n in 0..3 {
        store.run(append(P, &format!("queued {n}"))).await.expect("append");
    }
    assert_eq!(syncs.list(), vec!["chronicle-writer"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_arriving_during_a_leaders_commit_wait_for_the_writer_thread() {
    let (store, disk) = held_store();
    let before = disk.syncing_threads().len();
    let results = one_batch(
        &store,
        &disk,
        (0..8).map(|n| append(&format!("/work/p{n}"), "together")).collect(),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let threads = disk.syncing_threads().split_off(before);
    // The blocker led (its sync is the held one); the eight queued behind
    // it and the writer thread committed them.
    assert_ne!(
        threads.first().map(String::as_str),
        Some("chronicle-writer"),
        "{threads:?}"
    );
    assert_eq!(
        threads.last().map(String::as_str),
        Some("chronicle-writer"),
        "{threads:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_batch_of_several_the_next_caller_queues_and_after_a_batch_of_one_it_leads_again() {
    let (store, disk) = held_store();
    let results = one_batch(
        &store,
        &disk,
        (0..8).map(|n| append(&format!("/work/p{n}"), "together")).collect(),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let before = disk.syncing_threads().len();
    for n in 0..3 {
        store.run(append(P, &format!("alone {n}"))).await.expect("append");
    }
    let threads = disk.syncing_threads().split_off(before);
    // The first came just after a crowd: it queued, and its batch of one
    // let the next two lead.
    assert_eq!(threads.len(), 3, "{threads:?}");
    assert_eq!(threads[0], "chronicle-writer", "{threads:?}");
    assert!(threads[1..].iter().all(|t| t != "chronicle-writer"), "{threads:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_copies_a_session_is_left_to_the_writer_thread_even_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, syncs) = noting_store(&dir, StoreConfig::default());
    store.run(append(P, "first")).await.expect("append");
    store
        .mutate(
            &pp(P),
            None,
            Mutation::Save {
                name: sn("copy"),
                overwrite: false,
            },
        )
        .await
        .expect("save");
    let threads = syncs.list();
    assert_eq!(threads.len(), 2, "{threads:?}");
    assert_ne!(threads[0], "chronicle-writer", "the append leads: {threads:?}");
    assert_eq!(threads[1], "chronicle-writer", "the save waits: {threads:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn with_a_single_worker_every_commit_goes_through_the_writer_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, syncs) = noting_store(&dir, StoreConfig::default());
    store.run(append(P, "alone")).await.expect("append");
    assert_eq!(syncs.list(), vec!["chronicle-writer"]);
}

fn append_expecting(project: &str, text: &str, expected: u64) -> Job {
    Job::Project {
        project: pp(project),
        expected_revision: Some(expected),
        mutation: Mutation::Append { message: message(text) },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_commits_with_one_sync_and_stops_at_its_first_refusal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, syncs) = noting_store(&dir, StoreConfig::default());
    let results = store
        .run_chain(vec![
            append(P, "one"),
            append_expecting(P, "two", 1),
            // Stale: the working session is at revision 2 by then.
            append_expecting(P, "three", 1),
            append(P, "four"),
        ])
        .await;
    assert_eq!(results.len(), 3, "answers up to the refusal: {results:?}");
    assert_eq!(results[0].as_ref().expect("one").revision, 1);
    assert_eq!(results[1].as_ref().expect("two").revision, 2);
    assert!(matches!(results[2], Err(StoreError::Conflict(_))), "{results:?}");
    let state = store.project_state(&pp(P)).expect("read").expect("exists");
    assert_eq!(state.revision, 2, "nothing after the refusal was applied");
    assert_eq!(syncs.list(), vec!["chronicle-writer"], "one batch, one sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_in_one_chain_leaves_the_jobs_batched_beside_it_alone() {
    let (store, disk) = held_store();
    disk.hold_next_sync();
    let blocker = {
        let store = store.clone();
        tokio::spawn(async move { store.run(append("/work/blocker", "blocker")).await })
    };
    let held = disk.clone();
    tokio::task::spawn_blocking(move || held.wait_until_held())
        .await
        .expect("held");
    let chain = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .run_chain(vec![
                    append_expecting("/work/chain", "stale", 7),
                    append("/work/chain", "after"),
                ])
                .await
        })
    };
    while store.queued() < 2 {
        tokio::task::yield_now().await;
    }
    let beside = {
        let store = store.clone();
        tokio::spawn(async move { store.run(append("/work/beside", "beside")).await })
    };
    while store.queued() < 3 {
        tokio::task::yield_now().await;
    }
    disk.release();
    blocker.await.expect("blocker").expect("the blocker commits");
    let chain = chain.await.expect("chain");
    assert_eq!(chain.len(), 1, "{chain:?}");
    assert!(matches!(chain[0], Err(StoreError::Conflict(_))), "{chain:?}");
    assert!(store.project_state(&pp("/work/chain")).expect("read").is_none());
    let beside = beside.await.expect("beside").expect("the job beside commits");
    assert_eq!(beside.revision, 1);
}
