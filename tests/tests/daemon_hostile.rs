//! Bad input through the real daemon, table-driven, for the rows of the
//! reliability issue that `daemon_errors.rs` does not already cover:
//! project and context-file paths that are too long, hold a NUL or name
//! the project root; 100,000 context files in one request; requests larger
//! than the daemon decodes; extreme enum values; missing messages and
//! message ids; names with control characters on every RPC that takes
//! one; trash ids that were purged, overflow or are huge. Each row names
//! the status code it must get; after each, nothing a client can see has
//! changed, and the error message stays short whatever the input was.
//! Odd but valid arguments (extreme paging, purges that match nothing)
//! succeed and change nothing.

use crate::common::{
    Call, Client, Snapshot, add_files, append, file, message, path_str, project_count, save, snapshot,
};
use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, AppendToMessageRequest, ContextFile, DeleteMessagesRequest,
    DeleteSessionRequest, ExportRequest, GetSessionRequest, GetWorkingSessionRequest, ListTrashRequest, Message,
    OpenProjectRequest, PurgeTrashRequest, RemoveContextFilesRequest, RestoreTrashRequest, Role, SaveMode,
    SaveSessionRequest, SetContextFilesRequest, UpdateMessageRequest, WatchRequest,
};
use chronicle_tests::Sandbox;
use tonic::Code;

/// Longest error message accepted: it must name the problem, not echo a
/// megabyte of input back into a trailer and the daemon's log.
const MAX_ERROR_MESSAGE: usize = 8 * 1024;

/// A row: what it is, the call, and the codes it may get (one, except
/// where the issue allows either of two).
struct Row {
    what: String,
    call: Call,
    codes: &'static [Code],
}

fn row(what: impl Into<String>, codes: &'static [Code], call: Call) -> Row {
    Row {
        what: what.into(),
        call,
        codes,
    }
}

const INVALID: &[Code] = &[Code::InvalidArgument];
const NOT_FOUND: &[Code] = &[Code::NotFound];
/// Too many context files: a limit (RESOURCE_EXHAUSTED) or a malformed
/// request (INVALID_ARGUMENT) are both clear.
const TOO_MANY: &[Code] = &[Code::ResourceExhausted, Code::InvalidArgument];

/// A project with two messages, a file, a saved session "saved" and a
/// trash entry (an overwritten "saved").
async fn busy_project(client: &mut Client, sandbox: &Sandbox) -> String {
    let project = path_str(&sandbox.project("app"));
    append(client, &project, Role::User, "question").await;
    add_files(client, &project, vec![file("src/lib.rs", false)]).await;
    save(client, &project, "saved", SaveMode::CreateNew).await;
    append(client, &project, Role::Assistant, "answer").await;
    save(client, &project, "saved", SaveMode::Overwrite).await;
    project
}

/// Runs every row against one daemon: each gets one of its codes with a
/// short message, and leaves the project and the project list as they were.
async fn run_table(client: &mut Client, project: &str, rows: Vec<Row>) {
    let before: Snapshot = snapshot(client, project).await;
    let projects = project_count(client).await;
    for row in rows {
        let result = row.call.clone().send_and_read_first(client).await;
        let status = match result {
            Ok(()) => panic!("{}: expected {:?}, but the call succeeded", row.what, row.codes),
            Err(status) => status,
        };
        assert!(
            row.codes.contains(&status.code()),
            "{}: expected {:?}, got {:?}: {}",
            row.what,
            row.codes,
            status.code(),
            status.message()
        );
        assert!(!status.message().is_empty(), "{}: no message", row.what);
        assert!(
            status.message().len() <= MAX_ERROR_MESSAGE,
            "{}: the error message is {} bytes long",
            row.what,
            status.message().len()
        );
        assert_eq!(
            snapshot(client, project).await,
            before,
            "{}: a refused call changed the project",
            row.what
        );
        assert_eq!(
            project_count(client).await,
            projects,
            "{}: a refused call changed the project list",
            row.what
        );
    }
}

