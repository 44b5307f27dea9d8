//! The working session through the real socket: appended messages come
//! back in order with increasing ids, every mutation bumps the revision by
//! exactly one and is durable across a daemon restart, and each working-
//! session RPC (OpenProject, ListProjects, GetWorkingSession paging,
//! AppendMessage, AppendToMessage, UpdateMessage, DeleteMessages,
//! ClearMessages, Add/Remove/SetContextFiles) does what the contract says.

use crate::common;

use std::{collections::HashMap, fs};

use crate::common::{
    Session, add_files, append, append_message, file, message, open, open_with, path_str, save, sessions, trash,
    working,
};
use chronicle_proto::v1::{
    AppendToMessageRequest, ClearMessagesRequest, DeleteMessagesRequest, GetWorkingSessionRequest, ListProjectsRequest,
    Message, RemoveContextFilesRequest, Role, SaveMode, SetContextFilesRequest, StartMode, ToolCall,
    UpdateMessageRequest, Usage,
};
use chronicle_tests::Sandbox;
use prost::Message as _;

/// A message that uses every field, so a round trip proves nothing is lost.
fn rich_message(i: u64) -> Message {
    let role = [
        Role::User,
        Role::Assistant,
        Role::Tool,
        Role::System,
        Role::CommandOutput,
        Role::Log,
    ][(i % 6) as usize];
    Message {
        id: 0,
        role: role as i32,
        content: format!("message {i}: **bold** and `code`\n\n- a list item"),
        created_at_ms: 0,
        model: format!("model-{i}"),
        usage: Some(Usage {
            sent_tokens: 100 + i,
            received_tokens: 10 + i,
            cost: 0.25,
            cache_read_tokens: i,
            cache_write_tokens: 2 * i,
        }),
        tool: Some(ToolCall {
            name: "read_file".into(),
            call_id: format!("call-{i}"),
            args_json: format!(r#"{{"path":"src/{i}.rs"}}"#),
            result_json: r#"{"ok":true}"#.into(),
            is_error: i.is_multiple_of(2),
        }),
        reasoning: format!("thinking about {i}"),
        command: format!("cargo test {i}"),
        log_level: "info".into(),
        edited_files: vec![format!("src/{i}.rs"), "Cargo.toml".into()],
        // One entry only: map order is not part of the encoding contract.
        metadata: HashMap::from([("turn".to_owned(), i.to_string())]),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn appended_messages_come_back_in_order_with_increasing_ids() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    let mut sent = Vec::new();
    let mut last_id = 0;
    for i in 0..25u64 {
        let ack = append_message(&mut client, &project, rich_message(i)).await;
        assert!(
            ack.message_id > last_id,
            "ids increase: {} after {last_id}",
            ack.message_id
        );
        assert_eq!(ack.revision, i + 1, "each append bumps the revision by one");
        last_id = ack.message_id;
        sent.push((ack.message_id, rich_message(i)));
    }

    let content = working(&mut client, &project).await;
    assert_eq!(content.revision, 25);
    assert_eq!(content.total_messages, 25);
    assert_eq!(content.messages.len(), 25);
    for (got, (id, mut want)) in content.messages.iter().zip(sent) {
        assert_eq!(got.id, id);
        assert!(got.created_at_ms > 0, "the daemon stamps created_at_ms when 0");
        want.id = id;
        want.created_at_ms = got.created_at_ms;
        assert_eq!(got, &want, "message {id} came back changed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_timestamp_is_kept() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    let mut m = message(Role::User, "from the past");
    m.created_at_ms = 1_600_000_000_000;
    append_message(&mut client, &project, m).await;
    let content = working(&mut client, &project).await;
    assert_eq!(content.messages[0].created_at_ms, 1_600_000_000_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn revision_counts_every_mutation() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    assert_eq!(
        open(&mut client, &project).await.revision,
        0,
        "opening is not a mutation"
    );
    let mut revisions = Vec::new();
    let first = append(&mut client, &project, Role::User, "one").await;
    revisions.push(first.revision);
    revisions.push(append(&mut client, &project, Role::Assistant, "two").await.revision);
    let ack = client
        .append_to_message(AppendToMessageRequest {
            project: project.clone(),
            message_id: first.message_id,
            delta: " more".into(),
            expected_revision: None,
        })
        .await
        .expect("AppendToMessage")
        .into_inner();
    revisions.push(ack.revision);
    let mut updated = message(Role::User, "one, edited");
    updated.id = first.message_id;
    let ack = client
        .update_message(UpdateMessageRequest {
            project: project.clone(),
            message: Some(updated),
            expected_revision: None,
        })
        .await
        .expect("UpdateMessage")
        .into_inner();
    revisions.push(ack.revision);
    revisions.push(
        add_files(&mut client, &project, vec![file("a.rs", false)])
            .await
            .revision,
    );
    let ack = client
        .remove_context_files(RemoveContextFilesRequest {
            project: project.clone(),
            paths: vec!["a.rs".into()],
            expected_revision: None,
        })
        .await
        .expect("RemoveContextFiles")
        .into_inner();
    revisions.push(ack.revision);
    let ack = client
        .set_context_files(SetContextFilesRequest {
            project: project.clone(),
            files: vec![file("b.rs", true)],
            expected_revision: None,
        })
        .await
        .expect("SetContextFiles")
        .into_inner();
    revisions.push(ack.revision);
    let ack = client
        .delete_messages(DeleteMessagesRequest {
            project: project.clone(),
            message_id: first.message_id,
            truncate_after: false,
            expected_revision: None,
        })
        .await
        .expect("DeleteMessages")
        .into_inner();
    revisions.push(ack.revision);
    let ack = client
        .clear_messages(ClearMessagesRequest {
            project: project.clone(),
            expected_revision: None,
        })
        .await
        .expect("ClearMessages")
        .into_inner();
    revisions.push(ack.revision);

    let expected: Vec<u64> = (1..=revisions.len() as u64).collect();
    assert_eq!(revisions, expected, "every mutation bumps the revision by exactly one");
    let state = open(&mut client, &project).await;
    assert_eq!(state.revision, revisions.len() as u64);
    assert_eq!(working(&mut client, &project).await.revision, state.revision);
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_survive_a_daemon_restart_byte_for_byte() {
    let sandbox = Sandbox::new();
    let project = path_str(&sandbox.project("app"));
    fs::write(sandbox.project("app").join("present.rs"), "fn main() {}").expect("write a context file");

    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    for i in 0..40 {
        append_message(&mut client, &project, rich_message(i)).await;
    }
    add_files(
        &mut client,
        &project,
        vec![file("present.rs", false), file("gone.rs", true)],
    )
    .await;
    save(&mut client, &project, "keep me", SaveMode::CreateNew).await;
    append(&mut client, &project, Role::User, "after the save").await;

    let before_working = working(&mut client, &project).await;
    let before_saved = common::saved(&mut client, &project, "keep me").await;
    let before_sessions = sessions(&mut client, &project).await;
    let before_projects = client
        .list_projects(ListProjectsRequest {})
        .await
        .expect("ListProjects")
        .into_inner();
    drop(client);
    let status = daemon.stop();
    assert!(status.success(), "daemon stopped with {status}");

    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let after_working = working(&mut client, &project).await;
    let after_saved = common::saved(&mut client, &project, "keep me").await;
    assert_eq!(after_working, before_working);
    assert_eq!(
        after_working.encode_to_vec(),
        before_working.encode_to_vec(),
        "working session bytes differ"
    );
    assert_eq!(
        after_saved.encode_to_vec(),
        before_saved.encode_to_vec(),
        "saved session bytes differ"
    );
    assert_eq!(sessions(&mut client, &project).await, before_sessions);
    let after_projects = client
        .list_projects(ListProjectsRequest {})
        .await
        .expect("ListProjects")
        .into_inner();
    assert_eq!(after_projects, before_projects);
    assert_eq!(after_working.revision, 40 + 1 + 1 + 1);

    // And the counter goes on from where it was: no id is reused.
    let ack = append(&mut client, &project, Role::User, "after the restart").await;
    assert_eq!(ack.revision, after_working.revision + 1);
    assert!(ack.message_id > after_working.messages.last().map_or(0, |m| m.id));
}

#[tokio::test(flavor = "multi_thread")]
async fn open_project_last_keeps_the_working_session() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    let fresh = open(&mut client, &project).await;
    assert_eq!(fresh.project, project);
    assert_eq!((fresh.revision, fresh.message_count, fresh.file_count), (0, 0, 0));
    append(&mut client, &project, Role::User, "hello").await;
    append(&mut client, &project, Role::Assistant, "hi").await;
    add_files(&mut client, &project, vec![file("src/main.rs", false)]).await;
    save(&mut client, &project, "saved", SaveMode::CreateNew).await;
    let before = working(&mut client, &project).await;

    let state = open_with(&mut client, &project, StartMode::Last).await;
    assert_eq!(state.revision, 4);
    assert_eq!(state.message_count, 2);
    assert_eq!(state.file_count, 1);
    assert_eq!(state.saved_session_count, 1);
    assert!(state.updated_at_ms > 0);
    assert_eq!(working(&mut client, &project).await, before, "LAST changes nothing");
    assert!(trash(&mut client, &project).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn open_project_normalises_the_path() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    append(&mut client, &project, Role::User, "hello").await;
    let messy = format!("{project}/./sub/..//");
    let state = open(&mut client, &messy).await;
    assert_eq!(state.project, project);
    assert_eq!(state.message_count, 1, "the same project under another spelling");
}

#[tokio::test(flavor = "multi_thread")]
async fn open_project_empty_moves_the_working_session_to_the_trash() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    append(&mut client, &project, Role::User, "old work").await;
    append(&mut client, &project, Role::Assistant, "old answer").await;
    add_files(&mut client, &project, vec![file("a.rs", false)]).await;
    let old = working(&mut client, &project).await;

    let state = open_with(&mut client, &project, StartMode::Empty).await;
    assert_eq!((state.message_count, state.file_count), (0, 0));
    assert_eq!(state.revision, old.revision + 1);
    let now = working(&mut client, &project).await;
    assert!(now.messages.is_empty() && now.files.is_empty());

    let entries = trash(&mut client, &project).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].reason, "start-empty");
    assert_eq!(entries[0].project, project);
    assert_eq!((entries[0].message_count, entries[0].file_count), (2, 1));

    // Restorable: it comes back as a saved session with the old content.
    let info = client
        .restore_trash(chronicle_proto::v1::RestoreTrashRequest {
            id: entries[0].id.clone(),
            new_name: "set aside".into(),
            expected_revision: None,
        })
        .await
        .expect("RestoreTrash")
        .into_inner();
    assert_eq!(info.message_count, 2);
    let restored = common::saved(&mut client, &project, "set aside").await;
    assert_eq!(restored.messages, old.messages);
    assert_eq!(restored.files, old.files);
}

#[tokio::test(flavor = "multi_thread")]
async fn open_project_empty_on_an_empty_session_trashes_nothing() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    let state = open_with(&mut client, &project, StartMode::Empty).await;
    assert_eq!(state.revision, 0);
    let state = open_with(&mut client, &project, StartMode::Empty).await;
    assert_eq!(state.revision, 0, "nothing to set aside, nothing changed");
    assert!(trash(&mut client, &project).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn list_projects_shows_every_opened_project() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let a = path_str(&sandbox.project("a"));
    let b = path_str(&sandbox.project("b"));

    let none = client
        .list_projects(ListProjectsRequest {})
        .await
        .expect("ListProjects")
        .into_inner();
    assert!(none.projects.is_empty());

    open(&mut client, &a).await;
    append(&mut client, &b, Role::User, "one").await;
    append(&mut client, &b, Role::User, "two").await;
    add_files(&mut client, &b, vec![file("x.rs", false)]).await;
    save(&mut client, &b, "s", SaveMode::CreateNew).await;

    let mut projects = client
        .list_projects(ListProjectsRequest {})
        .await
        .expect("ListProjects")
        .into_inner()
        .projects;
    projects.sort_by(|x, y| x.project.cmp(&y.project));
    assert_eq!(projects.len(), 2, "{projects:?}");
    assert_eq!(projects[0].project, a);
    assert_eq!((projects[0].revision, projects[0].message_count), (0, 0));
    assert_eq!(projects[1].project, b);
    assert_eq!(projects[1].revision, 4);
    assert_eq!(projects[1].message_count, 2);
    assert_eq!(projects[1].file_count, 1);
    assert_eq!(projects[1].saved_session_count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_working_session_pages_by_message_id() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            append(&mut client, &project, Role::User, &format!("m{i}"))
                .await
                .message_id,
        );
    }

    let mut pages = Vec::new();
    for page in common::pages(&mut client, &project, Session::Working, 3).await {
        assert_eq!(page.total_messages, 10);
        assert_eq!(page.revision, 10);
        assert_eq!(page.project, project);
        assert!(page.name.is_empty(), "the working session has no name");
        let page_ids: Vec<u64> = page.messages.iter().map(|m| m.id).collect();
        pages.push((page_ids, page.more));
    }
    let expected = vec![
        (ids[0..3].to_vec(), true),
        (ids[3..6].to_vec(), true),
        (ids[6..9].to_vec(), true),
        (ids[9..10].to_vec(), false),
    ];
    assert_eq!(pages, expected);

    // A page that ends exactly at the last message says there is no more.
    let exact = client
        .get_working_session(GetWorkingSessionRequest {
            project: project.clone(),
            after_message_id: ids[4],
            limit: 5,
        })
        .await
        .expect("GetWorkingSession")
        .into_inner();
    assert_eq!(exact.messages.len(), 5);
    assert!(!exact.more);

    // limit 0 is the daemon's default page, which holds all ten.
    let all = client
        .get_working_session(GetWorkingSessionRequest {
            project: project.clone(),
            after_message_id: 0,
            limit: 0,
        })
        .await
        .expect("GetWorkingSession")
        .into_inner();
    assert_eq!(all.messages.len(), 10);
    assert!(!all.more);

    // Past the end: an empty page.
    let past = client
        .get_working_session(GetWorkingSessionRequest {
            project: project.clone(),
            after_message_id: ids[9],
            limit: 3,
        })
        .await
        .expect("GetWorkingSession")
        .into_inner();
    assert!(past.messages.is_empty());
    assert!(!past.more);
}

#[tokio::test(flavor = "multi_thread")]
async fn append_to_message_extends_only_the_content() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut first = message(Role::Assistant, "Hel");
    first.model = "gpt-test".into();
    let ack = append_message(&mut client, &project, first).await;
    append(&mut client, &project, Role::User, "untouched").await;
    let before = working(&mut client, &project).await;

    for delta in ["lo", ", ", "world"] {
        let out = client
            .append_to_message(AppendToMessageRequest {
                project: project.clone(),
                message_id: ack.message_id,
                delta: delta.into(),
                expected_revision: None,
            })
            .await
            .expect("AppendToMessage")
            .into_inner();
        assert_eq!(out.message_id, ack.message_id);
    }
    let after = working(&mut client, &project).await;
    assert_eq!(after.revision, before.revision + 3);
    let mut expected = before.messages.clone();
    expected[0].content = "Hello, world".into();
    assert_eq!(after.messages, expected, "only the content of the target message grew");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_message_replaces_it_keeping_id_and_time() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut original = message(Role::Assistant, "draft");
    original.usage = Some(Usage {
        sent_tokens: 100,
        received_tokens: 50,
        ..Usage::default()
    });
    let ack = append_message(&mut client, &project, original).await;
    let created = working(&mut client, &project).await.messages[0].created_at_ms;

    let mut replacement = rich_message(7);
    replacement.id = ack.message_id;
    replacement.usage = Some(Usage {
        sent_tokens: 7,
        received_tokens: 3,
        ..Usage::default()
    });
    let out = client
        .update_message(UpdateMessageRequest {
            project: project.clone(),
            message: Some(replacement.clone()),
            expected_revision: None,
        })
        .await
        .expect("UpdateMessage")
        .into_inner();
    assert_eq!(out.message_id, ack.message_id);
    assert_eq!(out.revision, 2);

    let content = working(&mut client, &project).await;
    assert_eq!(content.messages.len(), 1);
    let mut expected = replacement;
    expected.created_at_ms = created;
    assert_eq!(content.messages[0], expected);

    // The usage totals follow the replacement, not the sum of both.
    let info = save(&mut client, &project, "s", SaveMode::CreateNew).await;
    let total = info.total_usage.expect("usage totals");
    assert_eq!((total.sent_tokens, total.received_tokens), (7, 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_messages_removes_one_message() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            append(&mut client, &project, Role::User, &format!("m{i}"))
                .await
                .message_id,
        );
    }

    let ack = client
        .delete_messages(DeleteMessagesRequest {
            project: project.clone(),
            message_id: ids[1],
            truncate_after: false,
            expected_revision: None,
        })
        .await
        .expect("DeleteMessages")
        .into_inner();
    assert_eq!(ack.revision, 6);
    let content = working(&mut client, &project).await;
    let left: Vec<u64> = content.messages.iter().map(|m| m.id).collect();
    assert_eq!(left, vec![ids[0], ids[2], ids[3], ids[4]]);
    assert_eq!(content.total_messages, 4);

    // A later append never reuses an id.
    let next = append(&mut client, &project, Role::User, "new").await;
    assert!(next.message_id > ids[4]);
    // The deleted message is in the trash, restorable.
    let entries = trash(&mut client, &project).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].message_count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_messages_with_truncate_after_removes_the_tail() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            append(&mut client, &project, Role::User, &format!("m{i}"))
                .await
                .message_id,
        );
    }
    let before = working(&mut client, &project).await;

    let ack = client
        .delete_messages(DeleteMessagesRequest {
            project: project.clone(),
            message_id: ids[3],
            truncate_after: true,
            expected_revision: None,
        })
        .await
        .expect("DeleteMessages")
        .into_inner();
    assert_eq!(ack.revision, 7, "one mutation, however many messages it removes");
    let content = working(&mut client, &project).await;
    assert_eq!(content.messages, before.messages[..3].to_vec());
    assert_eq!(content.total_messages, 3);
    assert_eq!(open(&mut client, &project).await.message_count, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn clear_messages_keeps_the_files_and_trashes_the_messages() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "one").await;
    let last = append(&mut client, &project, Role::Assistant, "two").await;
    add_files(&mut client, &project, vec![file("keep.rs", true)]).await;
    let before = working(&mut client, &project).await;

    let ack = client
        .clear_messages(ClearMessagesRequest {
            project: project.clone(),
            expected_revision: None,
        })
        .await
        .expect("ClearMessages")
        .into_inner();
    assert_eq!(ack.revision, before.revision + 1);
    let content = working(&mut client, &project).await;
    assert!(content.messages.is_empty());
    assert_eq!(content.total_messages, 0);
    assert_eq!(content.files, before.files, "clearing messages keeps the context files");

    let entries = trash(&mut client, &project).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].reason, "cleared");
    assert_eq!(entries[0].message_count, 2);

    // Ids keep counting after a clear.
    let next = append(&mut client, &project, Role::User, "fresh").await;
    assert!(next.message_id > last.message_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn context_files_are_added_removed_and_set() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let root = sandbox.project("app");
    let project = path_str(&root);
    fs::create_dir_all(root.join("src")).expect("mkdir src");
    fs::write(root.join("src/main.rs"), "fn main() {}").expect("write main.rs");

    add_files(
        &mut client,
        &project,
        vec![
            file("./src/main.rs", false),
            file(&format!("{project}/README.md"), true),
            file("/etc/hostname-outside", true),
        ],
    )
    .await;
    let files = working(&mut client, &project).await.files;
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["src/main.rs", "README.md", "/etc/hostname-outside"],
        "paths are normalised"
    );
    assert!(!files[0].missing, "src/main.rs exists");
    assert!(files[1].missing, "README.md does not exist");
    assert!(files[1].read_only);
    assert!(files.iter().all(|f| f.added_at_ms > 0));

    // Adding a present path updates read_only and adds no duplicate.
    add_files(&mut client, &project, vec![file("src/main.rs", true)]).await;
    let files = working(&mut client, &project).await.files;
    assert_eq!(files.len(), 3);
    assert!(files[0].read_only);

    let ack = client
        .remove_context_files(RemoveContextFilesRequest {
            project: project.clone(),
            paths: vec!["README.md".into(), "/etc/hostname-outside".into()],
            expected_revision: None,
        })
        .await
        .expect("RemoveContextFiles")
        .into_inner();
    assert_eq!(ack.revision, 3);
    let files = working(&mut client, &project).await.files;
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["src/main.rs"]);
    let kept_since = files[0].added_at_ms;

    let ack = client
        .set_context_files(SetContextFilesRequest {
            project: project.clone(),
            files: vec![file("docs/guide.md", false), file("src/main.rs", false)],
            expected_revision: None,
        })
        .await
        .expect("SetContextFiles")
        .into_inner();
    assert_eq!(ack.revision, 4);
    let files = working(&mut client, &project).await.files;
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["docs/guide.md", "src/main.rs"], "set replaces the whole list");
    assert!(!files[1].read_only);
    assert_eq!(files[1].added_at_ms, kept_since, "a kept file keeps its added time");
    assert_eq!(open(&mut client, &project).await.file_count, 2);

    // Setting an empty list empties it.
    client
        .set_context_files(SetContextFilesRequest {
            project: project.clone(),
            files: vec![],
            expected_revision: None,
        })
        .await
        .expect("SetContextFiles");
    assert!(working(&mut client, &project).await.files.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_matching_expected_revision_is_accepted() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "one").await;

    let ack = client
        .append_message(chronicle_proto::v1::AppendMessageRequest {
            project: project.clone(),
            message: Some(message(Role::User, "two")),
            expected_revision: Some(1),
        })
        .await
        .expect("AppendMessage at the current revision")
        .into_inner();
    assert_eq!(ack.revision, 2);
}
