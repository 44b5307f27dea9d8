//! Syntax highlighting of fenced code with syntect's bundled grammars and
//! themes, compiled with its pure-Rust regex engine (no C library).
//!
//! The language comes from the fence's info string; one nobody knows
//! (`foo`, `<script>`, an empty string) is shown as plain code, never an
//! error. Highlighting is a courtesy, so it is bounded: a block past
//! [`MAX_BYTES`], a line past [`MAX_LINE_BYTES`], or a grammar that gives
//! up (fancy-regex stops runaway backtracking with an error) turns the
//! rest of that block into plain code instead of stalling the export.

use std::{ops::Range, sync::OnceLock};

use syntect::{
    easy::HighlightLines,
    highlighting::{FontStyle, ThemeSet},
    parsing::{SyntaxReference, SyntaxSet},
};

use super::theme::Rgb;

/// Most bytes of one code block that are highlighted.
pub const MAX_BYTES: usize = 128 * 1024;
/// A longer line stops the highlighting of its block.
pub const MAX_LINE_BYTES: usize = 2_000;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn themes() -> &'static ThemeSet {
    static SET: OnceLock<ThemeSet> = OnceLock::new();
    SET.get_or_init(ThemeSet::load_defaults)
}

/// The language word of a fence's info string: `rust` of
/// `rust,ignore` or `rust title="x"`.
pub fn language_word(info: &str) -> &str {
    let word = info
        .trim()
        .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
        .next()
        .unwrap_or("");
    word.trim_start_matches('.')
}

/// The grammar for a fence's info string, if syntect knows it.
pub fn syntax_for(info: &str) -> Option<&'static SyntaxReference> {
    let word = language_word(info);
    if word.is_empty() || word.len() > 64 {
        return None;
    }
    syntaxes().find_syntax_by_token(word)
}

/// One coloured piece of a highlighted line.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub range: Range<usize>,
    pub color: Rgb,
    pub bold: bool,
    pub italic: bool,
}

/// Highlights the lines of one code block in order.
pub struct Highlighter {
    lines: Option<HighlightLines<'static>>,
    spent: usize,
}

impl Highlighter {
    /// A highlighter for `syntax` in the named theme; `None` syntax, or a
    /// theme syntect lacks, gives a highlighter that leaves lines plain.
    pub fn new(syntax: Option<&'static SyntaxReference>, theme: &str) -> Highlighter {
        let lines = syntax
            .zip(themes().themes.get(theme))
            .map(|(syntax, theme)| HighlightLines::new(syntax, theme));
        Highlighter { lines, spent: 0 }
    }

    /// The tokens of one line (which ends with its `\n`, if it has one),
    /// or `None` when the line is to be drawn plain.
    pub fn line(&mut self, line: &str) -> Option<Vec<Token>> {
        self.spent += line.len();
        if self.spent > MAX_BYTES || line.len() > MAX_LINE_BYTES {
            self.lines = None;
        }
        let lines = self.lines.as_mut()?;
        let Ok(styled) = lines.highlight_line(line, syntaxes()) else {
            self.lines = None;
            return None;
        };
        let mut tokens = Vec::with_capacity(styled.len());
        let mut at = 0;
        for (style, text) in styled {
            let fg = style.foreground;
            tokens.push(Token {
                range: at..at + text.len(),
                color: Rgb(fg.r, fg.g, fg.b),
                bold: style.font_style.contains(FontStyle::BOLD),
                italic: style.font_style.contains(FontStyle::ITALIC),
            });
            at += text.len();
        }
        Some(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_words_pick_grammars() {
        assert_eq!(language_word(" rust,ignore "), "rust");
        assert_eq!(language_word("python title=\"x\""), "python");
        assert_eq!(language_word("{.js}"), "");
        assert_eq!(syntax_for("rust").map(|s| s.name.as_str()), Some("Rust"));
        assert_eq!(syntax_for("py").map(|s| s.name.as_str()), Some("Python"));
        assert!(syntax_for("no-such-language").is_none());
        assert!(syntax_for("<script>").is_none());
        assert!(syntax_for("").is_none());
    }

    #[test]
    fn highlighted_lines_are_coloured_and_cover_the_line() {
        let mut h = Highlighter::new(syntax_for("rust"), "InspiredGitHub");
        let line = "fn main() { let x = \"hi\"; }\n";
        let tokens = h.line(line).expect("rust is highlighted");
        assert_eq!(tokens.first().map(|t| t.range.start), Some(0));
        assert_eq!(tokens.last().map(|t| t.range.end), Some(line.len()));
        let colours: std::collections::HashSet<Rgb> = tokens.iter().map(|t| t.color).collect();
        assert!(colours.len() > 2, "keywords, strings and names differ: {tokens:?}");
    }

    #[test]
    fn huge_lines_turn_the_block_plain() {
        let mut h = Highlighter::new(syntax_for("json"), "InspiredGitHub");
        assert!(h.line("{\"a\": 1}\n").is_some());
        assert!(h.line(&"x".repeat(MAX_LINE_BYTES + 1)).is_none());
        assert!(h.line("{}\n").is_none(), "the rest of the block stays plain");
    }
}
