//! The app's fonts. egui brings Ubuntu, Hack and monochrome emoji (the
//! icons are glyphs of those). On top of them, found on background
//! threads so the window opens at once: the system's fonts for every
//! script egui's fonts lack (Chinese, Korean, Arabic, Hebrew…), per
//! character (egui_system_font_provider, which follows the system's own
//! fallback rules), and the system's emoji font placed ahead of egui's
//! monochrome ones, so a message's 🚀 shows as people sent it — in colour
//! with Noto Color Emoji or the like. Icons keep egui's own emoji through
//! the [`ICONS`] family.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use eframe::egui::{self, FallbackRequest, FontDefinitions, FontFamily, FontProvider};
use egui_system_font_provider::SystemFontProvider;

/// The family icon glyphs are drawn with: egui's fonts only.
pub const ICONS: &str = "icons";
const SYSTEM_EMOJI: &str = "system-emoji";

/// Installs the fonts; the flag turns true once the emoji font is in
/// place (or known to be missing).
pub fn install(ctx: &egui::Context) -> Arc<AtomicBool> {
    let provider = Arc::new(SystemFontProvider::new());
    ctx.add_font_provider(provider.clone());
    ctx.set_fonts(definitions(None));
    let ready = Arc::new(AtomicBool::new(false));
    let (ctx, done) = (ctx.clone(), ready.clone());
    let spawned = std::thread::Builder::new().name("emoji-font".into()).spawn(move || {
        let request = FallbackRequest {
            cluster: "🚀",
            family: &FontFamily::Proportional,
        };
        if let Some(found) = provider.font_for(&request) {
            ctx.set_fonts(definitions(Some(found.data)));
        }
        done.store(true, Ordering::Release);
        ctx.request_repaint();
    });
    if spawned.is_err() {
        ready.store(true, Ordering::Release);
    }
    ready
}

/// egui's fonts, an [`ICONS`] family of them, and the system's emoji font
/// (when found) ahead of egui's emoji for text.
fn definitions(emoji: Option<egui::FontData>) -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    let icons = fonts
        .families
        .get(&FontFamily::Proportional)
        .cloned()
        .unwrap_or_default();
    fonts.families.insert(FontFamily::Name(ICONS.into()), icons);
    if let Some(emoji) = emoji {
        fonts.font_data.insert(SYSTEM_EMOJI.into(), Arc::new(emoji));
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            if let Some(list) = fonts.families.get_mut(&family) {
                let at = list.iter().position(|f| f == "egui-icons").unwrap_or(list.len());
                list.insert(at, SYSTEM_EMOJI.into());
            }
        }
    }
    fonts
}
