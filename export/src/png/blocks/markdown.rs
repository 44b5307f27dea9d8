//! Markdown → blocks: pulldown-cmark's events walked with explicit
//! counters (never recursion, so no nesting depth overflows the stack)
//! into the flat [`Block`] list of a message card — paragraphs, headings,
//! lists and quotes by depth, code blocks, tables and rules.

use super::*;

fn parser_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM
}

/// Open inline styles while walking a paragraph.
#[derive(Default)]
struct Inline {
    bold: u32,
    italic: u32,
    strike: u32,
    link: u32,
    heading: bool,
}

/// An open list: its next number, or `None` for bullets.
struct List {
    next: Option<u64>,
}

/// Where inline text is going.
enum Sink {
    /// Nowhere yet: the next text opens an implicit paragraph (tight
    /// list items have no paragraph events).
    None,
    Text {
        kind: TextKind,
        lines: Vec<Vec<Span>>,
    },
    Code {
        info: Option<String>,
        text: String,
    },
    Table {
        aligns: Vec<pulldown_cmark::Alignment>,
        rows: Vec<Vec<Vec<Span>>>,
        row: Vec<Vec<Span>>,
        cell: Option<Vec<Span>>,
    },
}

struct Walker<'p> {
    pal: &'p Palette,
    blocks: Vec<Block>,
    sink: Sink,
    inline: Inline,
    lists: Vec<List>,
    quotes: u32,
    /// Markers of list items whose first block has not been written.
    markers: Vec<String>,
    /// The last block written was inside a list: the next one in a list
    /// follows it closely, as list items do.
    prev_in_list: bool,
}

/// Appends the blocks of a Markdown text.
pub(super) fn markdown(blocks: &mut Vec<Block>, content: &str, pal: &Palette) {
    let mut walker = Walker {
        pal,
        blocks: std::mem::take(blocks),
        sink: Sink::None,
        inline: Inline::default(),
        lists: Vec::new(),
        quotes: 0,
        markers: Vec::new(),
        prev_in_list: false,
    };
    for event in Parser::new_ext(content, parser_options()) {
        walker.event(event);
    }
    walker.flush();
    walker.flush_markers();
    *blocks = walker.blocks;
}

