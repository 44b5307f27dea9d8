//! Helpers shared by the daemon's end-to-end tests: building requests,
//! reading a whole session back page by page, taking a snapshot of
//! everything a project holds, requests as values for the table-driven
//! tests, and checking that a call failed with the expected status code.

mod call;

pub use call::Call;

use std::{fmt::Debug, path::Path};

use chronicle_proto::{
    SessionsClient,
    v1::{
        AddContextFilesRequest, AppendMessageRequest, ContextFile, Event, GetSessionRequest, GetWorkingSessionRequest,
        ListProjectsRequest, ListSessionsRequest, ListTrashRequest, Message, MutationAck, OpenProjectRequest,
        ProjectState, Role, SaveMode, SaveSessionRequest, SessionContent, SessionInfo, StartMode, TrashEntry,
        WatchRequest,
    },
};
use tonic::{Code, Status, Streaming, transport::Channel};

/// How long to wait for an event that must come; only a guard against a
/// hung test, never a measurement.
pub const EVENT_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Held by the tests that load the machine for long (the 30-second load,
/// the hostile image export): all tests share one process, and these
/// measure what the others would take from them (throughput, a time bound),
/// so no two of them run at once. Light tests still run beside them.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until no other heavy test runs; heavy until the guard drops.
pub async fn heavy() -> tokio::sync::MutexGuard<'static, ()> {
    HEAVY.lock().await
}

/// Says why a test cannot run here and lets it return early — except
/// under `CI=true`, where a test that checks nothing must fail instead.
#[track_caller]
pub fn skip(what: &str) {
    assert!(
        std::env::var_os("CI").is_none_or(|v| v != "true"),
        "{what}, and CI must run this test"
    );
    eprintln!("skipped: {what}");
}

/// The generated client on the daemon's socket.
pub type Client = SessionsClient<Channel>;

/// A project path as the API wants it: an absolute path in a string.
pub fn path_str(path: &Path) -> String {
    path.to_str().expect("temp paths are UTF-8").to_owned()
}

/// A message with just a role and content; the daemon assigns the rest.
pub fn message(role: Role, content: &str) -> Message {
    Message {
        role: role as i32,
        content: content.to_owned(),
        ..Message::default()
    }
}

/// A context file entry.
pub fn file(path: &str, read_only: bool) -> ContextFile {
    ContextFile {
        path: path.to_owned(),
        read_only,
        ..ContextFile::default()
    }
}

/// Opens (or re-opens) a project with `start`.
/// A `Watch` of `project`, its SNAPSHOT still to be read.
pub async fn watch(client: &mut Client, project: &str) -> Streaming<Event> {
    client
        .watch(WatchRequest {
            project: project.to_owned(),
        })
        .await
        .expect("Watch")
        .into_inner()
}

/// The next event of a `Watch` that must send one.
pub async fn next_event(stream: &mut Streaming<Event>) -> Event {
    tokio::time::timeout(EVENT_WAIT, stream.message())
        .await
        .expect("an event arrives")
        .expect("the stream is healthy")
        .expect("the stream is still open")
}

pub async fn open_with(client: &mut Client, project: &str, start: StartMode) -> ProjectState {
    client
        .open_project(OpenProjectRequest {
            project: project.to_owned(),
            start: start as i32,
            expected_revision: None,
        })
        .await
        .expect("OpenProject")
        .into_inner()
}

/// Opens a project keeping its working session ("load last session").
pub async fn open(client: &mut Client, project: &str) -> ProjectState {
    open_with(client, project, StartMode::Last).await
}

/// Appends a whole message unconditionally.
pub async fn append_message(client: &mut Client, project: &str, message: Message) -> MutationAck {
    client
        .append_message(AppendMessageRequest {
            project: project.to_owned(),
            message: Some(message),
            expected_revision: None,
        })
        .await
        .expect("AppendMessage")
        .into_inner()
}

/// Appends a message with a role and content.
pub async fn append(client: &mut Client, project: &str, role: Role, content: &str) -> MutationAck {
    append_message(client, project, message(role, content)).await
}

/// Adds context files unconditionally.
pub async fn add_files(client: &mut Client, project: &str, files: Vec<ContextFile>) -> MutationAck {
    client
        .add_context_files(AddContextFilesRequest {
            project: project.to_owned(),
            files,
            expected_revision: None,
        })
        .await
        .expect("AddContextFiles")
        .into_inner()
}

/// Saves the working session under `name`.
pub async fn save(client: &mut Client, project: &str, name: &str, mode: SaveMode) -> SessionInfo {
    client
        .save_session(SaveSessionRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            mode: mode as i32,
            expected_revision: None,
        })
        .await
        .expect("SaveSession")
        .into_inner()
}

/// Which session [`pages`] reads: the working session or a saved one.
#[derive(Clone, Copy, Debug)]
pub enum Session<'a> {
    Working,
    Saved(&'a str),
}

