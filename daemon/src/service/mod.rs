//! The `chronicle.v1.Sessions` service: the gRPC handlers, by area.
//! Each handler validates the request's shape once — building the store's
//! checked types — hands it to the store, and translates the answer (or
//! the error, through [`errors`]) back; no decisions live here.
//!
//! - [`sessions`] — projects, the working session's messages and files,
//!   saved sessions, and `Watch` (pumped by [`crate::event_stream`]).
//! - [`mutate`] — `Mutate`: the working session's mutations, many on one
//!   stream.
//! - [`trash`] — listing, restoring and purging the trash.
//! - [`export`] — Markdown and PNG exports, rendered by `chronicle-export`.
//! - [`interop`] — backup bundles out and in, and the aider follows
//!   (run by [`crate::sources`]).
//! - [`sources`] — `ImportSource`: other agents' session files, read by
//!   [`crate::sources::import`], into saved sessions.
//! - [`status`] — `GetStatus`: facts about the running daemon.
//! - [`search`] — `Search` over the full-text index, `ForkSession` and
//!   `RewindWorking`.
//! - [`errors`] — `StoreError` → `tonic::Status`, once.
//! - [`chunks`] — the 1 MiB chunk writer every download streams through.
//! - [`context`] — the service's state and the request checks every area
//!   uses; the areas import it, never each other or this module.

mod chunks;
mod context;
mod errors;
mod export;
mod interop;
mod mutate;
mod search;
mod sessions;
mod sources;
mod status;
mod trash;

