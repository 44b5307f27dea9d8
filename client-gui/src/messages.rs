//! The chat: a virtual list that lays out only the messages in view, so a
//! 10,000-message session scrolls as smoothly as a short one. Messages vary
//! in height (Markdown, code, collapsed tool calls), so instead of
//! `ScrollArea::show_rows` (one fixed row height) each row's height is
//! measured when it is drawn and estimated until then; the scroll area is
//! sized from those heights and only the rows crossing the viewport are
//! laid out.

use chronicle_client::v1::{Message, Role};
use eframe::egui::{self, CollapsingHeader, Color32, Frame, Margin, RichText, Ui, UiBuilder};
use egui_commonmark::{CommonMarkCache, CommonMarkViewer};

use crate::{
    chat::Chat,
    tasks,
    widgets::{self, icon},
};

/// Height assumed for a message not drawn yet.
const ESTIMATED_ROW: f32 = 96.0;
/// Space between two message cards.
const ROW_GAP: f32 = 8.0;

/// Measured row heights, and the width they were measured at (text wraps
/// differently at another width, so a new width makes them estimates).
#[derive(Debug, Default)]
pub struct RowHeights {
    heights: Vec<Option<f32>>,
    width: f32,
}

impl RowHeights {
    pub fn clear(&mut self) {
        self.heights.clear();
    }

    fn resize(&mut self, rows: usize, width: f32) {
        if (self.width - width).abs() > 0.5 {
            // Keep the old heights as estimates: closer than a constant.
            self.width = width;
        }
        self.heights.resize(rows, None);
    }

    fn estimate(&self) -> f32 {
        let (sum, n) = self
            .heights
            .iter()
            .flatten()
            .fold((0.0, 0usize), |(sum, n), h| (sum + h, n + 1));
        if n == 0 { ESTIMATED_ROW } else { sum / n as f32 }
    }
}

/// Space left above a message scrolled to, so the one before it peeks in.
const SCROLL_MARGIN: f32 = 24.0;

/// What the chat view asks of the app after a frame.
#[derive(Debug, Default)]
pub struct ChatOutput {
    /// The rows in view reach past the loaded messages: read the next page.
    pub wants_more: bool,
    /// An action chosen on one message.
    pub action: Option<MessageAction>,
}

/// The per-message actions, by message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAction {
    Fork(u64),
    Rewind(u64),
}

/// How a list of messages is shown: which actions each message offers, and
/// which message to bring into view and mark.
#[derive(Debug, Default)]
pub struct View {
    /// Each message offers "Rewind to here" (the working session only).
    pub rewind: bool,
    /// Scroll to this message once it is loaded; cleared when done.
    pub scroll_to: Option<u64>,
    /// This message is drawn marked (the search hit being looked at).
    pub marked: Option<u64>,
    /// Keep the newest message in view as messages arrive.
    pub stick_to_bottom: bool,
    /// The row-height estimate the last scroll-to used: rows above the
    /// target are estimates, and the estimate moves as the rows in view are
    /// measured, so the scroll is repeated until it holds still.
    scroll_estimate: Option<f32>,
}

impl View {
    /// The working session: every action, following the newest message.
    pub fn working() -> View {
        View {
            rewind: true,
            stick_to_bottom: true,
            ..View::default()
        }
    }

    /// A session opened at message `at`, scrolled there and marked.
    pub fn at(at: u64) -> View {
        View {
            scroll_to: Some(at),
            marked: Some(at),
            ..View::default()
        }
    }
}

