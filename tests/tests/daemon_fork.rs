//! Fork and rewind through the real socket: a fork is a new saved
//! session with the source's messages through the chosen one and its
//! files, and its lineage; a rewind moves the later messages into one
//! restorable trash entry (reason `rewound`). Every refusal — unknown
//! message or source, taken name, stale revision, a rewind with nothing
//! after — has its code and changes nothing; both emit Watch events.

use crate::common::{add_files, append, expect_code, file, path_str, save, saved, sessions, snapshot, trash, working};
use chronicle_proto::v1::{
    EventKind, ForkSessionRequest, RestoreTrashRequest, RewindWorkingRequest, Role, SaveMode, WatchRequest,
};
use chronicle_tests::Sandbox;
use tonic::Code;

fn fork(project: &str, source: &str, at: u64, new_name: &str) -> ForkSessionRequest {
    ForkSessionRequest {
        project: project.to_owned(),
        source_name: source.to_owned(),
        at_message_id: at,
        new_name: new_name.to_owned(),
    }
}

fn rewind(project: &str, keep: u64, expected: Option<u64>) -> RewindWorkingRequest {
    RewindWorkingRequest {
        project: project.to_owned(),
        keep_through_message_id: keep,
        expected_revision: expected,
    }
}

#[tokio::test]
async fn fork_copies_messages_through_the_chosen_one_with_files_and_lineage() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("fork"));
    let mut ids = Vec::new();
    for i in 1..=5 {
        ids.push(
            append(&mut client, &p, Role::User, &format!("step {i}"))
                .await
                .message_id,
        );
    }
    add_files(
        &mut client,
        &p,
        vec![file("src/main.rs", false), file("README.md", true)],
    )
    .await;
    let mut events = client
        .watch(WatchRequest { project: p.clone() })
        .await
        .expect("Watch")
        .into_inner();
    let snapshot_event = events.message().await.expect("stream").expect("snapshot");
    assert_eq!(snapshot_event.kind, EventKind::Snapshot as i32);

    let info = client
        .fork_session(fork(&p, "", ids[2], "from three"))
        .await
        .expect("fork")
        .into_inner();
    assert_eq!(
        (info.name.as_str(), info.message_count, info.file_count),
        ("from three", 3, 2)
    );
    assert_eq!((info.forked_from.as_str(), info.forked_at_message_id), ("", ids[2]));
    let event = events.message().await.expect("stream").expect("event");
    assert_eq!(
        (event.kind, event.session_name.as_str()),
        (EventKind::SessionSaved as i32, "from three")
    );
    assert_eq!(event.revision, snapshot_event.revision + 1);
    let copy = saved(&mut client, &p, "from three").await;
    let texts: Vec<&str> = copy.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["step 1", "step 2", "step 3"]);
    assert_eq!(copy.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..3]);
    assert_eq!(copy.files.len(), 2);

    // From a saved session, and the lineage is listed.
    let second = client
        .fork_session(fork(&p, "from three", ids[0], "from one"))
        .await
        .expect("fork of a fork")
        .into_inner();
    assert_eq!(
        (
            second.forked_from.as_str(),
            second.forked_at_message_id,
            second.message_count
        ),
        ("from three", ids[0], 1)
    );
    let listed = sessions(&mut client, &p).await;
    let one = listed.iter().find(|s| s.name == "from one").expect("listed");
    assert_eq!(one.forked_from, "from three");
    // The source is untouched.
    assert_eq!(working(&mut client, &p).await.messages.len(), 5);
}

