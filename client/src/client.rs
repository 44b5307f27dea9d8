//! [`Client`]: one method per call of the `Sessions` service, taking and
//! returning domain values, every failure an [`Error`]. The raw stub stays
//! reachable through [`Client::stub`].

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use chronicle_proto::v1::{
    AddContextFilesRequest, AiderFollow, AppendMessageRequest, AppendToMessageRequest, ClearMessagesRequest,
    ContextFile, DaemonStatus, DeleteMessagesRequest, DeleteSessionRequest, Event, ExportBundleRequest, ExportChunk,
    ExportImageRequest, ExportRequest, FollowAiderRequest, FollowSourceRequest, ForkSessionRequest, GetSessionRequest,
    GetStatusRequest, GetWorkingSessionRequest, ImportBundleChunk, ImportBundleResponse, ImportSourceProgress,
    ImportSourceRequest, ImportSourceSummary, ListAiderFollowsRequest, ListProjectsRequest, ListSessionsRequest,
    ListSourceFollowsRequest, ListTrashRequest, LoadSessionRequest, Message, MutationAck, OpenProjectRequest,
    ProjectState, PurgeTrashRequest, RemoveContextFilesRequest, RenameSessionRequest, RestoreTrashRequest,
    RewindWorkingRequest, SaveMode, SaveSessionRequest, SearchRequest, SearchResponse, SessionContent, SessionInfo,
    SetContextFilesRequest, SourceFollow, StartMode, TrashEntry, UnfollowAiderRequest, UnfollowAiderResponse,
    UnfollowSourceRequest, UnfollowSourceResponse, UpdateMessageRequest, WatchRequest,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Response, Streaming, transport::Channel};

use crate::{
    Error, Mutations, Pages, Session,
    connect::{self, DialError, Stub},
};

/// The response header that carries the daemon's version, so a client
/// learns it from its first answer instead of asking separately.
pub const VERSION_HEADER: &str = "chronicle-version";

/// A connection to the daemon. Cheap to clone: clones share the channel.
#[derive(Clone, Debug)]
pub struct Client {
    stub: Stub,
    channel: Channel,
    socket: Arc<PathBuf>,
    daemon_version: Arc<OnceLock<String>>,
}

impl Client {
    /// Connects to the daemon on `socket`; `Unavailable` when none answers.
    pub async fn connect(socket: &Path) -> Result<Client, Error> {
        match Client::try_connect(socket).await? {
            Some(client) => Ok(client),
            None => Err(connect::not_running(socket)),
        }
    }

    /// Connects to the daemon on `socket`, or `None` when nothing listens
    /// there (so the caller may start one).
    pub async fn try_connect(socket: &Path) -> Result<Option<Client>, Error> {
        match connect::dial(socket).await {
            Ok(channel) => Ok(Some(Client::on(channel, socket))),
            Err(DialError::NotRunning) => Ok(None),
            Err(DialError::Failed(err)) => Err(err),
        }
    }

    fn on(channel: Channel, socket: &Path) -> Client {
        Client {
            stub: connect::stub(channel.clone()),
            channel,
            socket: Arc::new(socket.to_path_buf()),
            daemon_version: Arc::default(),
        }
    }

    /// The socket this client dialled.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The generated stub on this connection, for calls not wrapped here.
    pub fn stub(&self) -> Stub {
        self.stub.clone()
    }

    /// The raw channel, for the health and reflection services.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The daemon's version, once any answer has carried it.
    pub fn daemon_version(&self) -> Option<&str> {
        self.daemon_version.get().map(String::as_str)
    }

    /// The daemon's version when it is older than this client's crate
    /// version: the running daemon predates an upgrade and should restart.
    pub fn older_daemon(&self) -> Option<&str> {
        let theirs = self.daemon_version()?;
        is_older(theirs, env!("CARGO_PKG_VERSION")).then_some(theirs)
    }

    /// Unwraps an answer, noting the daemon's version from its headers.
    fn take<T>(&self, response: Response<T>) -> T {
        if self.daemon_version.get().is_none()
            && let Some(version) = response.metadata().get(VERSION_HEADER).and_then(|v| v.to_str().ok())
        {
            let _ = self.daemon_version.set(version.to_owned());
        }
        response.into_inner()
    }

    pub async fn status(&self) -> Result<DaemonStatus, Error> {
        let status = self.take(self.stub().get_status(GetStatusRequest {}).await?);
        let _ = self.daemon_version.set(status.version.clone());
        Ok(status)
    }

