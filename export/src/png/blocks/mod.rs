//! What a card says, before anything is measured: a message (or the
//! session header) becomes a flat list of [`Block`]s — paragraphs,
//! headings, code, tables, rules — each knowing its list and quote depth.
//!
//! The list is flat on purpose. Markdown nests (lists in quotes in
//! lists…), and a hostile message nests ten thousand levels deep; walking
//! pulldown-cmark's events with explicit counters instead of recursion
//! means no depth can overflow the stack, and indentation simply stops
//! growing past [`MAX_VISIBLE_DEPTH`] while the marker states the real
//! depth. Very long lines and code blocks are cut into several blocks
//! here, so that no single block is ever too big to lay out, keep in
//! memory, or split across pages.

use chronicle_proto::v1::{ContextFile, Message, Role, ToolCall, Usage};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use syntect::parsing::SyntaxReference;

use super::{
    highlight,
    theme::{Palette, Rgb},
};
use crate::SessionHeader;

mod markdown;

use self::markdown::markdown;

/// Nesting (lists plus quotes) that is still indented; deeper content
/// stays at this indentation and its marker names its depth.
pub const MAX_VISIBLE_DEPTH: u32 = 8;
/// Longest text handed to the shaper as one line; longer lines continue
/// in the next block.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Most source lines of code in one block.
pub const MAX_CODE_LINES: usize = 400;
/// Tool results (and arguments) longer than this many lines are cut,
/// with a line saying how many more there were.
pub const MAX_TOOL_LINES: usize = 40;

/// How a run of text looks.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub mono: bool,
    pub strike: bool,
    pub underline: bool,
    pub color: Rgb,
    /// A rounded background behind the run: inline code and badges.
    pub bg: Option<Rgb>,
}

impl Span {
    pub fn plain(text: impl Into<String>, color: Rgb) -> Span {
        Span {
            text: text.into(),
            bold: false,
            italic: false,
            mono: false,
            strike: false,
            underline: false,
            color,
            bg: None,
        }
    }

    fn bold(mut self) -> Span {
        self.bold = true;
        self
    }

    fn italic(mut self) -> Span {
        self.italic = true;
        self
    }

    fn mono(mut self) -> Span {
        self.mono = true;
        self
    }

    fn on(mut self, bg: Rgb) -> Span {
        self.bg = Some(bg);
        self
    }
}

/// The size and spacing class of a text block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    Body,
    /// `#` to `######`.
    Heading(u8),
    /// Small print: times, models, usage, labels.
    Meta,
    /// The session's name at the top of the first page.
    Title,
}

/// Where a piece of a cut-up code block sits, for its rounded corners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub first: bool,
    pub last: bool,
}

/// One source line of code (or a piece of a very long one).
#[derive(Clone, Debug, PartialEq)]
pub struct CodeLine {
    pub text: String,
    /// The line continues the previous one: its first row gets the
    /// continuation mark too.
    pub continued: bool,
}

/// What a block shows.
#[derive(Clone, Debug)]
pub enum Body {
    /// A paragraph: lines split by hard breaks, each wrapped to the width.
    Text {
        kind: TextKind,
        lines: Vec<Vec<Span>>,
    },
    /// Code on a tinted background; highlighted when `syntax` is known.
    Code {
        label: Option<String>,
        syntax: Option<&'static SyntaxReference>,
        lines: Vec<CodeLine>,
        piece: Piece,
        /// Lines left out (long tool results), said after the last line.
        omitted: usize,
    },
    Rule,
    Table {
        /// The first row is the header.
        rows: Vec<Vec<Vec<Span>>>,
        aligns: Vec<pulldown_cmark::Alignment>,
    },
    /// The card's first line: an avatar circle with the role's initial,
    /// then the label and the meta line beside it.
    Header {
        initial: char,
        color: Rgb,
        lines: Vec<Vec<Span>>,
    },
}

