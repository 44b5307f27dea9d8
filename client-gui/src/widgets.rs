//! Small pieces every view uses: icon buttons that carry an accessible name
//! (so a screen reader, and a test, finds them by what they do, not by
//! their glyph), role colours, and how times and token counts read.

use chronicle_client::{text, v1::Role};
use eframe::egui::{self, Color32, RichText, Ui};

/// Glyphs of egui's bundled fonts, so icons look the same everywhere.
pub mod icon {
    pub const HISTORY: &str = "🕓";
    pub const SAVE: &str = "💾";
    pub const MESSAGES: &str = "💬";
    pub const FILES: &str = "📄";
    pub const RENAME: &str = "✏";
    pub const MARKDOWN: &str = "📝";
    pub const IMAGE: &str = "🖼";
    pub const TRASH: &str = "🗑";
    pub const RESTORE: &str = "♻";
    pub const FOLDER: &str = "📂";
    pub const SETTINGS: &str = "⚙";
    pub const SUN: &str = "☀";
    pub const MOON: &str = "🌙";
    pub const LOCK: &str = "🔒";
    pub const CLOSE: &str = "✖";
    pub const WARNING: &str = "⚠";
    pub const TOOL: &str = "🔧";
    pub const SEARCH: &str = "🔍";
    /// Two paths from one: a branch of the conversation.
    pub const FORK: &str = "🔀";
    pub const REWIND: &str = "↩";
}

/// Text drawn with the [`ICONS`](crate::fonts::ICONS) family, so an icon
/// glyph in it is egui's own, not the system's colour emoji.
pub fn icon_text(text: impl Into<String>) -> RichText {
    RichText::new(text).family(egui::FontFamily::Name(crate::fonts::ICONS.into()))
}

/// A button showing `glyph`, named `name` for accessibility and showing
/// `tooltip` on hover.
pub fn icon_button(ui: &mut Ui, glyph: &str, name: &str, tooltip: &str) -> egui::Response {
    let glyph = icon_text(glyph).size(15.0);
    let response = ui.add(egui::Button::new(glyph).frame_when_inactive(false));
    name_widget(ui, &response, name);
    response.on_hover_text(tooltip)
}

/// Gives a widget its accessible name (what `get_by_label` matches).
pub fn name_widget(ui: &Ui, response: &egui::Response, name: &str) {
    ui.ctx()
        .accesskit_node_builder(response.id, |node| node.set_label(name));
}

/// The colour a role's label is drawn in, readable on both themes.
pub fn role_colour(role: Role, dark: bool) -> Color32 {
    let (light, dark_c) = match role {
        Role::User => (Color32::from_rgb(0x1f, 0x5f, 0xbf), Color32::from_rgb(0x7a, 0xb4, 0xff)),
        Role::Assistant => (Color32::from_rgb(0x1b, 0x7f, 0x3b), Color32::from_rgb(0x6f, 0xd6, 0x8c)),
        Role::Tool => (Color32::from_rgb(0x8a, 0x3f, 0xb0), Color32::from_rgb(0xc8, 0x8c, 0xf0)),
        Role::System => (Color32::from_rgb(0xa0, 0x62, 0x00), Color32::from_rgb(0xf0, 0xb4, 0x4c)),
        Role::CommandOutput => (Color32::from_rgb(0x00, 0x7a, 0x80), Color32::from_rgb(0x5c, 0xd0, 0xd6)),
        Role::Log | Role::Unspecified => (Color32::from_gray(0x70), Color32::from_gray(0xa0)),
    };
    if dark { dark_c } else { light }
}

/// The card background behind a message: a faint tint of its role.
pub fn role_fill(role: Role, dark: bool) -> Color32 {
    let base = role_colour(role, dark);
    let alpha = if dark { 18 } else { 14 };
    Color32::from_rgba_unmultiplied(base.r(), base.g(), base.b(), alpha)
}

/// A local date and time to the minute, e.g. `2026-11-26 01:49`; empty
/// for a time that is not set.
pub fn local_time(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    text::local_time(ms, tz).unwrap_or_default()
}

pub use chronicle_client::text::{count, relative_time, role_title, usage_line};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_use_the_given_zone() {
        let tz = jiff::tz::TimeZone::UTC;
        assert_eq!(local_time(1_764_121_740_000, &tz), "2025-11-26 01:49 UTC");
        assert_eq!(relative_time(0, 30_000, &tz), "just now");
        assert_eq!(relative_time(0, 7_200_000, &tz), "2 hours ago");
    }
}