/// Draws the chat and reports whether more messages are needed and which
/// message action was chosen.
pub fn show(
    ui: &mut Ui,
    chat: &Chat,
    view: &mut View,
    heights: &mut RowHeights,
    markdown: &mut CommonMarkCache,
    tz: &jiff::tz::TimeZone,
) -> ChatOutput {
    let rows = chat.rows();
    if rows == 0 {
        ui.centered_and_justified(|ui| {
            let text = if chat.loaded_once || !chat.more {
                "No messages yet — write one below, or load a saved session from History (🕓)."
            } else {
                "Loading…"
            };
            ui.label(RichText::new(text).weak());
        });
        return ChatOutput::default();
    }
    let mut out = ChatOutput::default();
    heights.resize(rows, heights.width);
    let estimate = heights.estimate();
    let height_of = |h: &Option<f32>| h.unwrap_or(estimate) + ROW_GAP;
    let mut area = egui::ScrollArea::vertical()
        .id_salt("chat")
        // Sticking to the bottom would pull a scroll-to straight back in
        // the same frame; once away from the bottom it no longer sticks.
        .stick_to_bottom(view.stick_to_bottom && view.scroll_to.is_none())
        .auto_shrink(false);
    if let Some(target) = view.scroll_to {
        match chat.messages.binary_search_by_key(&target, |m| m.id) {
            Ok(index) => {
                // Rows above keep the heights the layout below uses, so the
                // row lands exactly here.
                let top: f32 = heights.heights[..index].iter().map(height_of).sum();
                area = area.vertical_scroll_offset((top - SCROLL_MARGIN).max(0.0));
                if view.scroll_estimate.is_some_and(|last| (last - estimate).abs() < 0.5) {
                    view.scroll_to = None;
                    view.scroll_estimate = None;
                } else {
                    view.scroll_estimate = Some(estimate);
                }
            }
            // Not read yet: ask for the pages up to it.
            Err(_) if chat.more => out.wants_more = true,
            // Gone (rewound, or another read): nothing to scroll to.
            Err(_) => {
                view.scroll_to = None;
                view.scroll_estimate = None;
            }
        }
    }
    area.show_viewport(ui, |ui, viewport| {
        let width = ui.available_width();
        heights.resize(rows, width);
        let total: f32 = heights.heights.iter().map(height_of).sum();
        ui.set_height(total);
        // The first row whose bottom is below the viewport's top.
        let mut top = 0.0;
        let mut first = rows;
        for (index, h) in heights.heights.iter().enumerate() {
            let next = top + height_of(h);
            if next > viewport.min.y {
                first = index;
                break;
            }
            top = next;
        }
        let origin = ui.max_rect().top();
        let rect = egui::Rect::from_x_y_ranges(ui.max_rect().x_range(), origin + top..=origin + total.max(top));
        ui.scope_builder(UiBuilder::new().max_rect(rect), |ui| {
            ui.spacing_mut().item_spacing.y = 0.0;
            let mut y = top;
            let mut index = first;
            while index < rows && y < viewport.max.y {
                let before = ui.cursor().top();
                match chat.messages.get(index) {
                    Some(message) => {
                        let marked = view.marked == Some(message.id);
                        if let Some(action) = message_card(ui, message, view.rewind, marked, markdown, tz) {
                            out.action = Some(action);
                        }
                    }
                    None => {
                        out.wants_more = true;
                        placeholder(ui, estimate);
                    }
                }
                let drawn = ui.cursor().top() - before;
                heights.heights[index] = Some(drawn);
                ui.add_space(ROW_GAP);
                y += drawn + ROW_GAP;
                index += 1;
            }
            // Read ahead while the reader nears the end of what is loaded.
            if index + 50 >= chat.messages.len() && chat.more {
                out.wants_more = true;
            }
        });
    });
    out
}

fn placeholder(ui: &mut Ui, height: f32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width(), height), egui::Sense::hover());
    ui.painter().text(
        rect.left_center() + egui::vec2(12.0, 0.0),
        egui::Align2::LEFT_CENTER,
        "Loading…",
        egui::TextStyle::Body.resolve(ui.style()),
        ui.visuals().weak_text_color(),
    );
}

