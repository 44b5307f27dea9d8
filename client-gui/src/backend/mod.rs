//! The app's only link to the daemon: gRPC calls run on a background tokio
//! runtime, so the UI thread never waits on a socket. The UI sends a
//! [`Request`] (never blocks: the channel is unbounded) and drains
//! [`Update`]s once per frame; every update wakes the UI with a repaint.
//!
//! The backend also keeps the connection alive: when a call or the `Watch`
//! stream finds the daemon gone, it says so and polls the socket until a
//! daemon answers again, then reports [`Update::Connected`] so the UI
//! re-opens its project and re-reads everything (a resync).
//!
//! [`messages`] holds what the UI and the backend say to each other;
//! [`export_file`] saves an export's pages where the user chooses.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chronicle_client::{
    Client, ErrorKind, Session, daemon,
    v1::{ContextFile, Event, ExportChunk, ExportImageRequest, SaveMode, SearchRequest, StartMode, Theme},
};
use tokio::{runtime::Runtime, sync::mpsc, task::JoinHandle};
use tonic::{Code, Streaming};

mod export_file;
mod messages;

use messages::describe;
pub use messages::{Request, Update};

/// Messages per page when reading a working session: enough to fill any
/// window, small enough that the first page of a huge chat arrives at once.
pub const PAGE_MESSAGES: u32 = 500;

/// Search hits per page ("More results" asks for the next).
pub const SEARCH_PAGE: u32 = 20;

/// How often a lost daemon is looked for again.
const RECONNECT_EVERY: Duration = Duration::from_millis(400);

/// Wakes the UI when an update arrives. Set once the UI has a context;
/// before that, updates simply wait in the channel for the first frame.
#[derive(Clone, Default)]
pub struct Waker(Arc<Mutex<Option<eframe::egui::Context>>>);

impl Waker {
    pub fn set(&self, ctx: &eframe::egui::Context) {
        if let Ok(mut slot) = self.0.lock()
            && slot.is_none()
        {
            *slot = Some(ctx.clone());
        }
    }

    fn wake(&self) {
        if let Ok(slot) = self.0.lock()
            && let Some(ctx) = slot.as_ref()
        {
            ctx.request_repaint();
        }
    }
}

/// The UI's handle on the backend. Dropping it stops the runtime (and with
/// it every call in flight), which is what closing the window should do.
pub struct Backend {
    requests: mpsc::UnboundedSender<Request>,
    updates: std::sync::mpsc::Receiver<Update>,
    pub waker: Waker,
    _runtime: Runtime,
}

impl Backend {
    /// Starts the runtime and the dispatcher for the daemon on `socket`.
    pub fn start(socket: PathBuf) -> std::io::Result<Backend> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("chronicle-gui-io")
            .enable_all()
            .build()?;
        let (requests, mut inbox) = mpsc::unbounded_channel();
        let (out, updates) = std::sync::mpsc::channel();
        let waker = Waker::default();
        let shared = Shared {
            socket,
            client: Arc::new(Mutex::new(None)),
            out,
            waker: waker.clone(),
            reconnecting: Arc::new(AtomicBool::new(false)),
            watch: Arc::new(Mutex::new(None)),
        };
        runtime.spawn(async move {
            while let Some(request) = inbox.recv().await {
                let shared = shared.clone();
                tokio::spawn(async move { shared.handle(request).await });
            }
        });
        Ok(Backend {
            requests,
            updates,
            waker,
            _runtime: runtime,
        })
    }

    /// Queues a request; never blocks.
    pub fn send(&self, request: Request) {
        // The dispatcher lives as long as the runtime, which lives as long
        // as `self`: a send cannot fail while we exist.
        let _ = self.requests.send(request);
    }

    /// Every update that arrived since the last call.
    pub fn drain(&self) -> Vec<Update> {
        self.updates.try_iter().collect()
    }
}

/// What every backend task shares.
#[derive(Clone)]
struct Shared {
    socket: PathBuf,
    client: Arc<Mutex<Option<Client>>>,
    out: std::sync::mpsc::Sender<Update>,
    waker: Waker,
    /// True while a reconnect loop runs, so only one ever does.
    reconnecting: Arc<AtomicBool>,
    /// The task following the open project's `Watch` stream.
    watch: Arc<Mutex<Option<JoinHandle<()>>>>,
}

/// A call's failure: the sentence a toast shows, and whether the daemon
/// is gone (the kinds are `chronicle_client`'s, shared with the CLI).
struct Failure {
    message: String,
    lost: bool,
}

