//! The read-only view of a session opened from a search hit: the whole
//! session as the daemon read it, scrolled to the hit's message and marked,
//! under a banner that says it is not the working session. From here the
//! user loads it into the working session, forks it at a message, or
//! closes it; nothing in it can be edited.

use chronicle_client::v1::SessionContent;
use eframe::egui::{self, RichText, Ui};

use crate::{
    app::{App, short_path},
    backend::Request,
    branch::Ask,
    chat::Chat,
    messages::{self, MessageAction, RowHeights, View},
    widgets::{self, icon, name_widget},
};

/// One session shown read-only.
#[derive(Debug)]
pub struct Viewer {
    pub project: String,
    /// The saved session's name; empty for another project's working session.
    pub name: String,
    /// The message the view was opened at.
    pub at: u64,
    pub chat: Chat,
    pub view: View,
    pub heights: RowHeights,
}

impl Viewer {
    /// A viewer waiting for its session to be read.
    pub fn new(project: String, name: String, at: u64) -> Viewer {
        let mut chat = Chat::default();
        chat.reset(0);
        Viewer {
            project,
            name,
            at,
            chat,
            view: View::at(at),
            heights: RowHeights::default(),
        }
    }

    /// Whether an answer to a `View` request is for this viewer.
    pub fn wants(&self, project: &str, name: &str, at: u64) -> bool {
        self.project == project && self.name == name && self.at == at
    }

    /// Takes the whole session, read in one go.
    pub fn fill(&mut self, content: SessionContent) {
        let generation = self.chat.generation;
        self.chat.apply_page(generation, 0, content);
        // Every page was read: nothing more will come.
        self.chat.more = false;
    }

    /// The banner's first words: which session this is.
    pub fn title(&self) -> String {
        if self.name.is_empty() {
            format!(
                "Viewing the working session of {} (read-only)",
                short_path(&self.project)
            )
        } else {
            format!("Viewing saved session “{}” (read-only)", self.name)
        }
    }
}

impl App {
    /// Draws the read-only view in place of the working chat.
    pub(crate) fn viewer_panel(&mut self, ui: &mut Ui) {
        let Some(viewer) = self.viewer.as_mut() else {
            return;
        };
        let mut close = false;
        let mut load = false;
        let mut fork_at = None;
        let other_project = viewer.project != self.project;
        egui::Frame::new()
            .fill(ui.visuals().selection.bg_fill.gamma_multiply(0.25))
            .corner_radius(6.0)
            .inner_margin(egui::Margin::symmetric(10, 8))
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(widgets::icon_text(format!("{} {}", icon::LOCK, viewer.title())).strong());
                    if other_project && !viewer.name.is_empty() {
                        ui.label(RichText::new(format!("in {}", short_path(&viewer.project))).weak());
                    }
                });
                ui.horizontal(|ui| {
                    // Loading replaces this project's working session: a
                    // session of another project has no place there.
                    if !viewer.name.is_empty() && !other_project {
                        load = ui
                            .button("Load into working session")
                            .on_hover_text(
                                "Replace the working session's messages and files with this session's \
                                 (what they replace goes to the trash)",
                            )
                            .clicked();
                    }
                    let fork = ui.button(widgets::icon_text(format!("{} Fork from here", icon::FORK)));
                    name_widget(ui, &fork, "Fork from here");
                    let tip = format!("A new saved session of this session's messages up to #{}", viewer.at);
                    if fork.on_hover_text(tip).clicked() {
                        fork_at = Some(viewer.at);
                    }
                    close = ui
                        .button("Close")
                        .on_hover_text("Back to the working session")
                        .clicked();
                });
            });
        ui.add_space(6.0);
        let output = messages::show(
            ui,
            &viewer.chat,
            &mut viewer.view,
            &mut viewer.heights,
            &mut self.markdown,
            &self.tz,
        );
        if let Some(MessageAction::Fork(id)) = output.action {
            fork_at = Some(id);
        }
        let (project, name) = (viewer.project.clone(), viewer.name.clone());
        if let Some(at) = fork_at {
            self.ask = Some(Ask::fork(project.clone(), name.clone(), at));
        }
        if load {
            self.send(Request::LoadSession {
                project,
                name,
                messages: true,
                files: true,
            });
            close = true;
        }
        if close {
            self.viewer = None;
        }
    }
}
