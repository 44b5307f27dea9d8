//! Every error code of the API contract's header, produced by a real bad
//! request over the socket: INVALID_ARGUMENT (bad project paths, bad
//! session names, unknown roles and enum values, a load of nothing,
//! oversize content), NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION (whose
//! message names the current revision), RESOURCE_EXHAUSTED (too many
//! context files), including image exports asked for impossible sizes.
//! After each refused request the test checks that nothing changed.
//! PERMISSION_DENIED and UNAVAILABLE are covered by other suites.

mod common;

use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, AppendToMessageRequest, ClearMessagesRequest, DeleteMessagesRequest,
    DeleteSessionRequest, ExportImageRequest, ExportRequest, GetSessionRequest, GetStatusRequest,
    GetWorkingSessionRequest, ListSessionsRequest, ListTrashRequest, LoadSessionRequest, Message, OpenProjectRequest,
    PurgeTrashRequest, RemoveContextFilesRequest, RenameSessionRequest, RestoreTrashRequest, Role, SaveMode,
    SaveSessionRequest, SetContextFilesRequest, Theme, UpdateMessageRequest, WatchRequest,
};
use chronicle_tests::Sandbox;
use common::{
    Client, add_files, append, expect_code, file, message, open, path_str, project_count, save, snapshot, working,
};
use tonic::Code;

/// Project paths the daemon must refuse.
const BAD_PROJECTS: [&str; 5] = ["", "relative/dir", "./here", "~/home-relative", "/nul\0inside"];

/// Session names the daemon must refuse, with why.
fn bad_names() -> Vec<(String, &'static str)> {
    vec![
        (String::new(), "empty"),
        ("   ".into(), "blank"),
        ("x".repeat(129), "129 characters"),
        ("é".repeat(129), "129 two-byte characters"),
        ("bell\u{7}name".into(), "a control character"),
        ("line\nbreak".into(), "a newline"),
        ("tab\tinside".into(), "a tab"),
        ("del\u{7f}".into(), "DEL"),
    ]
}

/// A project holding two messages, a file and a saved session "saved".
async fn busy_project(client: &mut Client, sandbox: &Sandbox) -> String {
    let project = path_str(&sandbox.project("app"));
    append(client, &project, Role::User, "question").await;
    add_files(client, &project, vec![file("src/lib.rs", false)]).await;
    save(client, &project, "saved", SaveMode::CreateNew).await;
    append(client, &project, Role::Assistant, "answer").await;
    project
}

