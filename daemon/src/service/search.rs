//! Search, fork and rewind: `Search` reads the index (the `search`
//! module decides what matches); `ForkSession` and `RewindWorking` are
//! ordinary store mutations.

use chronicle_proto::v1::{
    ForkSessionRequest, MutationAck, RewindWorkingRequest, SearchRequest, SearchResponse, SessionInfo,
};
use tonic::{Request, Response, Status};

use super::context::{Change, SessionsService, project, session_info, session_name};
use super::errors::{fail, invalid, stream_failure};
use crate::search::{IndexError, SearchParams};
use crate::store::{Mutation, StoreError};

pub(super) async fn search(
    svc: &SessionsService,
    request: Request<SearchRequest>,
) -> Result<Response<SearchResponse>, Status> {
    const RPC: &str = "Search";
    let req = request.into_inner();
    let scope = match req.project.as_str() {
        "" => None,
        raw => Some(project(RPC, raw)?),
    };
    let index = svc.search.clone();
    let page = tokio::task::spawn_blocking(move || {
        index.search(&SearchParams {
            query: &req.query,
            project: scope.as_ref().map(|p| p.as_str()),
            include_trash: req.include_trash,
            limit: req.limit,
            page_token: &req.page_token,
        })
    })
    .await
    .map_err(|err| stream_failure(RPC, format!("the search did not finish: {err}")))?;
    let page = page.map_err(|err| match err {
        IndexError::Query(err) => invalid(RPC, err.to_string()),
        IndexError::PageToken(_) => invalid(RPC, err.to_string()),
        IndexError::Disabled => fail(RPC, StoreError::Conflict(err.to_string())),
        IndexError::Store(err) => fail(RPC, err),
        other => stream_failure(RPC, other.to_string()),
    })?;
    Ok(Response::new(SearchResponse {
        hits: page.hits,
        next_page_token: page.next_page_token,
        total_hits: page.total_hits,
        index_catching_up: page.catching_up,
    }))
}

pub(super) async fn fork_session(
    svc: &SessionsService,
    request: Request<ForkSessionRequest>,
) -> Result<Response<SessionInfo>, Status> {
    const RPC: &str = "ForkSession";
    let req = request.into_inner();
    let project = project(RPC, &req.project)?;
    let source = match req.source_name.trim() {
        "" => None,
        name => Some(session_name(RPC, name)?),
    };
    if req.at_message_id == 0 {
        return Err(invalid(
            RPC,
            "at_message_id is missing — name the message to fork at (see `chronicle show`)",
        ));
    }
    let new_name = session_name(RPC, &req.new_name)?;
    let mutation = Mutation::Fork {
        source,
        at_message_id: req.at_message_id,
        new_name,
    };
    session_info(RPC, svc.mutate(RPC, &project, None, mutation).await?)
}

pub(super) async fn rewind_working(
    svc: &SessionsService,
    request: Request<RewindWorkingRequest>,
) -> Result<Response<MutationAck>, Status> {
    const RPC: &str = "RewindWorking";
    let req = request.into_inner();
    if req.keep_through_message_id == 0 {
        return Err(invalid(
            RPC,
            "keep_through_message_id is missing — name the last message to keep (see `chronicle show`)",
        ));
    }
    let mutation = Mutation::Rewind {
        keep_through: req.keep_through_message_id,
    };
    svc.answer(Change::new(RPC, &req.project, req.expected_revision, mutation))
        .await
}
