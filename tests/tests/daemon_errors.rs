//! Every error code of the API contract's header, produced by a real bad
//! request over the socket: INVALID_ARGUMENT (bad project paths, bad
//! session names, unknown roles and enum values, a load of nothing,
//! oversize content), NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION (whose
//! message names the current revision), RESOURCE_EXHAUSTED (too many
//! context files), including image exports asked for impossible sizes.
//!
//! Table-driven: each [`Case`] names a request, the code it must get and a
//! piece of text its message must contain. [`refuse_all`] sends a table and
//! checks after every case that nothing a client can see changed (the
//! watched projects and the project list); it reports every case that went
//! wrong by name, not just the first. PERMISSION_DENIED and UNAVAILABLE are
//! covered by other suites.

use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, AppendToMessageRequest, ClearMessagesRequest, ContextFile,
    DeleteMessagesRequest, DeleteSessionRequest, ExportImageRequest, ExportRequest, GetSessionRequest,
    GetStatusRequest, GetWorkingSessionRequest, ListSessionsRequest, ListTrashRequest, LoadSessionRequest, Message,
    OpenProjectRequest, PurgeTrashRequest, RemoveContextFilesRequest, RenameSessionRequest, RestoreTrashRequest, Role,
    SaveMode, SaveSessionRequest, SetContextFilesRequest, StartMode, Theme, UpdateMessageRequest, WatchRequest,
};
use chronicle_tests::Sandbox;
use tonic::Code;

use crate::common::{
    Call, Client, Snapshot, add_files, append, file, message, open, path_str, project_count, save, snapshot, working,
};

/// One request the daemon must refuse.
struct Case {
    /// What the case is, for the report.
    name: String,
    call: Call,
    /// The status code it must get.
    code: Code,
    /// Text the status message must contain ("" when any message will do;
    /// an empty message is always wrong).
    contains: String,
}

fn case(name: impl Into<String>, code: Code, call: Call) -> Case {
    Case {
        name: name.into(),
        call,
        code,
        contains: String::new(),
    }
}

impl Case {
    /// The same case, its message required to contain `text`.
    fn naming(self, text: impl Into<String>) -> Case {
        Case {
            contains: text.into(),
            ..self
        }
    }
}