fn append_request(project: &str, message: Message, expected_revision: Option<u64>) -> AppendMessageRequest {
    AppendMessageRequest {
        project: project.to_owned(),
        message: Some(message),
        expected_revision,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_project_paths_are_invalid_argument() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;

    for bad in BAD_PROJECTS {
        let what = |rpc: &str| format!("{rpc} with project {bad:?}");
        let result = client
            .open_project(OpenProjectRequest {
                project: bad.into(),
                start: 0,
            })
            .await;
        expect_code(result, Code::InvalidArgument, &what("OpenProject"));
        let result = client
            .append_message(append_request(bad, message(Role::User, "x"), None))
            .await;
        expect_code(result, Code::InvalidArgument, &what("AppendMessage"));
        let result = client
            .get_working_session(GetWorkingSessionRequest {
                project: bad.into(),
                after_message_id: 0,
                limit: 0,
            })
            .await;
        expect_code(result, Code::InvalidArgument, &what("GetWorkingSession"));
        let result = client
            .add_context_files(AddContextFilesRequest {
                project: bad.into(),
                files: vec![file("a.rs", false)],
                expected_revision: None,
            })
            .await;
        expect_code(result, Code::InvalidArgument, &what("AddContextFiles"));
        let result = client
            .save_session(SaveSessionRequest {
                project: bad.into(),
                name: "s".into(),
                mode: 0,
            })
            .await;
        expect_code(result, Code::InvalidArgument, &what("SaveSession"));
        let result = client.list_sessions(ListSessionsRequest { project: bad.into() }).await;
        expect_code(result, Code::InvalidArgument, &what("ListSessions"));
        let result = client
            .export_markdown(ExportRequest {
                project: bad.into(),
                name: String::new(),
            })
            .await;
        expect_code(result, Code::InvalidArgument, &what("ExportMarkdown"));
        if !bad.is_empty() {
            // An empty project means "every project" for these two.
            let result = client.list_trash(ListTrashRequest { project: bad.into() }).await;
            expect_code(result, Code::InvalidArgument, &what("ListTrash"));
            let result = client.watch(WatchRequest { project: bad.into() }).await;
            expect_code(result, Code::InvalidArgument, &what("Watch"));
        }
    }
    assert_eq!(project_count(&mut client).await, 0, "no refused call created a project");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_do_not_create_a_project() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let never = path_str(&sandbox.project("never-opened"));

    let result = client
        .append_message(append_request(&never, message(Role::Unspecified, "x"), None))
        .await;
    expect_code(result, Code::InvalidArgument, "append with no role");
    let result = client
        .append_message(append_request(&never, message(Role::User, "x"), Some(3)))
        .await;
    expect_code(
        result,
        Code::FailedPrecondition,
        "append at a revision the project never had",
    );
    let result = client
        .delete_messages(DeleteMessagesRequest {
            project: never.clone(),
            message_id: 1,
            truncate_after: false,
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::NotFound, "delete in an unknown project");
    let result = client
        .rename_session(RenameSessionRequest {
            project: never.clone(),
            name: "a".into(),
            new_name: "b".into(),
        })
        .await;
    expect_code(result, Code::NotFound, "rename in an unknown project");

    assert_eq!(
        project_count(&mut client).await,
        0,
        "a refused request must not register its project"
    );
    let status = client
        .get_status(GetStatusRequest {})
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(status.project_count, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_session_names_are_invalid_argument() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let deleted = path_str(&sandbox.project("other"));
    append(&mut client, &deleted, Role::User, "x").await;
    save(&mut client, &deleted, "gone", SaveMode::CreateNew).await;
    let trash_id = client
        .delete_session(DeleteSessionRequest {
            project: deleted.clone(),
            name: "gone".into(),
        })
        .await
        .expect("DeleteSession")
        .into_inner()
        .trash_id;
    let before = snapshot(&mut client, &project).await;
    let before_other = snapshot(&mut client, &deleted).await;

    for (name, why) in bad_names() {
        let result = client
            .save_session(SaveSessionRequest {
                project: project.clone(),
                name: name.clone(),
                mode: SaveMode::CreateNew as i32,
            })
            .await;
        expect_code(result, Code::InvalidArgument, &format!("save as {why}"));
        let result = client
            .rename_session(RenameSessionRequest {
                project: project.clone(),
                name: "saved".into(),
                new_name: name.clone(),
            })
            .await;
        expect_code(result, Code::InvalidArgument, &format!("rename to {why}"));
        if !name.trim().is_empty() {
            // A blank new_name means "the entry's own name".
            let result = client
                .restore_trash(RestoreTrashRequest {
                    id: trash_id.clone(),
                    new_name: name.clone(),
                })
                .await;
            expect_code(result, Code::InvalidArgument, &format!("restore as {why}"));
        }
        let result = client
            .load_session(LoadSessionRequest {
                project: project.clone(),
                name: name.clone(),
                messages: true,
                files: true,
                expected_revision: None,
            })
            .await;
        expect_code(result, Code::InvalidArgument, &format!("load {why}"));
    }
    assert_eq!(
        snapshot(&mut client, &project).await,
        before,
        "refused names changed the project"
    );
    assert_eq!(
        snapshot(&mut client, &deleted).await,
        before_other,
        "refused restores changed the trash"
    );

    // The limits are inclusive: 128 characters (not bytes) are fine.
    for name in ["x".repeat(128), "é".repeat(128)] {
        save(&mut client, &project, &name, SaveMode::CreateNew).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_or_unspecified_roles_are_invalid_argument() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let first = working(&mut client, &project).await.messages[0].clone();
    let before = snapshot(&mut client, &project).await;

    for role in [0, 7, 99, -1] {
        let bad = Message {
            role,
            content: "x".into(),
            ..Message::default()
        };
        let result = client.append_message(append_request(&project, bad.clone(), None)).await;
        let status = expect_code(result, Code::InvalidArgument, &format!("append with role {role}"));
        assert!(status.message().contains("role"), "{}", status.message());
        let result = client
            .update_message(UpdateMessageRequest {
                project: project.clone(),
                message: Some(Message { id: first.id, ..bad }),
                expected_revision: None,
            })
            .await;
        expect_code(result, Code::InvalidArgument, &format!("update to role {role}"));
    }
    let result = client
        .append_message(AppendMessageRequest {
            project: project.clone(),
            message: None,
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::InvalidArgument, "append without a message");
    assert_eq!(snapshot(&mut client, &project).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_enum_values_are_invalid_argument() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;

    let result = client
        .open_project(OpenProjectRequest {
            project: project.clone(),
            start: 7,
        })
        .await;
    expect_code(result, Code::InvalidArgument, "OpenProject with start mode 7");
    let result = client
        .save_session(SaveSessionRequest {
            project: project.clone(),
            name: "saved".into(),
            mode: 9,
        })
        .await;
    expect_code(result, Code::InvalidArgument, "SaveSession with save mode 9");
    let result = client
        .save_session(SaveSessionRequest {
            project: project.clone(),
            name: "fresh".into(),
            mode: -3,
        })
        .await;
    expect_code(result, Code::InvalidArgument, "SaveSession with save mode -3");
    assert_eq!(snapshot(&mut client, &project).await, before);

    let never = path_str(&sandbox.project("never"));
    let result = client
        .open_project(OpenProjectRequest {
            project: never,
            start: 2,
        })
        .await;
    expect_code(
        result,
        Code::InvalidArgument,
        "OpenProject of a new project with start mode 2",
    );
    assert_eq!(project_count(&mut client).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn load_with_neither_messages_nor_files_is_invalid_argument() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;

    let result = client
        .load_session(LoadSessionRequest {
            project: project.clone(),
            name: "saved".into(),
            messages: false,
            files: false,
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::InvalidArgument, "load of nothing");
    assert_eq!(snapshot(&mut client, &project).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn content_over_the_limit_is_invalid_argument() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start_with(&["--max-content-bytes", "1024"]);
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let first = working(&mut client, &project).await.messages[0].clone();
    let before = snapshot(&mut client, &project).await;

    let result = client
        .append_message(append_request(&project, message(Role::User, &"x".repeat(1025)), None))
        .await;
    let status = expect_code(result, Code::InvalidArgument, "append of 1025 bytes");
    assert!(
        status.message().contains("1024"),
        "the message names the limit: {}",
        status.message()
    );
    // Bytes, not characters: 513 two-byte characters are 1026 bytes.
    let result = client
        .append_message(append_request(&project, message(Role::User, &"é".repeat(513)), None))
        .await;
    expect_code(result, Code::InvalidArgument, "append of 1026 bytes in 513 characters");
    let mut thinking = message(Role::Assistant, "short");
    thinking.reasoning = "r".repeat(1025);
    let result = client.append_message(append_request(&project, thinking, None)).await;
    expect_code(result, Code::InvalidArgument, "append with 1025 bytes of reasoning");
    let result = client
        .update_message(UpdateMessageRequest {
            project: project.clone(),
            message: Some(Message {
                id: first.id,
                ..message(Role::User, &"x".repeat(1025))
            }),
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::InvalidArgument, "update to 1025 bytes");
    let room = 1024 - first.content.len();
    let result = client
        .append_to_message(AppendToMessageRequest {
            project: project.clone(),
            message_id: first.id,
            delta: "y".repeat(room + 1),
            expected_revision: None,
        })
        .await;
    expect_code(
        result,
        Code::InvalidArgument,
        "append-to growing the content past 1024 bytes",
    );
    assert_eq!(
        snapshot(&mut client, &project).await,
        before,
        "oversize content changed something"
    );

    // Exactly at the limit is accepted, both ways.
    append(&mut client, &project, Role::User, &"x".repeat(1024)).await;
    client
        .append_to_message(AppendToMessageRequest {
            project: project.clone(),
            message_id: first.id,
            delta: "y".repeat(room),
            expected_revision: None,
        })
        .await
        .expect("append-to up to exactly the limit");
}

#[tokio::test(flavor = "multi_thread")]
async fn content_over_eight_mib_is_invalid_argument_by_default() {
    const LIMIT: usize = 8 * 1024 * 1024;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;

    let result = client
        .append_message(append_request(
            &project,
            message(Role::Tool, &"x".repeat(LIMIT + 1)),
            None,
        ))
        .await;
    expect_code(result, Code::InvalidArgument, "append of 8 MiB + 1 byte");
    assert_eq!(snapshot(&mut client, &project).await, before);

    let ack = append(&mut client, &project, Role::Tool, &"x".repeat(LIMIT)).await;
    let stored = working(&mut client, &project).await;
    let last = stored.messages.last().expect("the big message");
    assert_eq!(last.id, ack.message_id);
    assert_eq!(
        last.content.len(),
        LIMIT,
        "exactly 8 MiB is accepted and comes back whole"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_messages_and_files_are_not_found() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;
    let unknown = 999;

    let result = client
        .append_to_message(AppendToMessageRequest {
            project: project.clone(),
            message_id: unknown,
            delta: "x".into(),
            expected_revision: None,
        })
        .await;
    let status = expect_code(result, Code::NotFound, "append-to an unknown message");
    assert!(status.message().contains("999"), "{}", status.message());
    let result = client
        .update_message(UpdateMessageRequest {
            project: project.clone(),
            message: Some(Message {
                id: unknown,
                ..message(Role::User, "x")
            }),
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::NotFound, "update of an unknown message");
    for truncate_after in [false, true] {
        let result = client
            .delete_messages(DeleteMessagesRequest {
                project: project.clone(),
                message_id: unknown,
                truncate_after,
                expected_revision: None,
            })
            .await;
        expect_code(
            result,
            Code::NotFound,
            &format!("delete of an unknown message (truncate {truncate_after})"),
        );
    }
    // One unknown path refuses the whole removal: the known one stays.
    let result = client
        .remove_context_files(RemoveContextFilesRequest {
            project: project.clone(),
            paths: vec!["src/lib.rs".into(), "not/there.rs".into()],
            expected_revision: None,
        })
        .await;
    let status = expect_code(result, Code::NotFound, "removal of a file not in the context");
    assert!(status.message().contains("not/there.rs"), "{}", status.message());
    assert_eq!(snapshot(&mut client, &project).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_saved_sessions_are_not_found() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;
    let missing = "no such session";

    let result = client
        .get_session(GetSessionRequest {
            project: project.clone(),
            name: missing.into(),
            after_message_id: 0,
            limit: 0,
        })
        .await;
    expect_code(result, Code::NotFound, "GetSession");
    let result = client
        .load_session(LoadSessionRequest {
            project: project.clone(),
            name: missing.into(),
            messages: true,
            files: false,
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::NotFound, "LoadSession");
    let result = client
        .rename_session(RenameSessionRequest {
            project: project.clone(),
            name: missing.into(),
            new_name: "whatever".into(),
        })
        .await;
    expect_code(result, Code::NotFound, "RenameSession");
    let result = client
        .delete_session(DeleteSessionRequest {
            project: project.clone(),
            name: missing.into(),
        })
        .await;
    expect_code(result, Code::NotFound, "DeleteSession");
    let result = client
        .save_session(SaveSessionRequest {
            project: project.clone(),
            name: missing.into(),
            mode: SaveMode::Overwrite as i32,
        })
        .await;
    expect_code(result, Code::NotFound, "SaveSession(OVERWRITE) of a name never saved");
    let result = client
        .export_markdown(ExportRequest {
            project: project.clone(),
            name: missing.into(),
        })
        .await;
    expect_code(result, Code::NotFound, "ExportMarkdown");
    // A saved session belongs to its project only.
    let other = path_str(&sandbox.project("other"));
    let result = client
        .get_session(GetSessionRequest {
            project: other,
            name: "saved".into(),
            after_message_id: 0,
            limit: 0,
        })
        .await;
    expect_code(result, Code::NotFound, "GetSession of another project's session");
    assert_eq!(snapshot(&mut client, &project).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_trash_entries_are_not_found_and_malformed_ids_invalid() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;

    let result = client
        .restore_trash(RestoreTrashRequest {
            id: "424242".into(),
            new_name: String::new(),
        })
        .await;
    expect_code(result, Code::NotFound, "RestoreTrash of an unknown id");
    let result = client
        .purge_trash(PurgeTrashRequest {
            id: "424242".into(),
            older_than_ms: 0,
        })
        .await;
    expect_code(result, Code::NotFound, "PurgeTrash of an unknown id");
    for bad in ["not-a-number", "-1", "1.5"] {
        let result = client
            .restore_trash(RestoreTrashRequest {
                id: bad.into(),
                new_name: String::new(),
            })
            .await;
        expect_code(result, Code::InvalidArgument, &format!("RestoreTrash of id {bad:?}"));
        let result = client
            .purge_trash(PurgeTrashRequest {
                id: bad.into(),
                older_than_ms: 0,
            })
            .await;
        expect_code(result, Code::InvalidArgument, &format!("PurgeTrash of id {bad:?}"));
    }
    assert_eq!(snapshot(&mut client, &project).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn exporting_a_never_opened_project_is_not_found() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let never = path_str(&sandbox.project("never"));

    let result = client
        .export_markdown(ExportRequest {
            project: never,
            name: String::new(),
        })
        .await;
    expect_code(result, Code::NotFound, "export of a project never opened");
    assert_eq!(project_count(&mut client).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn renaming_onto_a_taken_name_is_already_exists() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    save(&mut client, &project, "other", SaveMode::CreateNew).await;
    let before = snapshot(&mut client, &project).await;

    let result = client
        .rename_session(RenameSessionRequest {
            project: project.clone(),
            name: "saved".into(),
            new_name: "other".into(),
        })
        .await;
    let status = expect_code(result, Code::AlreadyExists, "rename onto a taken name");
    assert!(status.message().contains("other"), "{}", status.message());
    assert_eq!(snapshot(&mut client, &project).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_expected_revision_is_failed_precondition_naming_the_revision() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;
    let current = before.working.revision;
    let first = before.working.messages[0].id;

    for stale in [current - 1, current + 1, 0] {
        let expected = Some(stale);
        let mut results = vec![
            (
                "AppendMessage",
                client
                    .append_message(append_request(&project, message(Role::User, "x"), expected))
                    .await
                    .map(|_| ()),
            ),
            (
                "AppendToMessage",
                client
                    .append_to_message(AppendToMessageRequest {
                        project: project.clone(),
                        message_id: first,
                        delta: "x".into(),
                        expected_revision: expected,
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "UpdateMessage",
                client
                    .update_message(UpdateMessageRequest {
                        project: project.clone(),
                        message: Some(Message {
                            id: first,
                            ..message(Role::User, "x")
                        }),
                        expected_revision: expected,
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "DeleteMessages",
                client
                    .delete_messages(DeleteMessagesRequest {
                        project: project.clone(),
                        message_id: first,
                        truncate_after: true,
                        expected_revision: expected,
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "ClearMessages",
                client
                    .clear_messages(ClearMessagesRequest {
                        project: project.clone(),
                        expected_revision: expected,
                    })
                    .await
                    .map(|_| ()),
            ),
        ];
        results.push((
            "AddContextFiles",
            client
                .add_context_files(AddContextFilesRequest {
                    project: project.clone(),
                    files: vec![file("new.rs", false)],
                    expected_revision: expected,
                })
                .await
                .map(|_| ()),
        ));
        results.push((
            "RemoveContextFiles",
            client
                .remove_context_files(RemoveContextFilesRequest {
                    project: project.clone(),
                    paths: vec!["src/lib.rs".into()],
                    expected_revision: expected,
                })
                .await
                .map(|_| ()),
        ));
        results.push((
            "SetContextFiles",
            client
                .set_context_files(SetContextFilesRequest {
                    project: project.clone(),
                    files: vec![],
                    expected_revision: expected,
                })
                .await
                .map(|_| ()),
        ));
        results.push((
            "LoadSession",
            client
                .load_session(LoadSessionRequest {
                    project: project.clone(),
                    name: "saved".into(),
                    messages: true,
                    files: true,
                    expected_revision: expected,
                })
                .await
                .map(|_| ()),
        ));
        for (rpc, result) in results {
            let status = expect_code(
                result.map(tonic::Response::new),
                Code::FailedPrecondition,
                &format!("{rpc} at revision {stale}"),
            );
            assert!(
                status.message().contains(&format!("revision {current}")),
                "{rpc}: the message must name the current revision {current}: {}",
                status.message()
            );
        }
    }
    assert_eq!(
        snapshot(&mut client, &project).await,
        before,
        "a refused conditional mutation changed something"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_context_files_is_resource_exhausted() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start_with(&["--max-context-files", "3"]);
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    add_files(&mut client, &project, vec![file("a", false), file("b", false)]).await;
    let before = snapshot(&mut client, &project).await;

    let result = client
        .add_context_files(AddContextFilesRequest {
            project: project.clone(),
            files: vec![file("c", false), file("d", false)],
            expected_revision: None,
        })
        .await;
    let status = expect_code(result, Code::ResourceExhausted, "adding a 4th file");
    assert!(
        status.message().contains('3'),
        "the message names the limit: {}",
        status.message()
    );
    let result = client
        .set_context_files(SetContextFilesRequest {
            project: project.clone(),
            files: ["w", "x", "y", "z"].iter().map(|p| file(p, false)).collect(),
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::ResourceExhausted, "setting 4 files");
    assert_eq!(snapshot(&mut client, &project).await, before);

    // Up to the limit is fine, and re-adding a present path does not count.
    add_files(&mut client, &project, vec![file("c", false), file("./a", true)]).await;
    assert_eq!(working(&mut client, &project).await.files.len(), 3);
    let result = client
        .add_context_files(AddContextFilesRequest {
            project: project.clone(),
            files: vec![file("d", false)],
            expected_revision: None,
        })
        .await;
    expect_code(result, Code::ResourceExhausted, "adding a 4th file to a full list");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_image_refuses_bad_options_and_unknown_sessions() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;
    let good = ExportImageRequest {
        project: project.clone(),
        name: String::new(),
        theme: Theme::Dark as i32,
        width_px: 0,
        scale: 0.0,
        max_page_height_px: 0,
        first_message_id: 0,
        last_message_id: 0,
    };

    let with = |change: &dyn Fn(&mut ExportImageRequest)| {
        let mut request = good.clone();
        change(&mut request);
        request
    };
    let bad: Vec<(ExportImageRequest, &str)> = vec![
        (with(&|r| r.theme = 9), "theme 9"),
        (with(&|r| r.width_px = 479), "width_px 479"),
        (with(&|r| r.width_px = 2401), "width_px 2401"),
        (with(&|r| r.scale = 0.25), "scale 0.25"),
        (with(&|r| r.scale = 4.5), "scale 4.5"),
        (with(&|r| r.scale = -1.0), "scale -1"),
        (with(&|r| r.scale = f32::NAN), "scale NaN"),
        (with(&|r| r.scale = f32::INFINITY), "scale inf"),
        (with(&|r| r.max_page_height_px = 1023), "max_page_height_px 1023"),
        (with(&|r| r.max_page_height_px = 32_768), "max_page_height_px 32768"),
        (
            with(&|r| {
                r.first_message_id = 5;
                r.last_message_id = 4;
            }),
            "first_message_id 5",
        ),
        (with(&|r| r.project = "relative/dir".into()), "relative/dir"),
    ];
    for (request, needle) in bad {
        let status = expect_code(client.export_image(request).await, Code::InvalidArgument, needle);
        assert!(
            status.message().contains(needle),
            "the message names the field: {needle:?} in {:?}",
            status.message()
        );
    }
    let unknown = ExportImageRequest {
        name: "no such session".into(),
        ..good.clone()
    };
    expect_code(
        client.export_image(unknown).await,
        Code::NotFound,
        "an unknown saved session",
    );
    let unopened = ExportImageRequest {
        project: path_str(&sandbox.project("never-opened")),
        ..good.clone()
    };
    expect_code(
        client.export_image(unopened).await,
        Code::NotFound,
        "a project never opened",
    );

    assert_eq!(snapshot(&mut client, &project).await, before, "refusals change nothing");
    // A good request works, and the daemon keeps serving.
    let mut stream = client.export_image(good).await.expect("ExportImage").into_inner();
    let first = stream
        .message()
        .await
        .expect("a healthy stream")
        .expect("a first chunk");
    assert_eq!(first.page, 1);
    assert!(first.data.starts_with(b"\x89PNG"), "a PNG starts the page");
    assert_eq!(open(&mut client, &project).await.message_count, 2);
}
