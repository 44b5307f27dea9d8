//! Projects and sessions: opening a project, reading and changing its
//! working session (messages and context files), saving, loading,
//! renaming and deleting saved sessions, and `Watch`. Each handler checks
//! the request's shape and hands one mutation or read to the store.

use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, AppendToMessageRequest, ClearMessagesRequest, DeleteMessagesRequest,
    DeleteSessionRequest, DeleteSessionResponse, Event, GetSessionRequest, GetWorkingSessionRequest,
    ListProjectsRequest, ListProjectsResponse, ListSessionsRequest, ListSessionsResponse, LoadSessionRequest,
    MutationAck, OpenProjectRequest, ProjectState, RemoveContextFilesRequest, RenameSessionRequest, SaveMode,
    SaveSessionRequest, SessionContent, SessionInfo, SetContextFilesRequest, StartMode, UpdateMessageRequest,
    WatchRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::context::{Change, SessionsService, project, session_info, session_name};
use super::errors::{fail, invalid};
use crate::event_stream::{self, WATCH_QUEUE};
use crate::store::{Mutation, ProjectPath, StoreError};

impl SessionsService {
    /// Reads a page of the working session, opening the project first if
    /// it was never opened (as `OpenProject(start=LAST)` would).
    async fn working_page(
        &self,
        rpc: &'static str,
        raw: &str,
        after: u64,
        limit: u32,
    ) -> Result<SessionContent, Status> {
        let project = project(rpc, raw)?;
        if let Some(page) = self
            .store
            .working_page(&project, after, limit)
            .map_err(|e| fail(rpc, e))?
        {
            self.activity.touch(&project);
            return Ok(page);
        }
        self.mutate(rpc, &project, None, Mutation::Open { start_empty: false })
            .await?;
        self.store
            .working_page(&project, after, limit)
            .map_err(|e| fail(rpc, e))?
            .ok_or_else(|| {
                fail(
                    rpc,
                    StoreError::NotFound(format!("project {project} vanished while opening")),
                )
            })
    }
}

pub(super) async fn open_project(
    svc: &SessionsService,
    request: Request<OpenProjectRequest>,
) -> Result<Response<ProjectState>, Status> {
    const RPC: &str = "OpenProject";
    let req = request.into_inner();
    let start = StartMode::try_from(req.start).map_err(|_| {
        invalid(
            RPC,
            format!(
                "start mode {} is unknown — use START_MODE_LAST or START_MODE_EMPTY",
                req.start
            ),
        )
    })?;
    let project = project(RPC, &req.project)?;
    let outcome = svc
        .mutate(
            RPC,
            &project,
            req.expected_revision,
            Mutation::Open {
                start_empty: start == StartMode::Empty,
            },
        )
        .await?;
    outcome
        .project
        .map(Response::new)
        .ok_or_else(|| fail(RPC, StoreError::NotFound("the store returned no project state".into())))
}

pub(super) async fn list_projects(
    svc: &SessionsService,
    _request: Request<ListProjectsRequest>,
) -> Result<Response<ListProjectsResponse>, Status> {
    let projects = svc.store.list_projects().map_err(|e| fail("ListProjects", e))?;
    Ok(Response::new(ListProjectsResponse { projects }))
}

pub(super) async fn get_working_session(
    svc: &SessionsService,
    request: Request<GetWorkingSessionRequest>,
) -> Result<Response<SessionContent>, Status> {
    let req = request.into_inner();
    svc.working_page("GetWorkingSession", &req.project, req.after_message_id, req.limit)
        .await
        .map(Response::new)
}

/// The working-session mutations: each request becomes a checked
/// [`Change`], whether it came as its own call or on a `Mutate` stream.
pub(super) fn append_message(req: AppendMessageRequest) -> Result<Change, Status> {
    const RPC: &str = "AppendMessage";
    let message = req
        .message
        .ok_or_else(|| invalid(RPC, "message is missing — send the message to append"))?;
    Change::new(RPC, &req.project, req.expected_revision, Mutation::Append { message })
}

pub(super) fn append_to_message(req: AppendToMessageRequest) -> Result<Change, Status> {
    let mutation = Mutation::AppendTo {
        message_id: req.message_id,
        delta: req.delta,
    };
    Change::new("AppendToMessage", &req.project, req.expected_revision, mutation)
}

pub(super) fn update_message(req: UpdateMessageRequest) -> Result<Change, Status> {
    const RPC: &str = "UpdateMessage";
    let message = req
        .message
        .ok_or_else(|| invalid(RPC, "message is missing — send the message with its id"))?;
    Change::new(RPC, &req.project, req.expected_revision, Mutation::Update { message })
}

pub(super) fn delete_messages(req: DeleteMessagesRequest) -> Result<Change, Status> {
    let mutation = Mutation::Delete {
        message_id: req.message_id,
        truncate_after: req.truncate_after,
    };
    Change::new("DeleteMessages", &req.project, req.expected_revision, mutation)
}

pub(super) fn clear_messages(req: ClearMessagesRequest) -> Result<Change, Status> {
    Change::new("ClearMessages", &req.project, req.expected_revision, Mutation::Clear)
}