/// One message: a tinted card with its role, time, model, usage and
/// actions, then its body as Markdown (or as the tool call, command or log
/// line it is). A marked card has a thick border in the selection colour.
fn message_card(
    ui: &mut Ui,
    message: &Message,
    rewind: bool,
    marked: bool,
    markdown: &mut CommonMarkCache,
    tz: &jiff::tz::TimeZone,
) -> Option<MessageAction> {
    let role = Role::try_from(message.role).unwrap_or(Role::Unspecified);
    let dark = ui.visuals().dark_mode;
    let stroke = if marked {
        egui::Stroke::new(2.5, ui.visuals().selection.stroke.color)
    } else {
        egui::Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color)
    };
    let mut action = None;
    Frame::new()
        .fill(widgets::role_fill(role, dark))
        .stroke(stroke)
        .corner_radius(8.0)
        .inner_margin(Margin::symmetric(14, 10))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.spacing_mut().item_spacing.y = 6.0;
            action = header(ui, message, role, dark, rewind, tz);
            if !message.reasoning.is_empty() {
                CollapsingHeader::new(RichText::new("Reasoning").italics())
                    .id_salt(("reasoning", message.id))
                    .show(ui, |ui| {
                        ui.label(RichText::new(&message.reasoning).italics().weak());
                    });
            }
            match role {
                Role::CommandOutput => command_output(ui, message),
                Role::Log => log_line(ui, message, dark),
                _ => {
                    if !message.content.is_empty() {
                        CommonMarkViewer::new().show(ui, markdown, &tasks::single_markers(&message.content));
                    }
                }
            }
            if let Some(tool) = &message.tool {
                let title = if tool.is_error {
                    format!("{} Tool call: {} (failed)", icon::TOOL, tool.name)
                } else {
                    format!("{} Tool call: {}", icon::TOOL, tool.name)
                };
                CollapsingHeader::new(widgets::icon_text(title))
                    .id_salt(("tool", message.id))
                    .show(ui, |ui| {
                        code_block(ui, "Arguments", &pretty_json(&tool.args_json));
                        if !tool.result_json.is_empty() {
                            code_block(ui, "Result", &pretty_json(&tool.result_json));
                        }
                    });
            }
            if !message.edited_files.is_empty() {
                ui.label(
                    RichText::new(format!("Edited: {}", message.edited_files.join(", ")))
                        .small()
                        .weak(),
                );
            }
        });
    action
}

fn header(
    ui: &mut Ui,
    message: &Message,
    role: Role,
    dark: bool,
    rewind: bool,
    tz: &jiff::tz::TimeZone,
) -> Option<MessageAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(widgets::role_title(role))
                .strong()
                .color(widgets::role_colour(role, dark)),
        );
        let time = widgets::local_time(message.created_at_ms, tz);
        if !time.is_empty() {
            ui.label(RichText::new(time).small().weak());
        }
        if !message.model.is_empty() {
            ui.label(RichText::new(&message.model).small().monospace().weak());
        }
        ui.label(RichText::new(format!("#{}", message.id)).small().weak())
            .on_hover_text("The message's id (what “at #N” and the CLI's --at refer to)");
        let usage = widgets::usage_line(message.usage.as_ref());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if rewind
                && widgets::icon_button(
                    ui,
                    icon::REWIND,
                    &format!("Rewind to here: #{}", message.id),
                    "Rewind to here: the later messages move to the trash (restorable)",
                )
                .clicked()
            {
                action = Some(MessageAction::Rewind(message.id));
            }
            if widgets::icon_button(
                ui,
                icon::FORK,
                &format!("Fork from here: #{}", message.id),
                "Fork from here: a new saved session of the messages up to this one",
            )
            .clicked()
            {
                action = Some(MessageAction::Fork(message.id));
            }
            if !usage.is_empty() {
                ui.label(RichText::new(usage).small().weak());
            }
        });
    });
    action
}

fn command_output(ui: &mut Ui, message: &Message) {
    if !message.command.is_empty() {
        ui.label(RichText::new(format!("$ {}", message.command)).monospace().strong());
    }
    code_block(ui, "", &message.content);
}

fn log_line(ui: &mut Ui, message: &Message, dark: bool) {
    let colour = match message.log_level.as_str() {
        "error" => {
            if dark {
                Color32::from_rgb(0xff, 0x80, 0x80)
            } else {
                Color32::from_rgb(0xb0, 0x20, 0x20)
            }
        }
        "warning" => {
            if dark {
                Color32::from_rgb(0xf0, 0xc0, 0x60)
            } else {
                Color32::from_rgb(0x90, 0x60, 0x00)
            }
        }
        _ => ui.visuals().weak_text_color(),
    };
    let level = if message.log_level.is_empty() {
        "info"
    } else {
        &message.log_level
    };
    ui.label(RichText::new(format!("[{level}] {}", message.content)).color(colour));
}

/// Monospace text on a code background, selectable.
fn code_block(ui: &mut Ui, title: &str, text: &str) {
    if !title.is_empty() {
        ui.label(RichText::new(title).small().strong());
    }
    Frame::new()
        .fill(ui.visuals().code_bg_color)
        .corner_radius(4.0)
        .inner_margin(Margin::same(8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.add(egui::Label::new(RichText::new(text).monospace()).wrap());
        });
}

/// Tool JSON, indented when it parses; as sent otherwise.
fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| text.to_owned())
}
