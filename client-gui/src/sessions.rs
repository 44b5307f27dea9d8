//! The Sessions popup behind the History (clock) icon: exactly the seed's
//! actions — Save as new, and per saved session Overwrite, Load Messages,
//! Load Files, Delete, Export as Markdown, Export as Image — plus Rename
//! and a Trash tab with Restore. Nothing here is destroyed: Delete says the
//! session goes to the trash, and the Trash tab brings it back.

use eframe::egui::{self, Color32, Key, RichText, Ui};

use crate::{
    app::App,
    backend::Request,
    widgets::{self, icon, icon_button, name_widget},
};

/// Which tab of the popup is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Saved,
    Trash,
}

/// The popup's own state: which tab, and any inline editor that is open.
#[derive(Debug, Default)]
pub struct Popup {
    pub open: bool,
    pub tab: Tab,
    /// The "Save as new" name field, while it is open.
    pub new_name: Option<String>,
    /// The name the daemon said is taken, and its sentence.
    pub name_taken: Option<(String, String)>,
    /// The session whose deletion waits for confirmation.
    pub confirm_delete: Option<String>,
    /// The session being renamed, and the new name typed so far.
    pub renaming: Option<(String, String)>,
    /// Focus the name field on the frame it appears.
    focus_name: bool,
}

impl Popup {
    /// Opens the popup on the saved sessions.
    pub fn toggle(&mut self) {
        self.open = !self.open;
        if !self.open {
            self.new_name = None;
            self.name_taken = None;
            self.confirm_delete = None;
            self.renaming = None;
        }
    }
}

/// Where a forked session came from: "forked from “X” at #N" (the working
/// session when the source has no name); `None` for a session not forked.
pub fn lineage(session: &chronicle_client::v1::SessionInfo) -> Option<String> {
    if session.forked_at_message_id == 0 {
        return None;
    }
    let from = if session.forked_from.is_empty() {
        "the working session".to_owned()
    } else {
        format!("“{}”", session.forked_from)
    };
    Some(format!("forked from {from} at #{}", session.forked_at_message_id))
}

/// Error text colour, readable on both themes.
fn error_colour(ui: &Ui) -> Color32 {
    ui.visuals().error_fg_color
}