pub(super) fn add_context_files(req: AddContextFilesRequest) -> Result<Change, Status> {
    let mutation = Mutation::AddFiles { files: req.files };
    Change::new("AddContextFiles", &req.project, req.expected_revision, mutation)
}

pub(super) fn remove_context_files(req: RemoveContextFilesRequest) -> Result<Change, Status> {
    let mutation = Mutation::RemoveFiles { paths: req.paths };
    Change::new("RemoveContextFiles", &req.project, req.expected_revision, mutation)
}

pub(super) fn set_context_files(req: SetContextFilesRequest) -> Result<Change, Status> {
    let mutation = Mutation::SetFiles { files: req.files };
    Change::new("SetContextFiles", &req.project, req.expected_revision, mutation)
}

pub(super) async fn list_sessions(
    svc: &SessionsService,
    request: Request<ListSessionsRequest>,
) -> Result<Response<ListSessionsResponse>, Status> {
    const RPC: &str = "ListSessions";
    let project = project(RPC, &request.into_inner().project)?;
    let sessions = svc.store.list_sessions(&project).map_err(|e| fail(RPC, e))?;
    svc.activity.touch(&project);
    Ok(Response::new(ListSessionsResponse { sessions }))
}

pub(super) async fn save_session(
    svc: &SessionsService,
    request: Request<SaveSessionRequest>,
) -> Result<Response<SessionInfo>, Status> {
    const RPC: &str = "SaveSession";
    let req = request.into_inner();
    let mode = SaveMode::try_from(req.mode).map_err(|_| {
        invalid(
            RPC,
            format!(
                "save mode {} is unknown — use SAVE_MODE_CREATE_NEW or SAVE_MODE_OVERWRITE",
                req.mode
            ),
        )
    })?;
    let project = project(RPC, &req.project)?;
    let mutation = Mutation::Save {
        name: session_name(RPC, &req.name)?,
        overwrite: mode == SaveMode::Overwrite,
    };
    session_info(RPC, svc.mutate(RPC, &project, req.expected_revision, mutation).await?)
}

pub(super) async fn load_session(
    svc: &SessionsService,
    request: Request<LoadSessionRequest>,
) -> Result<Response<MutationAck>, Status> {
    let req = request.into_inner();
    let mutation = Mutation::Load {
        name: req.name,
        messages: req.messages,
        files: req.files,
    };
    svc.answer(Change::new(
        "LoadSession",
        &req.project,
        req.expected_revision,
        mutation,
    ))
    .await
}

pub(super) async fn rename_session(
    svc: &SessionsService,
    request: Request<RenameSessionRequest>,
) -> Result<Response<SessionInfo>, Status> {
    const RPC: &str = "RenameSession";
    let req = request.into_inner();
    let project = project(RPC, &req.project)?;
    let mutation = Mutation::Rename {
        name: session_name(RPC, &req.name)?,
        new_name: session_name(RPC, &req.new_name)?,
    };
    session_info(RPC, svc.mutate(RPC, &project, req.expected_revision, mutation).await?)
}

pub(super) async fn delete_session(
    svc: &SessionsService,
    request: Request<DeleteSessionRequest>,
) -> Result<Response<DeleteSessionResponse>, Status> {
    const RPC: &str = "DeleteSession";
    let req = request.into_inner();
    let project = project(RPC, &req.project)?;
    let name = session_name(RPC, &req.name)?;
    let outcome = svc
        .mutate(RPC, &project, req.expected_revision, Mutation::DeleteSession { name })
        .await?;
    Ok(Response::new(DeleteSessionResponse {
        trash_id: outcome.trash_id.map(|id| id.to_string()).unwrap_or_default(),
    }))
}

pub(super) async fn get_session(
    svc: &SessionsService,
    request: Request<GetSessionRequest>,
) -> Result<Response<SessionContent>, Status> {
    const RPC: &str = "GetSession";
    let req = request.into_inner();
    let project = project(RPC, &req.project)?;
    let name = session_name(RPC, &req.name)?;
    let page = svc
        .store
        .saved_page(&project, &name, req.after_message_id, req.limit)
        .map_err(|e| fail(RPC, e))?;
    svc.activity.touch(&project);
    Ok(Response::new(page))
}

pub(super) async fn watch(
    svc: &SessionsService,
    request: Request<WatchRequest>,
) -> Result<Response<ReceiverStream<Result<Event, Status>>>, Status> {
    const RPC: &str = "Watch";
    let raw = request.into_inner().project;
    let filter = if raw.is_empty() {
        None
    } else {
        Some(project(RPC, &raw)?)
    };
    // Subscribe before reading revisions: every event after the
    // snapshot is then certain to arrive, and older ones are skipped.
    let events = svc.store.subscribe();
    let snapshot = svc.store.revisions(filter.as_ref()).map_err(|e| fail(RPC, e))?;
    let (tx, rx) = mpsc::channel(WATCH_QUEUE);
    // A stream on one project keeps it open: its files are watched.
    let open = svc.activity.stream(filter.as_deref());
    let filter = filter.map(ProjectPath::into_string);
    let shutdown = svc.shutdown.clone();
    tokio::spawn(async move {
        let _open = open;
        event_stream::pump(events, snapshot, filter, tx, shutdown).await;
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}
