//! [`Mutations`]: one `Mutate` stream, over which a frontend that writes
//! often (streamed assistant output, an agent appending turn after turn)
//! sends its working-session mutations one after another. Each is
//! answered, once durable, with the same acknowledgement its own call
//! gives, without paying a call's setup each time.

use chronicle_proto::v1::{
    AppendMessageRequest, AppendToMessageRequest, Message, MutateRequest, MutationAck, mutate_request::Mutation,
};
use tokio::sync::mpsc;
use tonic::Streaming;

use crate::Error;

/// An open `Mutate` stream (see [`crate::Client::mutations`]). The first
/// mutation the daemon refuses ends the stream: that one and every later
/// one fail with its error, while every mutation acknowledged before it
/// stands. Open another stream to go on.
#[derive(Debug)]
pub struct Mutations {
    requests: mpsc::Sender<MutateRequest>,
    acks: Streaming<MutationAck>,
    /// Why the stream ended, once it has.
    ended: Option<Error>,
}

impl Mutations {
    pub(crate) fn new(requests: mpsc::Sender<MutateRequest>, acks: Streaming<MutationAck>) -> Mutations {
        Mutations {
            requests,
            acks,
            ended: None,
        }
    }

    pub async fn append(
        &mut self,
        project: &str,
        message: Message,
        expected_revision: Option<u64>,
    ) -> Result<MutationAck, Error> {
        self.send(Mutation::AppendMessage(AppendMessageRequest {
            project: project.to_owned(),
            message: Some(message),
            expected_revision,
        }))
        .await
    }

    /// Appends `delta` to message `message_id` (streamed assistant output).
    pub async fn append_to(
        &mut self,
        project: &str,
        message_id: u64,
        delta: &str,
        expected_revision: Option<u64>,
    ) -> Result<MutationAck, Error> {
        self.send(Mutation::AppendToMessage(AppendToMessageRequest {
            project: project.to_owned(),
            message_id,
            delta: delta.to_owned(),
            expected_revision,
        }))
        .await
    }

    /// Sends any working-session mutation and waits until it is durable.
    pub async fn send(&mut self, mutation: Mutation) -> Result<MutationAck, Error> {
        // One mutation gets exactly one answer.
        let mut answers = self.send_all([mutation]).await;
        answers
            .pop()
            .unwrap_or_else(|| Err(Error::refused("the daemon gave no answer")))
    }

    /// Sends every mutation without waiting for answers in between, then
    /// returns one answer per mutation, in order. The daemon commits what
    /// has arrived together (one sync for a burst), each mutation applied
    /// only if none before it was refused; a refused one and every one
    /// after it get its error, and those after it were not applied.
    pub async fn send_all(&mut self, mutations: impl IntoIterator<Item = Mutation>) -> Vec<Result<MutationAck, Error>> {
        let requests: Vec<MutateRequest> = mutations
            .into_iter()
            .map(|mutation| MutateRequest {
                mutation: Some(mutation),
            })
            .collect();
        let count = requests.len();
        if let Some(err) = &self.ended {
            return vec![Err(err.clone()); count];
        }
        let sender = self.requests.clone();
        // Sent while the answers are read: a burst larger than the
        // transport's windows must not wait for answers nobody reads.
        let sending = async move {
            for request in requests {
                // A closed side means the daemon ended the stream; the
                // answers say why.
                if sender.send(request).await.is_err() {
                    break;
                }
            }
        };
        let receiving = async {
            let mut answers = Vec::with_capacity(count);
            while answers.len() < count {
                let answer = match self.acks.message().await {
                    Ok(Some(ack)) => {
                        answers.push(Ok(ack));
                        continue;
                    }
                    Ok(None) => Error::unavailable(
                        "the daemon ended the mutation stream without answering — open a new one and send the unanswered mutations again",
                    ),
                    Err(status) => Error::from(status),
                };
                answers.resize(count, Err(answer.clone()));
                self.ended = Some(answer);
            }
            answers
        };
        tokio::pin!(sending, receiving);
        let mut sent = false;
        loop {
            tokio::select! {
                // Once every answer is in (or the stream has ended), what
                // is left unsent is dropped rather than waited for.
                answers = &mut receiving => return answers,
                () = &mut sending, if !sent => sent = true,
            }
        }
    }

    /// Ends the stream once every mutation sent is answered, and reports
    /// whether it ended cleanly.
    pub async fn close(mut self) -> Result<(), Error> {
        if let Some(err) = self.ended {
            return Err(err);
        }
        drop(self.requests);
        match self.acks.message().await? {
            None => Ok(()),
            Some(_) => Err(Error::refused(
                "the daemon answered a mutation that was never sent — the stream is out of step",
            )),
        }
    }
}
