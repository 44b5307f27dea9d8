//! The gRPC handlers: each one turns a request into a store call and the
//! store's answer (or error) into a response. No decisions live here —
//! only translation, and the one log line per failed call.

use std::{
    collections::{HashMap, VecDeque},
    io,
    path::PathBuf,
    sync::Arc,
};

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
use chronicle_proto::v1::{
    AiderFollow, ExportBundleRequest, FollowAiderRequest, ImportBundleChunk, ImportBundleResponse,
    ListAiderFollowsRequest, ListAiderFollowsResponse, UnfollowAiderRequest, UnfollowAiderResponse,
};
use prost::Message as _;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};

use crate::activity::Activity;
use crate::export::{
    self, markdown,
    png::{self, ImageOptions},
};
use crate::interop::{self, Interop, follow::FollowCtx};
use crate::store::{self, Job, Mutation, Outcome, Store, StoreError, validate};

/// Largest export chunk, as the contract promises.
pub const EXPORT_CHUNK_BYTES: usize = 1024 * 1024;
/// Chunks buffered between the renderer and a slow client.
const EXPORT_QUEUE: usize = 4;
/// Events handed to the gRPC encoder of a `Watch` stream ahead of the
/// client; the backlog of a slow client waits in `follow`, counted.
const WATCH_QUEUE: usize = 16;
/// Most events waiting for one `Watch` client before it is told to resync.
const WATCH_BUFFER_EVENTS: usize = 4096;
/// Most bytes of events waiting for one `Watch` client before it is told to
/// resync (one event always fits, however big).
const WATCH_BUFFER_BYTES: usize = 32 * 1024 * 1024;

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
    /// Where successful calls and open streams are recorded, for the idle
    /// exit and the file watcher.
    activity: Activity,
    /// Bundle imports' staging and the aider follows (`crate::interop`).
    interop: Interop,
}

impl SessionsService {
    pub fn new(store: Store, facts: DaemonFacts, shutdown: CancellationToken) -> Self {
        SessionsService {
            store,
            interop: Interop::new(facts.data_dir.clone()),
            facts: Arc::new(facts),
            shutdown,
            activity: Activity::new(std::time::Duration::ZERO),
        }
    }

    /// Records calls and streams in `activity` (the server's shared one).
    pub fn with_activity(mut self, activity: Activity) -> Self {
        self.activity = activity;
        self
    }

    fn follow_ctx(&self) -> FollowCtx {
        FollowCtx {
            store: self.store.clone(),
            activity: self.activity.clone(),
            shutdown: self.shutdown.clone(),
        }
    }

    /// Starts again the aider follows that ran when the daemon stopped.
    pub fn resume_follows(&self) {
        self.interop.follows.resume(&self.follow_ctx());
    }
}