#[tokio::test]
async fn fork_refusals_name_the_problem_and_change_nothing() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("refuse"));
    let a = append(&mut client, &p, Role::User, "only message").await.message_id;
    save(&mut client, &p, "taken", SaveMode::CreateNew).await;
    let before = snapshot(&mut client, &p).await;
    let status = expect_code(
        client.fork_session(fork(&p, "", 999, "new")).await,
        Code::NotFound,
        "unknown message",
    );
    assert!(status.message().contains("999"), "{}", status.message());
    let status = expect_code(
        client.fork_session(fork(&p, "nope", a, "new")).await,
        Code::NotFound,
        "unknown source",
    );
    assert!(status.message().contains("nope"), "{}", status.message());
    let status = expect_code(
        client.fork_session(fork(&p, "", a, "taken")).await,
        Code::AlreadyExists,
        "name taken",
    );
    assert!(status.message().contains("taken"), "{}", status.message());
    expect_code(
        client.fork_session(fork(&p, "", a, "  ")).await,
        Code::InvalidArgument,
        "empty name",
    );
    expect_code(
        client.fork_session(fork(&p, "", 0, "new")).await,
        Code::InvalidArgument,
        "no message id",
    );
    expect_code(
        client.fork_session(fork("rel/path", "", a, "new")).await,
        Code::InvalidArgument,
        "relative project",
    );
    assert_eq!(snapshot(&mut client, &p).await, before, "refusals change nothing");
    // A project never opened stays unknown.
    let ghost = path_str(&sandbox.project("ghost"));
    expect_code(
        client.fork_session(fork(&ghost, "", 1, "x")).await,
        Code::NotFound,
        "empty project",
    );
    let projects = client
        .list_projects(chronicle_proto::v1::ListProjectsRequest {})
        .await
        .expect("ListProjects")
        .into_inner()
        .projects;
    assert!(
        projects.iter().all(|s| s.project != ghost),
        "a refused fork registers nothing"
    );
}

#[tokio::test]
async fn rewind_moves_the_later_messages_to_one_restorable_trash_entry() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("rewind"));
    let mut ids = Vec::new();
    for i in 1..=6 {
        ids.push(
            append(&mut client, &p, Role::Assistant, &format!("answer {i}"))
                .await
                .message_id,
        );
    }
    let revision = working(&mut client, &p).await.revision;
    let before = snapshot(&mut client, &p).await;

    // Refusals first: nothing changes.
    let status = expect_code(
        client.rewind_working(rewind(&p, 999, None)).await,
        Code::NotFound,
        "unknown message",
    );
    assert!(status.message().contains("999"), "{}", status.message());
    let status = expect_code(
        client.rewind_working(rewind(&p, ids[2], Some(revision - 1))).await,
        Code::FailedPrecondition,
        "stale revision",
    );
    assert!(status.message().contains(&revision.to_string()), "{}", status.message());
    expect_code(
        client.rewind_working(rewind(&p, ids[5], None)).await,
        Code::InvalidArgument,
        "nothing after the last message",
    );
    expect_code(
        client.rewind_working(rewind(&p, 0, None)).await,
        Code::InvalidArgument,
        "no message id",
    );
    assert_eq!(snapshot(&mut client, &p).await, before);

    let mut events = client
        .watch(WatchRequest { project: p.clone() })
        .await
        .expect("Watch")
        .into_inner();
    events.message().await.expect("stream").expect("snapshot");
    let ack = client
        .rewind_working(rewind(&p, ids[2], Some(revision)))
        .await
        .expect("rewind")
        .into_inner();
    assert_eq!(ack.revision, revision + 1);
    let event = events.message().await.expect("stream").expect("event");
    assert_eq!(
        (event.kind, event.revision),
        (EventKind::MessagesDeleted as i32, revision + 1)
    );
    let now = working(&mut client, &p).await;
    assert_eq!(now.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..3]);
    let entries = trash(&mut client, &p).await;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].reason.as_str(), entries[0].message_count), ("rewound", 3));

    // Restorable, with the messages it took.
    let restored = client
        .restore_trash(RestoreTrashRequest {
            id: entries[0].id.clone(),
            new_name: "the rest".into(),
            expected_revision: None,
        })
        .await
        .expect("restore")
        .into_inner();
    assert_eq!(restored.message_count, 3);
    let rest = saved(&mut client, &p, "the rest").await;
    let texts: Vec<&str> = rest.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["answer 4", "answer 5", "answer 6"]);
    // New messages never reuse the rewound ids.
    let next = append(&mut client, &p, Role::User, "after the rewind").await;
    assert!(next.message_id > ids[5]);
}
