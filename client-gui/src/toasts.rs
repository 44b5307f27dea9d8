//! Short notes in the window's corner: what just worked, and every failed
//! action with the daemon's own sentence. A failure never interrupts (no
//! modal, never a panic); it stays long enough to read and can be dismissed.

use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, RichText};

use crate::widgets::{self, icon, icon_button};

/// How long a confirmation stays.
const INFO_FOR: Duration = Duration::from_secs(4);
/// How long an error stays: longer, it is worth reading.
const ERROR_FOR: Duration = Duration::from_secs(10);
/// More than this and the oldest go first.
const MAX_SHOWN: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Info,
    Error,
}

#[derive(Debug)]
struct Toast {
    id: u64,
    kind: Kind,
    text: String,
    until: Instant,
}

/// The toasts on screen.
#[derive(Debug, Default)]
pub struct Toasts {
    shown: Vec<Toast>,
    next_id: u64,
}

impl Toasts {
    pub fn info(&mut self, text: impl Into<String>) {
        self.push(Kind::Info, text.into(), INFO_FOR);
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.push(Kind::Error, text.into(), ERROR_FOR);
    }

    fn push(&mut self, kind: Kind, text: String, duration: Duration) {
        // The same sentence twice in a row (a burst of failures) shows once.
        if let Some(last) = self.shown.last_mut()
            && last.text == text
        {
            last.until = Instant::now() + duration;
            return;
        }
        self.next_id += 1;
        self.shown.push(Toast {
            id: self.next_id,
            kind,
            text,
            until: Instant::now() + duration,
        });
        if self.shown.len() > MAX_SHOWN {
            self.shown.remove(0);
        }
    }

    pub fn show(&mut self, ctx: &egui::Context) {
        let now = Instant::now();
        self.shown.retain(|t| t.until > now);
        let Some(next_expiry) = self.shown.iter().map(|t| t.until).min() else {
            return;
        };
        ctx.request_repaint_after(next_expiry - now);
        let mut dismissed = None;
        egui::Area::new(egui::Id::unique("toasts"))
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-16.0, -96.0))
            .order(egui::Order::Foreground)
            .interactable(true)
            .show(ctx, |ui| {
                ui.set_max_width(420.0);
                for toast in &self.shown {
                    let dark = ui.visuals().dark_mode;
                    let (fill, accent) = match (toast.kind, dark) {
                        (Kind::Error, true) => {
                            (Color32::from_rgb(0x4a, 0x1c, 0x1c), Color32::from_rgb(0xff, 0x8a, 0x8a))
                        }
                        (Kind::Error, false) => {
                            (Color32::from_rgb(0xfd, 0xe8, 0xe8), Color32::from_rgb(0xb0, 0x20, 0x20))
                        }
                        (Kind::Info, true) => {
                            (Color32::from_rgb(0x1d, 0x2b, 0x3a), Color32::from_rgb(0x8c, 0xc4, 0xff))
                        }
                        (Kind::Info, false) => {
                            (Color32::from_rgb(0xe8, 0xf1, 0xfd), Color32::from_rgb(0x1f, 0x5f, 0xbf))
                        }
                    };
                    egui::Frame::new()
                        .fill(fill)
                        .stroke(egui::Stroke::new(1.0, accent))
                        .corner_radius(6.0)
                        .inner_margin(egui::Margin::symmetric(12, 8))
                        .show(ui, |ui| {
                            ui.horizontal(|ui| {
                                let glyph = if toast.kind == Kind::Error {
                                    icon::WARNING
                                } else {
                                    "✔"
                                };
                                ui.label(widgets::icon_text(glyph).color(accent));
                                ui.add(
                                    egui::Label::new(RichText::new(&toast.text).color(ui.visuals().text_color()))
                                        .wrap(),
                                );
                                if icon_button(ui, icon::CLOSE, "Dismiss", "Dismiss").clicked() {
                                    dismissed = Some(toast.id);
                                }
                            });
                        });
                    ui.add_space(6.0);
                }
            });
        if let Some(id) = dismissed {
            self.shown.retain(|t| t.id != id);
        }
    }
}