    pub async fn projects(&self) -> Result<Vec<ProjectState>, Error> {
        Ok(self
            .take(self.stub().list_projects(ListProjectsRequest {}).await?)
            .projects)
    }

    pub async fn open_project(&self, project: &str, start: StartMode) -> Result<ProjectState, Error> {
        let request = OpenProjectRequest {
            project: project.to_owned(),
            start: start as i32,
            expected_revision: None,
        };
        Ok(self.take(self.stub().open_project(request).await?))
    }

    /// One page of a session: up to `limit` messages after `after` (0 = the
    /// daemon's page size), with the session's files and revision.
    pub async fn page(
        &self,
        project: &str,
        session: &Session,
        after: u64,
        limit: u32,
    ) -> Result<SessionContent, Error> {
        let response = match session {
            Session::Working => {
                self.stub()
                    .get_working_session(GetWorkingSessionRequest {
                        project: project.to_owned(),
                        after_message_id: after,
                        limit,
                    })
                    .await?
            }
            Session::Saved(name) => {
                self.stub()
                    .get_session(GetSessionRequest {
                        project: project.to_owned(),
                        name: name.clone(),
                        after_message_id: after,
                        limit,
                    })
                    .await?
            }
        };
        Ok(self.take(response))
    }

    /// Every page of a session, read lazily.
    pub fn pages(&self, project: &str, session: Session) -> Pages {
        Pages::new(self.clone(), project, session)
    }

    /// A whole session in one value: its first page's header and files,
    /// every message of every page.
    pub async fn read_session(&self, project: &str, session: Session) -> Result<SessionContent, Error> {
        self.pages(project, session).read_all().await
    }

    pub async fn append(
        &self,
        project: &str,
        message: Message,
        expected_revision: Option<u64>,
    ) -> Result<MutationAck, Error> {
        let request = AppendMessageRequest {
            project: project.to_owned(),
            message: Some(message),
            expected_revision,
        };
        Ok(self.take(self.stub().append_message(request).await?))
    }

    pub async fn append_to(&self, project: &str, message_id: u64, delta: &str) -> Result<MutationAck, Error> {
        let request = AppendToMessageRequest {
            project: project.to_owned(),
            message_id,
            delta: delta.to_owned(),
            expected_revision: None,
        };
        Ok(self.take(self.stub().append_to_message(request).await?))
    }

    pub async fn update(
        &self,
        project: &str,
        message: Message,
        expected_revision: Option<u64>,
    ) -> Result<MutationAck, Error> {
        let request = UpdateMessageRequest {
            project: project.to_owned(),
            message: Some(message),
            expected_revision,
        };
        Ok(self.take(self.stub().update_message(request).await?))
    }

    /// Moves message `message_id` (and with `truncate_after` every later
    /// one) to the trash.
    pub async fn delete_messages(
        &self,
        project: &str,
        message_id: u64,
        truncate_after: bool,
    ) -> Result<MutationAck, Error> {
        let request = DeleteMessagesRequest {
            project: project.to_owned(),
            message_id,
            truncate_after,
            expected_revision: None,
        };
        Ok(self.take(self.stub().delete_messages(request).await?))
    }

    pub async fn clear(&self, project: &str) -> Result<MutationAck, Error> {
        let request = ClearMessagesRequest {
            project: project.to_owned(),
            expected_revision: None,
        };
        Ok(self.take(self.stub().clear_messages(request).await?))
    }

    pub async fn add_files(&self, project: &str, files: Vec<ContextFile>) -> Result<MutationAck, Error> {
        let request = AddContextFilesRequest {
            project: project.to_owned(),
            files,
            expected_revision: None,
        };
        Ok(self.take(self.stub().add_context_files(request).await?))
    }

    pub async fn remove_files(&self, project: &str, paths: Vec<String>) -> Result<MutationAck, Error> {
        let request = RemoveContextFilesRequest {
            project: project.to_owned(),
            paths,
            expected_revision: None,
        };
        Ok(self.take(self.stub().remove_context_files(request).await?))
    }

    pub async fn set_files(&self, project: &str, files: Vec<ContextFile>) -> Result<MutationAck, Error> {
        let request = SetContextFilesRequest {
            project: project.to_owned(),
            files,
            expected_revision: None,
        };
        Ok(self.take(self.stub().set_context_files(request).await?))
    }

