//! Crash safety: three writers, each on its own project, append, update,
//! delete and save as fast as they can (so group-commit batches hold
//! several of their jobs) while the daemon is killed with SIGKILL at a
//! random moment, 50 times over one data directory. After every restart
//! each acknowledged mutation is there and correct — saved sessions
//! compared message by message — each project's revision is exactly the
//! one its last answer gave (Save's too, from the answer), and nothing
//! unacknowledged appears but the one call each writer had in flight.
//! Guards the "durable before ack" invariant end to end; the page cache
//! survives a killed process, so power loss is the store's power-cut test.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chronicle_proto::{
    SessionsClient,
    v1::{
        AppendMessageRequest, AppendToMessageRequest, DeleteMessagesRequest, ListSessionsRequest, Message, Role,
        SaveSessionRequest, UpdateMessageRequest,
    },
};
use chronicle_tests::Sandbox;
use tonic::transport::Channel;

use crate::common::{Session, pages};

const ITERATIONS: u64 = 50;
const WRITERS: usize = 3;

/// A small deterministic generator, so a failing iteration can be replayed
/// from the seed it prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Append(String),
    AppendTo(u64, String),
    Update(u64, String),
    Delete(u64),
    Save(String),
}

/// What the daemon has acknowledged so far.
#[derive(Clone, Debug, Default)]
struct Model {
    revision: u64,
    messages: BTreeMap<u64, String>,
    /// Each saved session's messages, as they were when it was saved.
    saved: BTreeMap<String, BTreeMap<u64, String>>,
    /// The id the daemon gives the next message (ids are never reused, so
    /// this is not simply the last id plus one).
    next_id: u64,
}

/// The part of the model the daemon can be asked about.
type Visible = (u64, BTreeMap<u64, String>, BTreeMap<String, BTreeMap<u64, String>>);

impl Model {
    fn visible(&self) -> Visible {
        (self.revision, self.messages.clone(), self.saved.clone())
    }
}

impl Model {
    /// Applies `op`, acknowledged with `revision` (and `message_id` for an
    /// append), or — for the in-flight call — as the daemon would have.
    fn apply(&mut self, op: &Op, revision: u64, message_id: Option<u64>) {
        match op {
            Op::Append(text) => {
                let id = message_id.unwrap_or(self.next_id.max(1));
                self.messages.insert(id, text.clone());
                self.next_id = id + 1;
            }
            Op::AppendTo(id, delta) => {
                if let Some(text) = self.messages.get_mut(id) {
                    text.push_str(delta);
                }
            }
            Op::Update(id, text) => {
                self.messages.insert(*id, text.clone());
            }
            Op::Delete(id) => {
                self.messages.remove(id);
            }
            Op::Save(name) => {
                self.saved.insert(name.clone(), self.messages.clone());
            }
        }
        self.revision = revision;
    }
}

async fn read_back(client: &mut SessionsClient<Channel>, project: &str) -> Model {
    let mut model = Model::default();
    for page in pages(client, project, Session::Working, 0).await {
        model.revision = page.revision;
        for message in &page.messages {
            model.messages.insert(message.id, message.content.clone());
        }
    }
    let sessions = client
        .list_sessions(ListSessionsRequest {
            project: project.to_owned(),
        })
        .await
        .expect("list sessions")
        .into_inner()
        .sessions;
    for session in sessions {
        let mut messages = BTreeMap::new();
        for page in pages(client, project, Session::Saved(&session.name), 0).await {
            for message in page.messages {
                messages.insert(message.id, message.content);
            }
        }
        assert_eq!(
            messages.len() as u64,
            session.message_count,
            "saved session {:?}: its listing counts its messages",
            session.name
        );
        model.saved.insert(session.name, messages);
    }
    model
}