use chronicle_proto::v1::{
    AddContextFilesRequest, AiderFollow, AppendMessageRequest, AppendToMessageRequest, ClearMessagesRequest,
    DaemonStatus, DeleteMessagesRequest, DeleteSessionRequest, DeleteSessionResponse, Event, ExportBundleRequest,
    ExportChunk, ExportImageRequest, ExportRequest, FollowAiderRequest, FollowSourceRequest, ForkSessionRequest,
    GetSessionRequest, GetStatusRequest, GetWorkingSessionRequest, ImportBundleChunk, ImportBundleResponse,
    ImportSourceProgress, ImportSourceRequest, ListAiderFollowsRequest, ListAiderFollowsResponse, ListProjectsRequest,
    ListProjectsResponse, ListSessionsRequest, ListSessionsResponse, ListSourceFollowsRequest,
    ListSourceFollowsResponse, ListTrashRequest, ListTrashResponse, LoadSessionRequest, MutateRequest, MutationAck,
    OpenProjectRequest, ProjectState, PurgeTrashRequest, PurgeTrashResponse, RemoveContextFilesRequest,
    RenameSessionRequest, RestoreTrashRequest, RewindWorkingRequest, SaveSessionRequest, SearchRequest, SearchResponse,
    SessionContent, SessionInfo, SetContextFilesRequest, SourceFollow, UnfollowAiderRequest, UnfollowAiderResponse,
    UnfollowSourceRequest, UnfollowSourceResponse, UpdateMessageRequest, WatchRequest, sessions_server::Sessions,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

pub use self::chunks::EXPORT_CHUNK_BYTES;
pub use self::context::{DaemonFacts, SessionsService};

#[tonic::async_trait]
impl Sessions for SessionsService {
    async fn open_project(&self, request: Request<OpenProjectRequest>) -> Result<Response<ProjectState>, Status> {
        sessions::open_project(self, request).await
    }

    async fn list_projects(
        &self,
        request: Request<ListProjectsRequest>,
    ) -> Result<Response<ListProjectsResponse>, Status> {
        sessions::list_projects(self, request).await
    }

    async fn get_working_session(
        &self,
        request: Request<GetWorkingSessionRequest>,
    ) -> Result<Response<SessionContent>, Status> {
        sessions::get_working_session(self, request).await
    }

    async fn append_message(&self, request: Request<AppendMessageRequest>) -> Result<Response<MutationAck>, Status> {
        self.answer(sessions::append_message(request.into_inner())).await
    }

    async fn append_to_message(
        &self,
        request: Request<AppendToMessageRequest>,
    ) -> Result<Response<MutationAck>, Status> {
        self.answer(sessions::append_to_message(request.into_inner())).await
    }

    async fn update_message(&self, request: Request<UpdateMessageRequest>) -> Result<Response<MutationAck>, Status> {
        self.answer(sessions::update_message(request.into_inner())).await
    }

    async fn delete_messages(&self, request: Request<DeleteMessagesRequest>) -> Result<Response<MutationAck>, Status> {
        self.answer(sessions::delete_messages(request.into_inner())).await
    }

    async fn clear_messages(&self, request: Request<ClearMessagesRequest>) -> Result<Response<MutationAck>, Status> {
        self.answer(sessions::clear_messages(request.into_inner())).await
    }

    async fn add_context_files(
        &self,
        request: Request<AddContextFilesRequest>,
    ) -> Result<Response<MutationAck>, Status> {
        self.answer(sessions::add_context_files(request.into_inner())).await
    }

    async fn remove_context_files(
        &self,
        request: Request<RemoveContextFilesRequest>,
    ) -> Result<Response<MutationAck>, Status> {
        self.answer(sessions::remove_context_files(request.into_inner())).await
    }

    async fn set_context_files(
        &self,
        request: Request<SetContextFilesRequest>,
    ) -> Result<Response<MutationAck>, Status> {
        self.answer(sessions::set_context_files(request.into_inner())).await
    }

    async fn list_sessions(
        &self,
        request: Request<ListSessionsRequest>,
    ) -> Result<Response<ListSessionsResponse>, Status> {
        sessions::list_sessions(self, request).await
    }

    async fn save_session(&self, request: Request<SaveSessionRequest>) -> Result<Response<SessionInfo>, Status> {
        sessions::save_session(self, request).await
    }

    async fn load_session(&self, request: Request<LoadSessionRequest>) -> Result<Response<MutationAck>, Status> {
        sessions::load_session(self, request).await
    }

    async fn rename_session(&self, request: Request<RenameSessionRequest>) -> Result<Response<SessionInfo>, Status> {
        sessions::rename_session(self, request).await
    }

    async fn delete_session(
        &self,
        request: Request<DeleteSessionRequest>,
    ) -> Result<Response<DeleteSessionResponse>, Status> {
        sessions::delete_session(self, request).await
    }

    async fn get_session(&self, request: Request<GetSessionRequest>) -> Result<Response<SessionContent>, Status> {
        sessions::get_session(self, request).await
    }

    async fn list_trash(&self, request: Request<ListTrashRequest>) -> Result<Response<ListTrashResponse>, Status> {
        trash::list_trash(self, request).await
    }

    async fn restore_trash(&self, request: Request<RestoreTrashRequest>) -> Result<Response<SessionInfo>, Status> {
        trash::restore_trash(self, request).await
    }

    async fn purge_trash(&self, request: Request<PurgeTrashRequest>) -> Result<Response<PurgeTrashResponse>, Status> {
        trash::purge_trash(self, request).await
    }

    type ExportMarkdownStream = ReceiverStream<Result<ExportChunk, Status>>;

    async fn export_markdown(
        &self,
        request: Request<ExportRequest>,
    ) -> Result<Response<Self::ExportMarkdownStream>, Status> {
        export::export_markdown(self, request).await
    }

    type ExportImageStream = ReceiverStream<Result<ExportChunk, Status>>;

    async fn export_image(
        &self,
        request: Request<ExportImageRequest>,
    ) -> Result<Response<Self::ExportImageStream>, Status> {
        export::export_image(self, request).await
    }

    type WatchStream = ReceiverStream<Result<Event, Status>>;

    type MutateStream = mutate::Acks;

    async fn mutate(
        &self,
        request: Request<tonic::Streaming<MutateRequest>>,
    ) -> Result<Response<Self::MutateStream>, Status> {
        mutate::mutate(self, request).await
    }

    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        sessions::watch(self, request).await
    }

    type ImportSourceStream = ReceiverStream<Result<ImportSourceProgress, Status>>;

    async fn import_source(
        &self,
        request: Request<ImportSourceRequest>,
    ) -> Result<Response<Self::ImportSourceStream>, Status> {
        sources::import_source(self, request).await
    }

    type ExportBundleStream = ReceiverStream<Result<ExportChunk, Status>>;

    async fn export_bundle(
        &self,
        request: Request<ExportBundleRequest>,
    ) -> Result<Response<Self::ExportBundleStream>, Status> {
        interop::export_bundle(self, request).await
    }

    async fn import_bundle(
        &self,
        request: Request<tonic::Streaming<ImportBundleChunk>>,
    ) -> Result<Response<ImportBundleResponse>, Status> {
        interop::import_bundle(self, request).await
    }

    async fn follow_aider(&self, request: Request<FollowAiderRequest>) -> Result<Response<AiderFollow>, Status> {
        interop::follow_aider(self, request).await
    }

    async fn unfollow_aider(
        &self,
        request: Request<UnfollowAiderRequest>,
    ) -> Result<Response<UnfollowAiderResponse>, Status> {
        interop::unfollow_aider(self, request).await
    }

    async fn list_aider_follows(
        &self,
        request: Request<ListAiderFollowsRequest>,
    ) -> Result<Response<ListAiderFollowsResponse>, Status> {
        interop::list_aider_follows(self, request).await
    }

    async fn follow_source(&self, request: Request<FollowSourceRequest>) -> Result<Response<SourceFollow>, Status> {
        sources::follow_source(self, request).await
    }

    async fn unfollow_source(
        &self,
        request: Request<UnfollowSourceRequest>,
    ) -> Result<Response<UnfollowSourceResponse>, Status> {
        sources::unfollow_source(self, request).await
    }

    async fn list_source_follows(
        &self,
        request: Request<ListSourceFollowsRequest>,
    ) -> Result<Response<ListSourceFollowsResponse>, Status> {
        sources::list_source_follows(self, request).await
    }

    async fn get_status(&self, request: Request<GetStatusRequest>) -> Result<Response<DaemonStatus>, Status> {
        status::get_status(self, request).await
    }

    async fn search(&self, request: Request<SearchRequest>) -> Result<Response<SearchResponse>, Status> {
        search::search(self, request).await
    }

    async fn fork_session(&self, request: Request<ForkSessionRequest>) -> Result<Response<SessionInfo>, Status> {
        search::fork_session(self, request).await
    }

    async fn rewind_working(&self, request: Request<RewindWorkingRequest>) -> Result<Response<MutationAck>, Status> {
        search::rewind_working(self, request).await
    }
}