/// Maps a store error to its status code and logs the failed call: one
/// line, with the RPC and the code, never message content.
pub(crate) fn fail(rpc: &'static str, err: StoreError) -> Status {
    let code = match &err {
        StoreError::InvalidArgument(_) => Code::InvalidArgument,
        StoreError::NotFound(_) => Code::NotFound,
        StoreError::AlreadyExists(_) => Code::AlreadyExists,
        StoreError::Conflict(_) => Code::FailedPrecondition,
        StoreError::LimitExceeded(_) => Code::ResourceExhausted,
        StoreError::ShuttingDown => Code::Unavailable,
        StoreError::DiskFull => Code::ResourceExhausted,
        StoreError::Storage(_)
        | StoreError::Corrupt { .. }
        | StoreError::SchemaTooNew { .. }
        | StoreError::Open { .. } => Code::Internal,
    };
    // Bounded, so that the status reaches the client whatever it quotes.
    let message = validate::bounded_message(err.to_string());
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
        let outcome = self
            .store
            .mutate(project, expected, mutation)
            .await
            .map_err(|err| fail(rpc, err))?;
        if let Ok(project) = validate::project_path(project) {
            self.activity.touch(&project);
        }
        Ok(outcome)
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
        self.activity.touch(&project);
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
        let page = self
            .store
            .saved_page(&project, &req.name, req.after_message_id, req.limit)
            .map_err(|e| fail(RPC, e))?;
        self.activity.touch(&project);
        Ok(Response::new(page))
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
        self.activity.touch(&project);
        let (tx, rx) = mpsc::channel(EXPORT_QUEUE);
        let file_name = format!("{}.md", export::file_stem(&source.info.name));
        // A long export is activity: the daemon must not idle out under it.
        let busy = self.activity.stream(None);
        tokio::task::spawn_blocking(move || {
            let _busy = busy;
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
        request: Request<ExportImageRequest>,
    ) -> Result<Response<Self::ExportImageStream>, Status> {
        const RPC: &str = "ExportImage";
        let req = request.into_inner();
        let project = project(RPC, &req.project)?;
        let options = ImageOptions::new(
            req.theme,
            req.width_px,
            req.scale,
            req.max_page_height_px,
            req.first_message_id,
            req.last_message_id,
        )
        .map_err(|message| invalid(RPC, message))?;
        let name = Some(req.name).filter(|n| !n.is_empty());
        let source = self
            .store
            .export_source(&project, name.as_deref())
            .map_err(|e| fail(RPC, e))?;
        self.activity.touch(&project);
        let (tx, rx) = mpsc::channel(EXPORT_QUEUE);
        let stem = export::file_stem(&source.info.name);
        // A long export is activity: the daemon must not idle out under it.
        let busy = self.activity.stream(None);
        tokio::task::spawn_blocking(move || {
            let _busy = busy;
            let mut sink = ChunkSink::for_pages(tx.clone(), stem);
            let (first, last) = (options.first_message_id, options.last_message_id);
            // The renderer is written not to panic on any input; if it
            // did, the client still gets a status instead of a cut stream.
            let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                png::write(&mut sink, &options, &source.info, &source.files, || {
                    source.messages(first, last)
                })
            }));
            let failure = match rendered {
                Ok(Ok(_pages)) => None,
                Ok(Err(err)) => Some(err.to_string()),
                Err(_) => Some(
                    "the image renderer failed on this session — export it as Markdown and report the bug".to_owned(),
                ),
            };
            if let Some(message) = failure
                && !sink.client_gone
            {
                tracing::error!(rpc = RPC, code = ?Code::Internal, "{message}");
                let _ = tx.blocking_send(Err(Status::internal(message)));
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
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
        // A stream on one project keeps it open: its files are watched.
        let open = self.activity.stream(filter.as_deref());
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let _open = open;
            follow(events, snapshot, filter, tx, shutdown).await;
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type ExportBundleStream = ReceiverStream<Result<ExportChunk, Status>>;

    async fn export_bundle(
        &self,
        request: Request<ExportBundleRequest>,
    ) -> Result<Response<Self::ExportBundleStream>, Status> {
        interop::export_bundle(&self.store, &self.activity, request.into_inner()).map(Response::new)
    }

    async fn import_bundle(
        &self,
        request: Request<tonic::Streaming<ImportBundleChunk>>,
    ) -> Result<Response<ImportBundleResponse>, Status> {
        self.interop
            .import_bundle(&self.store, &self.activity, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn follow_aider(&self, request: Request<FollowAiderRequest>) -> Result<Response<AiderFollow>, Status> {
        let req = request.into_inner();
        let follow = self
            .interop
            .follows
            .follow(&self.follow_ctx(), &req.project, &req.path, req.catch_up)
            .map_err(|e| fail("FollowAider", e))?;
        Ok(Response::new(follow))
    }

    async fn unfollow_aider(
        &self,
        request: Request<UnfollowAiderRequest>,
    ) -> Result<Response<UnfollowAiderResponse>, Status> {
        let follow = self
            .interop
            .follows
            .unfollow(&request.into_inner().project)
            .map_err(|e| fail("UnfollowAider", e))?;
        Ok(Response::new(UnfollowAiderResponse {
            was_following: follow.is_some(),
            follow,
        }))
    }

    async fn list_aider_follows(
        &self,
        _request: Request<ListAiderFollowsRequest>,
    ) -> Result<Response<ListAiderFollowsResponse>, Status> {
        Ok(Response::new(ListAiderFollowsResponse {
            follows: self.interop.follows.list(),
        }))
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
            format!(
                "trash id {:?} is not a trash id — `chronicle trash` lists them",
                validate::excerpt(raw)
            ),
        )
    })
}

/// Forwards committed events to one `Watch` client: SNAPSHOT first, then
/// every newer event of the watched project(s), in order. Events wait here,
/// not in the shared broadcast buffer, for a client that reads slowly; once
/// more than [`WATCH_BUFFER_EVENTS`] or [`WATCH_BUFFER_BYTES`] wait, they
/// are dropped and the client gets RESYNC — memory stays bounded in bytes
/// whatever the size of the messages.
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
    let mut waiting: VecDeque<Arc<Event>> = VecDeque::new();
    let mut waiting_bytes = 0usize;
    let mut resync = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                let _ = tx.send(Err(Status::unavailable("the daemon is shutting down — reconnect to the next instance"))).await;
                return;
            }
            () = tx.closed() => return,
            permit = tx.reserve(), if resync || !waiting.is_empty() => {
                let Ok(permit) = permit else { return };
                if resync {
                    resync = false;
                    permit.send(Ok(Event {
                        project: filter.clone().unwrap_or_default(),
                        kind: EventKind::Resync as i32,
                        at_ms: store::now_ms(),
                        ..Event::default()
                    }));
                } else if let Some(event) = waiting.pop_front() {
                    waiting_bytes = waiting_bytes.saturating_sub(event.encoded_len());
                    permit.send(Ok(Event::clone(&event)));
                }
            }
            received = events.recv() => {
                let fell_behind = match received {
                    Ok(event) => {
                        if filter.as_ref().is_none_or(|p| p == &event.project) {
                            let last = seen.entry(event.project.clone()).or_insert(0);
                            if event.revision > *last {
                                *last = event.revision;
                                waiting_bytes += event.encoded_len();
                                waiting.push_back(event);
                            }
                        }
                        // The first waiting event always fits, however big.
                        waiting.len() > 1
                            && (waiting.len() > WATCH_BUFFER_EVENTS || waiting_bytes > WATCH_BUFFER_BYTES)
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if fell_behind {
                    tracing::warn!(
                        rpc = "Watch",
                        dropped = waiting.len(),
                        "a watcher fell behind and was told to resync"
                    );
                    // Everything up to now is covered by the client's re-read.
                    waiting.clear();
                    waiting_bytes = 0;
                    seen.clear();
                    resync = true;
                }
            }
        }
    }
}

