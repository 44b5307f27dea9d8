//! The window: a project bar, the chat, the context files, a composer, and
//! the popups over them. [`App`] holds only UI state and the copy of what
//! the daemon last said; every change goes to the daemon as a request and
//! comes back as a `Watch` event, so this window, the CLI and any other
//! window on the project always show the same thing.

use std::path::{Path, PathBuf};

use chronicle_client::v1::{Message, ProjectState, Role, SearchHit, SessionInfo, SessionKind, StartMode, TrashEntry};
use eframe::egui::{self, Key, Panel, RichText, Ui};
use egui_commonmark::CommonMarkCache;

use crate::{
    backend::{Backend, Request, Update},
    branch::Ask,
    chat::{Chat, Effect},
    fonts,
    messages::{self, MessageAction, RowHeights},
    prefs::{Prefs, StartChoice, ThemeChoice},
    search::SearchPanel,
    sessions::{Popup, Tab},
    toasts::Toasts,
    viewer::Viewer,
    widgets::{self, icon, icon_button, name_widget},
};

/// How the app is started: by `main` from flags, or by a test.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The daemon's socket.
    pub socket: PathBuf,
    /// The project to open: an absolute path.
    pub project: String,
    /// Where preferences are remembered; `None` keeps them in memory only.
    pub prefs_path: Option<PathBuf>,
    /// Overrides the remembered start-up choice for this run.
    pub start: Option<StartChoice>,
    /// The zone message times are shown in.
    pub time_zone: jiff::tz::TimeZone,
}

/// Where the app stands with the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    Down { reason: String },
}

/// Where the app stands with its project.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Waiting for the daemon.
    Waiting,
    /// Asked the daemon about the project, for the start-up choice.
    Probing,
    /// Showing "Load last session" / "Start with empty session".
    Asking { state: ProjectState },
    /// `OpenProject` is on its way.
    Opening,
    /// The project is open and followed.
    Open,
}

/// The composer's draft.
#[derive(Debug)]
struct Composer {
    role: Role,
    text: String,
}

/// The desktop app's state.
pub struct App {
    pub(crate) backend: Backend,
    pub(crate) project: String,
    pub(crate) tz: jiff::tz::TimeZone,
    prefs: Prefs,
    prefs_path: Option<PathBuf>,
    start_override: Option<StartChoice>,
    connection: Connection,
    phase: Phase,
    chat: Chat,
    heights: RowHeights,
    /// How the working session is shown: with "Rewind to here", following
    /// the newest message, and scrolled to a search hit when one is chosen.
    chat_view: messages::View,
    pub(crate) markdown: CommonMarkCache,
    projects: Vec<ProjectState>,
    pub(crate) sessions: Vec<SessionInfo>,
    pub(crate) trash: Vec<TrashEntry>,
    pub(crate) popup: Popup,
    pub(crate) search: SearchPanel,
    /// A session opened read-only from a search hit, shown instead of the
    /// working session until closed.
    pub(crate) viewer: Option<Viewer>,
    /// A fork or rewind question on screen.
    pub(crate) ask: Option<Ask>,
    composer: Composer,
    pub(crate) toasts: Toasts,
    /// Remember the start-up choice made in the dialog.
    remember_choice: bool,
    /// The theme preference has been handed to egui.
    theme_applied: bool,
    /// System fonts are offered to egui for what its own fonts lack;
    /// true once the emoji font search is over.
    fonts_ready: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    daemon_version: String,
}

impl App {
    /// Starts the backend and asks it to connect (starting the daemon when
    /// none answers). Fails only when no async runtime can be started.
    pub fn new(config: AppConfig) -> std::io::Result<App> {
        let backend = Backend::start(config.socket.clone())?;
        backend.send(Request::Connect { start_daemon: true });
        let prefs = config.prefs_path.as_deref().map(Prefs::load).unwrap_or_default();
        Ok(App {
            backend,
            project: config.project,
            tz: config.time_zone,
            prefs,
            prefs_path: config.prefs_path,
            start_override: config.start,
            connection: Connection::Connecting,
            phase: Phase::Waiting,
            chat: Chat::default(),
            heights: RowHeights::default(),
            chat_view: messages::View::working(),
            markdown: CommonMarkCache::default(),
            projects: Vec::new(),
            sessions: Vec::new(),
            trash: Vec::new(),
            popup: Popup::default(),
            search: SearchPanel::default(),
            viewer: None,
            ask: None,
            composer: Composer {
                role: Role::User,
                text: String::new(),
            },
            toasts: Toasts::default(),
            remember_choice: false,
            theme_applied: false,
            fonts_ready: None,
            daemon_version: String::new(),
        })
    }