fn files_named(paths: impl IntoIterator<Item = String>) -> Vec<ContextFile> {
    paths
        .into_iter()
        .map(|path| ContextFile {
            path,
            ..ContextFile::default()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_paths_get_invalid_argument_and_change_nothing() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let long_project = format!("/{}", "p".repeat(4100));
    let mut rows = vec![
        row(
            "OpenProject with a 4101-byte project path",
            INVALID,
            Call::Open(OpenProjectRequest {
                project: long_project.clone(),
                start: 0,
                expected_revision: None,
            }),
        ),
        row(
            "AppendMessage with a 4101-byte project path",
            INVALID,
            Call::Append(AppendMessageRequest {
                project: long_project.clone(),
                message: Some(message(Role::User, "x")),
                expected_revision: None,
            }),
        ),
        row(
            "OpenProject with a 4000-byte relative path of two-byte characters",
            INVALID,
            Call::Open(OpenProjectRequest {
                project: "é".repeat(2000),
                start: 0,
                expected_revision: None,
            }),
        ),
        row(
            "ListTrash with a 4101-byte project path",
            INVALID,
            Call::ListTrash(ListTrashRequest {
                project: long_project.clone(),
            }),
        ),
        row(
            "Watch with a 4101-byte project path",
            INVALID,
            Call::Watch(WatchRequest { project: long_project }),
        ),
    ];
    let bad_files = [
        (String::new(), "an empty path"),
        ("   ".into(), "a blank path"),
        ("src/nul\0.rs".into(), "a NUL byte"),
        (format!("src/{}", "f".repeat(4096)), "4100 bytes"),
        (".".into(), "the project root as \".\""),
        (project.clone(), "the project root as an absolute path"),
        ("src/..".into(), "the project root through \"..\""),
        // A NUL and a megabyte: refused without echoing the megabyte.
        (format!("nul\0{}", "m".repeat(1 << 20)), "a NUL in a megabyte"),
    ];
    for (path, why) in bad_files {
        rows.push(row(
            format!("AddContextFiles of {why}"),
            INVALID,
            Call::AddFiles(AddContextFilesRequest {
                project: project.clone(),
                files: vec![file("fine.rs", false), file(&path, false)],
                expected_revision: None,
            }),
        ));
        rows.push(row(
            format!("SetContextFiles of {why}"),
            INVALID,
            Call::SetFiles(SetContextFilesRequest {
                project: project.clone(),
                files: vec![file(&path, true)],
                expected_revision: None,
            }),
        ));
        rows.push(row(
            format!("RemoveContextFiles of {why}"),
            INVALID,
            Call::RemoveFiles(RemoveContextFilesRequest {
                project: project.clone(),
                paths: vec!["src/lib.rs".into(), path.clone()],
                expected_revision: None,
            }),
        ));
    }
    run_table(&mut client, &project, rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_context_files_are_refused_whole() {
    const FILES: usize = 100_000;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let many = || files_named((0..FILES).map(|i| format!("src/many/{i:06}.rs")));
    let rows = vec![
        row(
            "AddContextFiles of 100,000 files",
            TOO_MANY,
            Call::AddFiles(AddContextFilesRequest {
                project: project.clone(),
                files: many(),
                expected_revision: None,
            }),
        ),
        row(
            "SetContextFiles of 100,000 files",
            TOO_MANY,
            Call::SetFiles(SetContextFilesRequest {
                project: project.clone(),
                files: many(),
                expected_revision: None,
            }),
        ),
        row(
            "SetContextFiles of 100,000 copies of one file",
            TOO_MANY,
            Call::SetFiles(SetContextFilesRequest {
                project: project.clone(),
                files: files_named((0..FILES).map(|_| "src/lib.rs".to_owned())),
                expected_revision: None,
            }),
        ),
        row(
            "RemoveContextFiles of 100,000 files not in the context",
            NOT_FOUND,
            Call::RemoveFiles(RemoveContextFilesRequest {
                project: project.clone(),
                paths: (0..FILES).map(|i| format!("src/many/{i:06}.rs")).collect(),
                expected_revision: None,
            }),
        ),
    ];
    run_table(&mut client, &project, rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_enum_values_at_the_extremes_are_invalid_argument() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let mut rows = Vec::new();
    for value in [i32::MIN, i32::MAX] {
        rows.push(row(
            format!("OpenProject with start mode {value}"),
            INVALID,
            Call::Open(OpenProjectRequest {
                project: project.clone(),
                start: value,
                expected_revision: None,
            }),
        ));
        rows.push(row(
            format!("SaveSession with save mode {value}"),
            INVALID,
            Call::Save(SaveSessionRequest {
                project: project.clone(),
                name: "fresh".into(),
                mode: value,
                expected_revision: None,
            }),
        ));
        rows.push(row(
            format!("AppendMessage with role {value}"),
            INVALID,
            Call::Append(AppendMessageRequest {
                project: project.clone(),
                message: Some(Message {
                    role: value,
                    content: "x".into(),
                    ..Message::default()
                }),
                expected_revision: None,
            }),
        ));
    }
    run_table(&mut client, &project, rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_messages_and_message_ids_are_refused() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let rows = vec![
        row(
            "UpdateMessage without a message",
            INVALID,
            Call::Update(UpdateMessageRequest {
                project: project.clone(),
                message: None,
                expected_revision: None,
            }),
        ),
        // Id 0 is never handed out: an unset id names no message.
        row(
            "UpdateMessage of a message without an id",
            NOT_FOUND,
            Call::Update(UpdateMessageRequest {
                project: project.clone(),
                message: Some(message(Role::User, "no id")),
                expected_revision: None,
            }),
        ),
        row(
            "AppendToMessage without a message id",
            NOT_FOUND,
            Call::AppendTo(AppendToMessageRequest {
                project: project.clone(),
                message_id: 0,
                delta: "x".into(),
                expected_revision: None,
            }),
        ),
        row(
            "DeleteMessages without a message id",
            NOT_FOUND,
            Call::Delete(DeleteMessagesRequest {
                project: project.clone(),
                message_id: 0,
                truncate_after: false,
                expected_revision: None,
            }),
        ),
        row(
            "DeleteMessages(truncate_after) without a message id",
            NOT_FOUND,
            Call::Delete(DeleteMessagesRequest {
                project: project.clone(),
                message_id: 0,
                truncate_after: true,
                expected_revision: None,
            }),
        ),
        row(
            "DeleteMessages of message u64::MAX",
            NOT_FOUND,
            Call::Delete(DeleteMessagesRequest {
                project: project.clone(),
                message_id: u64::MAX,
                truncate_after: true,
                expected_revision: None,
            }),
        ),
    ];
    run_table(&mut client, &project, rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_names_are_invalid_argument_on_every_rpc_that_takes_one() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let mut rows = Vec::new();
    for (name, why) in [
        ("bell\u{7}".to_owned(), "a control character"),
        ("n".repeat(129), "129 characters"),
        ("e\u{1b}[31mred".to_owned(), "an escape sequence"),
        ("\u{0}".to_owned(), "a NUL"),
    ] {
        rows.push(row(
            format!("GetSession of a name with {why}"),
            INVALID,
            Call::GetSession(GetSessionRequest {
                project: project.clone(),
                name: name.clone(),
                after_message_id: 0,
                limit: 0,
            }),
        ));
        rows.push(row(
            format!("DeleteSession of a name with {why}"),
            INVALID,
            Call::DeleteSession(DeleteSessionRequest {
                project: project.clone(),
                name: name.clone(),
                expected_revision: None,
            }),
        ));
        rows.push(row(
            format!("ExportMarkdown of a name with {why}"),
            INVALID,
            Call::Export(ExportRequest {
                project: project.clone(),
                name: name.clone(),
                ..ExportRequest::default()
            }),
        ));
    }
    run_table(&mut client, &project, rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn purged_overflowing_and_huge_trash_ids_are_refused() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    // Trash one more session and purge it: its id is now unknown.
    save(&mut client, &project, "doomed", SaveMode::CreateNew).await;
    let purged = client
        .delete_session(DeleteSessionRequest {
            project: project.clone(),
            name: "doomed".into(),
            expected_revision: None,
        })
        .await
        .expect("DeleteSession")
        .into_inner()
        .trash_id;
    client
        .purge_trash(PurgeTrashRequest {
            id: purged.clone(),
            older_than_ms: 0,
            expected_revision: None,
        })
        .await
        .expect("the first purge of the entry");
    let huge = "7".repeat(1 << 20);
    let mut rows = vec![
        row(
            "PurgeTrash of an entry purged already",
            NOT_FOUND,
            Call::Purge(PurgeTrashRequest {
                id: purged.clone(),
                older_than_ms: 0,
                expected_revision: None,
            }),
        ),
        row(
            "RestoreTrash of a purged entry",
            NOT_FOUND,
            Call::Restore(RestoreTrashRequest {
                id: purged,
                new_name: String::new(),
                expected_revision: None,
            }),
        ),
    ];
    for (id, codes, why) in [
        (u64::MAX.to_string(), NOT_FOUND, "u64::MAX"),
        ("0".to_owned(), NOT_FOUND, "0"),
        ("18446744073709551616".to_owned(), INVALID, "u64::MAX + 1"),
        ("0x10".to_owned(), INVALID, "hexadecimal"),
        ("1\u{0}".to_owned(), INVALID, "a NUL"),
        (huge, INVALID, "a megabyte of digits"),
    ] {
        rows.push(row(
            format!("PurgeTrash of id {why}"),
            codes,
            Call::Purge(PurgeTrashRequest {
                id: id.clone(),
                older_than_ms: 0,
                expected_revision: None,
            }),
        ));
        rows.push(row(
            format!("RestoreTrash of id {why}"),
            codes,
            Call::Restore(RestoreTrashRequest {
                id,
                new_name: String::new(),
                expected_revision: None,
            }),
        ));
    }
    run_table(&mut client, &project, rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_larger_than_the_daemon_decodes_is_refused_whole() {
    let sandbox = Sandbox::new();
    // The daemon decodes twice the content limit plus 1 MiB: here ~1 MiB.
    let daemon = sandbox.start_with(&["--max-content-bytes", "1024"]);
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;

    let mut metadata = std::collections::HashMap::new();
    metadata.insert("blob".to_owned(), "b".repeat(2 << 20));
    let result = client
        .append_message(AppendMessageRequest {
            project: project.clone(),
            message: Some(Message {
                metadata,
                ..message(Role::Tool, "small content, big metadata")
            }),
            expected_revision: None,
        })
        .await;
    let status = result.expect_err("a 2 MiB request must be refused");
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "a request over the decode limit: {:?}: {}",
        status.code(),
        status.message()
    );
    assert_eq!(snapshot(&mut client, &project).await, before);
    // The connection stays usable.
    append(&mut client, &project, Role::User, "after").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_but_valid_arguments_succeed_and_change_nothing() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let before = snapshot(&mut client, &project).await;

    let page = client
        .get_working_session(GetWorkingSessionRequest {
            project: project.clone(),
            after_message_id: u64::MAX,
            limit: u32::MAX,
        })
        .await
        .expect("a page after the last possible id")
        .into_inner();
    assert!(page.messages.is_empty() && !page.more, "{page:?}");
    assert_eq!(page.total_messages, 2);
    let page = client
        .get_session(GetSessionRequest {
            project: project.clone(),
            name: "saved".into(),
            after_message_id: 0,
            limit: u32::MAX,
        })
        .await
        .expect("a page of u32::MAX messages")
        .into_inner();
    assert_eq!(page.messages.len(), 2, "the limit is clamped, not refused");
    for older_than_ms in [i64::MIN, -1, 0] {
        let purged = client
            .purge_trash(PurgeTrashRequest {
                id: String::new(),
                older_than_ms,
                expected_revision: None,
            })
            .await
            .unwrap_or_else(|s| panic!("purge older than {older_than_ms}: {s}"))
            .into_inner()
            .purged;
        assert_eq!(purged, 0, "nothing is older than {older_than_ms}");
    }
    assert_eq!(snapshot(&mut client, &project).await, before);
}