impl From<chronicle_client::Error> for Failure {
    fn from(err: chronicle_client::Error) -> Self {
        let lost = err.kind() == ErrorKind::Unavailable;
        let message = match err.code() {
            Some(Code::Unimplemented) => format!("this daemon cannot do that yet: {err}"),
            _ if lost => "lost the connection to the daemon — reconnecting".to_owned(),
            _ => err.to_string(),
        };
        Failure { message, lost }
    }
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        Failure::from(chronicle_client::Error::from(status))
    }
}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        Failure {
            message: err.to_string(),
            lost: false,
        }
    }
}

impl Shared {
    fn send(&self, update: Update) {
        if self.out.send(update).is_ok() {
            self.waker.wake();
        }
    }

    fn client(&self) -> Option<Client> {
        self.client.lock().ok().and_then(|slot| slot.clone())
    }

    fn set_client(&self, client: Option<Client>) {
        if let Ok(mut slot) = self.client.lock() {
            *slot = client;
        }
    }

    async fn handle(&self, request: Request) {
        if let Request::Connect { start_daemon } = request {
            self.connect(start_daemon).await;
            return;
        }
        let action = describe(&request);
        let Some(client) = self.client() else {
            self.send(Update::Failed {
                action,
                message: "not connected to the daemon — use Retry in the banner".into(),
            });
            return;
        };
        if let Err(failure) = self.run(client, request).await {
            if failure.lost {
                self.lost();
            }
            self.send(Update::Failed {
                action,
                message: failure.message,
            });
        }
    }

    async fn connect(&self, start_daemon: bool) {
        let result = if start_daemon {
            daemon::connect_or_start(&self.socket)
                .await
                .map(|(client, _)| Some(client))
        } else {
            Client::try_connect(&self.socket).await
        };
        let reason = match result {
            Ok(Some(client)) => return self.connected(client).await,
            Ok(None) => format!("no Chronicle daemon is listening on {}", self.socket.display()),
            Err(err) => err.to_string(),
        };
        self.send(Update::Disconnected { reason });
        // A daemon started some other way (the CLI, systemd) is picked up
        // without a click.
        self.look_for_daemon();
    }

    async fn connected(&self, client: Client) {
        let version = match client.status().await {
            Ok(status) => status.version,
            Err(_) => String::new(),
        };
        self.set_client(Some(client));
        self.send(Update::Connected {
            daemon_version: version,
        });
    }

    /// The daemon went away: say so once, and look for it until it is back.
    fn lost(&self) {
        self.set_client(None);
        if self.reconnecting.load(Ordering::SeqCst) {
            return;
        }
        self.send(Update::Disconnected {
            reason: "lost the connection to the daemon — reconnecting…".into(),
        });
        self.look_for_daemon();
    }

