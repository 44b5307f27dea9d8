//! `Mutate`: the working-session mutations, many on one stream. Each
//! request becomes the same checked change its own call would (see
//! [`super::sessions`]) and is answered once durable, in order, inside the
//! stream's own task, so a busy client pays neither a call's setup nor a
//! hand-off per mutation. Requests a client sends without waiting for
//! their answers are taken together, as far as they have arrived, and
//! committed as one chain: one sync for all, each applied only if none
//! before it was refused. The first failure ends the stream with its
//! status; shutdown ends it between requests.

use std::{collections::VecDeque, pin::Pin};

use chronicle_proto::v1::{MutateRequest, MutationAck, mutate_request::Mutation};
use futures_util::{FutureExt, Stream};
use tonic::{Request, Response, Status, Streaming};

use super::context::{Change, SessionsService};
use super::errors::invalid;
use super::sessions;
use crate::activity::StreamGuard;

pub(super) type Acks = Pin<Box<dyn Stream<Item = Result<MutationAck, Status>> + Send>>;

const RPC: &str = "Mutate";

/// Most requests that have already arrived taken into one chain: enough
/// for a client's burst to share one sync, few enough that their answers
/// start soon.
const MAX_CHAIN: usize = 64;

/// What a stream carries from one request to the next.
struct Flow {
    svc: SessionsService,
    requests: Streaming<MutateRequest>,
    /// Answers decided and not yet sent, in order. After an error nothing
    /// more is read.
    answers: VecDeque<Result<MutationAck, Status>>,
    /// The client closed its side (or the transport failed) while a chain
    /// was gathered: end once `answers` is sent.
    ended: Option<Result<(), Status>>,
    /// Counts the stream as open (the daemon is not idle meanwhile).
    _open: StreamGuard,
}

pub(super) async fn mutate(
    svc: &SessionsService,
    request: Request<Streaming<MutateRequest>>,
) -> Result<Response<Acks>, Status> {
    let flow = Flow {
        svc: svc.clone(),
        requests: request.into_inner(),
        answers: VecDeque::new(),
        ended: None,
        _open: svc.activity.stream(None),
    };
    let acks = futures_util::stream::unfold(Some(flow), |flow| async move {
        let mut flow = flow?;
        if flow.answers.is_empty() {
            match flow.ended.take() {
                Some(Ok(())) => return None,
                Some(Err(status)) => return Some((Err(status), None)),
                None => {}
            }
            let first = tokio::select! {
                biased;
                () = flow.svc.shutdown.cancelled() => {
                    return Some((Err(Status::unavailable("the daemon is shutting down — reconnect to the next instance and send the unanswered requests again")), None));
                }
                next = flow.requests.message() => next,
            };
            match first {
                Ok(Some(request)) => flow.run_chain(request).await,
                // The client has sent everything and heard every answer.
                Ok(None) => return None,
                Err(status) => return Some((Err(status), None)),
            }
        }
        match flow.answers.pop_front()? {
            Ok(ack) => Some((Ok(ack), Some(flow))),
            Err(status) => Some((Err(status), None)),
        }
    });
    Ok(Response::new(Box::pin(acks)))
}

impl Flow {
    /// Takes `first` and the requests that arrived behind it, runs them as
    /// one chain and queues their answers (ending with the first refusal).
    async fn run_chain(&mut self, first: MutateRequest) {
        let mut changes = Vec::new();
        let mut refused = None;
        let mut next = Some(first);
        while let Some(request) = next.take() {
            match change(request) {
                Ok(change) => changes.push(change),
                Err(status) => {
                    refused = Some(status);
                    break;
                }
            }
            if changes.len() == MAX_CHAIN {
                break;
            }
            // Only what has already arrived: a client waiting for an
            // answer before it sends more must get it now.
            match self.requests.message().now_or_never() {
                Some(Ok(Some(request))) => next = Some(request),
                Some(Ok(None)) => self.ended = Some(Ok(())),
                Some(Err(status)) => self.ended = Some(Err(status)),
                None => {}
            }
        }
        if !changes.is_empty() {
            let answers = self.svc.apply_chain(changes).await;
            if answers.iter().any(Result::is_err) {
                refused = None;
            }
            self.answers.extend(answers);
        }
        if let Some(status) = refused {
            self.answers.push_back(Err(status));
        }
    }
}

/// The checked change a request asks for.
fn change(request: MutateRequest) -> Result<Change, Status> {
    match request.mutation {
        Some(Mutation::AppendMessage(req)) => sessions::append_message(req),
        Some(Mutation::AppendToMessage(req)) => sessions::append_to_message(req),
        Some(Mutation::UpdateMessage(req)) => sessions::update_message(req),
        Some(Mutation::DeleteMessages(req)) => sessions::delete_messages(req),
        Some(Mutation::ClearMessages(req)) => sessions::clear_messages(req),
        Some(Mutation::AddContextFiles(req)) => sessions::add_context_files(req),
        Some(Mutation::RemoveContextFiles(req)) => sessions::remove_context_files(req),
        Some(Mutation::SetContextFiles(req)) => sessions::set_context_files(req),
        None => Err(invalid(
            RPC,
            "the request carries no mutation — set one of append_message, append_to_message, update_message, delete_messages, clear_messages, add_context_files, remove_context_files or set_context_files",
        )),
    }
}