/// Every page of a session, in order: `limit` messages a page (0: the
/// daemon's default page), each page asked for after the last message of
/// the one before, until a page says there is no more. Fails the test if a
/// page says there is more but holds nothing, or if paging does not advance
/// (so a daemon that pages forever fails instead of hanging the test).
pub async fn pages(client: &mut Client, project: &str, session: Session<'_>, limit: u32) -> Vec<SessionContent> {
    let mut pages = Vec::new();
    let mut after = 0;
    loop {
        let page = match session {
            Session::Working => client
                .get_working_session(GetWorkingSessionRequest {
                    project: project.to_owned(),
                    after_message_id: after,
                    limit,
                })
                .await
                .expect("GetWorkingSession"),
            Session::Saved(name) => client
                .get_session(GetSessionRequest {
                    project: project.to_owned(),
                    name: name.to_owned(),
                    after_message_id: after,
                    limit,
                })
                .await
                .expect("GetSession"),
        }
        .into_inner();
        let more = page.more;
        let last = page.messages.last().map(|m| m.id);
        pages.push(page);
        if !more {
            return pages;
        }
        let last = last.expect("a page with more has messages");
        assert!(
            last > after,
            "paging does not advance: the page after message {after} ends at {last}"
        );
        after = last;
    }
}

/// Pages joined into one content: the first page's header with every
/// page's messages, `more` false.
pub fn joined(pages: Vec<SessionContent>) -> SessionContent {
    let mut pages = pages.into_iter();
    let mut whole = pages.next().expect("at least one page");
    for page in pages {
        whole.messages.extend(page.messages);
    }
    whole.more = false;
    whole
}

/// The whole working session, every page joined into one.
pub async fn working(client: &mut Client, project: &str) -> SessionContent {
    joined(pages(client, project, Session::Working, 0).await)
}

/// The whole of a saved session, every page joined into one.
pub async fn saved(client: &mut Client, project: &str, name: &str) -> SessionContent {
    joined(pages(client, project, Session::Saved(name), 0).await)
}

/// The saved sessions of a project, as the daemon lists them.
pub async fn sessions(client: &mut Client, project: &str) -> Vec<SessionInfo> {
    client
        .list_sessions(ListSessionsRequest {
            project: project.to_owned(),
        })
        .await
        .expect("ListSessions")
        .into_inner()
        .sessions
}

/// Trash entries of one project (or of all, for "").
pub async fn trash(client: &mut Client, project: &str) -> Vec<TrashEntry> {
    client
        .list_trash(ListTrashRequest {
            project: project.to_owned(),
        })
        .await
        .expect("ListTrash")
        .into_inner()
        .entries
}

/// Everything a client can see of one project: its working session (with
/// its revision), its saved sessions and its trash.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub working: SessionContent,
    pub sessions: Vec<SessionInfo>,
    pub trash: Vec<TrashEntry>,
}

/// How many projects the daemon knows.
pub async fn project_count(client: &mut Client) -> usize {
    client
        .list_projects(ListProjectsRequest {})
        .await
        .expect("ListProjects")
        .into_inner()
        .projects
        .len()
}

/// Takes a [`Snapshot`] of a project.
pub async fn snapshot(client: &mut Client, project: &str) -> Snapshot {
    Snapshot {
        working: working(client, project).await,
        sessions: sessions(client, project).await,
        trash: trash(client, project).await,
    }
}

/// Asserts that a call failed with `code` and returns its status.
#[track_caller]
pub fn expect_code<T: Debug>(result: Result<tonic::Response<T>, Status>, code: Code, what: &str) -> Status {
    match result {
        Ok(response) => panic!(
            "{what}: expected {code:?}, but the call succeeded with {:?}",
            response.into_inner()
        ),
        Err(status) => {
            assert_eq!(status.code(), code, "{what}: wrong code, message: {}", status.message());
            assert!(!status.message().is_empty(), "{what}: the status carries no message");
            status
        }
    }
}

/// Resident memory of a process, in KiB (VmRSS of /proc/PID/status).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|err| panic!("read /proc/{pid}/status: {err}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

/// Number of sockets a process holds open (its listening socket and its
/// connections), from `/proc/PID/fd`. Files are left out: the search
/// index holds one open file per segment for its postings and positions,
/// and their number follows the index, not the connections.
pub fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|err| panic!("list /proc/{pid}/fd: {err}"))
        .filter_map(Result::ok)
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:")))
        .count()
}

/// A request body that sends its bytes in one frame and ends.
struct OnceBody(Option<tonic::codegen::Bytes>);

impl http_body::Body for OnceBody {
    type Data = tonic::codegen::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(|bytes| Ok(http_body::Frame::data(bytes))))
    }
}

/// Sends `body` as the whole HTTP/2 body of a gRPC call to `path`
/// (`/package.Service/Method`), below any generated client, and returns
/// the gRPC status of the answer.
pub async fn raw_grpc_call(channel: &mut Channel, path: &str, body: Vec<u8>) -> Status {
    use http_body::Body as _;
    use tonic::codegen::{Service as _, http};
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("http://chronicle.local{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::new(OnceBody(Some(body.into()))))
        .expect("build the request");
    std::future::poll_fn(|cx| channel.poll_ready(cx))
        .await
        .expect("the channel is ready");
    let response = channel.call(request).await.expect("an HTTP/2 answer");
    let (parts, body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers) {
        return status;
    }
    let mut body = std::pin::pin!(body);
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.expect("read the answer");
        if let Ok(trailers) = frame.into_trailers()
            && let Some(status) = Status::from_header_map(&trailers)
        {
            return status;
        }
    }
    panic!("{path}: the answer carried no grpc-status");
}