/// Runs mutations until the connection breaks; returns the call that was
/// in flight when it did.
async fn write_until_killed(
    mut client: SessionsClient<Channel>,
    project: String,
    model: Arc<Mutex<Model>>,
    seed: u64,
) -> Option<Op> {
    let mut rng = Rng(seed | 1);
    let mut serial = 0u64;
    loop {
        serial += 1;
        let (ids, revision) = {
            let m = model.lock().expect("model lock");
            (m.messages.keys().copied().collect::<Vec<_>>(), m.revision)
        };
        let pick = |rng: &mut Rng| ids.get(rng.below(ids.len() as u64) as usize).copied();
        let op = match (rng.below(100), pick(&mut rng)) {
            (0..=64, _) | (_, None) => Op::Append(format!(
                "seed {seed} message {serial} {}",
                "x".repeat(rng.below(300) as usize)
            )),
            (65..=74, Some(id)) => Op::Update(id, format!("updated {serial}")),
            (75..=84, Some(id)) => Op::Delete(id),
            (85..=92, Some(id)) => Op::AppendTo(id, format!(" +{serial}")),
            (_, Some(_)) => Op::Save(format!("save {seed}-{serial}")),
        };
        let expected_revision = Some(revision);
        let message = |text: &str| Message {
            role: Role::User as i32,
            content: text.to_owned(),
            ..Message::default()
        };
        let result = match &op {
            Op::Append(text) => client
                .append_message(AppendMessageRequest {
                    project: project.clone(),
                    message: Some(message(text)),
                    expected_revision,
                })
                .await
                .map(|r| (r.get_ref().revision, Some(r.get_ref().message_id))),
            Op::AppendTo(id, delta) => client
                .append_to_message(AppendToMessageRequest {
                    project: project.clone(),
                    message_id: *id,
                    delta: delta.clone(),
                    expected_revision,
                })
                .await
                .map(|r| (r.get_ref().revision, None)),
            Op::Update(id, text) => {
                let mut updated = message(text);
                updated.id = *id;
                client
                    .update_message(UpdateMessageRequest {
                        project: project.clone(),
                        message: Some(updated),
                        expected_revision,
                    })
                    .await
                    .map(|r| (r.get_ref().revision, None))
            }
            Op::Delete(id) => client
                .delete_messages(DeleteMessagesRequest {
                    project: project.clone(),
                    message_id: *id,
                    truncate_after: false,
                    expected_revision,
                })
                .await
                .map(|r| (r.get_ref().revision, None)),
            Op::Save(name) => client
                .save_session(SaveSessionRequest {
                    project: project.clone(),
                    name: name.clone(),
                    mode: 0,
                    expected_revision,
                })
                .await
                .map(|r| (r.get_ref().revision, None)),
        };
        match result {
            Ok((acked_revision, message_id)) => {
                assert_eq!(
                    acked_revision,
                    revision + 1,
                    "each acknowledged mutation bumps the revision by one"
                );
                model.lock().expect("model lock").apply(&op, acked_revision, message_id);
            }
            Err(status) => {
                assert!(
                    matches!(
                        status.code(),
                        tonic::Code::Unavailable
                            | tonic::Code::Unknown
                            | tonic::Code::Cancelled
                            | tonic::Code::Internal
                    ),
                    "only the crash may fail a call: {status:?}"
                );
                return Some(op);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_mutation_survives_sigkill() {
    let sandbox = Sandbox::new();
    let projects: Vec<String> = (0..WRITERS)
        .map(|w| sandbox.project(&format!("crash-{w}")).display().to_string())
        .collect();
    let models: Vec<Arc<Mutex<Model>>> = (0..WRITERS).map(|_| Arc::default()).collect();
    let mut rng = Rng(0x5eed_c0ff_ee00_0001);
    let mut in_flight_applied = 0;
    for iteration in 0..ITERATIONS {
        let daemon = sandbox.start();
        let mut reader = daemon.client().await;
        for (project, model) in projects.iter().zip(&models) {
            let before = model.lock().expect("model lock").clone();
            let found = read_back(&mut reader, project).await;
            assert_eq!(
                found.visible(),
                before.visible(),
                "iteration {iteration}: {project} after restart"
            );
        }
        drop(reader);

        let mut writers = Vec::new();
        let mut seeds = Vec::new();
        for (project, model) in projects.iter().zip(&models) {
            let seed = rng.next();
            seeds.push(seed);
            writers.push(tokio::spawn(write_until_killed(
                daemon.client().await,
                project.clone(),
                model.clone(),
                seed,
            )));
        }
        tokio::time::sleep(Duration::from_millis(20 + rng.below(120))).await;
        daemon.crash();
        let mut in_flight = Vec::new();
        for writer in writers {
            in_flight.push(writer.await.expect("writer task"));
        }

        // Restart and compare: either a writer's in-flight call never
        // committed, or it did, completely.
        let daemon = sandbox.start();
        let mut reader = daemon.client().await;
        for (w, (project, model)) in projects.iter().zip(&models).enumerate() {
            let seed = seeds[w];
            let found = read_back(&mut reader, project).await;
            let mut acknowledged = model.lock().expect("model lock").clone();
            if found.visible() != acknowledged.visible() {
                let op = in_flight[w].clone().unwrap_or_else(|| {
                    panic!("iteration {iteration} (seed {seed}): {project} differs with nothing in flight")
                });
                let mut with_in_flight = acknowledged.clone();
                with_in_flight.apply(&op, acknowledged.revision + 1, None);
                assert_eq!(
                    found.visible(),
                    with_in_flight.visible(),
                    "iteration {iteration} (seed {seed}): only the in-flight {op:?} may appear in {project}"
                );
                acknowledged = with_in_flight;
                in_flight_applied += 1;
            }
            *model.lock().expect("model lock") = acknowledged;
        }
        drop(reader);
        daemon.crash();
    }
    let (mut revisions, mut messages, mut saved, mut saved_messages) = (0, 0, 0, 0);
    for model in &models {
        let model = model.lock().expect("model lock");
        assert!(model.revision > ITERATIONS, "every writer made progress");
        revisions += model.revision;
        messages += model.messages.len();
        saved += model.saved.len();
        saved_messages += model.saved.values().map(BTreeMap::len).sum::<usize>();
    }
    eprintln!(
        "{ITERATIONS} crashes survived by {WRITERS} concurrent writers: {revisions} revisions, {messages} messages, {saved} saved sessions holding {saved_messages} messages compared one by one, {in_flight_applied} in-flight calls found committed"
    );
}
