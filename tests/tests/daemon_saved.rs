//! Saved sessions and the trash through the real socket: save as new (a
//! taken name is refused, never overwritten silently), overwrite (the old
//! version goes to the trash), load messages / files / both (what is
//! replaced goes to the trash), rename, delete → trash → restore (under a
//! new name when the old one is taken), purge by id and by age, and the
//! listing RPCs (ListSessions newest first with counts and usage totals,
//! GetSession paging, ListTrash per project or for all).

use std::time::Duration;

use crate::common::{
    Client, Session, add_files, append, append_message, expect_code, file, message, pages, path_str, save, saved,
    sessions, snapshot, trash, working,
};
use chronicle_proto::v1::{
    DeleteSessionRequest, GetSessionRequest, LoadSessionRequest, PurgeTrashRequest, RenameSessionRequest,
    RestoreTrashRequest, Role, SaveMode, SaveSessionRequest, SetContextFilesRequest, TrashEntry, Usage,
};
use chronicle_tests::Sandbox;
use tonic::Code;

async fn load(client: &mut Client, project: &str, name: &str, messages: bool, files: bool) -> u64 {
    client
        .load_session(LoadSessionRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            messages,
            files,
            expected_revision: None,
        })
        .await
        .expect("LoadSession")
        .into_inner()
        .revision
}

async fn delete(client: &mut Client, project: &str, name: &str) -> String {
    client
        .delete_session(DeleteSessionRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            expected_revision: None,
        })
        .await
        .expect("DeleteSession")
        .into_inner()
        .trash_id
}

async fn restore(client: &mut Client, id: &str, new_name: &str) -> chronicle_proto::v1::SessionInfo {
    client
        .restore_trash(RestoreTrashRequest {
            id: id.to_owned(),
            new_name: new_name.to_owned(),
            expected_revision: None,
        })
        .await
        .expect("RestoreTrash")
        .into_inner()
}

async fn purge(client: &mut Client, id: &str, older_than_ms: i64) -> u32 {
    client
        .purge_trash(PurgeTrashRequest {
            id: id.to_owned(),
            older_than_ms,
            expected_revision: None,
        })
        .await
        .expect("PurgeTrash")
        .into_inner()
        .purged
}

async fn set_files(client: &mut Client, project: &str, paths: &[&str]) {
    client
        .set_context_files(SetContextFilesRequest {
            project: project.to_owned(),
            files: paths.iter().map(|p| file(p, false)).collect(),
            expected_revision: None,
        })
        .await
        .expect("SetContextFiles");
}

fn contents(messages: &[chronicle_proto::v1::Message]) -> Vec<&str> {
    messages.iter().map(|m| m.content.as_str()).collect()
}