/// One block and where it sits in the nesting.
#[derive(Clone, Debug)]
pub struct Block {
    pub body: Body,
    /// List depth: how far the block is indented for lists.
    pub lists: u32,
    /// Quote depth: how many quote bars stand left of it.
    pub quotes: u32,
    /// The list marker drawn left of the first line ("•", "3.").
    pub marker: Option<String>,
    /// Follows the previous block closely (list items, cut-up lines).
    pub tight: bool,
}

impl Block {
    fn new(body: Body) -> Block {
        Block {
            body,
            lists: 0,
            quotes: 0,
            marker: None,
            tight: false,
        }
    }

    fn tight(mut self) -> Block {
        self.tight = true;
        self
    }
}

fn role_initial(role: Role) -> char {
    match role {
        Role::User => 'U',
        Role::Assistant => 'A',
        Role::Tool => 'T',
        Role::System => 'S',
        Role::CommandOutput => '$',
        Role::Log => 'L',
        Role::Unspecified => '?',
    }
}

/// Thousands separated by commas, as people read token counts.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The usage of a message or session in one line, or `None` when empty.
pub fn usage_text(usage: &Usage) -> Option<String> {
    let mut parts = Vec::new();
    if usage.sent_tokens > 0 || usage.received_tokens > 0 {
        parts.push(format!(
            "{} tokens sent · {} received",
            grouped(usage.sent_tokens),
            grouped(usage.received_tokens)
        ));
    }
    if usage.cache_read_tokens > 0 || usage.cache_write_tokens > 0 {
        parts.push(format!(
            "cache {} read · {} written",
            grouped(usage.cache_read_tokens),
            grouped(usage.cache_write_tokens)
        ));
    }
    if usage.cost > 0.0 && usage.cost.is_finite() {
        parts.push(format!("${:.4}", usage.cost));
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" · "))
    }
}

/// The blocks of the session card: title, facts, and the context files.
pub fn session(header: &SessionHeader, files: &[ContextFile], pal: &Palette) -> Vec<Block> {
    let title = header.title();
    let mut blocks = Vec::new();
    push_text(
        &mut blocks,
        TextKind::Title,
        vec![vec![Span::plain(title, pal.heading).bold()]],
        0,
        0,
    );
    let mut facts = vec![
        Span::plain(&header.project, pal.muted).mono(),
        Span::plain("  ·  updated ", pal.muted),
        Span::plain(header.minute(header.updated_at_ms), pal.muted),
        Span::plain(
            format!(
                "  ·  {} message{}",
                grouped(header.message_count),
                if header.message_count == 1 { "" } else { "s" }
            ),
            pal.muted,
        ),
    ];
    if let Some(usage) = header.total_usage.as_ref().and_then(usage_text) {
        facts.push(Span::plain(format!("  ·  {usage}"), pal.muted));
    }
    blocks.push(Block::new(Body::Text {
        kind: TextKind::Meta,
        lines: vec![facts],
    }));
    blocks.push(Block::new(Body::Rule));
    blocks.push(Block::new(Body::Text {
        kind: TextKind::Meta,
        lines: vec![vec![
            Span::plain(format!("Context files ({})", grouped(files.len() as u64)), pal.text).bold(),
        ]],
    }));
    if files.is_empty() {
        blocks.push(
            Block::new(Body::Text {
                kind: TextKind::Meta,
                lines: vec![vec![Span::plain("No files in context.", pal.muted).italic()]],
            })
            .tight(),
        );
    }
    for file in files {
        let mut line = vec![Span::plain(&file.path, pal.text).mono()];
        if file.read_only {
            line.push(Span::plain("  ", pal.text));
            line.push(Span::plain(" read-only ", pal.muted).on(pal.badge_bg));
        }
        if file.missing {
            line.push(Span::plain("  ", pal.text));
            line.push(Span::plain(" missing ", pal.error).on(pal.badge_bg));
        }
        let mut block = Block::new(Body::Text {
            kind: TextKind::Meta,
            lines: vec![line],
        })
        .tight();
        block.lists = 1;
        block.marker = Some("•".into());
        push_block(&mut blocks, block);
    }
    blocks
}

