//! The gRPC handlers: each one turns a request into a store call and the
//! store's answer (or error) into a response. No decisions live here —
//! only translation, and the one log line per failed call.

use std::{collections::HashMap, io, path::PathBuf, sync::Arc};

use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, AppendToMessageRequest, ClearMessagesRequest, DaemonStatus,
    DeleteMessagesRequest, DeleteSessionRequest, DeleteSessionResponse, Event, EventKind, ExportChunk,
    ExportImageRequest, ExportRequest, GetSessionRequest, GetStatusRequest, GetWorkingSessionRequest,
    ListProjectsRequest, ListProjectsResponse, ListSessionsRequest, ListSessionsResponse, ListTrashRequest,
    ListTrashResponse, LoadSessionRequest, MutationAck, OpenProjectRequest, ProjectState, PurgeTrashRequest,
    PurgeTrashResponse, RemoveContextFilesRequest, RenameSessionRequest, RestoreTrashRequest, SaveMode,
    SaveSessionRequest, SessionContent, SessionInfo, SetContextFilesRequest, StartMode, UpdateMessageRequest,
    WatchRequest, sessions_server::Sessions,
};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};

use crate::export::{self, markdown};
use crate::store::{self, Job, Mutation, Outcome, Store, StoreError, validate};

/// Largest export chunk, as the contract promises.
pub const EXPORT_CHUNK_BYTES: usize = 1024 * 1024;
/// Chunks buffered between the renderer and a slow client.
const EXPORT_QUEUE: usize = 4;
/// Events buffered between a `Watch` task and its client.
const WATCH_QUEUE: usize = 256;

/// Facts about the running daemon that `GetStatus` reports.
#[derive(Clone, Debug)]
pub struct DaemonFacts {
    pub socket: PathBuf,
    pub data_dir: PathBuf,
    pub started_at_ms: i64,
}

/// The `chronicle.v1.Sessions` service.
#[derive(Clone)]
pub struct SessionsService {
    store: Store,
    facts: Arc<DaemonFacts>,
    /// Cancelled when the daemon shuts down, so endless `Watch` streams end
    /// and the server can drain.
    shutdown: CancellationToken,
}

impl SessionsService {
    pub fn new(store: Store, facts: DaemonFacts, shutdown: CancellationToken) -> Self {
        SessionsService {
            store,
            facts: Arc::new(facts),
            shutdown,
        }
    }
}

/// Maps a store error to its status code and logs the failed call: one
/// line, with the RPC and the code, never message content.
fn fail(rpc: &'static str, err: StoreError) -> Status {
    let code = match &err {
        StoreError::InvalidArgument(_) => Code::InvalidArgument,
        StoreError::NotFound(_) => Code::NotFound,
        StoreError::AlreadyExists(_) => Code::AlreadyExists,
        StoreError::Conflict(_) => Code::FailedPrecondition,
        StoreError::LimitExceeded(_) => Code::ResourceExhausted,
        StoreError::ShuttingDown => Code::Unavailable,
        StoreError::Storage(_)
        | StoreError::Corrupt { .. }
        | StoreError::SchemaTooNew { .. }
        | StoreError::Open { .. } => Code::Internal,
    };
    let message = err.to_string();
    if code == Code::Internal {
        tracing::error!(rpc, ?code, "{message}");
    } else {
        tracing::warn!(rpc, ?code, "{message}");
    }
    Status::new(code, message)
}

fn invalid(rpc: &'static str, message: impl Into<String>) -> Status {
    fail(rpc, StoreError::InvalidArgument(message.into()))
}

fn ack(outcome: Outcome) -> Response<MutationAck> {
    Response::new(MutationAck {
        revision: outcome.revision,
        message_id: outcome.message_id,
    })
}

fn project(rpc: &'static str, raw: &str) -> Result<String, Status> {
    validate::project_path(raw).map_err(|err| fail(rpc, err))
}

