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
        if let Some(err) = &self.ended {
            return Err(err.clone());
        }
        let request = MutateRequest {
            mutation: Some(mutation),
        };
        // A closed request side means the daemon ended the stream: its
        // answer below says why.
        let _ = self.requests.send(request).await;
        let answer = match self.acks.message().await {
            Ok(Some(ack)) => return Ok(ack),
            Ok(None) => Error::unavailable(
                "the daemon ended the mutation stream without answering — open a new one and send the mutation again",
            ),
            Err(status) => Error::from(status),
        };
        self.ended = Some(answer.clone());
        Err(answer)
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