    /// Polls the socket until a daemon answers; only one poller runs.
    fn look_for_daemon(&self) {
        if self.reconnecting.swap(true, Ordering::SeqCst) {
            return;
        }
        let shared = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECONNECT_EVERY).await;
                // Retry may have connected meanwhile.
                if shared.client().is_some() {
                    shared.reconnecting.store(false, Ordering::SeqCst);
                    return;
                }
                if let Ok(Some(client)) = Client::try_connect(&shared.socket).await {
                    shared.reconnecting.store(false, Ordering::SeqCst);
                    shared.connected(client).await;
                    return;
                }
            }
        });
    }

    /// Sends each request to the function that carries it out.
    async fn run(&self, client: Client, request: Request) -> Result<(), Failure> {
        match request {
            Request::Connect { .. } => Ok(()),
            Request::ListProjects => self.list_projects(&client).await,
            Request::Probe { project } => self.probe(&client, project).await,
            Request::Open { project, start } => self.open(&client, project, start).await,
            Request::LoadPage {
                project,
                after,
                generation,
            } => self.load_page(&client, project, after, generation).await,
            Request::ListSessions { project } => self.list_sessions(&client, project).await,
            Request::ListTrash { project } => self.list_trash(&client, project).await,
            Request::Append { project, message } => {
                client.append(&project, *message, None).await?;
                Ok(())
            }
            Request::Save {
                project,
                name,
                overwrite,
            } => self.save(&client, project, name, overwrite).await,
            Request::LoadSession {
                project,
                name,
                messages,
                files,
            } => self.load_session(&client, project, name, messages, files).await,
            Request::Rename {
                project,
                name,
                new_name,
            } => {
                client.rename(&project, &name, &new_name).await?;
                self.send(Update::Done(format!("Renamed “{name}” to “{new_name}”")));
                Ok(())
            }
            Request::Delete { project, name } => {
                client.delete_session(&project, &name).await?;
                self.send(Update::Done(format!(
                    "Moved “{name}” to the trash — restore it from the Trash tab"
                )));
                Ok(())
            }
            Request::Restore { id, label } => self.restore(&client, id, label).await,
            Request::AddFiles {
                project,
                paths,
                read_only,
            } => {
                let files = paths
                    .into_iter()
                    .map(|path| ContextFile {
                        path,
                        read_only,
                        ..ContextFile::default()
                    })
                    .collect();
                client.add_files(&project, files).await?;
                Ok(())
            }
            Request::RemoveFile { project, path } => {
                client.remove_files(&project, vec![path]).await?;
                Ok(())
            }
            Request::PickProject => {
                self.pick_project().await;
                Ok(())
            }
            Request::PickFiles { project } => {
                self.pick_files(project).await;
                Ok(())
            }
            Request::ExportMarkdown { project, name } => {
                let mut stream = client.export_markdown(&project, &name).await?;
                self.export(&mut stream, "Markdown", "md").await
            }
            Request::ExportImage {
                project,
                name,
                dark,
                scale,
            } => {
                let theme = if dark { Theme::Dark } else { Theme::Light };
                let request = ExportImageRequest {
                    project,
                    name,
                    theme: theme as i32,
                    scale,
                    ..ExportImageRequest::default()
                };
                let mut stream = client.export_image(request).await?;
                self.export(&mut stream, "PNG image", "png").await
            }
            Request::Search {
                query,
                include_trash,
                page_token,
                generation,
            } => self.search(&client, query, include_trash, page_token, generation).await,
            Request::View { project, name, at } => self.view(&client, project, name, at).await,
            Request::Fork {
                project,
                source,
                at,
                new_name,
            } => self.fork(&client, project, source, at, new_name).await,
            Request::Rewind {
                project,
                keep_through,
                expected_revision,
            } => self.rewind(&client, project, keep_through, expected_revision).await,
        }
    }

    async fn search(
        &self,
        client: &Client,
        query: String,
        include_trash: bool,
        page_token: String,
        generation: u64,
    ) -> Result<(), Failure> {
        let more = !page_token.is_empty();
        let request = SearchRequest {
            query,
            // Every project: the window searches all of the user's history.
            project: String::new(),
            include_trash,
            limit: SEARCH_PAGE,
            page_token,
        };
        match client.search(request).await {
            Ok(response) => self.send(Update::SearchResults {
                generation,
                more,
                response: Box::new(response),
            }),
            // What the user typed (or a daemon without an index) is the
            // problem: say so where they typed it.
            Err(err) if matches!(err.code(), Some(Code::InvalidArgument | Code::FailedPrecondition)) => {
                self.send(Update::SearchRefused {
                    generation,
                    message: err.message().to_owned(),
                });
            }
            Err(err) => return Err(err.into()),
        }
        Ok(())
    }

    async fn view(&self, client: &Client, project: String, name: String, at: u64) -> Result<(), Failure> {
        let content = client.read_session(&project, Session::named(&name)).await?;
        self.send(Update::Viewed {
            project,
            name,
            at,
            content: Box::new(content),
        });
        Ok(())
    }

    async fn fork(
        &self,
        client: &Client,
        project: String,
        source: String,
        at: u64,
        new_name: String,
    ) -> Result<(), Failure> {
        let source_name = (!source.is_empty()).then_some(source.as_str());
        let info = client.fork(&project, source_name, at, &new_name).await?;
        let from = if source.is_empty() {
            "the working session".to_owned()
        } else {
            format!("“{source}”")
        };
        self.send(Update::Done(format!(
            "Forked “{}” from {from} at #{at} — it is in History",
            info.name
        )));
        Ok(())
    }

    async fn rewind(
        &self,
        client: &Client,
        project: String,
        keep_through: u64,
        expected_revision: u64,
    ) -> Result<(), Failure> {
        match client.rewind(&project, keep_through, Some(expected_revision)).await {
            Ok(_) => {
                self.send(Update::Done(format!(
                    "Rewound to #{keep_through} — the later messages are in the trash (History → Trash restores them)"
                )));
                Ok(())
            }
            Err(err) if err.code() == Some(Code::FailedPrecondition) => Err(Failure {
                message: format!(
                    "the working session changed since this view was drawn, so nothing was rewound — look again and retry ({})",
                    err.message()
                ),
                lost: false,
            }),
            Err(err) => Err(err.into()),
        }
    }

    async fn list_projects(&self, client: &Client) -> Result<(), Failure> {
        self.send(Update::Projects(client.projects().await?));
        Ok(())
    }

    async fn probe(&self, client: &Client, project: String) -> Result<(), Failure> {
        let state = client.projects().await?.into_iter().find(|p| p.project == project);
        self.send(Update::Probed { project, state });
        Ok(())
    }

    async fn open(&self, client: &Client, project: String, start: StartMode) -> Result<(), Failure> {
        let state = client.open_project(&project, start).await?;
        // Subscribe before the UI reads anything, so no change between its
        // first read and the stream is missed.
        let stream = client.watch(&project).await?;
        self.send(Update::Opened { state });
        self.follow(stream);
        Ok(())
    }

    async fn load_page(&self, client: &Client, project: String, after: u64, generation: u64) -> Result<(), Failure> {
        let content = client.page(&project, &Session::Working, after, PAGE_MESSAGES).await?;
        self.send(Update::Page {
            project,
            generation,
            after,
            content: Box::new(content),
        });
        Ok(())
    }

    async fn list_sessions(&self, client: &Client, project: String) -> Result<(), Failure> {
        let sessions = client.sessions(&project).await?;
        self.send(Update::Sessions { project, sessions });
        Ok(())
    }

    async fn list_trash(&self, client: &Client, project: String) -> Result<(), Failure> {
        let entries = client.trash(&project).await?;
        self.send(Update::Trash { project, entries });
        Ok(())
    }

    async fn save(&self, client: &Client, project: String, name: String, overwrite: bool) -> Result<(), Failure> {
        let mode = if overwrite {
            SaveMode::Overwrite
        } else {
            SaveMode::CreateNew
        };
        match client.save(&project, &name, mode).await {
            Ok(_) if overwrite => self.send(Update::Done(format!("Overwrote “{name}”"))),
            Ok(_) => self.send(Update::Done(format!("Saved “{name}”"))),
            Err(err) if err.code() == Some(Code::AlreadyExists) => {
                self.send(Update::NameTaken {
                    name,
                    message: err.message().to_owned(),
                });
            }
            Err(err) => return Err(err.into()),
        }
        Ok(())
    }

    async fn load_session(
        &self,
        client: &Client,
        project: String,
        name: String,
        messages: bool,
        files: bool,
    ) -> Result<(), Failure> {
        client.load(&project, &name, messages, files).await?;
        let what = match (messages, files) {
            (true, true) => "messages and files",
            (true, false) => "messages",
            _ => "files",
        };
        self.send(Update::Done(format!(
            "Loaded the {what} of “{name}” — what they replaced is in the trash"
        )));
        Ok(())
    }

    async fn restore(&self, client: &Client, id: String, label: String) -> Result<(), Failure> {
        // A name taken meanwhile is no reason to fail: restore beside it
        // under a name that says what it is.
        let info = match client.restore(&id, "").await {
            Err(err) if err.code() == Some(Code::AlreadyExists) => {
                client.restore(&id, &format!("{label} (restored)")).await?
            }
            other => other?,
        };
        self.send(Update::Done(format!("Restored as “{}”", info.name)));
        Ok(())
    }

    async fn pick_project(&self) {
        if let Some(folder) = rfd::AsyncFileDialog::new()
            .set_title("Open project")
            .pick_folder()
            .await
        {
            self.send(Update::ProjectPicked(folder.path().to_path_buf()));
        }
    }

    async fn pick_files(&self, project: String) {
        if let Some(files) = rfd::AsyncFileDialog::new()
            .set_title("Add context files")
            .set_directory(&project)
            .pick_files()
            .await
        {
            let paths = files
                .iter()
                .map(|file| relative_to(file.path(), Path::new(&project)))
                .collect();
            self.send(Update::FilesPicked { project, paths });
        }
    }

    /// Follows the `Watch` stream of the open project until it ends; an end
    /// means the daemon went away.
    fn follow(&self, mut stream: Streaming<Event>) {
        let shared = self.clone();
        let task = tokio::spawn(async move {
            loop {
                match stream.message().await {
                    Ok(Some(event)) => shared.send(Update::Event(Box::new(event))),
                    Ok(None) | Err(_) => {
                        shared.lost();
                        return;
                    }
                }
            }
        });
        if let Ok(mut slot) = self.watch.lock()
            && let Some(previous) = slot.replace(task)
        {
            previous.abort();
        }
    }

    /// Saves an export where the user chooses (see [`export_file`]) and
    /// says where it went.
    async fn export(&self, stream: &mut Streaming<ExportChunk>, kind: &str, extension: &str) -> Result<(), Failure> {
        let Some(written) = export_file::save(stream, kind, extension).await? else {
            return Ok(());
        };
        let shown = written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        self.send(Update::Done(format!("Exported {shown}")));
        Ok(())
    }
}

/// `path` relative to `root` when inside it (how the daemon stores context
/// files), else absolute.
fn relative_to(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_string_lossy().into_owned())
}