impl SessionsService {
    async fn mutate(
        &self,
        rpc: &'static str,
        project: &str,
        expected: Option<u64>,
        mutation: Mutation,
    ) -> Result<Outcome, Status> {
        self.store
            .mutate(project, expected, mutation)
            .await
            .map_err(|err| fail(rpc, err))
    }

    async fn mutate_ack(
        &self,
        rpc: &'static str,
        project: &str,
        expected: Option<u64>,
        mutation: Mutation,
    ) -> Result<Response<MutationAck>, Status> {
        self.mutate(rpc, project, expected, mutation).await.map(ack)
    }

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

fn session_info(rpc: &'static str, outcome: Outcome) -> Result<Response<SessionInfo>, Status> {
    outcome
        .session
        .map(Response::new)
        .ok_or_else(|| fail(rpc, StoreError::NotFound("the store returned no session".into())))
}

#[tonic::async_trait]
impl Sessions for SessionsService {
    async fn open_project(&self, request: Request<OpenProjectRequest>) -> Result<Response<ProjectState>, Status> {
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
        let outcome = self
            .mutate(
                RPC,
                &req.project,
                None,
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

    async fn list_projects(
        &self,
        _request: Request<ListProjectsRequest>,
    ) -> Result<Response<ListProjectsResponse>, Status> {
        let projects = self.store.list_projects().map_err(|e| fail("ListProjects", e))?;
        Ok(Response::new(ListProjectsResponse { projects }))
    }

    async fn get_working_session(
        &self,
        request: Request<GetWorkingSessionRequest>,
    ) -> Result<Response<SessionContent>, Status> {
        let req = request.into_inner();
        self.working_page("GetWorkingSession", &req.project, req.after_message_id, req.limit)
            .await
            .map(Response::new)
    }

    async fn append_message(&self, request: Request<AppendMessageRequest>) -> Result<Response<MutationAck>, Status> {
        const RPC: &str = "AppendMessage";
        let req = request.into_inner();
        let message = req
            .message
            .ok_or_else(|| invalid(RPC, "message is missing — send the message to append"))?;
        self.mutate_ack(RPC, &req.project, req.expected_revision, Mutation::Append { message })
            .await
    }

    async fn append_to_message(
        &self,
        request: Request<AppendToMessageRequest>,
    ) -> Result<Response<MutationAck>, Status> {
        let req = request.into_inner();
        let mutation = Mutation::AppendTo {
            message_id: req.message_id,
            delta: req.delta,
        };
        self.mutate_ack("AppendToMessage", &req.project, req.expected_revision, mutation)
            .await
    }

    async fn update_message(&self, request: Request<UpdateMessageRequest>) -> Result<Response<MutationAck>, Status> {
        const RPC: &str = "UpdateMessage";
        let req = request.into_inner();
        let message = req
            .message
            .ok_or_else(|| invalid(RPC, "message is missing — send the message with its id"))?;
        self.mutate_ack(RPC, &req.project, req.expected_revision, Mutation::Update { message })
            .await
    }

    async fn delete_messages(&self, request: Request<DeleteMessagesRequest>) -> Result<Response<MutationAck>, Status> {
        let req = request.into_inner();
        let mutation = Mutation::Delete {
            message_id: req.message_id,
            truncate_after: req.truncate_after,
        };
        self.mutate_ack("DeleteMessages", &req.project, req.expected_revision, mutation)
            .await
    }

    async fn clear_messages(&self, request: Request<ClearMessagesRequest>) -> Result<Response<MutationAck>, Status> {
        let req = request.into_inner();
        self.mutate_ack("ClearMessages", &req.project, req.expected_revision, Mutation::Clear)
            .await
    }

    async fn add_context_files(
        &self,
        request: Request<AddContextFilesRequest>,
    ) -> Result<Response<MutationAck>, Status> {
        let req = request.into_inner();
        self.mutate_ack(
            "AddContextFiles",
            &req.project,
            req.expected_revision,
            Mutation::AddFiles { files: req.files },
        )
        .await
    }

    async fn remove_context_files(
        &self,
        request: Request<RemoveContextFilesRequest>,
    ) -> Result<Response<MutationAck>, Status> {
        let req = request.into_inner();
        self.mutate_ack(
            "RemoveContextFiles",
            &req.project,
            req.expected_revision,
            Mutation::RemoveFiles { paths: req.paths },
        )
        .await
    }

    async fn set_context_files(
        &self,
        request: Request<SetContextFilesRequest>,
    ) -> Result<Response<MutationAck>, Status> {
        let req = request.into_inner();
        self.mutate_ack(
            "SetContextFiles",
            &req.project,
            req.expected_revision,
            Mutation::SetFiles { files: req.files },
        )
        .await
    }

    async fn list_sessions(
        &self,
        request: Request<ListSessionsRequest>,
    ) -> Result<Response<ListSessionsResponse>, Status> {
        const RPC: &str = "ListSessions";
        let project = project(RPC, &request.into_inner().project)?;
        let sessions = self.store.list_sessions(&project).map_err(|e| fail(RPC, e))?;
        Ok(Response::new(ListSessionsResponse { sessions }))
    }

    async fn save_session(&self, request: Request<SaveSessionRequest>) -> Result<Response<SessionInfo>, Status> {
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
        let mutation = Mutation::Save {
            name: req.name,
            overwrite: mode == SaveMode::Overwrite,
        };
        session_info(RPC, self.mutate(RPC, &req.project, None, mutation).await?)
    }

    async fn load_session(&self, request: Request<LoadSessionRequest>) -> Result<Response<MutationAck>, Status> {
        let req = request.into_inner();
        let mutation = Mutation::Load {
            name: req.name,
            messages: req.messages,
            files: req.files,
        };
        self.mutate_ack("LoadSession", &req.project, req.expected_revision, mutation)
            .await
    }

    async fn rename_session(&self, request: Request<RenameSessionRequest>) -> Result<Response<SessionInfo>, Status> {
        const RPC: &str = "RenameSession";
        let req = request.into_inner();
        let mutation = Mutation::Rename {
            name: req.name,
            new_name: req.new_name,
        };
        session_info(RPC, self.mutate(RPC, &req.project, None, mutation).await?)
    }

    async fn delete_session(
        &self,
        request: Request<DeleteSessionRequest>,
    ) -> Result<Response<DeleteSessionResponse>, Status> {
        let req = request.into_inner();
        let outcome = self
            .mutate(
                "DeleteSession",
                &req.project,
                None,
                Mutation::DeleteSession { name: req.name },
            )
            .await?;
        Ok(Response::new(DeleteSessionResponse {
            trash_id: outcome.trash_id.map(|id| id.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_session(&self, request: Request<GetSessionRequest>) -> Result<Response<SessionContent>, Status> {
        const RPC: &str = "GetSession";
        let req = request.into_inner();
        let project = project(RPC, &req.project)?;
        self.store
            .saved_page(&project, &req.name, req.after_message_id, req.limit)
            .map(Response::new)
            .map_err(|e| fail(RPC, e))
    }

    async fn list_trash(&self, request: Request<ListTrashRequest>) -> Result<Response<ListTrashResponse>, Status> {
        const RPC: &str = "ListTrash";
        let raw = request.into_inner().project;
        let filter = if raw.is_empty() {
            None
        } else {
            Some(project(RPC, &raw)?)
        };
        let entries = self.store.list_trash(filter.as_deref()).map_err(|e| fail(RPC, e))?;
        Ok(Response::new(ListTrashResponse { entries }))
    }

    async fn restore_trash(&self, request: Request<RestoreTrashRequest>) -> Result<Response<SessionInfo>, Status> {
        const RPC: &str = "RestoreTrash";
        let req = request.into_inner();
        let id = trash_id(RPC, &req.id)?;
        let new_name = Some(req.new_name).filter(|n| !n.trim().is_empty());
        let outcome = self
            .store
            .run(Job::RestoreTrash { id, new_name })
            .await
            .map_err(|e| fail(RPC, e))?;
        session_info(RPC, outcome)
    }

    async fn purge_trash(&self, request: Request<PurgeTrashRequest>) -> Result<Response<PurgeTrashResponse>, Status> {
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
        };
        let outcome = self.store.run(job).await.map_err(|e| fail(RPC, e))?;
        Ok(Response::new(PurgeTrashResponse { purged: outcome.purged }))
    }

    type ExportMarkdownStream = ReceiverStream<Result<ExportChunk, Status>>;

    async fn export_markdown(
        &self,
        request: Request<ExportRequest>,
    ) -> Result<Response<Self::ExportMarkdownStream>, Status> {
        const RPC: &str = "ExportMarkdown";
        let req = request.into_inner();
        let project = project(RPC, &req.project)?;
        let name = Some(req.name).filter(|n| !n.is_empty());
        let source = self
            .store
            .export_source(&project, name.as_deref())
            .map_err(|e| fail(RPC, e))?;
        let (tx, rx) = mpsc::channel(EXPORT_QUEUE);
        let file_name = format!("{}.md", export::file_stem(&source.info.name));
        tokio::task::spawn_blocking(move || {
            let mut sink = ChunkSink::new(tx.clone(), file_name);
            let result = source
                .messages(0, u64::MAX)
                .map_err(|err| export::ExportError::Source(Box::new(err)))
                .and_then(|messages| markdown::write(&mut sink, &source.info, &source.files, messages, store::now_ms()))
                .and_then(|()| sink.finish().map_err(export::ExportError::from));
            if let Err(err) = result
                && !sink.client_gone
            {
                tracing::error!(rpc = RPC, code = ?Code::Internal, "{err}");
                let _ = tx.blocking_send(Err(Status::internal(err.to_string())));
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type ExportImageStream = ReceiverStream<Result<ExportChunk, Status>>;

    async fn export_image(
        &self,
        _request: Request<ExportImageRequest>,
    ) -> Result<Response<Self::ExportImageStream>, Status> {
        tracing::warn!(rpc = "ExportImage", code = ?Code::Unimplemented, "image export is not built yet");
        Err(Status::unimplemented(
            "ExportImage is not available in this chronicled yet — use ExportMarkdown (`chronicle export --markdown`) for now",
        ))
    }

    type WatchStream = ReceiverStream<Result<Event, Status>>;

    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        const RPC: &str = "Watch";
        let raw = request.into_inner().project;
        let filter = if raw.is_empty() {
            None
        } else {
            Some(project(RPC, &raw)?)
        };
        // Subscribe before reading revisions: every event after the
        // snapshot is then certain to arrive, and older ones are skipped.
        let events = self.store.subscribe();
        let snapshot = self.store.revisions(filter.as_deref()).map_err(|e| fail(RPC, e))?;
        let (tx, rx) = mpsc::channel(WATCH_QUEUE);
        tokio::spawn(follow(events, snapshot, filter, tx, self.shutdown.clone()));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_status(&self, _request: Request<GetStatusRequest>) -> Result<Response<DaemonStatus>, Status> {
        let totals = self.store.totals().map_err(|e| fail("GetStatus", e))?;
        Ok(Response::new(DaemonStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            socket: self.facts.socket.display().to_string(),
            data_dir: self.facts.data_dir.display().to_string(),
            project_count: totals.projects,
            saved_session_count: totals.saved_sessions,
            trash_count: totals.trash_entries,
            started_at_ms: self.facts.started_at_ms,
            schema_version: crate::store::SCHEMA_VERSION as u32,
        }))
    }
}

fn trash_id(rpc: &'static str, raw: &str) -> Result<u64, Status> {
    raw.trim().parse().map_err(|_| {
        invalid(
            rpc,
            format!("trash id {raw:?} is not a trash id — `chronicle trash` lists them"),
        )
    })
}

/// Forwards committed events to one `Watch` client: SNAPSHOT first, then
/// every newer event of the watched project(s), in order. A client too slow
/// for the bounded buffer gets RESYNC instead of unbounded memory.
async fn follow(
    mut events: broadcast::Receiver<Arc<Event>>,
    snapshot: Vec<(String, u64)>,
    filter: Option<String>,
    tx: mpsc::Sender<Result<Event, Status>>,
    shutdown: CancellationToken,
) {
    let now = store::now_ms();
    let mut seen: HashMap<String, u64> = HashMap::with_capacity(snapshot.len());
    let mut snapshots = snapshot.into_iter().peekable();
    if snapshots.peek().is_none() {
        // Watching every project while there is none: still say hello.
        let _ = tx
            .send(Ok(Event {
                kind: EventKind::Snapshot as i32,
                at_ms: now,
                ..Event::default()
            }))
            .await;
    }
    for (project, revision) in snapshots {
        seen.insert(project.clone(), revision);
        let hello = Event {
            project,
            revision,
            kind: EventKind::Snapshot as i32,
            at_ms: now,
            ..Event::default()
        };
        if tx.send(Ok(hello)).await.is_err() {
            return;
        }
    }
    loop {
        let received = tokio::select! {
            () = shutdown.cancelled() => {
                let _ = tx.send(Err(Status::unavailable("the daemon is shutting down — reconnect to the next instance"))).await;
                return;
            }
            () = tx.closed() => return,
            received = events.recv() => received,
        };
        let event = match received {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(rpc = "Watch", missed, "a watcher fell behind and was told to resync");
                let resync = Event {
                    project: filter.clone().unwrap_or_default(),
                    kind: EventKind::Resync as i32,
                    at_ms: store::now_ms(),
                    ..Event::default()
                };
                // Everything up to now is covered by the client's re-read.
                seen.clear();
                if tx.send(Ok(resync)).await.is_err() {
                    return;
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if filter.as_ref().is_some_and(|p| p != &event.project) {
            continue;
        }
        let last = seen.entry(event.project.clone()).or_insert(0);
        if event.revision <= *last {
            continue;
        }
        *last = event.revision;
        if tx.send(Ok(Event::clone(&event))).await.is_err() {
            return;
        }
    }
}

/// An `io::Write` that cuts its output into ≤ 1 MiB chunks and sends them
/// to the client as they fill.
struct ChunkSink {
    tx: mpsc::Sender<Result<ExportChunk, Status>>,
    buffer: Vec<u8>,
    file_name: Option<String>,
    client_gone: bool,
}

impl ChunkSink {
    fn new(tx: mpsc::Sender<Result<ExportChunk, Status>>, file_name: String) -> Self {
        ChunkSink {
            tx,
            buffer: Vec::with_capacity(EXPORT_CHUNK_BYTES),
            file_name: Some(file_name),
            client_gone: false,
        }
    }

    fn send(&mut self, data: Vec<u8>, last: bool) -> io::Result<()> {
        let chunk = ExportChunk {
            data,
            page: 1,
            page_count: 1,
            last_in_page: last,
            suggested_file_name: self.file_name.take().unwrap_or_default(),
        };
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            self.client_gone = true;
            io::Error::new(io::ErrorKind::BrokenPipe, "the client stopped reading the export")
        })
    }

    fn finish(&mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.buffer);
        self.send(rest, true)
    }
}

impl io::Write for ChunkSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = EXPORT_CHUNK_BYTES - self.buffer.len();
        let taken = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..taken]);
        if self.buffer.len() == EXPORT_CHUNK_BYTES {
            let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(EXPORT_CHUNK_BYTES));
            self.send(full, false)?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