/// The blocks of one message card, header first.
pub fn message(message: &Message, header: &SessionHeader, pal: &Palette) -> Vec<Block> {
    let role = Role::try_from(message.role).unwrap_or(Role::Unspecified);
    let colour = pal.role(role);
    let mut blocks = Vec::new();

    let mut head = vec![Span::plain(chronicle_client::text::role_heading(role), colour).bold()];
    let mut meta = format!("   #{} · {}", message.id, header.minute(message.created_at_ms));
    if !message.model.is_empty() {
        meta.push_str(" · ");
    }
    head.push(Span::plain(meta, pal.muted));
    if !message.model.is_empty() {
        head.push(Span::plain(one_line(&message.model), pal.muted).mono());
    }
    if !message.log_level.is_empty() {
        let level = one_line(&message.log_level);
        let level_colour = match level.to_ascii_lowercase().as_str() {
            "error" => pal.error,
            "warning" | "warn" => pal.warning,
            _ => pal.muted,
        };
        head.push(Span::plain("  ", pal.muted));
        head.push(Span::plain(format!(" {level} "), level_colour).on(pal.badge_bg));
    }
    let mut lines = vec![head];
    if let Some(usage) = message.usage.as_ref().and_then(usage_text) {
        lines.push(vec![Span::plain(usage, pal.muted)]);
    }
    blocks.push(Block::new(Body::Header {
        initial: role_initial(role),
        color: colour,
        lines,
    }));

    if !message.reasoning.is_empty() {
        blocks.push(Block::new(Body::Text {
            kind: TextKind::Meta,
            lines: vec![vec![Span::plain("Thinking", pal.muted).bold()]],
        }));
        let lines: Vec<Vec<Span>> = message
            .reasoning
            .lines()
            .map(|line| vec![Span::plain(line, pal.quote_text).italic()])
            .collect();
        push_text(&mut blocks, TextKind::Body, lines, 0, 1);
    }

    if role == Role::CommandOutput {
        if !message.command.is_empty() {
            push_text(
                &mut blocks,
                TextKind::Body,
                vec![vec![
                    Span::plain("$ ", pal.muted).mono(),
                    Span::plain(one_line(&message.command), pal.text).mono().bold(),
                ]],
                0,
                0,
            );
        }
        if message.content.is_empty() {
            blocks.push(Block::new(Body::Text {
                kind: TextKind::Body,
                lines: vec![vec![Span::plain("(no output)", pal.muted).italic()]],
            }));
        } else {
            push_code(&mut blocks, None, &message.content, 0, 0, usize::MAX);
        }
    } else if !message.content.is_empty() {
        markdown(&mut blocks, &message.content, pal);
    } else if message.tool.is_none() {
        blocks.push(Block::new(Body::Text {
            kind: TextKind::Body,
            lines: vec![vec![Span::plain("(empty)", pal.muted).italic()]],
        }));
    }

    if let Some(tool) = &message.tool {
        tool_call(&mut blocks, tool, pal);
    }
    if !message.edited_files.is_empty() {
        let mut line = vec![Span::plain("Edited  ", pal.muted).bold()];
        for (i, file) in message.edited_files.iter().enumerate() {
            if i > 0 {
                line.push(Span::plain(", ", pal.muted));
            }
            line.push(Span::plain(one_line(file), pal.text).mono());
        }
        push_text(&mut blocks, TextKind::Meta, vec![line], 0, 0);
    }
    if !message.metadata.is_empty() {
        let mut pairs: Vec<_> = message.metadata.iter().collect();
        pairs.sort();
        let mut line = vec![Span::plain("Metadata  ", pal.muted).bold()];
        for (i, (key, value)) in pairs.into_iter().enumerate() {
            if i > 0 {
                line.push(Span::plain(" · ", pal.muted));
            }
            line.push(Span::plain(format!("{} = {}", one_line(key), one_line(value)), pal.muted).mono());
        }
        push_text(&mut blocks, TextKind::Meta, vec![line], 0, 0);
    }
    blocks
}

