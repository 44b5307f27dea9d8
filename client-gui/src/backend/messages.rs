//! What the UI and the backend say to each other: the [`Request`]s the UI
//! sends, the [`Update`]s it drains each frame, and the name a toast gives
//! each request.

use std::path::PathBuf;

use chronicle_client::v1::{
    Event, Message, ProjectState, SearchResponse, SessionContent, SessionInfo, StartMode, TrashEntry,
};

/// What the UI asks the backend to do. Each request runs as its own task,
/// so a slow export never holds up a save.
#[derive(Debug, Clone)]
pub enum Request {
    /// Connect; with `start_daemon`, start one when none answers.
    Connect {
        start_daemon: bool,
    },
    ListProjects,
    /// Reads a project's state without changing it, for the start-up choice.
    Probe {
        project: String,
    },
    /// `OpenProject`, then follow its `Watch` stream (replacing any other).
    Open {
        project: String,
        start: StartMode,
    },
    /// One page of the working session after message id `after`.
    LoadPage {
        project: String,
        after: u64,
        generation: u64,
    },
    ListSessions {
        project: String,
    },
    ListTrash {
        project: String,
    },
    Append {
        project: String,
        message: Box<Message>,
    },
    Save {
        project: String,
        name: String,
        overwrite: bool,
    },
    LoadSession {
        project: String,
        name: String,
        messages: bool,
        files: bool,
    },
    Rename {
        project: String,
        name: String,
        new_name: String,
    },
    Delete {
        project: String,
        name: String,
    },
    Restore {
        id: String,
        label: String,
    },
    AddFiles {
        project: String,
        paths: Vec<String>,
        read_only: bool,
    },
    RemoveFile {
        project: String,
        path: String,
    },
    /// Asks for a folder with the system's picker, then reports it.
    PickProject,
    /// Asks for files inside `project` to add to the context.
    PickFiles {
        project: String,
    },
    /// `name` empty = the working session.
    ExportMarkdown {
        project: String,
        name: String,
    },
    ExportImage {
        project: String,
        name: String,
        dark: bool,
        scale: f32,
    },
    /// One page of hits over every project; `page_token` empty = the first.
    /// `generation` ties the answer to the search that asked.
    Search {
        query: String,
        include_trash: bool,
        page_token: String,
        generation: u64,
    },
    /// Reads a whole session (`name` empty = the working session) for the
    /// read-only view, to be shown at message `at`.
    View {
        project: String,
        name: String,
        at: u64,
    },
    /// `ForkSession`: `source` empty = the working session.
    Fork {
        project: String,
        source: String,
        at: u64,
        new_name: String,
    },
    /// `RewindWorking` at the revision the window showed, so a stale view
    /// is refused rather than cutting messages the user never saw.
    Rewind {
        project: String,
        keep_through: u64,
        expected_revision: u64,
    },
}

/// What the backend tells the UI.
#[derive(Debug, Clone)]
pub enum Update {
    Connected {
        daemon_version: String,
    },
    /// No daemon answers; `reason` is a sentence for the banner.
    Disconnected {
        reason: String,
    },
    Projects(Vec<ProjectState>),
    Probed {
        project: String,
        state: Option<ProjectState>,
    },
    Opened {
        state: ProjectState,
    },
    Page {
        project: String,
        generation: u64,
        after: u64,
        content: Box<SessionContent>,
    },
    /// One event from the project's `Watch` stream (SNAPSHOT included).
    Event(Box<Event>),
    Sessions {
        project: String,
        sessions: Vec<SessionInfo>,
    },
    Trash {
        project: String,
        entries: Vec<TrashEntry>,
    },
    /// A finished action worth a short confirmation.
    Done(String),
    /// A failed action: what was tried and the daemon's sentence.
    Failed {
        action: String,
        message: String,
    },
    /// `SaveSession(CREATE_NEW)` found the name taken: the popup offers
    /// Overwrite instead of a toast.
    NameTaken {
        name: String,
        message: String,
    },
    /// A folder the user picked with "Open project…".
    ProjectPicked(PathBuf),
    /// Files the user picked to add to the context.
    FilesPicked {
        project: String,
        paths: Vec<String>,
    },
    /// A page of search hits; `more` says it continues the shown list.
    SearchResults {
        generation: u64,
        more: bool,
        response: Box<SearchResponse>,
    },
    /// The daemon refused the query (it does not parse, or there is no
    /// index): its sentence is shown under the field, not as a toast.
    SearchRefused {
        generation: u64,
        message: String,
    },
    /// A session read for the read-only view.
    Viewed {
        project: String,
        name: String,
        at: u64,
        content: Box<SessionContent>,
    },
}

/// The action a request stands for, as a toast names it.
pub(super) fn describe(request: &Request) -> String {
    match request {
        Request::Connect { .. } => "Connect".into(),
        Request::ListProjects => "List projects".into(),
        Request::Probe { .. } | Request::Open { .. } => "Open project".into(),
        Request::LoadPage { .. } => "Read messages".into(),
        Request::ListSessions { .. } => "List sessions".into(),
        Request::ListTrash { .. } => "List trash".into(),
        Request::Append { .. } => "Send message".into(),
        Request::Save {
            name, overwrite: true, ..
        } => format!("Overwrite “{name}”"),
        Request::Save { name, .. } => format!("Save “{name}”"),
        Request::LoadSession { name, .. } => format!("Load “{name}”"),
        Request::Rename { name, .. } => format!("Rename “{name}”"),
        Request::Delete { name, .. } => format!("Delete “{name}”"),
        Request::Restore { label, .. } => format!("Restore “{label}”"),
        Request::AddFiles { .. } => "Add files".into(),
        Request::RemoveFile { path, .. } => format!("Remove {path}"),
        Request::PickProject | Request::PickFiles { .. } => "File dialog".into(),
        Request::ExportMarkdown { .. } => "Export as Markdown".into(),
        Request::ExportImage { .. } => "Export as image".into(),
        Request::Search { .. } => "Search".into(),
        Request::View { name, .. } if name.is_empty() => "Open the working session".into(),
        Request::View { name, .. } => format!("Open “{name}”"),
        Request::Fork { new_name, at, .. } => format!("Fork “{new_name}” from #{at}"),
        Request::Rewind { keep_through, .. } => format!("Rewind to #{keep_through}"),
    }
}
