//! `GetStatus`: what the running daemon reports about itself — version,
//! pid, socket, data directory, counts and schema version.

use chronicle_proto::v1::{DaemonStatus, GetStatusRequest};
use tonic::{Request, Response, Status};

use super::context::SessionsService;
use super::errors::fail;

pub(super) async fn get_status(
    svc: &SessionsService,
    _request: Request<GetStatusRequest>,
) -> Result<Response<DaemonStatus>, Status> {
    let totals = svc.store.totals().map_err(|e| fail("GetStatus", e))?;
    Ok(Response::new(DaemonStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        socket: svc.facts.socket.display().to_string(),
        data_dir: svc.facts.data_dir.display().to_string(),
        project_count: totals.projects,
        saved_session_count: totals.saved_sessions,
        trash_count: totals.trash_entries,
        started_at_ms: svc.facts.started_at_ms,
        schema_version: crate::store::SCHEMA_VERSION as u32,
    }))
}