fn tool_call(blocks: &mut Vec<Block>, tool: &ToolCall, pal: &Palette) {
    let name = if tool.name.is_empty() {
        "(unnamed)"
    } else {
        tool.name.as_str()
    };
    let mut line = vec![
        Span::plain("Tool call  ", pal.muted).bold(),
        Span::plain(one_line(name), pal.text).mono().bold(),
    ];
    if !tool.call_id.is_empty() {
        line.push(Span::plain(format!("  id {}", one_line(&tool.call_id)), pal.muted));
    }
    if tool.is_error {
        line.push(Span::plain("  ", pal.text));
        line.push(Span::plain(" failed ", pal.error).bold().on(pal.badge_bg));
    }
    push_text(blocks, TextKind::Body, vec![line], 0, 0);
    for (label, raw) in [("Arguments", &tool.args_json), ("Result", &tool.result_json)] {
        if raw.is_empty() {
            continue;
        }
        blocks.push(Block::new(Body::Text {
            kind: TextKind::Meta,
            lines: vec![vec![Span::plain(label, pal.muted).bold()]],
        }));
        let (text, language) = match pretty_json(raw) {
            Some(pretty) => (pretty, Some("json")),
            None => (raw.clone(), None),
        };
        push_code(blocks, language, &text, 0, 0, MAX_TOOL_LINES);
    }
}

/// Indented JSON, or `None` when `raw` is not JSON.
fn pretty_json(raw: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
}

/// A field meant for one line (a model, a command) on one line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// Adds a block after `blocks`, fixing its tightness: the first block
/// of a card never hugs anything.
fn push_block(blocks: &mut Vec<Block>, mut block: Block) {
    if blocks.is_empty() {
        block.tight = false;
    }
    blocks.push(block);
}

/// Adds a text block, cutting lines longer than [`MAX_LINE_BYTES`] into
/// several blocks that follow each other tightly.
fn push_text(blocks: &mut Vec<Block>, kind: TextKind, lines: Vec<Vec<Span>>, lists: u32, quotes: u32) {
    push_text_marked(blocks, kind, lines, lists, quotes, None, false);
}

fn push_text_marked(
    blocks: &mut Vec<Block>,
    kind: TextKind,
    lines: Vec<Vec<Span>>,
    lists: u32,
    quotes: u32,
    marker: Option<String>,
    tight: bool,
) {
    let mut marker = marker;
    let mut tight = tight;
    let mut current: Vec<Vec<Span>> = Vec::new();
    let mut current_bytes = 0;
    let mut flush = |current: &mut Vec<Vec<Span>>, marker: &mut Option<String>, tight: &mut bool| {
        if current.is_empty() && marker.is_none() {
            return;
        }
        let block = Block {
            body: Body::Text {
                kind,
                lines: std::mem::take(current),
            },
            lists,
            quotes,
            marker: marker.take(),
            tight: *tight,
        };
        push_block(blocks, block);
        *tight = true;
    };
    for line in lines {
        let bytes: usize = line.iter().map(|s| s.text.len()).sum();
        if bytes <= MAX_LINE_BYTES {
            if current_bytes + bytes > MAX_LINE_BYTES {
                flush(&mut current, &mut marker, &mut tight);
                current_bytes = 0;
            }
            current_bytes += bytes;
            current.push(line);
            continue;
        }
        // A line too long for one block: cut it into pieces, each its
        // own block, at spaces when there are any near the cut.
        flush(&mut current, &mut marker, &mut tight);
        current_bytes = 0;
        let mut piece: Vec<Span> = Vec::new();
        let mut piece_bytes = 0;
        for span in line {
            let mut rest = span.text.as_str();
            while !rest.is_empty() {
                let room = MAX_LINE_BYTES - piece_bytes;
                let take = cut_at(rest, room);
                if take == 0 {
                    current.push(std::mem::take(&mut piece));
                    flush(&mut current, &mut marker, &mut tight);
                    piece_bytes = 0;
                    continue;
                }
                piece.push(Span {
                    text: rest[..take].to_owned(),
                    ..span.clone()
                });
                piece_bytes += take;
                rest = &rest[take..];
            }
        }
        if !piece.is_empty() {
            current.push(piece);
            current_bytes = piece_bytes;
        }
    }
    flush(&mut current, &mut marker, &mut tight);
}

