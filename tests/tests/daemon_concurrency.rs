//! Optimistic concurrency between clients on separate connections: when
//! several mutations race with the same `expected_revision`, exactly one
//! wins and every other gets FAILED_PRECONDITION naming the new revision —
//! even when the daemon applies them in one group-commit batch.

use crate::common::{Client, append, message, path_str, working};
use chronicle_proto::v1::{AppendMessageRequest, AppendToMessageRequest, MutationAck, Role};
use chronicle_tests::Sandbox;
use tonic::{Code, Status};

async fn append_at(mut client: Client, project: String, content: String, expected: u64) -> Result<MutationAck, Status> {
    client
        .append_message(AppendMessageRequest {
            project,
            message: Some(message(Role::User, &content)),
            expected_revision: Some(expected),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Splits race results into the winners and the refused, checking that
/// every refusal is FAILED_PRECONDITION naming `new_revision`.
fn tally(results: Vec<(String, Result<MutationAck, Status>)>, new_revision: u64) -> Vec<(String, MutationAck)> {
    let mut winners = Vec::new();
    for (who, result) in results {
        match result {
            Ok(ack) => winners.push((who, ack)),
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{who}: {}", status.message());
                assert!(
                    status.message().contains(&format!("revision {new_revision}")),
                    "{who}: the refusal names the winner's revision {new_revision}: {}",
                    status.message()
                );
            }
        }
    }
    winners
}

#[tokio::test(flavor = "multi_thread")]
async fn two_clients_racing_on_one_revision_make_one_winner() {
    const ROUNDS: u64 = 25;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut reader = daemon.client().await;
    let a = daemon.client().await;
    let b = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    let mut winners = Vec::new();
    for round in 0..ROUNDS {
        let current = working(&mut reader, &project).await.revision;
        assert_eq!(current, round);
        let (from_a, from_b) = tokio::join!(
            append_at(a.clone(), project.clone(), format!("a{round}"), current),
            append_at(b.clone(), project.clone(), format!("b{round}"), current),
        );
        let won = tally(
            vec![(format!("a{round}"), from_a), (format!("b{round}"), from_b)],
            current + 1,
        );
        assert_eq!(won.len(), 1, "round {round}: exactly one winner, got {won:?}");
        let (who, ack) = won.into_iter().next().expect("one winner");
        assert_eq!(ack.revision, current + 1);
        winners.push(who);
    }

    let content = working(&mut reader, &project).await;
    assert_eq!(content.revision, ROUNDS, "only the winners' mutations happened");
    let stored: Vec<String> = content.messages.into_iter().map(|m| m.content).collect();
    assert_eq!(stored, winners, "exactly the winners' messages, in round order");
}

#[tokio::test(flavor = "multi_thread")]
async fn many_clients_racing_make_one_winner() {
    const CLIENTS: usize = 8;
    const ROUNDS: u64 = 5;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut reader = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(daemon.client().await);
    }

    for round in 0..ROUNDS {
        let tasks: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, client)| {
                let who = format!("client {i} round {round}");
                let task = tokio::spawn(append_at(client.clone(), project.clone(), who.clone(), round));
                (who, task)
            })
            .collect();
        let mut results = Vec::new();
        for (who, task) in tasks {
            results.push((who, task.await.expect("racing task")));
        }
        let won = tally(results, round + 1);
        assert_eq!(won.len(), 1, "round {round}: exactly one winner, got {won:?}");
    }
    let content = working(&mut reader, &project).await;
    assert_eq!(content.revision, ROUNDS);
    assert_eq!(content.messages.len() as u64, ROUNDS);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streaming_writer_and_an_editor_do_not_overwrite_each_other() {
    // One client streams deltas into a message while another appends and
    // edits elsewhere: unconditional mutations never lose each other.
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut reader = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let target = append(&mut reader, &project, Role::Assistant, "").await.message_id;

    let mut streamer = daemon.client().await;
    let stream_project = project.clone();
    let streaming = tokio::spawn(async move {
        for i in 0..30 {
            streamer
                .append_to_message(AppendToMessageRequest {
                    project: stream_project.clone(),
                    message_id: target,
                    delta: format!("<{i}>"),
                    expected_revision: None,
                })
                .await
                .expect("AppendToMessage");
        }
    });
    let mut other = daemon.client().await;
    for i in 0..30 {
        append(&mut other, &project, Role::User, &format!("other {i}")).await;
    }
    streaming.await.expect("streaming task");

    let content = working(&mut reader, &project).await;
    assert_eq!(content.revision, 1 + 30 + 30);
    let expected: String = (0..30).map(|i| format!("<{i}>")).collect();
    assert_eq!(content.messages[0].content, expected, "every delta, in order");
    assert_eq!(content.messages.len(), 31);
}
