//! Store behaviour without the gRPC layer: one behaviour per test.

use chronicle_proto::v1::{ContextFile, Message, Role, Usage};

use super::*;

fn message(text: &str) -> Message {
    Message {
        role: Role::User as i32,
        content: text.into(),
        ..Message::default()
    }
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("chronicle.redb"), StoreConfig::default()).expect("open store")
}

const P: &str = "/work/project";

#[tokio::test]
async fn appends_get_increasing_ids_and_contiguous_revisions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    for i in 1..=5u64 {
        let ack = store
            .mutate(
                P,
                None,
                Mutation::Append {
                    message: message(&format!("m{i}")),
                },
            )
            .await
            .expect("append");
        assert_eq!(ack.revision, i);
        assert_eq!(ack.message_id, i);
    }
    let page = store.working_page(P, 0, 2).expect("read").expect("project exists");
    assert_eq!(
        page.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["m1", "m2"]
    );
    assert!(page.more);
    assert_eq!(page.total_messages, 5);
    let rest = store.working_page(P, 2, 0).expect("read").expect("project exists");
    assert_eq!(rest.messages.len(), 3);
    assert!(!rest.more);
}

#[tokio::test]
async fn a_stale_expected_revision_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    store
        .mutate(P, None, Mutation::Append { message: message("a") })
        .await
        .expect("append");
    let err = store
        .mutate(P, Some(0), Mutation::Append { message: message("b") })
        .await
        .err();
    assert!(
        matches!(err, Some(StoreError::Conflict(ref m)) if m.contains("revision 1")),
        "{err:?}"
    );
    let state = store.project_state(P).expect("read").expect("exists");
    assert_eq!((state.revision, state.message_count), (1, 1));
}

#[tokio::test]
async fn usage_totals_follow_updates_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let mut m = message("a");
    m.usage = Some(Usage {
        sent_tokens: 10,
        cost: 0.5,
        ..Usage::default()
    });
    store
        .mutate(P, None, Mutation::Append { message: m.clone() })
        .await
        .expect("append");
    store
        .mutate(P, None, Mutation::Append { message: m.clone() })
        .await
        .expect("append");
    store
        .mutate(
            P,
            None,
            Mutation::Delete {
                message_id: 1,
                truncate_after: false,
            },
        )
        .await
        .expect("delete");
    store
        .mutate(
            P,
            None,
            Mutation::Save {
                name: "s".into(),
                overwrite: false,
            },
        )
        .await
        .expect("save");
    let sessions = store.list_sessions(P).expect("list");
    let usage = sessions[0].total_usage.unwrap_or_default();
    assert_eq!((sessions[0].message_count, usage.sent_tokens), (1, 10));
    assert!((usage.cost - 0.5).abs() < 1e-9);
}

#[tokio::test]
async fn clear_keeps_files_and_trashes_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    store
        .mutate(P, None, Mutation::Append { message: message("a") })
        .await
        .expect("append");
    let file = ContextFile {
        path: "src/lib.rs".into(),
        ..ContextFile::default()
    };
    store
        .mutate(P, None, Mutation::AddFiles { files: vec![file] })
        .await
        .expect("files");
    store.mutate(P, None, Mutation::Clear).await.expect("clear");
    let page = store.working_page(P, 0, 0).expect("read").expect("exists");
    assert!(page.messages.is_empty());
    assert_eq!(page.files.len(), 1);
    let trash = store.list_trash(Some(P)).expect("trash");
    assert_eq!(trash.len(), 1);
    assert_eq!(
        (trash[0].reason.as_str(), trash[0].message_count, trash[0].file_count),
        ("cleared", 1, 0)
    );
    // Ids continue after a clear: none is reused.
    let ack = store
        .mutate(P, None, Mutation::Append { message: message("b") })
        .await
        .expect("append");
    assert_eq!(ack.message_id, 2);
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(&dir);
        store
            .mutate(
                P,
                None,
                Mutation::Append {
                    message: message("kept"),
                },
            )
            .await
            .expect("append");
        store.close();
    }
    let store = open(&dir);
    let page = store.working_page(P, 0, 0).expect("read").expect("exists");
    assert_eq!(page.messages[0].content, "kept");
    assert_eq!(page.revision, 1);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chronicle.redb");
    {
        let db = redb::Database::create(&path).expect("create");
        let txn = db.begin_write().expect("txn");
        txn.open_table(records::META)
            .expect("meta")
            .insert(records::KEY_SCHEMA, 99)
            .expect("insert");
        txn.commit().expect("commit");
    }
    let err = Store::open(&path, StoreConfig::default()).err();
    assert!(
        matches!(err, Some(StoreError::SchemaTooNew { found: 99, .. })),
        "{err:?}"
    );
}
