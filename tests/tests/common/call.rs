//! One request of any kind, as a value: what the table-driven tests
//! (`daemon_errors`, `daemon_hostile`) list in their rows and send in a loop.

use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, AppendToMessageRequest, ClearMessagesRequest, DeleteMessagesRequest,
    DeleteSessionRequest, ExportImageRequest, ExportRequest, GetSessionRequest, GetWorkingSessionRequest,
    ListSessionsRequest, ListTrashRequest, LoadSessionRequest, OpenProjectRequest, PurgeTrashRequest,
    RemoveContextFilesRequest, RenameSessionRequest, RestoreTrashRequest, SaveSessionRequest, SetContextFilesRequest,
    UpdateMessageRequest, WatchRequest,
};
use tonic::Status;

use super::Client;

/// One request of any kind the tables need.
#[derive(Clone, Debug)]
pub enum Call {
    Open(OpenProjectRequest),
    Append(AppendMessageRequest),
    AppendTo(AppendToMessageRequest),
    Update(UpdateMessageRequest),
    Delete(DeleteMessagesRequest),
    Clear(ClearMessagesRequest),
    AddFiles(AddContextFilesRequest),
    RemoveFiles(RemoveContextFilesRequest),
    SetFiles(SetContextFilesRequest),
    GetWorking(GetWorkingSessionRequest),
    Save(SaveSessionRequest),
    GetSession(GetSessionRequest),
    ListSessions(ListSessionsRequest),
    Load(LoadSessionRequest),
    Rename(RenameSessionRequest),
    DeleteSession(DeleteSessionRequest),
    Export(ExportRequest),
    ExportImage(ExportImageRequest),
    ListTrash(ListTrashRequest),
    Watch(WatchRequest),
    Restore(RestoreTrashRequest),
    Purge(PurgeTrashRequest),
}

impl Call {
    /// Sends the call and returns its status; a streaming call counts as
    /// answered once the stream opens, so a refusal must come with the
    /// call itself.
    pub async fn send(self, client: &mut Client) -> Result<(), Status> {
        self.send_reading(client, false).await
    }

    /// Like [`Call::send`], but a streaming call must also deliver its
    /// first item (a refusal may come with the call or as that item).
    pub async fn send_and_read_first(self, client: &mut Client) -> Result<(), Status> {
        self.send_reading(client, true).await
    }

    async fn send_reading(self, client: &mut Client, read_first: bool) -> Result<(), Status> {
        match self {
            Call::Open(r) => client.open_project(r).await.map(drop),
            Call::Append(r) => client.append_message(r).await.map(drop),
            Call::AppendTo(r) => client.append_to_message(r).await.map(drop),
            Call::Update(r) => client.update_message(r).await.map(drop),
            Call::Delete(r) => client.delete_messages(r).await.map(drop),
            Call::Clear(r) => client.clear_messages(r).await.map(drop),
            Call::AddFiles(r) => client.add_context_files(r).await.map(drop),
            Call::RemoveFiles(r) => client.remove_context_files(r).await.map(drop),
            Call::SetFiles(r) => client.set_context_files(r).await.map(drop),
            Call::GetWorking(r) => client.get_working_session(r).await.map(drop),
            Call::Save(r) => client.save_session(r).await.map(drop),
            Call::GetSession(r) => client.get_session(r).await.map(drop),
            Call::ListSessions(r) => client.list_sessions(r).await.map(drop),
            Call::Load(r) => client.load_session(r).await.map(drop),
            Call::Rename(r) => client.rename_session(r).await.map(drop),
            Call::DeleteSession(r) => client.delete_session(r).await.map(drop),
            Call::Export(r) => {
                let mut stream = client.export_markdown(r).await?.into_inner();
                if read_first {
                    stream.message().await.map(drop)
                } else {
                    Ok(())
                }
            }
            Call::ExportImage(r) => {
                let mut stream = client.export_image(r).await?.into_inner();
                if read_first {
                    stream.message().await.map(drop)
                } else {
                    Ok(())
                }
            }
            Call::ListTrash(r) => client.list_trash(r).await.map(drop),
            Call::Watch(r) => {
                let mut stream = client.watch(r).await?.into_inner();
                if read_first {
                    stream.message().await.map(drop)
                } else {
                    Ok(())
                }
            }
            Call::Restore(r) => client.restore_trash(r).await.map(drop),
            Call::Purge(r) => client.purge_trash(r).await.map(drop),
        }
    }
}