impl Walker<'_> {
    fn depth(&self) -> u32 {
        u32::try_from(self.lists.len()).unwrap_or(u32::MAX)
    }

    fn span(&self, text: &str) -> Span {
        let colour = if self.inline.heading {
            self.pal.heading
        } else if self.quotes > 0 {
            self.pal.quote_text
        } else {
            self.pal.text
        };
        let mut span = Span::plain(text, colour);
        span.bold = self.inline.bold > 0;
        span.italic = self.inline.italic > 0;
        span.strike = self.inline.strike > 0;
        if self.inline.link > 0 {
            span.color = self.pal.link;
            span.underline = true;
        }
        span
    }

    /// The marker for the next block: the innermost pending item's, with
    /// the depth spelled out where indentation stopped growing.
    fn take_marker(&mut self) -> Option<String> {
        let marker = self.markers.pop();
        self.markers.clear();
        let depth = self.depth().saturating_add(self.quotes);
        match marker {
            Some(marker) if depth > MAX_VISIBLE_DEPTH => Some(format!("⋯{depth} {marker}")),
            Some(marker) => Some(marker),
            // Deep quotes have no marker, but their depth is said too.
            None if depth > MAX_VISIBLE_DEPTH => Some(format!("⋯{depth}")),
            None => None,
        }
    }

    fn tight_next(&mut self) -> bool {
        let in_list = !self.lists.is_empty();
        let tight = in_list && self.prev_in_list;
        self.prev_in_list = in_list;
        tight
    }

    fn push_inline(&mut self, span: Span) {
        match &mut self.sink {
            Sink::Text { lines, .. } => {
                if lines.is_empty() {
                    lines.push(Vec::new());
                }
                if let Some(line) = lines.last_mut() {
                    line.push(span);
                }
            }
            Sink::Table { cell: Some(cell), .. } => cell.push(span),
            Sink::Table { .. } => {}
            Sink::Code { text, .. } => text.push_str(&span.text),
            Sink::None => {
                self.sink = Sink::Text {
                    kind: TextKind::Body,
                    lines: vec![vec![span]],
                };
            }
        }
    }

    fn hard_break(&mut self) {
        match &mut self.sink {
            Sink::Text { lines, .. } => lines.push(Vec::new()),
            Sink::Table { cell: Some(cell), .. } => cell.push(Span::plain(" ", self.pal.text)),
            _ => {}
        }
    }

    /// Writes whatever inline content is open as its block.
    fn flush(&mut self) {
        match std::mem::replace(&mut self.sink, Sink::None) {
            Sink::None => {}
            Sink::Text { kind, lines } => {
                let marker = self.take_marker();
                let tight = self.tight_next();
                let lines: Vec<Vec<Span>> = lines.into_iter().filter(|l| !l.is_empty()).collect();
                if lines.is_empty() && marker.is_none() {
                    return;
                }
                let (lists, quotes) = (self.depth(), self.quotes);
                push_text_marked(&mut self.blocks, kind, lines, lists, quotes, marker, tight);
            }
            Sink::Code { info, text } => {
                self.flush_markers();
                let tight = self.tight_next();
                let at = self.blocks.len();
                let (lists, quotes) = (self.depth(), self.quotes);
                push_code(&mut self.blocks, info.as_deref(), &text, lists, quotes, usize::MAX);
                if let Some(first) = self.blocks.get_mut(at) {
                    first.tight = tight && at > 0;
                }
            }
            Sink::Table { aligns, rows, .. } => {
                self.flush_markers();
                let tight = self.tight_next();
                let block = Block {
                    body: Body::Table { rows, aligns },
                    lists: self.depth(),
                    quotes: self.quotes,
                    marker: None,
                    tight,
                };
                push_block(&mut self.blocks, block);
            }
        }
    }

    /// A list item that starts with something other than text (code, a
    /// table, a nested quote) still shows its marker on a line of its own.
    fn flush_markers(&mut self) {
        if self.markers.is_empty() {
            return;
        }
        let marker = self.take_marker();
        let tight = self.tight_next();
        let (lists, quotes) = (self.depth(), self.quotes);
        push_text_marked(
            &mut self.blocks,
            TextKind::Body,
            Vec::new(),
            lists,
            quotes,
            marker,
            tight,
        );
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => {
                if let Sink::Code { text: code, .. } = &mut self.sink {
                    code.push_str(&text);
                } else {
                    let span = self.span(&text);
                    self.push_inline(span);
                }
            }
            Event::Code(text) => {
                let mut span = self.span(&text);
                span.mono = true;
                span.bg = Some(self.pal.inline_code_bg);
                if self.inline.link == 0 {
                    span.color = self.pal.code_text;
                }
                // Proportional thin spaces inside the tinted box keep it
                // clear of the text beside it, as padding does in a browser
                // (a monospace font's thin space is as wide as any letter).
                let pad = Span {
                    text: "\u{2009}".into(),
                    mono: false,
                    ..span.clone()
                };
                self.push_inline(pad.clone());
                self.push_inline(span);
                self.push_inline(pad);
            }
            Event::Html(text) => {
                if let Sink::Code { text: code, .. } = &mut self.sink {
                    code.push_str(&text);
                }
            }
            Event::InlineHtml(text) | Event::InlineMath(text) | Event::DisplayMath(text) => {
                let mut span = self.span(&text);
                span.mono = true;
                span.color = self.pal.muted;
                self.push_inline(span);
            }
            Event::FootnoteReference(name) => {
                let mut span = self.span(&format!("[{name}]"));
                span.color = self.pal.link;
                self.push_inline(span);
            }
            Event::SoftBreak => {
                let span = self.span(" ");
                self.push_inline(span);
            }
            Event::HardBreak => self.hard_break(),
            Event::Rule => {
                self.flush();
                self.flush_markers();
                let tight = self.tight_next();
                let block = Block {
                    body: Body::Rule,
                    lists: self.depth(),
                    quotes: self.quotes,
                    marker: None,
                    tight,
                };
                push_block(&mut self.blocks, block);
            }
            Event::TaskListMarker(done) => {
                let check = if done { "☑" } else { "☐" };
                // The box takes the place of the item's bullet.
                match self.markers.last_mut() {
                    Some(marker) => *marker = check.to_owned(),
                    None => {
                        let span = Span::plain(format!("{check} "), self.pal.muted);
                        self.push_inline(span);
                    }
                }
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                self.flush();
                self.sink = Sink::Text {
                    kind: TextKind::Body,
                    lines: Vec::new(),
                };
            }
            Tag::Heading { level, .. } => {
                self.flush();
                self.sink = Sink::Text {
                    kind: TextKind::Heading(level as u8),
                    lines: Vec::new(),
                };
                self.inline.bold += 1;
                self.inline.heading = true;
            }
            Tag::BlockQuote(kind) => {
                self.flush();
                self.flush_markers();
                self.quotes = self.quotes.saturating_add(1);
                if let Some(kind) = kind {
                    let label = format!("{kind:?}");
                    let tight = self.tight_next();
                    let (lists, quotes) = (self.depth(), self.quotes);
                    let line = vec![Span::plain(label, self.pal.link).bold()];
                    push_text_marked(&mut self.blocks, TextKind::Body, vec![line], lists, quotes, None, tight);
                }
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                let info = match kind {
                    CodeBlockKind::Fenced(info) => Some(info.into_string()),
                    CodeBlockKind::Indented => None,
                };
                self.sink = Sink::Code {
                    info,
                    text: String::new(),
                };
            }
            Tag::HtmlBlock => {
                self.flush();
                self.sink = Sink::Code {
                    info: Some("html".into()),
                    text: String::new(),
                };
            }
            Tag::List(start) => {
                self.flush();
                self.lists.push(List { next: start });
            }
            Tag::Item => {
                self.flush();
                let depth = self.lists.len();
                let marker = match self.lists.last_mut() {
                    Some(List { next: Some(n) }) => {
                        let marker = format!("{n}.");
                        *n = n.saturating_add(1);
                        marker
                    }
                    _ => ["•", "◦", "▪"][depth.saturating_sub(1) % 3].to_owned(),
                };
                self.markers.push(marker);
            }
            Tag::FootnoteDefinition(name) => {
                self.flush();
                self.markers.push(format!("[{name}]"));
            }
            Tag::Table(aligns) => {
                self.flush();
                self.sink = Sink::Table {
                    aligns,
                    rows: Vec::new(),
                    row: Vec::new(),
                    cell: None,
                };
            }
            Tag::TableHead | Tag::TableRow => {
                if let Sink::Table { row, .. } = &mut self.sink {
                    row.clear();
                }
            }
            Tag::TableCell => {
                if let Sink::Table { cell, .. } = &mut self.sink {
                    *cell = Some(Vec::new());
                }
            }
            Tag::Emphasis => self.inline.italic += 1,
            Tag::Strong => self.inline.bold += 1,
            Tag::Strikethrough => self.inline.strike += 1,
            Tag::Link { .. } => self.inline.link += 1,
            Tag::Image { .. } => {
                self.inline.link += 1;
                let span = self.span("[image: ");
                self.push_inline(span);
            }
            Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                self.flush();
                self.inline.bold = self.inline.bold.saturating_sub(1);
                self.inline.heading = false;
            }
            TagEnd::Paragraph | TagEnd::CodeBlock | TagEnd::HtmlBlock => self.flush(),
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quotes = self.quotes.saturating_sub(1);
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
            }
            TagEnd::Item | TagEnd::FootnoteDefinition => {
                self.flush();
                self.flush_markers();
            }
            TagEnd::Table => self.flush(),
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Sink::Table { rows, row, .. } = &mut self.sink {
                    rows.push(std::mem::take(row));
                }
            }
            TagEnd::TableCell => {
                if let Sink::Table { row, cell, .. } = &mut self.sink {
                    row.push(cell.take().unwrap_or_default());
                }
            }
            TagEnd::Emphasis => self.inline.italic = self.inline.italic.saturating_sub(1),
            TagEnd::Strong => self.inline.bold = self.inline.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.inline.strike = self.inline.strike.saturating_sub(1),
            TagEnd::Link => self.inline.link = self.inline.link.saturating_sub(1),
            TagEnd::Image => {
                let span = self.span("]");
                self.push_inline(span);
                self.inline.link = self.inline.link.saturating_sub(1);
            }
            TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::MetadataBlock(_)
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => {}
        }
    }
}