impl App {
    /// Draws the popup when it is open.
    pub(crate) fn sessions_window(&mut self, ctx: &egui::Context) {
        if !self.popup.open {
            return;
        }
        let mut open = true;
        egui::Window::new("Sessions")
            .id(egui::Id::unique("sessions_popup"))
            .open(&mut open)
            .collapsible(false)
            .resizable(true)
            .default_width(520.0)
            .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-12.0, 48.0))
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.popup.tab, Tab::Saved, "Saved sessions");
                    let trash = format!("Trash ({})", self.trash.len());
                    let response = ui.selectable_value(&mut self.popup.tab, Tab::Trash, trash);
                    name_widget(ui, &response, "Trash");
                });
                ui.separator();
                match self.popup.tab {
                    Tab::Saved => self.saved_tab(ui),
                    Tab::Trash => self.trash_tab(ui),
                }
            });
        if !open {
            self.popup.toggle();
        }
    }

    fn saved_tab(&mut self, ui: &mut Ui) {
        self.save_as_new(ui);
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.label(RichText::new("Current chat:").weak());
            if icon_button(
                ui,
                icon::MARKDOWN,
                "Export current chat as Markdown",
                "Export the current chat as a Markdown file",
            )
            .clicked()
            {
                self.send(Request::ExportMarkdown {
                    project: self.project.clone(),
                    name: String::new(),
                });
            }
            if icon_button(
                ui,
                icon::IMAGE,
                "Export current chat as image",
                "Export the current chat as a PNG image (in the window's theme)",
            )
            .clicked()
            {
                self.export_image(ui, String::new());
            }
        });
        ui.separator();
        if self.sessions.is_empty() {
            ui.label(RichText::new("No saved sessions yet. Save the current chat with “Save as new”.").weak());
            return;
        }
        let now = chronicle_client::time::now_ms();
        let sessions = self.sessions.clone();
        egui::ScrollArea::vertical()
            .id_salt("saved_sessions")
            .max_height(380.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for session in &sessions {
                    ui.push_id(("saved", &session.name), |ui| {
                        self.session_row(ui, session, now);
                    });
                    ui.separator();
                }
            });
    }

    fn save_as_new(&mut self, ui: &mut Ui) {
        let Some(mut name) = self.popup.new_name.take() else {
            if ui
                .button("Save as new")
                .on_hover_text("Save the current chat and files under a new name")
                .clicked()
            {
                self.popup.new_name = Some(String::new());
                self.popup.focus_name = true;
                self.popup.name_taken = None;
            }
            return;
        };
        let mut keep_open = true;
        ui.horizontal(|ui| {
            let response = ui.add(
                egui::TextEdit::singleline(&mut name)
                    .hint_text("Session name — Enter saves")
                    .desired_width(260.0),
            );
            name_widget(ui, &response, "New session name");
            if std::mem::take(&mut self.popup.focus_name) {
                response.request_focus();
            }
            if response.changed() {
                self.popup.name_taken = None;
            }
            let entered = response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if (entered || ui.button("Save").clicked()) && !name.trim().is_empty() {
                self.send(Request::Save {
                    project: self.project.clone(),
                    name: name.trim().to_owned(),
                    overwrite: false,
                });
            }
            if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(Key::Escape)) {
                keep_open = false;
            }
        });
        if let Some((taken, message)) = self.popup.name_taken.clone() {
            ui.horizontal_wrapped(|ui| {
                ui.label(widgets::icon_text(format!("{} {message}", icon::WARNING)).color(error_colour(ui)));
            });
            let overwrite = ui
                .button(format!("Overwrite “{taken}”"))
                .on_hover_text("Replace the saved session; its old version goes to the trash");
            name_widget(ui, &overwrite, "Overwrite");
            if overwrite.clicked() {
                self.send(Request::Save {
                    project: self.project.clone(),
                    name: taken,
                    overwrite: true,
                });
                self.popup.name_taken = None;
                keep_open = false;
            }
        }
        if keep_open {
            self.popup.new_name = Some(name);
        } else {
            self.popup.name_taken = None;
        }
    }

    fn session_row(&mut self, ui: &mut Ui, session: &chronicle_client::v1::SessionInfo, now: i64) {
        let name = session.name.clone();
        if self.popup.confirm_delete.as_deref() == Some(name.as_str()) {
            ui.label(format!(
                "Move “{name}” to the trash? It stays there, restorable from the Trash tab, until purged."
            ));
            ui.horizontal(|ui| {
                if ui.button("Move to trash").clicked() {
                    self.send(Request::Delete {
                        project: self.project.clone(),
                        name: name.clone(),
                    });
                    self.popup.confirm_delete = None;
                }
                if ui.button("Keep it").clicked() {
                    self.popup.confirm_delete = None;
                }
            });
            return;
        }
        let renaming = self.popup.renaming.as_ref().is_some_and(|(old, _)| *old == name);
        ui.horizontal(|ui| {
            if renaming {
                self.rename_field(ui, &name);
            } else {
                ui.label(RichText::new(&name).strong());
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let label = |action: &str| format!("{action}: {name}");
                if icon_button(ui, icon::TRASH, &label("Delete"), "Delete (moves it to the trash)").clicked() {
                    self.popup.confirm_delete = Some(name.clone());
                }
                if icon_button(ui, icon::IMAGE, &label("Export as image"), "Export as Image (PNG)").clicked() {
                    self.export_image(ui, name.clone());
                }
                if icon_button(ui, icon::MARKDOWN, &label("Export as Markdown"), "Export as Markdown").clicked() {
                    self.send(Request::ExportMarkdown {
                        project: self.project.clone(),
                        name: name.clone(),
                    });
                }
                if icon_button(ui, icon::RENAME, &label("Rename"), "Rename").clicked() {
                    self.popup.renaming = Some((name.clone(), name.clone()));
                    self.popup.focus_name = true;
                }
                if icon_button(
                    ui,
                    icon::FILES,
                    &label("Load files"),
                    "Load Files: replace the context files with this session's",
                )
                .clicked()
                {
                    self.send(Request::LoadSession {
                        project: self.project.clone(),
                        name: name.clone(),
                        messages: false,
                        files: true,
                    });
                }
                if icon_button(
                    ui,
                    icon::MESSAGES,
                    &label("Load messages"),
                    "Load Messages: replace the chat with this session's",
                )
                .clicked()
                {
                    self.send(Request::LoadSession {
                        project: self.project.clone(),
                        name: name.clone(),
                        messages: true,
                        files: false,
                    });
                }
                if icon_button(
                    ui,
                    icon::SAVE,
                    &label("Overwrite"),
                    "Overwrite with the current chat and files (the old version goes to the trash)",
                )
                .clicked()
                {
                    self.send(Request::Save {
                        project: self.project.clone(),
                        name: name.clone(),
                        overwrite: true,
                    });
                }
            });
        });
        let mut detail = format!(
            "{} · {} · {}",
            widgets::count(session.message_count, "message"),
            widgets::count(u64::from(session.file_count), "file"),
            widgets::relative_time(session.updated_at_ms, now, &self.tz)
        );
        let usage = widgets::usage_line(session.total_usage.as_ref());
        if !usage.is_empty() {
            detail.push_str(" · ");
            detail.push_str(&usage);
        }
        ui.label(RichText::new(detail).small().weak());
        if let Some(lineage) = lineage(session) {
            ui.label(widgets::icon_text(format!("{} {lineage}", icon::FORK)).small().weak());
        }
    }

    fn rename_field(&mut self, ui: &mut Ui, name: &str) {
        let Some((old, mut new)) = self.popup.renaming.take() else {
            return;
        };
        let response = ui.add(egui::TextEdit::singleline(&mut new).desired_width(200.0));
        name_widget(ui, &response, &format!("New name for {name}"));
        if std::mem::take(&mut self.popup.focus_name) {
            response.request_focus();
        }
        if ui.input(|i| i.key_pressed(Key::Escape)) {
            return;
        }
        if response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
            let new = new.trim().to_owned();
            if !new.is_empty() && new != old {
                self.send(Request::Rename {
                    project: self.project.clone(),
                    name: old,
                    new_name: new,
                });
            }
            return;
        }
        self.popup.renaming = Some((old, new));
    }

    fn trash_tab(&mut self, ui: &mut Ui) {
        ui.label(
            RichText::new("Deleted, overwritten and replaced sessions wait here until purged.")
                .small()
                .weak(),
        );
        if self.trash.is_empty() {
            ui.label(RichText::new("The trash is empty.").weak());
            return;
        }
        let now = chronicle_client::time::now_ms();
        let entries = self.trash.clone();
        egui::ScrollArea::vertical()
            .id_salt("trash_entries")
            .max_height(380.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for entry in &entries {
                    ui.push_id(("trash", &entry.id), |ui| {
                        ui.horizontal(|ui| {
                            ui.vertical(|ui| {
                                ui.label(RichText::new(&entry.name).strong());
                                ui.label(
                                    RichText::new(format!(
                                        "{} {} · {} · {}",
                                        entry.reason,
                                        widgets::relative_time(entry.trashed_at_ms, now, &self.tz),
                                        widgets::count(entry.message_count, "message"),
                                        widgets::count(u64::from(entry.file_count), "file"),
                                    ))
                                    .small()
                                    .weak(),
                                );
                            });
                            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                                let restore = icon_button(
                                    ui,
                                    icon::RESTORE,
                                    &format!("Restore: {}", entry.name),
                                    "Restore as a saved session (a new name if this one is taken)",
                                );
                                if restore.clicked() {
                                    self.send(Request::Restore {
                                        id: entry.id.clone(),
                                        label: entry.name.clone(),
                                    });
                                }
                            });
                        });
                    });
                    ui.separator();
                }
            });
    }

    fn export_image(&mut self, ui: &Ui, name: String) {
        self.send(Request::ExportImage {
            project: self.project.clone(),
            name,
            dark: ui.visuals().dark_mode,
            scale: ui.ctx().pixels_per_point().max(1.0),
        });
    }
}