    /// The project's saved sessions, newest update first.
    pub async fn sessions(&self, project: &str) -> Result<Vec<SessionInfo>, Error> {
        let request = ListSessionsRequest {
            project: project.to_owned(),
        };
        Ok(self.take(self.stub().list_sessions(request).await?).sessions)
    }

    pub async fn save(&self, project: &str, name: &str, mode: SaveMode) -> Result<SessionInfo, Error> {
        let request = SaveSessionRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            mode: mode as i32,
            expected_revision: None,
        };
        Ok(self.take(self.stub().save_session(request).await?))
    }

    /// Loads a saved session's messages and/or files into the working
    /// session; what they replace goes to the trash.
    pub async fn load(&self, project: &str, name: &str, messages: bool, files: bool) -> Result<MutationAck, Error> {
        let request = LoadSessionRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            messages,
            files,
            expected_revision: None,
        };
        Ok(self.take(self.stub().load_session(request).await?))
    }

    pub async fn rename(&self, project: &str, name: &str, new_name: &str) -> Result<SessionInfo, Error> {
        let request = RenameSessionRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            new_name: new_name.to_owned(),
            expected_revision: None,
        };
        Ok(self.take(self.stub().rename_session(request).await?))
    }

    /// Moves a saved session to the trash; returns the trash entry's id.
    pub async fn delete_session(&self, project: &str, name: &str) -> Result<String, Error> {
        let request = DeleteSessionRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            expected_revision: None,
        };
        Ok(self.take(self.stub().delete_session(request).await?).trash_id)
    }

    /// The trash of `project`, or of every project when it is empty.
    pub async fn trash(&self, project: &str) -> Result<Vec<TrashEntry>, Error> {
        let request = ListTrashRequest {
            project: project.to_owned(),
        };
        Ok(self.take(self.stub().list_trash(request).await?).entries)
    }

    pub async fn restore(&self, id: &str, new_name: &str) -> Result<SessionInfo, Error> {
        let request = RestoreTrashRequest {
            id: id.to_owned(),
            new_name: new_name.to_owned(),
            expected_revision: None,
        };
        Ok(self.take(self.stub().restore_trash(request).await?))
    }

    /// Destroys trash entry `id`, or (with an empty id) every entry
    /// trashed before `older_than_ms`; returns how many went.
    pub async fn purge(&self, id: &str, older_than_ms: i64) -> Result<u32, Error> {
        let request = PurgeTrashRequest {
            id: id.to_owned(),
            older_than_ms,
            expected_revision: None,
        };
        Ok(self.take(self.stub().purge_trash(request).await?).purged)
    }

    /// A session as Markdown, in chunks; `name` empty = the working session.
    pub async fn export_markdown(&self, project: &str, name: &str) -> Result<Streaming<ExportChunk>, Error> {
        let request = ExportRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            time_zone: crate::time::system_time_zone(),
        };
        Ok(self.take(self.stub().export_markdown(request).await?))
    }

    /// A session as PNG pages, in chunks; times are shown in this
    /// process's zone unless the request names one.
    pub async fn export_image(&self, mut request: ExportImageRequest) -> Result<Streaming<ExportChunk>, Error> {
        if request.time_zone.is_empty() {
            request.time_zone = crate::time::system_time_zone();
        }
        Ok(self.take(self.stub().export_image(request).await?))
    }

    /// Every change of `project` (empty = every project) from now on,
    /// starting with a snapshot event.
    /// Opens a `Mutate` stream: working-session mutations one after
    /// another, each acknowledged once durable, for less than a call each.
    pub async fn mutations(&self) -> Result<Mutations, Error> {
        // One request waits at most: HTTP/2 takes the next as it can, and
        // a burst (`send_all`) is sent no faster than that.
        let (requests, outgoing) = tokio::sync::mpsc::channel(1);
        let acks = self.take(self.stub().mutate(ReceiverStream::new(outgoing)).await?);
        Ok(Mutations::new(requests, acks))
    }

    pub async fn watch(&self, project: &str) -> Result<Streaming<Event>, Error> {
        let request = WatchRequest {
            project: project.to_owned(),
        };
        Ok(self.take(self.stub().watch(request).await?))
    }

    pub async fn export_bundle(&self, request: ExportBundleRequest) -> Result<Streaming<ExportChunk>, Error> {
        Ok(self.take(self.stub().export_bundle(request).await?))
    }

    pub async fn import_bundle(
        &self,
        chunks: impl tonic::IntoStreamingRequest<Message = ImportBundleChunk>,
    ) -> Result<ImportBundleResponse, Error> {
        Ok(self.take(self.stub().import_bundle(chunks).await?))
    }

    pub async fn follow_aider(&self, request: FollowAiderRequest) -> Result<AiderFollow, Error> {
        Ok(self.take(self.stub().follow_aider(request).await?))
    }

    pub async fn unfollow_aider(&self, project: &str) -> Result<UnfollowAiderResponse, Error> {
        let request = UnfollowAiderRequest {
            project: project.to_owned(),
        };
        Ok(self.take(self.stub().unfollow_aider(request).await?))
    }

    pub async fn aider_follows(&self) -> Result<Vec<AiderFollow>, Error> {
        Ok(self
            .take(self.stub().list_aider_follows(ListAiderFollowsRequest {}).await?)
            .follows)
    }

    /// One page of search hits (`SearchRequest` as the daemon takes it:
    /// an empty project searches every project).
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResponse, Error> {
        Ok(self.take(self.stub().search(request).await?))
    }

    /// A new saved session `new_name` from the source (`None` = the
    /// working session) through message `at_message_id`.
    pub async fn fork(
        &self,
        project: &str,
        source: Option<&str>,
        at_message_id: u64,
        new_name: &str,
    ) -> Result<SessionInfo, Error> {
        let request = ForkSessionRequest {
            project: project.to_owned(),
            source_name: source.unwrap_or_default().to_owned(),
            at_message_id,
            new_name: new_name.to_owned(),
        };
        Ok(self.take(self.stub().fork_session(request).await?))
    }

    /// Moves every message after `keep_through_message_id` to the trash.
    pub async fn rewind(
        &self,
        project: &str,
        keep_through_message_id: u64,
        expected_revision: Option<u64>,
    ) -> Result<MutationAck, Error> {
        let request = RewindWorkingRequest {
            project: project.to_owned(),
            keep_through_message_id,
            expected_revision,
        };
        Ok(self.take(self.stub().rewind_working(request).await?))
    }

    /// Starts following an agent's sessions (aider's too).
    pub async fn follow_source(&self, request: FollowSourceRequest) -> Result<SourceFollow, Error> {
        Ok(self.take(self.stub().follow_source(request).await?))
    }

    pub async fn unfollow_source(&self, request: UnfollowSourceRequest) -> Result<UnfollowSourceResponse, Error> {
        Ok(self.take(self.stub().unfollow_source(request).await?))
    }

    /// Every follow, aider's included.
    pub async fn source_follows(&self) -> Result<Vec<SourceFollow>, Error> {
        Ok(self
            .take(self.stub().list_source_follows(ListSourceFollowsRequest {}).await?)
            .follows)
    }

    /// Starts an import of another agent's sessions: progress after each
    /// file, the summary on the last message.
    pub async fn import_source(&self, request: ImportSourceRequest) -> Result<Streaming<ImportSourceProgress>, Error> {
        Ok(self.take(self.stub().import_source(request).await?))
    }

    /// Runs an import to its end, calling `progress` after each file, and
    /// returns its summary.
    pub async fn import_source_all(
        &self,
        request: ImportSourceRequest,
        mut progress: impl FnMut(&ImportSourceProgress),
    ) -> Result<ImportSourceSummary, Error> {
        let mut stream = self.import_source(request).await?;
        while let Some(message) = stream.message().await? {
            if let Some(done) = message.done {
                return Ok(done);
            }
            progress(&message);
        }
        Err(Error::from(tonic::Status::unavailable(
            "the daemon ended the import without its summary — run the import again (it adds only what is new)",
        )))
    }

    /// The next chunk of an export stream, `None` after the last.
    pub async fn next_chunk(stream: &mut Streaming<ExportChunk>) -> Result<Option<ExportChunk>, Error> {
        Ok(stream.message().await?)
    }
}

/// True when dotted version `theirs` is older than `ours`.
fn is_older(theirs: &str, ours: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    matches!((parse(theirs), parse(ours)), (Some(theirs), Some(ours)) if theirs < ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(is_older("0.1.0", "0.2.0"));
        assert!(is_older("0.9.0", "0.10.0"));
        assert!(!is_older("0.10.0", "0.9.0"));
        assert!(!is_older("0.1.0", "0.1.0"));
        assert!(!is_older("dev", "0.1.0"));
    }
}
