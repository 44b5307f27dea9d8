//! Group commit through the real daemon: 64 clients appending at once share
//! write transactions, yet every acknowledged message is stored exactly
//! once, each client's messages keep their order, and the revisions handed
//! out are exactly 1..=N with no gap and no repeat.

use std::collections::{BTreeSet, HashMap};

use chronicle_proto::v1::{AppendMessageRequest, Message, Role};
use chronicle_tests::Sandbox;

use crate::common::{Session, pages};

const CLIENTS: usize = 64;
const PER_CLIENT: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_lose_nothing_and_keep_order() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let project = sandbox.project("group").display().to_string();

    let mut tasks = tokio::task::JoinSet::new();
    for client_no in 0..CLIENTS {
        let mut client = daemon.client().await;
        let project = project.clone();
        tasks.spawn(async move {
            let mut acks = Vec::with_capacity(PER_CLIENT);
            for i in 0..PER_CLIENT {
                let message = Message {
                    role: Role::User as i32,
                    content: format!("client {client_no} message {i}"),
                    ..Message::default()
                };
                let request = AppendMessageRequest {
                    project: project.clone(),
                    message: Some(message),
                    expected_revision: None,
                };
                let ack = client
                    .append_message(request)
                    .await
                    .expect("append acknowledged")
                    .into_inner();
                acks.push((i, ack.revision, ack.message_id));
            }
            (client_no, acks)
        });
    }
    let mut acked: HashMap<u64, (usize, usize)> = HashMap::new();
    let mut revisions = BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        let (client_no, acks) = done.expect("appender task");
        let mut last_id = 0;
        for (i, revision, message_id) in acks {
            assert!(message_id > last_id, "client {client_no}: ids follow its own order");
            last_id = message_id;
            assert!(revisions.insert(revision), "revision {revision} handed out twice");
            assert!(
                acked.insert(message_id, (client_no, i)).is_none(),
                "message id {message_id} handed out twice"
            );
        }
    }
    let total = (CLIENTS * PER_CLIENT) as u64;
    assert_eq!(
        revisions,
        (1..=total).collect::<BTreeSet<_>>(),
        "revisions are exactly 1..=N"
    );

    // Read everything back: each acknowledged message once, with its content.
    let mut client = daemon.client().await;
    let mut stored = Vec::new();
    for page in pages(&mut client, &project, Session::Working, 0).await {
        assert_eq!(page.revision, total);
        stored.extend(page.messages);
    }
    assert_eq!(stored.len() as u64, total);
    let mut per_client: HashMap<usize, Vec<usize>> = HashMap::new();
    for message in &stored {
        let (client_no, i) = acked
            .get(&message.id)
            .copied()
            .expect("every stored message was acknowledged");
        assert_eq!(message.content, format!("client {client_no} message {i}"));
        per_client.entry(client_no).or_default().push(i);
    }
    for (client_no, order) in per_client {
        assert_eq!(
            order,
            (0..PER_CLIENT).collect::<Vec<_>>(),
            "client {client_no}'s messages in its own order"
        );
    }
}
