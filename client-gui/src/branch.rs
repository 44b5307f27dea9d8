//! The two questions branching asks before it calls the daemon: "Fork from
//! here" asks the new session's name; "Rewind to here" asks to be sure and
//! says where the later messages go (the trash, restorable). The rewind
//! carries the revision the window showed, so a view that fell behind is
//! refused by the daemon instead of cutting messages the user never saw.

use eframe::egui::{self, Key, RichText};

use crate::{app::App, backend::Request, widgets::name_widget};

/// A question on screen.
#[derive(Debug, Clone)]
pub enum Ask {
    Fork {
        project: String,
        /// Empty = the working session.
        source: String,
        at: u64,
        name: String,
        focus: bool,
    },
    Rewind {
        at: u64,
        /// Messages after `at` in the working session as shown.
        later: u64,
        revision: u64,
    },
}

impl Ask {
    pub fn fork(project: String, source: String, at: u64) -> Ask {
        Ask::Fork {
            project,
            source,
            at,
            name: String::new(),
            focus: true,
        }
    }
}

impl App {
    /// Draws the open question, if any, as a modal.
    pub(crate) fn ask_dialog(&mut self, ctx: &egui::Context) {
        let Some(mut ask) = self.ask.take() else {
            return;
        };
        let mut keep = true;
        let mut request = None;
        egui::Modal::new(egui::Id::unique("branch_question")).show(ctx, |ui| {
            ui.set_max_width(460.0);
            match &mut ask {
                Ask::Fork {
                    project,
                    source,
                    at,
                    name,
                    focus,
                } => {
                    let from = if source.is_empty() {
                        "the working session".to_owned()
                    } else {
                        format!("“{source}”")
                    };
                    ui.heading(format!("Fork from #{at}"));
                    ui.label(format!(
                        "A new saved session with the messages of {from} up to and including #{at}, and its context files. {from} itself does not change."
                    ));
                    ui.add_space(6.0);
                    let field = ui.add(
                        egui::TextEdit::singleline(name)
                            .hint_text("New session name — Enter forks")
                            .desired_width(300.0),
                    );
                    name_widget(ui, &field, "Fork name");
                    if std::mem::take(focus) {
                        field.request_focus();
                    }
                    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                    ui.add_space(6.0);
                    ui.horizontal(|ui| {
                        let fork = ui.add_enabled(!name.trim().is_empty(), egui::Button::new("Fork"));
                        if (fork.clicked() || entered) && !name.trim().is_empty() {
                            request = Some(Request::Fork {
                                project: project.clone(),
                                source: source.clone(),
                                at: *at,
                                new_name: name.trim().to_owned(),
                            });
                        }
                        if ui.button("Cancel").clicked() {
                            keep = false;
                        }
                    });
                }
                Ask::Rewind { at, later, revision } => {
                    ui.heading(format!("Rewind to #{at}?"));
                    ui.label(format!(
                        "The working session keeps its messages up to and including #{at}. The {} after it move to the trash as one entry (reason “rewound”).",
                        crate::widgets::count(*later, "message")
                    ));
                    ui.label(
                        RichText::new("You can restore them from History → Trash, as a saved session.")
                            .small()
                            .weak(),
                    );
                    ui.add_space(6.0);
                    ui.horizontal(|ui| {
                        if ui.button("Rewind").clicked() {
                            request = Some(Request::Rewind {
                                project: self.project.clone(),
                                keep_through: *at,
                                expected_revision: *revision,
                            });
                        }
                        if ui.button("Cancel").clicked() {
                            keep = false;
                        }
                    });
                }
            }
            if ui.input(|i| i.key_pressed(Key::Escape)) {
                keep = false;
            }
        });
        if let Some(request) = request {
            self.send(request);
            keep = false;
        }
        if keep {
            self.ask = Some(ask);
        }
    }
}