    /// Whether the system's fonts are in place (the emoji font search is
    /// over), so a picture of the window is final.
    pub fn fonts_ready(&self) -> bool {
        self.fonts_ready
            .as_ref()
            .is_some_and(|ready| ready.load(std::sync::atomic::Ordering::Acquire))
    }

    /// The open project's path.
    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The loaded messages, oldest first.
    pub fn messages(&self) -> &[Message] {
        &self.chat.messages
    }

    /// The session open read-only, as (project, name), if any.
    pub fn viewing(&self) -> Option<(&str, &str)> {
        self.viewer.as_ref().map(|v| (v.project.as_str(), v.name.as_str()))
    }

    /// Names of the saved sessions as last listed.
    pub fn session_names(&self) -> Vec<String> {
        self.sessions.iter().map(|s| s.name.clone()).collect()
    }

    /// The remembered preferences.
    pub fn prefs(&self) -> &Prefs {
        &self.prefs
    }

    pub(crate) fn send(&self, request: Request) {
        self.backend.send(request);
    }

    fn save_prefs(&mut self) {
        if let Some(path) = &self.prefs_path
            && let Err(err) = self.prefs.save(path)
        {
            self.toasts
                .error(format!("Could not remember preferences in {}: {err}", path.display()));
        }
    }

    // ---------------------------------------------------------- updates

    /// Applies everything the backend reported since the last frame.
    fn poll(&mut self) {
        for update in self.backend.drain() {
            self.apply(update);
        }
    }

    fn apply(&mut self, update: Update) {
        match update {
            Update::Connected { daemon_version } => {
                self.connection = Connection::Connected;
                self.daemon_version = daemon_version;
                self.send(Request::ListProjects);
                match self.phase {
                    // A reconnect: open again and re-read everything.
                    Phase::Open | Phase::Opening => self.open(StartMode::Last),
                    Phase::Asking { .. } => {}
                    Phase::Waiting | Phase::Probing => self.begin(),
                }
            }
            Update::Disconnected { reason } => {
                self.connection = Connection::Down { reason };
            }
            Update::Projects(projects) => self.projects = projects,
            Update::Probed { project, state } => {
                if project == self.project && self.phase == Phase::Probing {
                    self.decide(state);
                }
            }
            Update::Opened { state } => {
                if state.project != self.project {
                    return;
                }
                self.phase = Phase::Open;
                self.chat.reset(state.revision);
                self.heights.clear();
                self.request_page();
                self.refresh_lists();
                self.send(Request::ListProjects);
                self.prefs.remember(&self.project.clone());
                self.save_prefs();
            }
            Update::Page {
                project,
                generation,
                after,
                content,
            } => {
                if project == self.project {
                    self.chat.apply_page(generation, after, *content);
                }
            }
            Update::Event(event) => {
                if event.project != self.project || self.phase != Phase::Open {
                    return;
                }
                match self.chat.apply_event(*event) {
                    Effect::None => {}
                    Effect::Reload => self.reload(),
                    Effect::RefreshLists => self.refresh_lists(),
                }
            }
            Update::Sessions { project, sessions } => {
                if project == self.project {
                    self.sessions = sessions;
                }
            }
            Update::Trash { project, entries } => {
                if project == self.project {
                    self.trash = entries;
                }
            }
            Update::Done(text) => {
                self.toasts.info(text);
                self.popup.new_name = None;
            }
            Update::Failed { action, message } => {
                // A failed page read must not leave the chat waiting forever.
                self.chat.loading = false;
                self.search.failed();
                // A session that could not be read leaves nothing to view.
                if self.viewer.as_ref().is_some_and(|v| !v.chat.loaded_once) {
                    self.viewer = None;
                }
                if self.phase == Phase::Opening || self.phase == Phase::Probing {
                    self.phase = Phase::Waiting;
                }
                self.toasts.error(format!("{action} failed: {message}"));
            }
            Update::NameTaken { name, message } => {
                self.popup.name_taken = Some((name, message));
            }
            Update::SearchResults {
                generation,
                more,
                response,
            } => self.search.apply_results(generation, more, *response),
            Update::SearchRefused { generation, message } => self.search.apply_refused(generation, message),
            Update::Viewed {
                project,
                name,
                at,
                content,
            } => {
                if let Some(viewer) = self.viewer.as_mut()
                    && viewer.wants(&project, &name, at)
                {
                    viewer.fill(*content);
                }
            }
            Update::ProjectPicked(path) => self.switch_project(&path),
            Update::FilesPicked { project, paths } => {
                if !paths.is_empty() {
                    self.send(Request::AddFiles {
                        project,
                        paths,
                        read_only: false,
                    });
                }
            }
        }
    }