/// An `io::Write` that cuts its output into ≤ 1 MiB chunks and sends them
/// to the client as they fill. A single document is page 1 of 1; image
/// pages each get their own numbered file name.
struct ChunkSink {
    tx: mpsc::Sender<Result<ExportChunk, Status>>,
    buffer: Vec<u8>,
    file_name: Option<String>,
    /// For image pages: the stem of every page's file name.
    page_stem: Option<String>,
    page: u32,
    page_count: u32,
    client_gone: bool,
}

impl ChunkSink {
    fn new(tx: mpsc::Sender<Result<ExportChunk, Status>>, file_name: String) -> Self {
        ChunkSink {
            tx,
            buffer: Vec::with_capacity(EXPORT_CHUNK_BYTES),
            file_name: Some(file_name),
            page_stem: None,
            page: 1,
            page_count: 1,
            client_gone: false,
        }
    }

    /// A sink for image pages named `STEM-001.png`, `STEM-002.png`, …
    fn for_pages(tx: mpsc::Sender<Result<ExportChunk, Status>>, stem: String) -> Self {
        ChunkSink {
            file_name: None,
            page_stem: Some(stem),
            ..ChunkSink::new(tx, String::new())
        }
    }

    fn send(&mut self, data: Vec<u8>, last: bool) -> io::Result<()> {
        let chunk = ExportChunk {
            data,
            page: self.page,
            page_count: self.page_count,
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

impl png::PageSink for ChunkSink {
    fn begin_page(&mut self, page: u32, page_count: u32) -> io::Result<()> {
        self.page = page;
        self.page_count = page_count;
        let stem = self.page_stem.as_deref().unwrap_or("export");
        self.file_name = Some(format!("{stem}-{page:03}.png"));
        Ok(())
    }

    fn end_page(&mut self) -> io::Result<()> {
        self.finish()
    }
}
