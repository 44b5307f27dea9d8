//! `Mutate`: the working-session mutations, many on one stream. Each
//! request becomes the same checked change its own call would (see
//! [`super::sessions`]) and is answered once durable; requests run one at a
//! time, in order, inside the stream's own task, so a busy client pays
//! neither a call's setup nor a hand-off per mutation. The first failure
//! ends the stream with its status; shutdown ends it between requests.

use std::pin::Pin;

use chronicle_proto::v1::{MutateRequest, MutationAck, mutate_request::Mutation};
use futures_util::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::context::{Change, SessionsService};
use super::errors::invalid;
use super::sessions;
use crate::activity::StreamGuard;

pub(super) type Acks = Pin<Box<dyn Stream<Item = Result<MutationAck, Status>> + Send>>;

const RPC: &str = "Mutate";

/// What a stream carries from one request to the next.
struct Flow {
    svc: SessionsService,
    requests: Streaming<MutateRequest>,
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
        _open: svc.activity.stream(None),
    };
    let acks = futures_util::stream::unfold(Some(flow), |flow| async move {
        let mut flow = flow?;
        let next = tokio::select! {
            biased;
            () = flow.svc.shutdown.cancelled() => {
                return Some((Err(Status::unavailable("the daemon is shutting down — reconnect to the next instance and send the unanswered requests again")), None));
            }
            next = flow.requests.message() => next,
        };
        let request = match next {
            Ok(Some(request)) => request,
            // The client has sent everything and heard every answer.
            Ok(None) => return None,
            Err(status) => return Some((Err(status), None)),
        };
        match change(request) {
            Ok(change) => match flow.svc.apply(change).await {
                Ok(ack) => Some((Ok(ack), Some(flow))),
                Err(status) => Some((Err(status), None)),
            },
            Err(status) => Some((Err(status), None)),
        }
    });
    Ok(Response::new(Box::pin(acks)))
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