fn paths(files: &[chronicle_proto::v1::ContextFile]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

fn only_entry(entries: &[TrashEntry], reason: &str) -> TrashEntry {
    let matching: Vec<&TrashEntry> = entries.iter().filter(|e| e.reason == reason).collect();
    assert_eq!(matching.len(), 1, "one {reason:?} entry expected in {entries:?}");
    matching[0].clone()
}

/// Sleeps until the daemon's millisecond clock has surely moved on, so two
/// records made one after the other get different timestamps.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn save_as_new_copies_the_working_session() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "question").await;
    append(&mut client, &project, Role::Assistant, "answer").await;
    add_files(&mut client, &project, vec![file("src/lib.rs", true)]).await;
    let before = working(&mut client, &project).await;

    let info = save(&mut client, &project, "  fix login  ", SaveMode::CreateNew).await;
    assert_eq!(info.name, "fix login", "names are trimmed");
    assert_eq!(info.project, project);
    assert_eq!((info.message_count, info.file_count), (2, 1));
    assert!(info.created_at_ms > 0 && info.updated_at_ms >= info.created_at_ms);

    let copy = saved(&mut client, &project, "fix login").await;
    assert_eq!(copy.name, "fix login");
    assert_eq!(copy.messages, before.messages);
    assert_eq!(copy.files, before.files);
    assert_eq!(copy.total_messages, 2);
    assert_eq!(
        working(&mut client, &project).await.messages,
        before.messages,
        "saving keeps the working session"
    );

    // The copy is independent: later work does not change it.
    append(&mut client, &project, Role::User, "later").await;
    assert_eq!(
        saved(&mut client, &project, "fix login").await.messages,
        before.messages
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn save_as_new_on_a_taken_name_is_already_exists() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "first").await;
    save(&mut client, &project, "work", SaveMode::CreateNew).await;
    append(&mut client, &project, Role::User, "second").await;
    let before = snapshot(&mut client, &project).await;

    let result = client
        .save_session(SaveSessionRequest {
            project: project.clone(),
            name: "work".into(),
            mode: SaveMode::CreateNew as i32,
            expected_revision: None,
        })
        .await;
    let status = expect_code(result, Code::AlreadyExists, "save as new on a taken name");
    assert!(status.message().contains("work"), "{}", status.message());
    assert_eq!(
        snapshot(&mut client, &project).await,
        before,
        "a refused save changes nothing"
    );
    assert_eq!(
        contents(&saved(&mut client, &project, "work").await.messages),
        ["first"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn overwrite_puts_the_old_version_in_the_trash() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "v1").await;
    let first = save(&mut client, &project, "work", SaveMode::CreateNew).await;
    append(&mut client, &project, Role::User, "v2").await;
    next_millisecond().await;

    let second = save(&mut client, &project, "work", SaveMode::Overwrite).await;
    assert_eq!(second.message_count, 2);
    assert_eq!(
        second.created_at_ms, first.created_at_ms,
        "overwriting keeps the creation time"
    );
    assert!(second.updated_at_ms > first.updated_at_ms);
    assert_eq!(
        contents(&saved(&mut client, &project, "work").await.messages),
        ["v1", "v2"]
    );
    assert_eq!(sessions(&mut client, &project).await.len(), 1);

    let entry = only_entry(&trash(&mut client, &project).await, "overwritten");
    assert_eq!(entry.name, "work");
    assert_eq!(entry.message_count, 1);

    // The old version is restorable (under another name: "work" is taken).
    restore(&mut client, &entry.id, "work v1").await;
    assert_eq!(
        contents(&saved(&mut client, &project, "work v1").await.messages),
        ["v1"]
    );
    assert!(trash(&mut client, &project).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn load_messages_only_keeps_the_files() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "saved message").await;
    set_files(&mut client, &project, &["saved.rs"]).await;
    save(&mut client, &project, "s", SaveMode::CreateNew).await;
    client
        .clear_messages(chronicle_proto::v1::ClearMessagesRequest {
            project: project.clone(),
            expected_revision: None,
        })
        .await
        .expect("ClearMessages");
    append(&mut client, &project, Role::User, "current 1").await;
    append(&mut client, &project, Role::User, "current 2").await;
    set_files(&mut client, &project, &["current.rs"]).await;
    let before = working(&mut client, &project).await;
    let trash_before = trash(&mut client, &project).await.len();

    let revision = load(&mut client, &project, "s", true, false).await;
    assert_eq!(revision, before.revision + 1);
    let now = working(&mut client, &project).await;
    assert_eq!(contents(&now.messages), ["saved message"]);
    assert_eq!(
        paths(&now.files),
        ["current.rs"],
        "files stay when only messages are loaded"
    );
    assert_eq!(now.total_messages, 1);

    let entries = trash(&mut client, &project).await;
    assert_eq!(entries.len(), trash_before + 1);
    let entry = only_entry(&entries, "replaced-by-load");
    assert_eq!(entry.message_count, 2, "the replaced messages are in the trash");
    restore(&mut client, &entry.id, "replaced").await;
    assert_eq!(
        contents(&saved(&mut client, &project, "replaced").await.messages),
        ["current 1", "current 2"]
    );

    // New messages continue after every id seen so far.
    let next = append(&mut client, &project, Role::User, "next").await;
    assert!(
        before
            .messages
            .iter()
            .chain(&now.messages)
            .all(|m| m.id < next.message_id)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn load_files_only_keeps_the_messages() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "saved message").await;
    set_files(&mut client, &project, &["saved.rs", "also-saved.rs"]).await;
    save(&mut client, &project, "s", SaveMode::CreateNew).await;
    append(&mut client, &project, Role::User, "current").await;
    set_files(&mut client, &project, &["current.rs"]).await;
    let before = working(&mut client, &project).await;

    let revision = load(&mut client, &project, "s", false, true).await;
    assert_eq!(revision, before.revision + 1);
    let now = working(&mut client, &project).await;
    assert_eq!(
        now.messages, before.messages,
        "messages stay when only files are loaded"
    );
    assert_eq!(paths(&now.files), ["saved.rs", "also-saved.rs"]);

    let entry = only_entry(&trash(&mut client, &project).await, "replaced-by-load");
    assert_eq!(
        (entry.message_count, entry.file_count),
        (0, 1),
        "the replaced files are in the trash"
    );
    restore(&mut client, &entry.id, "old files").await;
    assert_eq!(
        paths(&saved(&mut client, &project, "old files").await.files),
        ["current.rs"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn load_both_replaces_the_whole_working_session() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "saved message").await;
    set_files(&mut client, &project, &["saved.rs"]).await;
    save(&mut client, &project, "s", SaveMode::CreateNew).await;
    let saved_content = saved(&mut client, &project, "s").await;
    append(&mut client, &project, Role::User, "current").await;
    set_files(&mut client, &project, &["current.rs"]).await;
    let before = working(&mut client, &project).await;

    load(&mut client, &project, "s", true, true).await;
    let now = working(&mut client, &project).await;
    assert_eq!(now.messages, saved_content.messages);
    assert_eq!(paths(&now.files), ["saved.rs"]);

    let entry = only_entry(&trash(&mut client, &project).await, "replaced-by-load");
    assert_eq!((entry.message_count, entry.file_count), (2, 1));
    restore(&mut client, &entry.id, "before load").await;
    let old = saved(&mut client, &project, "before load").await;
    assert_eq!(old.messages, before.messages);
    assert_eq!(old.files, before.files);
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_moves_a_session_to_its_new_name() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "content").await;
    save(&mut client, &project, "old", SaveMode::CreateNew).await;
    let before = saved(&mut client, &project, "old").await;

    let info = client
        .rename_session(RenameSessionRequest {
            project: project.clone(),
            name: "old".into(),
            new_name: "new".into(),
            expected_revision: None,
        })
        .await
        .expect("RenameSession")
        .into_inner();
    assert_eq!(info.name, "new");
    assert_eq!(info.message_count, 1);
    let renamed = saved(&mut client, &project, "new").await;
    assert_eq!(renamed.messages, before.messages);
    let listed: Vec<String> = sessions(&mut client, &project)
        .await
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(listed, ["new"]);
    let result = client
        .get_session(GetSessionRequest {
            project: project.clone(),
            name: "old".into(),
            after_message_id: 0,
            limit: 0,
        })
        .await;
    expect_code(result, Code::NotFound, "the old name is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_goes_to_the_trash_and_restores() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "precious").await;
    add_files(&mut client, &project, vec![file("a.rs", false)]).await;
    save(&mut client, &project, "keep", SaveMode::CreateNew).await;
    let before = saved(&mut client, &project, "keep").await;

    let trash_id = delete(&mut client, &project, "keep").await;
    assert!(!trash_id.is_empty());
    assert!(sessions(&mut client, &project).await.is_empty());
    let entry = only_entry(&trash(&mut client, &project).await, "deleted");
    assert_eq!(entry.id, trash_id);
    assert_eq!(entry.name, "keep");
    assert_eq!(entry.project, project);
    assert_eq!((entry.message_count, entry.file_count), (1, 1));
    assert!(entry.trashed_at_ms > 0);

    let info = restore(&mut client, &trash_id, "").await;
    assert_eq!(info.name, "keep", "restored under its own name");
    let back = saved(&mut client, &project, "keep").await;
    assert_eq!(back.messages, before.messages);
    assert_eq!(back.files, before.files);
    assert!(
        trash(&mut client, &project).await.is_empty(),
        "restoring empties the entry"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_uses_the_new_name_when_the_old_one_is_taken() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "original").await;
    save(&mut client, &project, "name", SaveMode::CreateNew).await;
    let trash_id = delete(&mut client, &project, "name").await;
    append(&mut client, &project, Role::User, "replacement").await;
    save(&mut client, &project, "name", SaveMode::CreateNew).await;
    let before = snapshot(&mut client, &project).await;

    let result = client
        .restore_trash(RestoreTrashRequest {
            id: trash_id.clone(),
            new_name: String::new(),
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::AlreadyExists, "restore under a taken name");
    assert_eq!(
        snapshot(&mut client, &project).await,
        before,
        "a refused restore changes nothing"
    );

    let info = restore(&mut client, &trash_id, "name (restored)").await;
    assert_eq!(info.name, "name (restored)");
    assert_eq!(
        contents(&saved(&mut client, &project, "name (restored)").await.messages),
        ["original"]
    );
    assert_eq!(
        contents(&saved(&mut client, &project, "name").await.messages),
        ["original", "replacement"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_by_id_removes_one_entry_for_good() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "x").await;
    save(&mut client, &project, "a", SaveMode::CreateNew).await;
    save(&mut client, &project, "b", SaveMode::CreateNew).await;
    let a = delete(&mut client, &project, "a").await;
    let b = delete(&mut client, &project, "b").await;

    assert_eq!(purge(&mut client, &a, 0).await, 1);
    let left: Vec<String> = trash(&mut client, &project).await.into_iter().map(|e| e.id).collect();
    assert_eq!(left, [b]);
    let result = client
        .restore_trash(RestoreTrashRequest {
            id: a,
            new_name: String::new(),
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::NotFound, "a purged entry cannot be restored");
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_older_than_removes_only_older_entries() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "x").await;
    save(&mut client, &project, "old", SaveMode::CreateNew).await;
    save(&mut client, &project, "new", SaveMode::CreateNew).await;
    delete(&mut client, &project, "old").await;
    next_millisecond().await;
    let new_id = delete(&mut client, &project, "new").await;
    let entries = trash(&mut client, &project).await;
    let newer = entries
        .iter()
        .find(|e| e.id == new_id)
        .expect("the newer entry")
        .trashed_at_ms;
    assert!(entries.iter().all(|e| e.id == new_id || e.trashed_at_ms < newer));

    assert_eq!(purge(&mut client, "", 0).await, 0, "nothing is older than the epoch");
    assert_eq!(
        purge(&mut client, "", newer).await,
        1,
        "only the strictly older entry goes"
    );
    let left: Vec<String> = trash(&mut client, &project).await.into_iter().map(|e| e.id).collect();
    assert_eq!(left, [new_id]);
    assert_eq!(purge(&mut client, "", i64::MAX).await, 1);
    assert!(trash(&mut client, &project).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn list_sessions_is_newest_first_with_counts_and_usage() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let other = path_str(&sandbox.project("other"));

    let usage = |sent, received, cost| Usage {
        sent_tokens: sent,
        received_tokens: received,
        cost,
        cache_read_tokens: 1,
        cache_write_tokens: 2,
    };
    let mut m = message(Role::Assistant, "one");
    m.usage = Some(usage(100, 10, 0.5));
    append_message(&mut client, &project, m).await;
    save(&mut client, &project, "c first", SaveMode::CreateNew).await;
    next_millisecond().await;
    let mut m = message(Role::Assistant, "two");
    m.usage = Some(usage(200, 20, 0.25));
    append_message(&mut client, &project, m).await;
    add_files(&mut client, &project, vec![file("x.rs", false)]).await;
    save(&mut client, &project, "b second", SaveMode::CreateNew).await;
    next_millisecond().await;
    append(&mut client, &project, Role::User, "no usage").await;
    save(&mut client, &project, "a third", SaveMode::CreateNew).await;
    save(&mut client, &other, "elsewhere", SaveMode::CreateNew).await;

    let list = sessions(&mut client, &project).await;
    let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a third", "b second", "c first"], "newest update first");
    let counts: Vec<(u64, u32)> = list.iter().map(|s| (s.message_count, s.file_count)).collect();
    assert_eq!(counts, [(3, 1), (2, 1), (1, 0)]);
    let total = list[0].total_usage.expect("usage totals");
    assert_eq!(total.sent_tokens, 300);
    assert_eq!(total.received_tokens, 30);
    assert_eq!(total.cache_read_tokens, 2);
    assert_eq!(total.cache_write_tokens, 4);
    assert!((total.cost - 0.75).abs() < 1e-9, "cost {}", total.cost);
    let first = list[2].total_usage.expect("usage totals");
    assert_eq!(first.sent_tokens, 100);
    assert!(list.iter().all(|s| s.project == project));
}

#[tokio::test(flavor = "multi_thread")]
async fn get_session_pages_like_the_working_session() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    for i in 0..7 {
        append(&mut client, &project, Role::User, &format!("m{i}")).await;
    }
    save(&mut client, &project, "paged", SaveMode::CreateNew).await;
    let all = saved(&mut client, &project, "paged").await;

    let mut seen = Vec::new();
    for page in pages(&mut client, &project, Session::Saved("paged"), 2).await {
        assert_eq!(page.total_messages, 7);
        assert_eq!(page.name, "paged");
        assert!(page.messages.len() <= 2);
        seen.extend(page.messages);
    }
    assert_eq!(seen, all.messages);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_trash_filters_by_project_or_lists_all() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let a = path_str(&sandbox.project("a"));
    let b = path_str(&sandbox.project("b"));
    for project in [&a, &b] {
        append(&mut client, project, Role::User, "x").await;
        save(&mut client, project, "s", SaveMode::CreateNew).await;
        delete(&mut client, project, "s").await;
    }
    assert_eq!(trash(&mut client, &a).await.len(), 1);
    assert!(trash(&mut client, &a).await.iter().all(|e| e.project == a));
    let mut all: Vec<String> = trash(&mut client, "").await.into_iter().map(|e| e.project).collect();
    all.sort();
    assert_eq!(all, [a, b]);
}