/// Sends every case in order. Each must fail with its code and a message
/// holding its text, and leave the `watched` projects and the project list
/// as they were. Fails the test listing every case that went wrong.
async fn refuse_all(client: &mut Client, watched: &[&str], cases: Vec<Case>) {
    let mut before: Vec<Snapshot> = Vec::new();
    for project in watched {
        before.push(snapshot(client, project).await);
    }
    let mut projects = project_count(client).await;
    let total = cases.len();
    let mut failures = Vec::new();
    for Case {
        name,
        call,
        code,
        contains,
    } in cases
    {
        match call.send(client).await {
            Ok(()) => failures.push(format!("{name}: expected {code:?}, but the call succeeded")),
            Err(status) if status.code() != code => failures.push(format!(
                "{name}: expected {code:?}, got {:?}: {}",
                status.code(),
                status.message()
            )),
            Err(status) if status.message().is_empty() => {
                failures.push(format!("{name}: the status carries no message"));
            }
            Err(status) if !status.message().contains(&contains) => failures.push(format!(
                "{name}: the message does not contain {contains:?}: {}",
                status.message()
            )),
            Err(_) => {}
        }
        for (project, before) in watched.iter().zip(&mut before) {
            let now = snapshot(client, project).await;
            if now != *before {
                failures.push(format!("{name}: the refused call changed {project}"));
                // Compare the next cases with the changed state, so one
                // change is reported once.
                *before = now;
            }
        }
        let now = project_count(client).await;
        if now != projects {
            failures.push(format!("{name}: the number of projects went from {projects} to {now}"));
            projects = now;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} refused requests went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

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

fn append_call(project: &str, message: Message, expected_revision: Option<u64>) -> Call {
    Call::Append(AppendMessageRequest {
        project: project.to_owned(),
        message: Some(message),
        expected_revision,
    })
}

fn update_call(project: &str, message: Message, expected_revision: Option<u64>) -> Call {
    Call::Update(UpdateMessageRequest {
        project: project.to_owned(),
        message: Some(message),
        expected_revision,
    })
}

fn append_to_call(project: &str, message_id: u64, delta: String, expected_revision: Option<u64>) -> Call {
    Call::AppendTo(AppendToMessageRequest {
        project: project.to_owned(),
        message_id,
        delta,
        expected_revision,
    })
}

fn delete_call(project: &str, message_id: u64, truncate_after: bool, expected_revision: Option<u64>) -> Call {
    Call::Delete(DeleteMessagesRequest {
        project: project.to_owned(),
        message_id,
        truncate_after,
        expected_revision,
    })
}

fn add_files_call(project: &str, files: Vec<ContextFile>) -> Call {
    Call::AddFiles(AddContextFilesRequest {
        project: project.to_owned(),
        files,
        expected_revision: None,
    })
}

fn set_files_call(project: &str, files: Vec<ContextFile>, expected_revision: Option<u64>) -> Call {
    Call::SetFiles(SetContextFilesRequest {
        project: project.to_owned(),
        files,
        expected_revision,
    })
}

fn save_request(project: &str, name: &str, mode: i32) -> SaveSessionRequest {
    SaveSessionRequest {
        project: project.to_owned(),
        name: name.to_owned(),
        mode,
        expected_revision: None,
    }
}

fn save_call(project: &str, name: &str, mode: i32) -> Call {
    Call::Save(save_request(project, name, mode))
}

fn rename_request(project: &str, name: &str, new_name: &str) -> RenameSessionRequest {
    RenameSessionRequest {
        project: project.to_owned(),
        name: name.to_owned(),
        new_name: new_name.to_owned(),
        expected_revision: None,
    }
}

fn rename_call(project: &str, name: &str, new_name: &str) -> Call {
    Call::Rename(rename_request(project, name, new_name))
}

fn load_call(project: &str, name: &str, messages: bool, files: bool, expected_revision: Option<u64>) -> Call {
    Call::Load(LoadSessionRequest {
        project: project.to_owned(),
        name: name.to_owned(),
        messages,
        files,
        expected_revision,
    })
}

fn get_session_call(project: &str, name: &str) -> Call {
    Call::GetSession(GetSessionRequest {
        project: project.to_owned(),
        name: name.to_owned(),
        after_message_id: 0,
        limit: 0,
    })
}

fn open_call(project: &str, start: i32) -> Call {
    Call::Open(OpenProjectRequest {
        project: project.to_owned(),
        start,
        expected_revision: None,
    })
}

fn export_call(project: &str, name: &str) -> Call {
    Call::Export(ExportRequest {
        project: project.to_owned(),
        name: name.to_owned(),
        ..ExportRequest::default()
    })
}

/// Every RPC that takes a project, given a path the daemon must refuse.
fn bad_project_cases(bad: &str) -> Vec<Case> {
    let what = |rpc: &str| format!("{rpc} with project {bad:?}");
    let mut cases = vec![
        case(what("OpenProject"), Code::InvalidArgument, open_call(bad, 0)),
        case(
            what("AppendMessage"),
            Code::InvalidArgument,
            append_call(bad, message(Role::User, "x"), None),
        ),
        case(
            what("GetWorkingSession"),
            Code::InvalidArgument,
            Call::GetWorking(GetWorkingSessionRequest {
                project: bad.into(),
                after_message_id: 0,
                limit: 0,
            }),
        ),
        case(
            what("AddContextFiles"),
            Code::InvalidArgument,
            add_files_call(bad, vec![file("a.rs", false)]),
        ),
        case(what("SaveSession"), Code::InvalidArgument, save_call(bad, "s", 0)),
        case(
            what("ListSessions"),
            Code::InvalidArgument,
            Call::ListSessions(ListSessionsRequest { project: bad.into() }),
        ),
        case(what("ExportMarkdown"), Code::InvalidArgument, export_call(bad, "")),
    ];
    if !bad.is_empty() {
        // An empty project means "every project" for these two.
        cases.push(case(
            what("ListTrash"),
            Code::InvalidArgument,
            Call::ListTrash(ListTrashRequest { project: bad.into() }),
        ));
        cases.push(case(
            what("Watch"),
            Code::InvalidArgument,
            Call::Watch(WatchRequest { project: bad.into() }),
        ));
    }
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_or_unknown_projects_are_refused_and_never_registered() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let never = path_str(&sandbox.project("never-opened"));

    let mut cases: Vec<Case> = BAD_PROJECTS.into_iter().flat_map(bad_project_cases).collect();
    cases.extend([
        case(
            "append with no role",
            Code::InvalidArgument,
            append_call(&never, message(Role::Unspecified, "x"), None),
        ),
        case(
            "append at a revision the project never had",
            Code::FailedPrecondition,
            append_call(&never, message(Role::User, "x"), Some(3)),
        ),
        case(
            "delete in an unknown project",
            Code::NotFound,
            delete_call(&never, 1, false, None),
        ),
        case(
            "rename in an unknown project",
            Code::NotFound,
            rename_call(&never, "a", "b"),
        ),
        case(
            "export of a project never opened",
            Code::NotFound,
            export_call(&never, ""),
        ),
    ]);
    refuse_all(&mut client, &[], cases).await;

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

/// Bad session names on every RPC that takes one.
fn bad_name_cases(project: &str, trash_id: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for (name, why) in bad_names() {
        cases.push(case(
            format!("save as {why}"),
            Code::InvalidArgument,
            save_call(project, &name, SaveMode::CreateNew as i32),
        ));
        cases.push(case(
            format!("rename to {why}"),
            Code::InvalidArgument,
            rename_call(project, "saved", &name),
        ));
        if !name.trim().is_empty() {
            // A blank new_name means "the entry's own name".
            cases.push(case(
                format!("restore as {why}"),
                Code::InvalidArgument,
                Call::Restore(RestoreTrashRequest {
                    id: trash_id.to_owned(),
                    new_name: name.clone(),
                    expected_revision: None,
                }),
            ));
        }
        cases.push(case(
            format!("load {why}"),
            Code::InvalidArgument,
            load_call(project, &name, true, true, None),
        ));
    }
    cases
}

/// Unknown roles, enum values out of range, and a load of nothing.
fn bad_value_cases(project: &str, first: u64, never: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for role in [0, 7, 99, -1] {
        let bad = Message {
            role,
            content: "x".into(),
            ..Message::default()
        };
        cases.push(
            case(
                format!("append with role {role}"),
                Code::InvalidArgument,
                append_call(project, bad.clone(), None),
            )
            .naming("role"),
        );
        cases.push(case(
            format!("update to role {role}"),
            Code::InvalidArgument,
            update_call(project, Message { id: first, ..bad }, None),
        ));
    }
    cases.extend([
        case(
            "append without a message",
            Code::InvalidArgument,
            Call::Append(AppendMessageRequest {
                project: project.to_owned(),
                message: None,
                expected_revision: None,
            }),
        ),
        case(
            "OpenProject with start mode 7",
            Code::InvalidArgument,
            open_call(project, 7),
        ),
        case(
            "SaveSession with save mode 9",
            Code::InvalidArgument,
            save_call(project, "saved", 9),
        ),
        case(
            "SaveSession with save mode -3",
            Code::InvalidArgument,
            save_call(project, "fresh", -3),
        ),
        case(
            "OpenProject of a new project with start mode 2",
            Code::InvalidArgument,
            open_call(never, 2),
        ),
        case(
            "load of nothing",
            Code::InvalidArgument,
            load_call(project, "saved", false, false, None),
        ),
    ]);
    cases
}

/// Messages, files, saved sessions and trash entries that do not exist,
/// malformed trash ids, and a rename onto a taken name.
fn unknown_cases(project: &str, never: &str) -> Vec<Case> {
    let unknown = 999;
    let missing = "no such session";
    let mut cases = vec![
        case(
            "append-to an unknown message",
            Code::NotFound,
            append_to_call(project, unknown, "x".into(), None),
        )
        .naming("999"),
        case(
            "update of an unknown message",
            Code::NotFound,
            update_call(
                project,
                Message {
                    id: unknown,
                    ..message(Role::User, "x")
                },
                None,
            ),
        ),
    ];
    for truncate_after in [false, true] {
        cases.push(case(
            format!("delete of an unknown message (truncate {truncate_after})"),
            Code::NotFound,
            delete_call(project, unknown, truncate_after, None),
        ));
    }
    cases.extend([
        // One unknown path refuses the whole removal: the known one stays.
        case(
            "removal of a file not in the context",
            Code::NotFound,
            Call::RemoveFiles(RemoveContextFilesRequest {
                project: project.to_owned(),
                paths: vec!["src/lib.rs".into(), "not/there.rs".into()],
                expected_revision: None,
            }),
        )
        .naming("not/there.rs"),
        case("GetSession", Code::NotFound, get_session_call(project, missing)),
        case(
            "LoadSession",
            Code::NotFound,
            load_call(project, missing, true, false, None),
        ),
        case(
            "RenameSession",
            Code::NotFound,
            rename_call(project, missing, "whatever"),
        ),
        case(
            "DeleteSession",
            Code::NotFound,
            Call::DeleteSession(DeleteSessionRequest {
                project: project.to_owned(),
                name: missing.into(),
                expected_revision: None,
            }),
        ),
        case(
            "SaveSession(OVERWRITE) of a name never saved",
            Code::NotFound,
            save_call(project, missing, SaveMode::Overwrite as i32),
        ),
        case("ExportMarkdown", Code::NotFound, export_call(project, missing)),
        // A saved session belongs to its project only.
        case(
            "GetSession of another project's session",
            Code::NotFound,
            get_session_call(never, "saved"),
        ),
        case(
            "RestoreTrash of an unknown id",
            Code::NotFound,
            Call::Restore(RestoreTrashRequest {
                id: "424242".into(),
                new_name: String::new(),
                expected_revision: None,
            }),
        ),
        case(
            "PurgeTrash of an unknown id",
            Code::NotFound,
            Call::Purge(PurgeTrashRequest {
                id: "424242".into(),
                older_than_ms: 0,
                expected_revision: None,
            }),
        ),
    ]);
    for bad in ["not-a-number", "-1", "1.5"] {
        cases.push(case(
            format!("RestoreTrash of id {bad:?}"),
            Code::InvalidArgument,
            Call::Restore(RestoreTrashRequest {
                id: bad.into(),
                new_name: String::new(),
                expected_revision: None,
            }),
        ));
        cases.push(case(
            format!("PurgeTrash of id {bad:?}"),
            Code::InvalidArgument,
            Call::Purge(PurgeTrashRequest {
                id: bad.into(),
                older_than_ms: 0,
                expected_revision: None,
            }),
        ));
    }
    cases.push(
        case(
            "rename onto a taken name",
            Code::AlreadyExists,
            rename_call(project, "saved", "other"),
        )
        .naming("other"),
    );
    cases
}

/// Every conditional mutation at a stale revision: refused, the message
/// naming the current revision.
fn stale_revision_cases(project: &str, current: u64, first: u64) -> Vec<Case> {
    let mut cases = Vec::new();
    for stale in [current - 1, current + 1, 0] {
        let expected = Some(stale);
        let calls = [
            (
                "AppendMessage",
                append_call(project, message(Role::User, "x"), expected),
            ),
            ("AppendToMessage", append_to_call(project, first, "x".into(), expected)),
            (
                "UpdateMessage",
                update_call(
                    project,
                    Message {
                        id: first,
                        ..message(Role::User, "x")
                    },
                    expected,
                ),
            ),
            ("DeleteMessages", delete_call(project, first, true, expected)),
            (
                "ClearMessages",
                Call::Clear(ClearMessagesRequest {
                    project: project.to_owned(),
                    expected_revision: expected,
                }),
            ),
            (
                "AddContextFiles",
                Call::AddFiles(AddContextFilesRequest {
                    project: project.to_owned(),
                    files: vec![file("new.rs", false)],
                    expected_revision: expected,
                }),
            ),
            (
                "RemoveContextFiles",
                Call::RemoveFiles(RemoveContextFilesRequest {
                    project: project.to_owned(),
                    paths: vec!["src/lib.rs".into()],
                    expected_revision: expected,
                }),
            ),
            ("SetContextFiles", set_files_call(project, vec![], expected)),
            ("LoadSession", load_call(project, "saved", true, true, expected)),
            (
                "OpenProject",
                Call::Open(OpenProjectRequest {
                    project: project.to_owned(),
                    start: StartMode::Empty as i32,
                    expected_revision: expected,
                }),
            ),
            (
                "SaveSession",
                Call::Save(SaveSessionRequest {
                    expected_revision: expected,
                    ..save_request(project, "saved", SaveMode::Overwrite as i32)
                }),
            ),
            (
                "RenameSession",
                Call::Rename(RenameSessionRequest {
                    expected_revision: expected,
                    ..rename_request(project, "saved", "renamed")
                }),
            ),
            (
                "DeleteSession",
                Call::DeleteSession(DeleteSessionRequest {
                    project: project.to_owned(),
                    name: "saved".into(),
                    expected_revision: expected,
                }),
            ),
        ];
        for (rpc, call) in calls {
            cases.push(
                case(format!("{rpc} at revision {stale}"), Code::FailedPrecondition, call)
                    .naming(format!("revision {current}")),
            );
        }
    }
    cases
}

/// The trash calls checked against the revision of the entry's project
/// (`trashed`, at `current`); a purge by age with a revision is refused,
/// since it touches many projects.
fn stale_trash_cases(trash_id: &str, current: u64) -> Vec<Case> {
    let mut cases = Vec::new();
    for stale in [current - 1, current + 1, 0] {
        let expected = Some(stale);
        let calls = [
            (
                "RestoreTrash",
                Call::Restore(RestoreTrashRequest {
                    id: trash_id.to_owned(),
                    new_name: "restored".into(),
                    expected_revision: expected,
                }),
            ),
            (
                "PurgeTrash",
                Call::Purge(PurgeTrashRequest {
                    id: trash_id.to_owned(),
                    older_than_ms: 0,
                    expected_revision: expected,
                }),
            ),
        ];
        for (rpc, call) in calls {
            cases.push(
                case(format!("{rpc} at revision {stale}"), Code::FailedPrecondition, call)
                    .naming(format!("revision {current}")),
            );
        }
    }
    cases.push(
        case(
            "PurgeTrash by age with a revision",
            Code::InvalidArgument,
            Call::Purge(PurgeTrashRequest {
                id: String::new(),
                older_than_ms: i64::MAX,
                expected_revision: Some(current),
            }),
        )
        .naming("trash id"),
    );
    cases
}

/// An image export with a valid request for the working session of `project`.
fn good_image_request(project: &str) -> ExportImageRequest {
    ExportImageRequest {
        project: project.to_owned(),
        name: String::new(),
        theme: Theme::Dark as i32,
        width_px: 0,
        scale: 0.0,
        max_page_height_px: 0,
        first_message_id: 0,
        last_message_id: 0,
        time_zone: String::new(),
    }
}

/// Image exports with impossible options (the message names the field),
/// of an unknown session, and of a project never opened.
fn export_image_cases(project: &str, never: &str) -> Vec<Case> {
    let good = good_image_request(project);
    let with = |change: &dyn Fn(&mut ExportImageRequest)| {
        let mut request = good.clone();
        change(&mut request);
        Call::ExportImage(request)
    };
    let bad: Vec<(Call, &str)> = vec![
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
    let mut cases: Vec<Case> = bad
        .into_iter()
        .map(|(call, needle)| case(format!("ExportImage with {needle}"), Code::InvalidArgument, call).naming(needle))
        .collect();
    cases.push(case(
        "ExportImage of an unknown saved session",
        Code::NotFound,
        Call::ExportImage(ExportImageRequest {
            name: "no such session".into(),
            ..good.clone()
        }),
    ));
    cases.push(case(
        "ExportImage of a project never opened",
        Code::NotFound,
        Call::ExportImage(ExportImageRequest {
            project: never.to_owned(),
            ..good
        }),
    ));
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_on_a_busy_project_get_their_code_and_change_nothing() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    // A second saved session, for renames onto a taken name.
    save(&mut client, &project, "other", SaveMode::CreateNew).await;
    // A project whose only session went to the trash, for restores.
    let trashed = path_str(&sandbox.project("trashed"));
    append(&mut client, &trashed, Role::User, "x").await;
    save(&mut client, &trashed, "gone", SaveMode::CreateNew).await;
    let trash_id = client
        .delete_session(DeleteSessionRequest {
            project: trashed.clone(),
            name: "gone".into(),
            expected_revision: None,
        })
        .await
        .expect("DeleteSession")
        .into_inner()
        .trash_id;
    // A directory no request ever registers as a project.
    let never = path_str(&sandbox.project("never-opened"));
    let before = snapshot(&mut client, &project).await;
    let before_trashed = snapshot(&mut client, &trashed).await;
    let current = before.working.revision;
    let first = before.working.messages[0].id;

    let mut cases = bad_name_cases(&project, &trash_id);
    cases.extend(bad_value_cases(&project, first, &never));
    cases.extend(unknown_cases(&project, &never));
    cases.extend(stale_revision_cases(&project, current, first));
    cases.extend(stale_trash_cases(&trash_id, before_trashed.working.revision));
    cases.extend(export_image_cases(&project, &never));
    refuse_all(&mut client, &[&project, &trashed], cases).await;
    assert_eq!(
        snapshot(&mut client, &project).await,
        before,
        "refused requests changed the project"
    );
    assert_eq!(
        snapshot(&mut client, &trashed).await,
        before_trashed,
        "refused restores changed the trash"
    );
    assert_eq!(
        project_count(&mut client).await,
        2,
        "no refused request registered a project"
    );

    // A good image export works, and the daemon keeps serving.
    let mut stream = client
        .export_image(good_image_request(&project))
        .await
        .expect("ExportImage")
        .into_inner();
    let page = stream
        .message()
        .await
        .expect("a healthy stream")
        .expect("a first chunk");
    assert_eq!(page.page, 1);
    assert!(page.data.starts_with(b"\x89PNG"), "a PNG starts the page");
    assert_eq!(open(&mut client, &project).await.message_count, 2);

    // The name limits are inclusive: 128 characters (not bytes) are fine.
    for name in ["x".repeat(128), "é".repeat(128)] {
        save(&mut client, &project, &name, SaveMode::CreateNew).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn content_over_the_limit_is_invalid_argument() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start_with(&["--max-content-bytes", "1024"]);
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let first = working(&mut client, &project).await.messages[0].clone();
    let room = 1024 - first.content.len();
    let mut thinking = message(Role::Assistant, "short");
    thinking.reasoning = "r".repeat(1025);

    let cases = vec![
        // The message names the limit.
        case(
            "append of 1025 bytes",
            Code::InvalidArgument,
            append_call(&project, message(Role::User, &"x".repeat(1025)), None),
        )
        .naming("1024"),
        // Bytes, not characters: 513 two-byte characters are 1026 bytes.
        case(
            "append of 1026 bytes in 513 characters",
            Code::InvalidArgument,
            append_call(&project, message(Role::User, &"é".repeat(513)), None),
        ),
        case(
            "append with 1025 bytes of reasoning",
            Code::InvalidArgument,
            append_call(&project, thinking, None),
        ),
        case(
            "update to 1025 bytes",
            Code::InvalidArgument,
            update_call(
                &project,
                Message {
                    id: first.id,
                    ..message(Role::User, &"x".repeat(1025))
                },
                None,
            ),
        ),
        case(
            "append-to growing the content past 1024 bytes",
            Code::InvalidArgument,
            append_to_call(&project, first.id, "y".repeat(room + 1), None),
        ),
    ];
    refuse_all(&mut client, &[&project], cases).await;

    // Exactly at the limit is accepted, both ways.
    append(&mut client, &project, Role::User, &"x".repeat(1024)).await;
    append_to_call(&project, first.id, "y".repeat(room), None)
        .send(&mut client)
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

    let cases = vec![case(
        "append of 8 MiB + 1 byte",
        Code::InvalidArgument,
        append_call(&project, message(Role::Tool, &"x".repeat(LIMIT + 1)), None),
    )];
    refuse_all(&mut client, &[&project], cases).await;

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
async fn too_many_context_files_is_resource_exhausted() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start_with(&["--max-context-files", "3"]);
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    add_files(&mut client, &project, vec![file("a", false), file("b", false)]).await;

    let cases = vec![
        // The message names the limit.
        case(
            "adding a 4th file",
            Code::ResourceExhausted,
            add_files_call(&project, vec![file("c", false), file("d", false)]),
        )
        .naming('3'),
        case(
            "setting 4 files",
            Code::ResourceExhausted,
            set_files_call(
                &project,
                ["w", "x", "y", "z"].iter().map(|p| file(p, false)).collect(),
                None,
            ),
        ),
    ];
    refuse_all(&mut client, &[&project], cases).await;

    // Up to the limit is fine, and re-adding a present path does not count.
    add_files(&mut client, &project, vec![file("c", false), file("./a", true)]).await;
    assert_eq!(working(&mut client, &project).await.files.len(), 3);
    let cases = vec![case(
        "adding a 4th file to a full list",
        Code::ResourceExhausted,
        add_files_call(&project, vec![file("d", false)]),
    )];
    refuse_all(&mut client, &[&project], cases).await;
}

/// The calls that took `expected_revision` last go through at the current
/// revision, and the answers that carry a session say the new revision.
#[tokio::test(flavor = "multi_thread")]
async fn the_current_revision_lets_every_conditional_call_through() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = busy_project(&mut client, &sandbox).await;
    let r = snapshot(&mut client, &project).await.working.revision;

    let saved = client
        .save_session(SaveSessionRequest {
            expected_revision: Some(r),
            ..save_request(&project, "second", SaveMode::CreateNew as i32)
        })
        .await
        .expect("SaveSession at the current revision")
        .into_inner();
    assert_eq!(saved.revision, r + 1, "SaveSession answers with the new revision");
    let renamed = client
        .rename_session(RenameSessionRequest {
            expected_revision: Some(r + 1),
            ..rename_request(&project, "second", "third")
        })
        .await
        .expect("RenameSession at the current revision")
        .into_inner();
    assert_eq!(renamed.revision, r + 2);
    let delete = |name: &str, revision: u64| DeleteSessionRequest {
        project: project.clone(),
        name: name.to_owned(),
        expected_revision: Some(revision),
    };
    let trash_id = client
        .delete_session(delete("third", r + 2))
        .await
        .expect("DeleteSession at the current revision")
        .into_inner()
        .trash_id;
    let restored = client
        .restore_trash(RestoreTrashRequest {
            id: trash_id,
            new_name: "back".into(),
            expected_revision: Some(r + 3),
        })
        .await
        .expect("RestoreTrash at the current revision")
        .into_inner();
    assert_eq!(restored.revision, r + 4);
    let trash_id = client
        .delete_session(delete("back", r + 4))
        .await
        .expect("DeleteSession")
        .into_inner()
        .trash_id;
    let purged = client
        .purge_trash(PurgeTrashRequest {
            id: trash_id,
            older_than_ms: 0,
            expected_revision: Some(r + 5),
        })
        .await
        .expect("PurgeTrash at the current revision")
        .into_inner();
    assert_eq!(purged.purged, 1);
    let opened = client
        .open_project(OpenProjectRequest {
            project: project.clone(),
            start: StartMode::Empty as i32,
            expected_revision: Some(r + 6),
        })
        .await
        .expect("OpenProject at the current revision")
        .into_inner();
    assert_eq!((opened.revision, opened.message_count), (r + 7, 0));
    let names: Vec<String> = snapshot(&mut client, &project)
        .await
        .sessions
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["saved"], "only the first saved session is left");
}