/// How many bytes of `text` to take so that at most `room` are taken, at
/// a char boundary, preferring to end after a space in the last quarter.
fn cut_at(text: &str, room: usize) -> usize {
    if text.len() <= room {
        return text.len();
    }
    let mut end = room;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(space) = text[..end].rfind(' ')
        && space + 1 >= end - end / 4
    {
        return space + 1;
    }
    end
}

/// Adds a code block, cut into pieces of at most [`MAX_CODE_LINES`]
/// lines and [`MAX_LINE_BYTES`] bytes per line. Only a block that stays
/// whole is highlighted: highlighting state cannot skip a piece.
fn push_code(blocks: &mut Vec<Block>, info: Option<&str>, text: &str, lists: u32, quotes: u32, max_lines: usize) {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let all = text.split('\n').count();
    let shown = all.min(max_lines);
    let omitted = all - shown;
    let mut lines: Vec<CodeLine> = Vec::new();
    for raw in text.split('\n').take(shown) {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let mut rest = raw;
        let mut continued = false;
        loop {
            let take = cut_at(rest, MAX_LINE_BYTES);
            lines.push(CodeLine {
                text: rest[..take].to_owned(),
                continued,
            });
            rest = &rest[take..];
            continued = true;
            if rest.is_empty() {
                break;
            }
        }
    }
    let word = info.map(highlight::language_word).unwrap_or("");
    let syntax = info.and_then(highlight::syntax_for);
    // The label is the fence's word as written (shortened, printable):
    // a reader sees what the author asked for, known language or not.
    let label = (!word.is_empty()).then(|| word.chars().filter(|c| !c.is_control()).take(32).collect());
    let whole = lines.len() <= MAX_CODE_LINES && text.len() <= highlight::MAX_BYTES;
    let syntax = if whole { syntax } else { None };
    let pieces = lines.len().div_ceil(MAX_CODE_LINES).max(1);
    let mut lines = lines.into_iter();
    for i in 0..pieces {
        let chunk: Vec<CodeLine> = lines.by_ref().take(MAX_CODE_LINES).collect();
        let piece = Piece {
            first: i == 0,
            last: i + 1 == pieces,
        };
        let block = Block {
            body: Body::Code {
                label: if piece.first { label.clone() } else { None },
                syntax,
                lines: chunk,
                piece,
                omitted: if piece.last { omitted } else { 0 },
            },
            lists,
            quotes,
            marker: None,
            tight: i > 0,
        };
        push_block(blocks, block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::png::theme::Theme;

    fn parse(content: &str) -> Vec<Block> {
        let mut blocks = Vec::new();
        markdown(&mut blocks, content, &Palette::new(Theme::Light));
        blocks
    }

    fn text_of(block: &Block) -> String {
        match &block.body {
            Body::Text { lines, .. } | Body::Header { lines, .. } => lines
                .iter()
                .map(|l| l.iter().map(|s| s.text.as_str()).collect::<String>())
                .collect::<Vec<_>>()
                .join("\n"),
            Body::Code { lines, .. } => {
                let mut out = String::new();
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 && !line.continued {
                        out.push('\n');
                    }
                    out.push_str(&line.text);
                }
                out
            }
            Body::Rule => "---".into(),
            Body::Table { rows, .. } => format!("table {}x{}", rows.len(), rows.first().map_or(0, Vec::len)),
        }
    }

    #[test]
    fn markdown_becomes_headings_paragraphs_code_and_lists() {
        let blocks = parse(
            "# Title\n\nSome **bold** and *italic* and `code` and [a link](http://x).\n\n```rust\nfn main() {}\n```\n\n- one\n- two\n  1. nested\n\n> quoted\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        let kinds: Vec<String> = blocks.iter().map(text_of).collect();
        assert_eq!(
            kinds,
            [
                "Title",
                "Some bold and italic and \u{2009}code\u{2009} and a link.",
                "fn main() {}",
                "one",
                "two",
                "nested",
                "quoted",
                "---",
                "table 2x2"
            ]
        );
        assert!(matches!(
            blocks[0].body,
            Body::Text {
                kind: TextKind::Heading(1),
                ..
            }
        ));
        let Body::Text { lines, .. } = &blocks[1].body else {
            panic!("paragraph")
        };
        let spans = &lines[0];
        assert!(spans.iter().any(|s| s.bold && s.text == "bold"));
        assert!(spans.iter().any(|s| s.italic && s.text == "italic"));
        assert!(spans.iter().any(|s| s.mono && s.bg.is_some() && s.text == "code"));
        assert!(spans.iter().any(|s| s.underline && s.text == "a link"));
        let Body::Code { label, syntax, .. } = &blocks[2].body else {
            panic!("code")
        };
        assert_eq!(label.as_deref(), Some("rust"));
        assert!(syntax.is_some());
        assert_eq!(blocks[3].marker.as_deref(), Some("•"));
        assert_eq!(blocks[5].marker.as_deref(), Some("1."));
        assert_eq!((blocks[5].lists, blocks[6].quotes), (2, 1));
    }

    #[test]
    fn ten_thousand_nested_lists_do_not_recurse_and_say_their_depth() {
        let content = format!("{}deep", "- ".repeat(10_000));
        let blocks = parse(&content);
        let last = blocks.last().expect("a block");
        assert!(text_of(last).contains("deep"));
        let marker = last.marker.as_deref().unwrap_or("");
        assert!(marker.starts_with('⋯'), "{marker}");
    }

    #[test]
    fn ten_thousand_nested_quotes_say_their_depth() {
        let blocks = parse(&format!("{}deep", "> ".repeat(10_000)));
        let last = blocks.last().expect("a block");
        assert!(text_of(last).contains("deep"));
        assert_eq!(last.quotes, 10_000);
        assert_eq!(last.marker.as_deref(), Some("⋯10000"));
    }

    #[test]
    fn long_lines_are_cut_into_blocks() {
        let content = "word ".repeat(20_000);
        let blocks = parse(&content);
        assert!(blocks.len() >= 6, "{}", blocks.len());
        let total: usize = blocks.iter().map(|b| text_of(b).len()).sum();
        assert_eq!(total, content.trim_end().len(), "nothing is lost");
        assert!(blocks[1..].iter().all(|b| b.tight));
        let one_line = "x".repeat(3 * MAX_LINE_BYTES + 5);
        let blocks = parse(&format!("```\n{one_line}\n```"));
        let code: String = blocks.iter().map(text_of).collect();
        assert!(code == one_line, "the line comes back whole ({} bytes)", code.len());
    }

    #[test]
    fn tool_results_are_shortened_with_a_count() {
        let pal = Palette::new(Theme::Light);
        let result = (0..100).map(|i| format!("line {i}")).collect::<Vec<_>>().join("\n");
        let msg = Message {
            role: Role::Tool as i32,
            tool: Some(ToolCall {
                name: "grep".into(),
                result_json: result,
                ..ToolCall::default()
            }),
            ..Message::default()
        };
        let blocks = message(&msg, &SessionHeader::default(), &pal);
        let omitted: usize = blocks
            .iter()
            .map(|b| match &b.body {
                Body::Code { omitted, .. } => *omitted,
                _ => 0,
            })
            .sum();
        assert_eq!(omitted, 100 - MAX_TOOL_LINES);
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234), "1,234");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
