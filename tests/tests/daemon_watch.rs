//! Live updates through the real socket: a `Watch` stream starts with a
//! SNAPSHOT at the current revision, then carries every mutation another
//! client makes, in order, with contiguous revisions and the payload the
//! kind promises; an empty project watches every project, and a watched
//! project never sees another project's events.

use crate::common::{
    add_files, append, file, message, next_event, open, open_with, path_str, save, trash, watch, working,
};
use chronicle_proto::v1::{
    AppendToMessageRequest, ClearMessagesRequest, DeleteMessagesRequest, DeleteSessionRequest, Event, EventKind,
    GetStatusRequest, LoadSessionRequest, PurgeTrashRequest, RemoveContextFilesRequest, RenameSessionRequest,
    RestoreTrashRequest, Role, SaveMode, SetContextFilesRequest, StartMode, UpdateMessageRequest,
};
use chronicle_tests::Sandbox;

/// Records that the next event is `kind`, one revision after the last,
/// for RPCs whose answer carries no revision.
fn then(expected: &mut Vec<(u64, EventKind)>, kind: EventKind) {
    let last = expected.last().map_or(0, |e| e.0);
    expected.push((last + 1, kind));
}

fn kind(event: &Event) -> EventKind {
    EventKind::try_from(event.kind).expect("a known event kind")
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_starts_with_a_snapshot_at_the_current_revision() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "one").await;
    append(&mut client, &project, Role::User, "two").await;

    let mut stream = watch(&mut client, &project).await;
    let hello = next_event(&mut stream).await;
    assert_eq!(kind(&hello), EventKind::Snapshot);
    assert_eq!(hello.project, project);
    assert_eq!(hello.revision, 2);
    assert!(hello.message.is_none(), "a snapshot carries no payload");

    // A project nobody opened yet starts at revision 0.
    let fresh = path_str(&sandbox.project("fresh"));
    let mut stream = watch(&mut client, &fresh).await;
    let hello = next_event(&mut stream).await;
    assert_eq!((kind(&hello), hello.revision), (EventKind::Snapshot, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_sees_every_mutation_of_another_client_in_order() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut watcher = daemon.client().await;
    let mut writer = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut writer, &project, Role::User, "before watching").await;

    let mut stream = watch(&mut watcher, &project).await;
    let hello = next_event(&mut stream).await;
    assert_eq!((kind(&hello), hello.revision), (EventKind::Snapshot, 1));

    // (revision from the ack, kind the watcher must see)
    let mut expected: Vec<(u64, EventKind)> = Vec::new();
    let appended = append(&mut writer, &project, Role::Assistant, "Hel").await;
    expected.push((appended.revision, EventKind::MessageAppended));
    let ack = writer
        .append_to_message(AppendToMessageRequest {
            project: project.clone(),
            message_id: appended.message_id,
            delta: "lo".into(),
            expected_revision: None,
        })
        .await
        .expect("AppendToMessage")
        .into_inner();
    expected.push((ack.revision, EventKind::MessageUpdated));
    let ack = writer
        .update_message(UpdateMessageRequest {
            project: project.clone(),
            message: Some(chronicle_proto::v1::Message {
                id: appended.message_id,
                ..message(Role::Assistant, "Hello, edited")
            }),
            expected_revision: None,
        })
        .await
        .expect("UpdateMessage")
        .into_inner();
    expected.push((ack.revision, EventKind::MessageUpdated));
    expected.push((
        add_files(&mut writer, &project, vec![file("a.rs", true)])
            .await
            .revision,
        EventKind::FilesChanged,
    ));
    let ack = writer
        .remove_context_files(RemoveContextFilesRequest {
            project: project.clone(),
            paths: vec!["a.rs".into()],
            expected_revision: None,
        })
        .await
        .expect("RemoveContextFiles")
        .into_inner();
    expected.push((ack.revision, EventKind::FilesChanged));
    let ack = writer
        .set_context_files(SetContextFilesRequest {
            project: project.clone(),
            files: vec![file("b.rs", false), file("c.rs", true)],
            expected_revision: None,
        })
        .await
        .expect("SetContextFiles")
        .into_inner();
    expected.push((ack.revision, EventKind::FilesChanged));
    save(&mut writer, &project, "s", SaveMode::CreateNew).await;
    then(&mut expected, EventKind::SessionSaved);
    let ack = writer
        .delete_messages(DeleteMessagesRequest {
            project: project.clone(),
            message_id: appended.message_id,
            truncate_after: false,
            expected_revision: None,
        })
        .await
        .expect("DeleteMessages")
        .into_inner();
    expected.push((ack.revision, EventKind::MessagesDeleted));
    let ack = writer
        .load_session(LoadSessionRequest {
            project: project.clone(),
            name: "s".into(),
            messages: true,
            files: true,
            expected_revision: None,
        })
        .await
        .expect("LoadSession")
        .into_inner();
    expected.push((ack.revision, EventKind::SessionLoaded));
    writer
        .rename_session(RenameSessionRequest {
            project: project.clone(),
            name: "s".into(),
            new_name: "t".into(),
            expected_revision: None,
        })
        .await
        .expect("RenameSession");
    then(&mut expected, EventKind::SessionRenamed);
    let ack = writer
        .clear_messages(ClearMessagesRequest {
            project: project.clone(),
            expected_revision: None,
        })
        .await
        .expect("ClearMessages")
        .into_inner();
    expected.push((ack.revision, EventKind::MessagesCleared));
    let trash_id = writer
        .delete_session(DeleteSessionRequest {
            project: project.clone(),
            name: "t".into(),
            expected_revision: None,
        })
        .await
        .expect("DeleteSession")
        .into_inner()
        .trash_id;
    then(&mut expected, EventKind::SessionDeleted);
    writer
        .restore_trash(RestoreTrashRequest {
            id: trash_id,
            new_name: String::new(),
            expected_revision: None,
        })
        .await
        .expect("RestoreTrash");
    then(&mut expected, EventKind::TrashChanged);
    let victim = trash(&mut writer, &project)
        .await
        .first()
        .expect("a trash entry to purge")
        .id
        .clone();
    writer
        .purge_trash(PurgeTrashRequest {
            id: victim,
            older_than_ms: 0,
            expected_revision: None,
        })
        .await
        .expect("PurgeTrash");
    then(&mut expected, EventKind::TrashChanged);
    let ack = append(&mut writer, &project, Role::User, "to set aside").await;
    expected.push((ack.revision, EventKind::MessageAppended));
    // Reads and a plain open are not mutations: no event, no revision.
    open(&mut writer, &project).await;
    working(&mut writer, &project).await;
    writer.get_status(GetStatusRequest {}).await.expect("GetStatus");
    let state = open_with(&mut writer, &project, StartMode::Empty).await;
    expected.push((state.revision, EventKind::MessagesCleared));

    let revisions: Vec<u64> = expected.iter().map(|e| e.0).collect();
    let contiguous: Vec<u64> = (2..2 + expected.len() as u64).collect();
    assert_eq!(revisions, contiguous, "the acks themselves are contiguous");

    let mut seen = Vec::new();
    for _ in &expected {
        seen.push(next_event(&mut stream).await);
    }
    let got: Vec<(u64, EventKind)> = seen.iter().map(|e| (e.revision, kind(e))).collect();
    assert_eq!(got, expected, "every mutation, in order, with contiguous revisions");
    assert!(seen.iter().all(|e| e.project == project && e.at_ms > 0));

    // The payloads the kinds promise.
    let appended_event = seen[0].message.as_ref().expect("an appended message");
    assert_eq!(
        (appended_event.id, appended_event.content.as_str()),
        (appended.message_id, "Hel")
    );
    assert_eq!(seen[1].delta, "lo", "append-to carries only the delta");
    assert_eq!(seen[1].message.as_ref().map(|m| m.content.as_str()), Some("Hello"));
    assert_eq!(
        seen[2].message.as_ref().map(|m| m.content.as_str()),
        Some("Hello, edited")
    );
    assert_eq!(
        seen[3].files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["a.rs"]
    );
    assert!(seen[4].files.is_empty(), "files after the removal");
    assert_eq!(
        seen[5].files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["b.rs", "c.rs"]
    );
    assert_eq!(seen[6].session_name, "s");
    assert_eq!(seen[8].session_name, "s");
    assert_eq!(seen[9].session_name, "t");
    assert_eq!(seen[11].session_name, "t");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_sees_concurrent_writers_without_gaps() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut watcher = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    open(&mut watcher, &project).await;
    let mut stream = watch(&mut watcher, &project).await;
    assert_eq!(kind(&next_event(&mut stream).await), EventKind::Snapshot);

    const EACH: usize = 40;
    let mut writers = Vec::new();
    for w in 0..2 {
        let mut client = daemon.client().await;
        let project = project.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                append(&mut client, &project, Role::User, &format!("writer {w} message {i}")).await;
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer task");
    }

    let mut contents = Vec::new();
    for revision in 1..=(2 * EACH) as u64 {
        let event = next_event(&mut stream).await;
        assert_eq!((event.revision, kind(&event)), (revision, EventKind::MessageAppended));
        contents.push(event.message.expect("appended message").content);
    }
    let stored: Vec<String> = working(&mut watcher, &project)
        .await
        .messages
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(contents, stored, "events come in the order the store committed them");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_of_every_project_sees_events_from_two_projects() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut watcher = daemon.client().await;
    let mut writer = daemon.client().await;
    let a = path_str(&sandbox.project("a"));
    let b = path_str(&sandbox.project("b"));
    append(&mut writer, &a, Role::User, "a1").await;
    open(&mut writer, &b).await;

    let mut stream = watch(&mut watcher, "").await;
    let mut snapshots = [next_event(&mut stream).await, next_event(&mut stream).await];
    snapshots.sort_by(|x, y| x.project.cmp(&y.project));
    let got: Vec<(EventKind, &str, u64)> = snapshots
        .iter()
        .map(|e| (kind(e), e.project.as_str(), e.revision))
        .collect();
    assert_eq!(
        got,
        [
            (EventKind::Snapshot, a.as_str(), 1),
            (EventKind::Snapshot, b.as_str(), 0)
        ]
    );

    append(&mut writer, &b, Role::User, "b1").await;
    append(&mut writer, &a, Role::User, "a2").await;
    add_files(&mut writer, &b, vec![file("x.rs", false)]).await;
    let c = path_str(&sandbox.project("c"));
    append(&mut writer, &c, Role::User, "c1").await;

    let mut got = Vec::new();
    for _ in 0..4 {
        let event = next_event(&mut stream).await;
        got.push((event.project.clone(), event.revision, kind(&event)));
    }
    let want = [
        (b.clone(), 1, EventKind::MessageAppended),
        (a.clone(), 2, EventKind::MessageAppended),
        (b.clone(), 2, EventKind::FilesChanged),
        (c.clone(), 1, EventKind::MessageAppended),
    ];
    assert_eq!(got, want, "events of every project, a project opened later included");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_of_every_project_with_none_still_starts_with_a_snapshot() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut watcher = daemon.client().await;
    let mut writer = daemon.client().await;

    let mut stream = watch(&mut watcher, "").await;
    let hello = next_event(&mut stream).await;
    assert_eq!(kind(&hello), EventKind::Snapshot);
    assert!(hello.project.is_empty());

    let project = path_str(&sandbox.project("first"));
    append(&mut writer, &project, Role::User, "hello").await;
    let event = next_event(&mut stream).await;
    assert_eq!(
        (event.project.as_str(), event.revision, kind(&event)),
        (project.as_str(), 1, EventKind::MessageAppended)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_of_one_project_ignores_other_projects() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut watcher = daemon.client().await;
    let mut writer = daemon.client().await;
    let mine = path_str(&sandbox.project("mine"));
    let other = path_str(&sandbox.project("other"));

    let mut stream = watch(&mut watcher, &mine).await;
    assert_eq!(kind(&next_event(&mut stream).await), EventKind::Snapshot);
    for i in 0..5 {
        append(&mut writer, &other, Role::User, &format!("noise {i}")).await;
    }
    save(&mut writer, &other, "noise", SaveMode::CreateNew).await;
    append(&mut writer, &mine, Role::User, "signal").await;

    let event = next_event(&mut stream).await;
    assert_eq!(event.project, mine);
    assert_eq!((event.revision, kind(&event)), (1, EventKind::MessageAppended));
    assert_eq!(event.message.map(|m| m.content).as_deref(), Some("signal"));
}