    /// Starts opening the project: ask the daemon what is there first
    /// unless the start-up choice is already made.
    fn begin(&mut self) {
        if self.connection != Connection::Connected {
            self.phase = Phase::Waiting;
            return;
        }
        self.phase = Phase::Probing;
        self.send(Request::Probe {
            project: self.project.clone(),
        });
    }

    fn decide(&mut self, state: Option<ProjectState>) {
        let choice = self.start_override.unwrap_or(self.prefs.start);
        match state {
            Some(state) if state.message_count > 0 || state.file_count > 0 => match choice {
                StartChoice::Ask => {
                    self.chat.reset(state.revision);
                    self.heights.clear();
                    self.phase = Phase::Asking { state };
                    self.request_page();
                }
                StartChoice::Last => self.open(StartMode::Last),
                StartChoice::Empty => self.open(StartMode::Empty),
            },
            _ => self.open(StartMode::Last),
        }
    }

    fn open(&mut self, start: StartMode) {
        self.phase = Phase::Opening;
        self.send(Request::Open {
            project: self.project.clone(),
            start,
        });
    }

    fn switch_project(&mut self, path: &Path) {
        let project = std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned();
        if project == self.project && self.phase == Phase::Open {
            return;
        }
        self.project = project;
        self.chat = Chat::default();
        self.heights.clear();
        self.sessions.clear();
        self.trash.clear();
        self.popup = Popup::default();
        self.ask = None;
        self.begin();
    }

    /// Opens a chosen search hit: the working session of this project
    /// scrolls to it; a saved session (or another project's working
    /// session) opens read-only; a trash entry cannot be read until it is
    /// restored, so the Trash tab opens instead.
    pub(crate) fn open_hit(&mut self, hit: SearchHit) {
        let kind = SessionKind::try_from(hit.kind).unwrap_or(SessionKind::Unspecified);
        match kind {
            SessionKind::Trash => {
                if hit.project == self.project {
                    self.popup.open = true;
                    self.popup.tab = Tab::Trash;
                    self.refresh_lists();
                }
                self.toasts.info(format!(
                    "#{} is in the trash entry “{}” — restore it (History → Trash) to read it",
                    hit.message_id, hit.session_name
                ));
            }
            SessionKind::Working if hit.project == self.project => {
                self.search.open = false;
                self.viewer = None;
                self.chat_view.scroll_to = Some(hit.message_id);
                self.chat_view.marked = Some(hit.message_id);
            }
            _ => {
                let name = if kind == SessionKind::Working {
                    String::new()
                } else {
                    hit.session_name.clone()
                };
                self.search.open = false;
                self.viewer = Some(Viewer::new(hit.project.clone(), name.clone(), hit.message_id));
                self.send(Request::View {
                    project: hit.project,
                    name,
                    at: hit.message_id,
                });
            }
        }
    }

    /// A message action chosen in the working session.
    fn message_action(&mut self, action: MessageAction) {
        match action {
            MessageAction::Fork(at) => self.ask = Some(Ask::fork(self.project.clone(), String::new(), at)),
            MessageAction::Rewind(at) => {
                let later = match self.chat.messages.binary_search_by_key(&at, |m| m.id) {
                    Ok(index) => self.chat.total.saturating_sub(index as u64 + 1),
                    Err(_) => self.chat.messages.iter().filter(|m| m.id > at).count() as u64,
                };
                self.ask = Some(Ask::Rewind {
                    at,
                    later,
                    revision: self.chat.revision,
                });
            }
        }
    }

    fn reload(&mut self) {
        let revision = self.chat.revision;
        self.chat.reset(revision);
        self.heights.clear();
        self.request_page();
        self.refresh_lists();
    }

