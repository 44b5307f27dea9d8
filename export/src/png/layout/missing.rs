//! The characters no font could draw. cosmic-text falls back through every
//! font it has and, when none has a character, shapes it as glyph 0 (the
//! font's box); the typesetter notes those while shaping, so the export can
//! name them before its first page.

use cosmic_text::LayoutGlyph;

/// At most this many characters without a font are reported: enough to
/// name what to install, little enough for one line.
const MAX_REPORTED: usize = 32;

/// The characters seen without a font, in order of first appearance.
#[derive(Debug, Default)]
pub struct MissingGlyphs {
    seen: Vec<char>,
}

impl MissingGlyphs {
    /// Notes the characters of `text` behind glyphs that fell through
    /// every font.
    pub fn note(&mut self, text: &str, glyphs: &[LayoutGlyph]) {
        for glyph in glyphs.iter().filter(|g| g.glyph_id == 0) {
            for c in text.get(glyph.start..glyph.end).unwrap_or("").chars() {
                if self.seen.len() < MAX_REPORTED && drawable(c) && !self.seen.contains(&c) {
                    self.seen.push(c);
                }
            }
        }
    }

    /// Every character noted, once each.
    pub fn characters(&self) -> String {
        self.seen.iter().collect()
    }
}

/// Whether a character is meant to be seen: spaces, controls and
/// invisible format characters (joiners, variation selectors, bidi marks)
/// have no glyph of their own in most fonts and are not "missing".
fn drawable(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}'
            | '\u{e0000}'..='\u{e0fff}'))
}
