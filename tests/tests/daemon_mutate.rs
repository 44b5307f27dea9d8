//! `Mutate` through the real socket: many working-session mutations on one
//! stream, each acknowledged once durable with the revision its own call
//! would have given, pushed to `Watch` like any other; the first refused
//! request ends the stream with its call's status and nothing after it is
//! applied; a request without a mutation is refused; shutdown ends an open
//! stream with UNAVAILABLE instead of waiting for it.

use std::time::Duration;

use chronicle_client::ErrorKind;
use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, Event, EventKind, MutateRequest, Role, UpdateMessageRequest,
    mutate_request::Mutation,
};
use chronicle_tests::Sandbox;
use tonic::{Code, Streaming};

use crate::common::{append, file, message, next_event, path_str, watch, working};

/// Only a guard against a hung test, never a measurement.
const WAIT: Duration = Duration::from_secs(15);

fn append_request(project: &str, content: &str, expected_revision: Option<u64>) -> MutateRequest {
    MutateRequest {
        mutation: Some(Mutation::AppendMessage(AppendMessageRequest {
            project: project.to_owned(),
            message: Some(message(Role::User, content)),
            expected_revision,
        })),
    }
}

/// A `Watch` of `project`, past its SNAPSHOT.
async fn watching(daemon: &chronicle_tests::Daemon, project: &str) -> Streaming<Event> {
    let mut events = watch(&mut daemon.client().await, project).await;
    assert_eq!(next_event(&mut events).await.kind, EventKind::Snapshot as i32);
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn each_mutation_on_the_stream_is_acknowledged_in_order_durable_and_watched() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let project = path_str(&sandbox.project("app"));
    let mut events = watching(&daemon, &project).await;

    let client = daemon.typed_client().await;
    let mut stream = client.mutations().await.expect("a Mutate stream opens");
    let question = stream
        .append(&project, message(Role::User, "why does login fail?"), Some(0))
        .await
        .expect("first append");
    let answer = stream
        .append(&project, message(Role::Assistant, "The hash"), None)
        .await
        .expect("second append");
    let streamed = stream
        .append_to(&project, answer.message_id, " check compares the wrong field.", None)
        .await
        .expect("streamed output");
    let files = stream
        .send(Mutation::AddContextFiles(AddContextFilesRequest {
            project: project.clone(),
            files: vec![file("src/login.rs", false)],
            expected_revision: Some(3),
        }))
        .await
        .expect("context files");
    let mut edited = message(Role::User, "why does login fail on Safari?");
    edited.id = question.message_id;
    let update = stream
        .send(Mutation::UpdateMessage(UpdateMessageRequest {
            project: project.clone(),
            message: Some(edited),
            expected_revision: None,
        }))
        .await
        .expect("update");
    stream.close().await.expect("the stream ends cleanly");

    let revisions: Vec<u64> = [&question, &answer, &streamed, &files, &update]
        .iter()
        .map(|ack| ack.revision)
        .collect();
    assert_eq!(revisions, [1, 2, 3, 4, 5], "one revision per mutation, contiguous");
    assert_eq!(streamed.message_id, answer.message_id);
    assert_eq!(update.message_id, question.message_id);

    // Every mutation reached the watcher, in order, as its own call's would.
    let expected = [
        (1, EventKind::MessageAppended),
        (2, EventKind::MessageAppended),
        (3, EventKind::MessageUpdated),
        (4, EventKind::FilesChanged),
        (5, EventKind::MessageUpdated),
    ];
    for (revision, kind) in expected {
        let event = next_event(&mut events).await;
        assert_eq!((event.revision, event.kind), (revision, kind as i32), "{event:?}");
    }

    // Acknowledged means durable: a crash right after loses nothing.
    daemon.crash();
    let daemon = sandbox.start();
    let mut reader = daemon.client().await;
    let session = working(&mut reader, &project).await;
    assert_eq!(session.revision, 5);
    let texts: Vec<&str> = session.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        texts,
        [
            "why does login fail on Safari?",
            "The hash check compares the wrong field."
        ]
    );
    let paths: Vec<&str> = session.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["src/login.rs"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_refused_request_ends_the_stream_and_nothing_sent_after_it_is_applied() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let project = path_str(&sandbox.project("app"));
    let mut client = daemon.client().await;

    // All three are sent before any answer: the daemon must stop at the
    // second, whose expected revision is stale.
    let requests = vec![
        append_request(&project, "kept", Some(0)),
        append_request(&project, "stale", Some(0)),
        append_request(&project, "never applied", None),
    ];
    let mut acks = client
        .mutate(tokio_stream::iter(requests))
        .await
        .expect("Mutate opens")
        .into_inner();
    let first = acks.message().await.expect("first answered").expect("an ack");
    assert_eq!(first.revision, 1);
    let refused = acks.message().await.expect_err("the stale request is refused");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{}", refused.message());
    assert!(
        matches!(acks.message().await, Ok(None) | Err(_)),
        "nothing is answered after the refusal"
    );
    let session = working(&mut client, &project).await;
    let texts: Vec<&str> = session.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!((session.revision, texts), (1, vec!["kept"]));

    // The typed client reports the refusal, then keeps refusing: the
    // stream is over, and a new one carries on.
    let typed = daemon.typed_client().await;
    let mut stream = typed.mutations().await.expect("a Mutate stream opens");
    let err = stream
        .append("relative/path", message(Role::User, "x"), None)
        .await
        .expect_err("a relative project is refused");
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.message().contains("relative/path"), "{}", err.message());
    let again = stream
        .append(&project, message(Role::User, "after the refusal"), None)
        .await
        .expect_err("the ended stream applies nothing more");
    assert_eq!(again.message(), err.message());
    let mut fresh = typed.mutations().await.expect("another stream opens");
    let ack = fresh
        .append(&project, message(Role::User, "on a new stream"), None)
        .await
        .expect("a new stream works");
    assert_eq!(ack.revision, 2);
    let session = working(&mut client, &project).await;
    assert_eq!(session.messages.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_without_a_mutation_is_refused_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let project = path_str(&sandbox.project("app"));
    let mut client = daemon.client().await;
    append(&mut client, &project, Role::User, "before").await;

    let mut acks = client
        .mutate(tokio_stream::iter(vec![MutateRequest { mutation: None }]))
        .await
        .expect("Mutate opens")
        .into_inner();
    let refused = acks.message().await.expect_err("an empty request is refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("append_message"), "{}", refused.message());
    let session = working(&mut client, &project).await;
    assert_eq!((session.revision, session.messages.len()), (1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_an_open_mutate_stream_with_unavailable() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let project = path_str(&sandbox.project("app"));
    let client = daemon.typed_client().await;
    let mut stream = client.mutations().await.expect("a Mutate stream opens");
    stream
        .append(&project, message(Role::User, "before the stop"), None)
        .await
        .expect("append");

    let status = daemon.stop();
    assert_eq!(status.code(), Some(0), "an open Mutate must not keep the daemon alive");
    let err = tokio::time::timeout(WAIT, stream.append(&project, message(Role::User, "too late"), None))
        .await
        .expect("the stream answers once the daemon is gone")
        .expect_err("nothing is applied after shutdown");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{}", err.message());

    let daemon = sandbox.start();
    let mut reader = daemon.client().await;
    let session = working(&mut reader, &project).await;
    let texts: Vec<&str> = session.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["before the stop"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_sent_without_waiting_are_answered_in_order_and_a_refusal_among_them_stops_the_rest() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let project = path_str(&sandbox.project("app"));
    let mut events = watching(&daemon, &project).await;

    // A burst sent before any answer, as a frontend streaming output would:
    // 100 appends, each expecting the revision the one before it makes,
    // then a stale one, then more that must never be applied.
    let mut requests: Vec<MutateRequest> = (0..100)
        .map(|n| append_request(&project, &format!("line {n}"), Some(n)))
        .collect();
    requests.push(append_request(&project, "stale", Some(0)));
    requests.extend((0..20).map(|n| append_request(&project, &format!("never {n}"), None)));
    let mut client = daemon.client().await;
    let mut acks = client
        .mutate(tokio_stream::iter(requests))
        .await
        .expect("Mutate opens")
        .into_inner();
    let mut answered = Vec::new();
    let refused = loop {
        match tokio::time::timeout(WAIT, acks.message()).await.expect("an answer") {
            Ok(Some(ack)) => answered.push(ack),
            Ok(None) => panic!("the stream ended without refusing the stale request"),
            Err(status) => break status,
        }
    };
    assert_eq!(refused.code(), Code::FailedPrecondition, "{}", refused.message());
    let revisions: Vec<u64> = answered.iter().map(|ack| ack.revision).collect();
    assert_eq!(
        revisions,
        (1..=100).collect::<Vec<u64>>(),
        "one ack per request, in order"
    );
    assert!(
        answered.windows(2).all(|w| w[0].message_id < w[1].message_id),
        "each append got a new message, in order"
    );
    for revision in 1..=100u64 {
        let event = next_event(&mut events).await;
        assert_eq!(
            (event.revision, event.kind),
            (revision, EventKind::MessageAppended as i32),
            "{event:?}"
        );
    }

    // Durable as acknowledged, and nothing after the refusal applied.
    daemon.crash();
    let daemon = sandbox.start();
    let mut reader = daemon.client().await;
    let session = working(&mut reader, &project).await;
    assert_eq!(session.revision, 100);
    let texts: Vec<String> = session.messages.iter().map(|m| m.content.clone()).collect();
    assert_eq!(texts, (0..100).map(|n| format!("line {n}")).collect::<Vec<_>>());

    // A request without a mutation among others sent at once: those
    // before it stand, those after it are not applied.
    let requests = vec![
        append_request(&project, "kept too", None),
        MutateRequest { mutation: None },
        append_request(&project, "never", None),
    ];
    let mut acks = reader
        .mutate(tokio_stream::iter(requests))
        .await
        .expect("Mutate opens")
        .into_inner();
    let kept = acks.message().await.expect("answered").expect("an ack");
    assert_eq!(kept.revision, 101);
    let refused = acks.message().await.expect_err("the empty request is refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{}", refused.message());
    let session = working(&mut reader, &project).await;
    assert_eq!((session.revision, session.messages.len()), (101, 101));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typed_client_sends_a_burst_and_hears_one_answer_per_mutation() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let project = path_str(&sandbox.project("app"));
    let typed = daemon.typed_client().await;
    let mut stream = typed.mutations().await.expect("a Mutate stream opens");
    let burst = |texts: &[&str], expected: Option<u64>| -> Vec<Mutation> {
        texts
            .iter()
            .map(|text| {
                Mutation::AppendMessage(AppendMessageRequest {
                    project: project.clone(),
                    message: Some(message(Role::Assistant, text)),
                    expected_revision: expected,
                })
            })
            .collect()
    };
    let answers = stream.send_all(burst(&["one", "two", "three"], None)).await;
    let revisions: Vec<u64> = answers
        .iter()
        .map(|answer| answer.as_ref().expect("acknowledged").revision)
        .collect();
    assert_eq!(revisions, [1, 2, 3]);

    // The second of the next burst is stale: it and the third get its
    // error, and only the first is applied.
    let mut next = burst(&["four"], Some(3));
    next.extend(burst(&["stale", "after"], Some(3)));
    let answers = stream.send_all(next).await;
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0].as_ref().expect("the first stands").revision, 4);
    let refused = answers[1].as_ref().expect_err("the stale one is refused");
    assert_eq!(refused.code(), Some(Code::FailedPrecondition), "{}", refused.message());
    let after = answers[2].as_ref().expect_err("the one after it is not applied");
    assert_eq!(after.message(), refused.message());

    // A burst far larger than the transport's windows, refused at its
    // first mutation: the answers come back without waiting for the rest
    // to be sent.
    let mut stream = typed.mutations().await.expect("another stream opens");
    let mut large = burst(&["stale"], Some(0));
    let filler = vec!["x".repeat(2048); 3000];
    large.extend(burst(&filler.iter().map(String::as_str).collect::<Vec<_>>(), None));
    let answers = tokio::time::timeout(WAIT, stream.send_all(large))
        .await
        .expect("a refused burst is answered at once");
    assert_eq!(answers.len(), 3001);
    assert!(
        answers.iter().all(Result::is_err),
        "nothing after the refusal is acknowledged"
    );

    let mut client = daemon.client().await;
    let session = working(&mut client, &project).await;
    let texts: Vec<&str> = session.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!((session.revision, texts), (4, vec!["one", "two", "three", "four"]));
}