    fn request_page(&mut self) {
        let readable = matches!(self.phase, Phase::Open | Phase::Asking { .. });
        if self.chat.loading || !self.chat.more || !readable {
            return;
        }
        self.chat.loading = true;
        self.send(Request::LoadPage {
            project: self.project.clone(),
            after: self.chat.last_id(),
            generation: self.chat.generation,
        });
    }

    fn refresh_lists(&mut self) {
        self.send(Request::ListSessions {
            project: self.project.clone(),
        });
        self.send(Request::ListTrash {
            project: self.project.clone(),
        });
    }

    // ---------------------------------------------------------- drawing

    /// Draws the whole window into `ui`. `eframe` calls this every frame;
    /// tests call it through egui_kittest.
    pub fn show(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.backend.waker.set(&ctx);
        if !self.theme_applied {
            self.apply_theme(&ctx);
            self.theme_applied = true;
        }
        if self.fonts_ready.is_none() {
            self.fonts_ready = Some(fonts::install(&ctx));
        }
        self.poll();
        self.shortcuts(&ctx);

        Panel::top("project_bar")
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(10, 6)))
            .show(ui, |ui| self.project_bar(ui));
        if let Connection::Down { reason } = &self.connection {
            let reason = reason.clone();
            Panel::top("daemon_banner").show(ui, |ui| self.banner(ui, &reason));
        }
        Panel::bottom("composer")
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::same(10)))
            .show(ui, |ui| self.composer(ui));
        Panel::right("context_files")
            .resizable(true)
            .default_size(280.0)
            .min_size(180.0)
            .show(ui, |ui| self.files_panel(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            // Behind the start-up question the last session shows, dimmed,
            // so the user sees what they are choosing.
            if matches!(self.phase, Phase::Asking { .. }) {
                ui.multiply_opacity(0.4);
            }
            if self.viewer.is_some() {
                self.viewer_panel(ui);
                return;
            }
            let output = messages::show(
                ui,
                &self.chat,
                &mut self.chat_view,
                &mut self.heights,
                &mut self.markdown,
                &self.tz,
            );
            if output.wants_more {
                self.request_page();
            }
            if let Some(action) = output.action
                && self.phase == Phase::Open
            {
                self.message_action(action);
            }
        });

        self.sessions_window(&ctx);
        self.search_window(&ctx);
        self.ask_dialog(&ctx);
        self.startup_dialog(&ctx);
        self.toasts.show(&ctx);
    }

    fn apply_theme(&self, ctx: &egui::Context) {
        let preference = match self.prefs.theme {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        };
        ctx.set_theme(preference);
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, Key::K)) {
            self.search.show_field();
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, Key::H)) {
            self.popup.toggle();
            if self.popup.open {
                self.refresh_lists();
            }
        }
    }

    fn project_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("Chronicle").strong().size(16.0));
            ui.separator();
            let title = widgets::icon_text(format!("{} {}", icon::FOLDER, short_path(&self.project)));
            let menu = ui.menu_button(title, |ui| self.project_menu(ui));
            name_widget(ui, &menu.response, "Project");
            menu.response
                .on_hover_text(format!("{}\nClick to open another project", self.project));

            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let gear = egui::Button::new(widgets::icon_text(icon::SETTINGS).size(15.0)).frame_when_inactive(false);
                let (settings, _) =
                    egui::containers::menu::MenuButton::from_button(gear).ui(ui, |ui| self.settings_menu(ui));
                name_widget(ui, &settings, "Settings");
                settings.on_hover_text("Settings: start-up choice and theme");

                let dark = ui.visuals().dark_mode;
                let (glyph, tip) = if dark {
                    (icon::SUN, "Switch to the light theme")
                } else {
                    (icon::MOON, "Switch to the dark theme")
                };
                if icon_button(ui, glyph, "Toggle theme", tip).clicked() {
                    self.prefs.theme = if dark { ThemeChoice::Light } else { ThemeChoice::Dark };
                    self.apply_theme(ui.ctx());
                    self.save_prefs();
                }
                let search = icon_button(
                    ui,
                    icon::SEARCH,
                    "Search sessions",
                    "Search every session of every project (Ctrl+K)",
                );
                if search.clicked() {
                    self.search.show_field();
                }
                let history = icon_button(
                    ui,
                    icon::HISTORY,
                    "History",
                    "Sessions: save, load, export, trash (Ctrl+H)",
                );
                if history.clicked() {
                    self.popup.toggle();
                    if self.popup.open {
                        self.refresh_lists();
                    }
                }
                if self.phase == Phase::Open {
                    let status = format!(
                        "{} · {} · rev {}",
                        widgets::count(self.chat.total, "message"),
                        widgets::count(self.chat.files.len() as u64, "file"),
                        self.chat.revision
                    );
                    ui.label(RichText::new(status).small().weak());
                }
            });
        });
    }

    fn project_menu(&mut self, ui: &mut Ui) {
        if ui
            .button(widgets::icon_text(format!("{} Open project…", icon::FOLDER)))
            .clicked()
        {
            self.send(Request::PickProject);
            ui.close();
        }
        let recent: Vec<String> = self
            .prefs
            .recent_projects
            .iter()
            .filter(|p| **p != self.project)
            .cloned()
            .collect();
        if !recent.is_empty() {
            ui.separator();
            ui.label(RichText::new("Recent").small().weak());
            for project in recent {
                if ui.button(&project).clicked() {
                    self.switch_project(Path::new(&project));
                    ui.close();
                }
            }
        }
        let known: Vec<ProjectState> = self
            .projects
            .iter()
            .filter(|p| p.project != self.project && !self.prefs.recent_projects.contains(&p.project))
            .cloned()
            .collect();
        if !known.is_empty() {
            ui.separator();
            ui.label(RichText::new("Known to the daemon").small().weak());
            for state in known {
                let text = format!(
                    "{}  ({})",
                    state.project,
                    widgets::count(state.message_count, "message")
                );
                if ui.button(text).clicked() {
                    self.switch_project(Path::new(&state.project));
                    ui.close();
                }
            }
        }
    }

    fn settings_menu(&mut self, ui: &mut Ui) {
        ui.label(RichText::new("When a project has a last session").small().weak());
        for choice in [StartChoice::Ask, StartChoice::Last, StartChoice::Empty] {
            if ui.radio(self.prefs.start == choice, choice.label()).clicked() {
                self.prefs.start = choice;
                self.save_prefs();
            }
        }
        ui.separator();
        ui.label(RichText::new("Theme").small().weak());
        for (choice, label) in [
            (ThemeChoice::System, "Follow the system"),
            (ThemeChoice::Light, "Light"),
            (ThemeChoice::Dark, "Dark"),
        ] {
            if ui.radio(self.prefs.theme == choice, label).clicked() {
                self.prefs.theme = choice;
                self.apply_theme(ui.ctx());
                self.save_prefs();
            }
        }
        if !self.daemon_version.is_empty() {
            ui.separator();
            ui.label(
                RichText::new(format!("Daemon version {}", self.daemon_version))
                    .small()
                    .weak(),
            );
        }
    }

    fn banner(&mut self, ui: &mut Ui, reason: &str) {
        egui::Frame::new()
            .fill(ui.visuals().warn_fg_color.gamma_multiply(0.15))
            .inner_margin(egui::Margin::symmetric(10, 6))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(
                        widgets::icon_text(format!("{} {reason}", icon::WARNING)).color(ui.visuals().warn_fg_color),
                    );
                    if ui
                        .button("Retry")
                        .on_hover_text("Connect again, starting the daemon if none answers")
                        .clicked()
                    {
                        self.connection = Connection::Connecting;
                        self.send(Request::Connect { start_daemon: true });
                    }
                });
            });
    }

    fn files_panel(&mut self, ui: &mut Ui) {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            ui.heading("Context files");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let add = ui.add_enabled(self.phase == Phase::Open, egui::Button::new("Add…"));
                if add.on_hover_text("Add files to the context").clicked() {
                    self.send(Request::PickFiles {
                        project: self.project.clone(),
                    });
                }
            });
        });
        ui.separator();
        if self.chat.files.is_empty() {
            ui.label(RichText::new("No files in context.").weak());
            return;
        }
        let files = self.chat.files.clone();
        egui::ScrollArea::vertical().id_salt("files").show(ui, |ui| {
            for file in &files {
                ui.horizontal(|ui| {
                    let mut text = RichText::new(&file.path).monospace();
                    if file.missing {
                        text = text.strikethrough().color(ui.visuals().weak_text_color());
                    }
                    let label = ui.add(egui::Label::new(text).truncate());
                    if file.missing {
                        label.on_hover_text("Missing on disk: the file was deleted or moved. It stays in the list and is marked again if it comes back.");
                    } else {
                        label.on_hover_text(&file.path);
                    }
                    if file.read_only {
                        ui.label(widgets::icon_text(icon::LOCK))
                            .on_hover_text("Read-only: the assistant may read this file but not edit it");
                    }
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        let remove = icon_button(
                            ui,
                            icon::CLOSE,
                            &format!("Remove {}", file.path),
                            "Remove from the context",
                        );
                        if remove.clicked() {
                            self.send(Request::RemoveFile {
                                project: self.project.clone(),
                                path: file.path.clone(),
                            });
                        }
                    });
                });
            }
        });
    }

    fn composer(&mut self, ui: &mut Ui) {
        // A message written under a read-only view would land in a working
        // session that is not on screen.
        let viewing = self.viewer.is_some();
        let enabled = self.phase == Phase::Open && !viewing;
        let hint = if viewing {
            "Close the read-only view to write to the working session"
        } else {
            "Write a message in Markdown — Ctrl+Enter sends"
        };
        ui.horizontal(|ui| {
            let combo = egui::ComboBox::from_id_salt("composer_role")
                .selected_text(widgets::role_title(self.composer.role))
                .width(110.0)
                .show_ui(ui, |ui| {
                    for role in [Role::User, Role::Assistant, Role::System] {
                        ui.selectable_value(&mut self.composer.role, role, widgets::role_title(role));
                    }
                });
            name_widget(ui, &combo.response, "Role");
            combo.response.on_hover_text("Who the message is from");
            let send_width = 70.0;
            let edit = ui.add_enabled(
                enabled,
                egui::TextEdit::multiline(&mut self.composer.text)
                    .hint_text(hint)
                    .desired_rows(2)
                    .desired_width(ui.available_width() - send_width - 8.0),
            );
            name_widget(ui, &edit, "Message");
            let ctrl_enter = edit.has_focus() && ui.input(|i| i.modifiers.command && i.key_pressed(Key::Enter));
            let send = ui
                .add_enabled(
                    enabled && !self.composer.text.trim().is_empty(),
                    egui::Button::new("Send").min_size(egui::vec2(send_width, 0.0)),
                )
                .on_hover_text("Append the message to the working session (Ctrl+Enter)");
            if (send.clicked() || ctrl_enter) && !self.composer.text.trim().is_empty() {
                let text = std::mem::take(&mut self.composer.text);
                self.send(Request::Append {
                    project: self.project.clone(),
                    message: Box::new(Message {
                        role: self.composer.role as i32,
                        content: text.trim_end().to_owned(),
                        ..Message::default()
                    }),
                });
            }
        });
    }

    fn startup_dialog(&mut self, ctx: &egui::Context) {
        let Phase::Asking { state } = &self.phase else {
            return;
        };
        let state = state.clone();
        let mut choice = None;
        egui::Modal::new(egui::Id::unique("startup_choice")).show(ctx, |ui| {
            ui.set_max_width(440.0);
            ui.heading("Resume where you left off?");
            ui.add_space(4.0);
            ui.label(format!(
                "{} has a last session: {} and {}, last changed {}.",
                short_path(&state.project),
                widgets::count(state.message_count, "message"),
                widgets::count(u64::from(state.file_count), "context file"),
                widgets::relative_time(state.updated_at_ms, chronicle_client::time::now_ms(), &self.tz)
            ));
            ui.label(
                RichText::new("Starting empty moves the last session to the trash; you can restore it from History.")
                    .small()
                    .weak(),
            );
            ui.add_space(8.0);
            ui.checkbox(&mut self.remember_choice, "Remember my choice");
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Load last session").clicked() {
                    choice = Some(StartChoice::Last);
                }
                if ui.button("Start with empty session").clicked() {
                    choice = Some(StartChoice::Empty);
                }
            });
        });
        if let Some(choice) = choice {
            if self.remember_choice {
                self.prefs.start = choice;
                self.save_prefs();
            }
            let mode = if choice == StartChoice::Empty {
                StartMode::Empty
            } else {
                StartMode::Last
            };
            self.open(mode);
        }
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

/// The path with the home directory shown as `~`.
pub(crate) fn short_path(path: &str) -> String {
    match std::env::var("HOME") {
        Ok(home) if !home.is_empty() && path.starts_with(&home) && home != "/" => {
            format!("~{}", &path[home.len()..])
        }
        _ => path.to_owned(),
    }
}
