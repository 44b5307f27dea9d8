//! The trash: listing entries, restoring one as a saved session, and
//! purging (one entry, or everything older than a time). Trash ids travel
//! as strings; they are parsed here, once.

use chronicle_proto::v1::{
    ListTrashRequest, ListTrashResponse, PurgeTrashRequest, PurgeTrashResponse, RestoreTrashRequest, SessionInfo,
};
use tonic::{Request, Response, Status};

use super::context::{SessionsService, project, session_info, session_name};
use super::errors::fail;
use crate::store::{Job, TrashId};

pub(super) async fn list_trash(
    svc: &SessionsService,
    request: Request<ListTrashRequest>,
) -> Result<Response<ListTrashResponse>, Status> {
    const RPC: &str = "ListTrash";
    let raw = request.into_inner().project;
    let filter = if raw.is_empty() {
        None
    } else {
        Some(project(RPC, &raw)?)
    };
    let entries = svc.store.list_trash(filter.as_ref()).map_err(|e| fail(RPC, e))?;
    Ok(Response::new(ListTrashResponse { entries }))
}

pub(super) async fn restore_trash(
    svc: &SessionsService,
    request: Request<RestoreTrashRequest>,
) -> Result<Response<SessionInfo>, Status> {
    const RPC: &str = "RestoreTrash";
    let req = request.into_inner();
    let id = trash_id(RPC, &req.id)?;
    // A blank new name means "the entry's own name".
    let new_name = match req.new_name.trim() {
        "" => None,
        raw => Some(session_name(RPC, raw)?),
    };
    let outcome = svc
        .store
        .run(Job::RestoreTrash {
            id,
            new_name,
            expected_revision: req.expected_revision,
        })
        .await
        .map_err(|e| fail(RPC, e))?;
    session_info(RPC, outcome)
}

pub(super) async fn purge_trash(
    svc: &SessionsService,
    request: Request<PurgeTrashRequest>,
) -> Result<Response<PurgeTrashResponse>, Status> {
    const RPC: &str = "PurgeTrash";
    let req = request.into_inner();
    let id = if req.id.is_empty() {
        None
    } else {
        Some(trash_id(RPC, &req.id)?)
    };
    let job = Job::PurgeTrash {
        id,
        older_than_ms: req.older_than_ms,
        expected_revision: req.expected_revision,
    };
    let outcome = svc.store.run(job).await.map_err(|e| fail(RPC, e))?;
    Ok(Response::new(PurgeTrashResponse { purged: outcome.purged }))
}

fn trash_id(rpc: &'static str, raw: &str) -> Result<TrashId, Status> {
    TrashId::parse(raw).map_err(|err| fail(rpc, err))
}
