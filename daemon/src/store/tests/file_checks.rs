//! Context-file checks run by the caller, off the writer: a hung check
//! stalls only its own job, and one that times out counts as missing.

use super::*;

/// A context-file check that blocks for paths under `hung` until released,
/// as a stat on a hung network mount would; it says when it is entered.
fn hanging_check(
    hung: &'static str,
) -> (
    FileCheck,
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::SyncSender<()>,
) {
    let (entered_tx, entered) = std::sync::mpsc::sync_channel(16);
    let (release, release_rx) = std::sync::mpsc::sync_channel::<()>(16);
    let release_rx = Mutex::new(release_rx);
    let check = FileCheck::new(move |path| {
        if path.starts_with(hung) {
            let _ = entered_tx.send(());
            if let Ok(rx) = release_rx.lock() {
                let _ = rx.recv();
            }
        }
        true
    });
    (check, entered, release)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_context_file_check_stalls_only_its_own_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (check, entered, release) = hanging_check("/hung/mount");
    let config = StoreConfig {
        file_check: check,
        file_check_timeout: Duration::from_secs(3600),
        ..StoreConfig::default()
    };
    let store = Store::open(&dir.path().join("chronicle.redb"), config).expect("open store");
    let hung = pp("/hung/mount/project");
    let adding = tokio::spawn({
        let (store, hung) = (store.clone(), hung.clone());
        async move {
            let file = ContextFile {
                path: "src/main.rs".into(),
                ..ContextFile::default()
            };
            store
                .mutate(&hung, None, Mutation::AddFiles { files: vec![file] })
                .await
        }
    });
    tokio::task::spawn_blocking(move || entered.recv())
        .await
        .expect("join")
        .expect("the check of the hung project's file began");
    // While that check hangs, another project's writes go through. A hang
    // detector, not a speed claim: before the fix this never returned.
    let other = tokio::time::timeout(
        Duration::from_secs(60),
        store.mutate(
            &pp(P),
            None,
            Mutation::Append {
                message: message("still writing"),
            },
        ),
    )
    .await
    .expect("a write of another project waited on the hung check")
    .expect("append");
    assert_eq!(other.revision, 1);
    assert!(
        !adding.is_finished(),
        "the hung project's job answered before its check did"
    );
    release.send(()).expect("release the check");
    adding.await.expect("join").expect("add files once the check answers");
    let page = store.working_page(&hung, 0, 0).expect("read").expect("project exists");
    assert_eq!(page.files.len(), 1);
    assert!(!page.files[0].missing, "the check found the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_file_whose_check_times_out_counts_as_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (check, _entered, release) = hanging_check("/hung/mount");
    let config = StoreConfig {
        file_check: check,
        file_check_timeout: Duration::from_millis(50),
        ..StoreConfig::default()
    };
    let store = Store::open(&dir.path().join("chronicle.redb"), config).expect("open store");
    let hung = pp("/hung/mount/project");
    let file = ContextFile {
        path: "src/main.rs".into(),
        ..ContextFile::default()
    };
    store
        .mutate(&hung, None, Mutation::AddFiles { files: vec![file] })
        .await
        .expect("add files though their check hangs");
    let page = store.working_page(&hung, 0, 0).expect("read").expect("project exists");
    assert!(
        page.files[0].missing,
        "a file whose check never answered is not known to exist"
    );
    // A file whose check does answer is found.
    store
        .mutate(
            &pp(P),
            None,
            Mutation::AddFiles {
                files: vec![ContextFile {
                    path: "b.rs".into(),
                    ..ContextFile::default()
                }],
            },
        )
        .await
        .expect("add files");
    let page = store.working_page(&pp(P), 0, 0).expect("read").expect("project exists");
    assert!(!page.files[0].missing);
    release.send(()).expect("release the check");
}
