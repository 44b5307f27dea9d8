//! Measuring and placing: turns [`Block`]s into positioned paint items —
//! filled and rounded rectangles and runs of shaped glyphs — and knows
//! where a card may be cut between two pages.
//!
//! Everything is laid out directly in physical pixels (logical size ×
//! scale), so what is measured is exactly what is painted. Text goes
//! through cosmic-text one paragraph line at a time (`BufferLine`), which
//! shapes with font fallback and bidi, wraps words (or glyphs, for a
//! word wider than the column), and is dropped as soon as its glyphs are
//! copied out: only the flat item list survives.
//!
//! A card may be cut at any y that no text row or other atomic piece
//! straddles; [`Unit::breaks`] lists them. A card's items are kept from
//! the measuring pass to the painting pass while a glyph budget lasts;
//! past it, a block keeps only its position and is laid out again when
//! its page is painted, so memory stays bounded by one page.

use chronicle_proto::v1::Role;
use cosmic_text::{
    Attrs, AttrsList, BufferLine, CacheKey, Color, Ellipsize, Family, Hinting, LayoutGlyph, LineEnding, Shaping, Style,
    Weight, Wrap,
};
use pulldown_cmark::Alignment;
use syntect::parsing::SyntaxReference;

use super::{
    blocks::{Block, Body, CodeLine, MAX_VISIBLE_DEPTH, Piece, Span, TextKind},
    fonts::{self, MONO, SANS},
    highlight::Highlighter,
    theme::{Palette, Rgb},
};

mod code;
mod missing;
mod table;

use self::code::Code;
use self::missing::MissingGlyphs;

/// An axis-aligned rectangle in physical pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Rect {
    pub const fn new(x: i32, y: i32, w: i32, h: i32) -> Rect {
        Rect { x, y, w, h }
    }
}

/// One glyph, ready to rasterise: `(x, y)` is the pen position on the
/// baseline, in the coordinates of the card it belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Glyph {
    pub key: CacheKey,
    pub x: i32,
    pub y: i32,
    pub color: Rgb,
}

/// Something to paint, in card coordinates.
#[derive(Clone, Debug)]
pub enum Item {
    Fill {
        rect: Rect,
        color: Rgb,
    },
    /// A rectangle with anti-aliased round corners, and an optional
    /// border `(colour, width)` drawn inside its edge.
    Round {
        rect: Rect,
        radius: i32,
        color: Rgb,
        border: Option<(Rgb, i32)>,
    },
    /// One row of text; `top..bottom` is the row's box.
    Glyphs {
        top: i32,
        bottom: i32,
        glyphs: Vec<Glyph>,
    },
}

impl Item {
    /// Rows of pixels the item may touch (glyphs may reach a little past
    /// their row's box; the painter allows for that).
    pub fn span(&self) -> (i32, i32) {
        match self {
            Item::Fill { rect, .. } | Item::Round { rect, .. } => (rect.y, rect.y + rect.h),
            Item::Glyphs { top, bottom, .. } => (*top, *bottom),
        }
    }

    fn glyph_count(&self) -> usize {
        match self {
            Item::Glyphs { glyphs, .. } => glyphs.len(),
            _ => 0,
        }
    }
}

/// Font size and line height of a text class, in physical pixels.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub font: f32,
    pub line: f32,
}

/// The page's measures, in physical pixels.
#[derive(Clone, Debug)]
pub struct Geometry {
    pub scale: f32,
    /// Width of the whole page.
    pub width: i32,
    /// Between the page's edge and the window.
    pub margin: i32,
    /// The window's title bar.
    pub title_bar: i32,
    /// Between the window's edge and the cards.
    pub window_pad: i32,
    /// The strip at the bottom of the window holding the page number.
    pub footer: i32,
    pub radius: i32,
    pub card_pad: i32,
    pub card_radius: i32,
    pub card_gap: i32,
    pub avatar: i32,
    pub avatar_gap: i32,
    pub list_step: i32,
    pub quote_step: i32,
    /// A hairline: one logical pixel, never less than one physical.
    pub line: i32,
}

impl Geometry {
    pub fn new(width_px: u32, scale: f32) -> Geometry {
        let px = |v: f32| (v * scale).round() as i32;
        Geometry {
            scale,
            width: (width_px as f32 * scale).round() as i32,
            margin: px(20.0),
            title_bar: px(40.0),
            window_pad: px(18.0),
            footer: px(30.0),
            radius: px(12.0),
            card_pad: px(16.0),
            card_radius: px(10.0),
            card_gap: px(12.0),
            avatar: px(28.0),
            avatar_gap: px(12.0),
            list_step: px(22.0),
            quote_step: px(14.0),
            line: px(1.0).max(1),
        }
    }

    pub fn px(&self, logical: f32) -> f32 {
        logical * self.scale
    }

    pub fn ipx(&self, logical: f32) -> i32 {
        (logical * self.scale).round() as i32
    }

    /// Left edge of the cards on the page.
    pub fn content_x(&self) -> i32 {
        self.margin + self.window_pad
    }

    /// Width of a card.
    pub fn content_width(&self) -> i32 {
        self.width - 2 * self.content_x()
    }

    /// Height a page spends on everything but cards.
    pub fn page_overhead(&self) -> i32 {
        2 * self.margin + self.title_bar + 2 * self.window_pad + self.footer
    }

    pub fn size(&self, kind: TextKind) -> Size {
        let (font, line) = match kind {
            TextKind::Body => (14.0, 21.0),
            TextKind::Heading(1) => (22.0, 30.0),
            TextKind::Heading(2) => (19.0, 27.0),
            TextKind::Heading(3) => (16.5, 24.0),
            TextKind::Heading(4) => (15.0, 22.0),
            TextKind::Heading(_) => (14.0, 21.0),
            TextKind::Meta => (12.0, 18.0),
            TextKind::Title => (22.0, 30.0),
        };
        Size {
            font: self.px(font),
            line: self.px(line),
        }
    }

    pub fn code_size(&self) -> Size {
        Size {
            font: self.px(12.5),
            line: self.px(18.5),
        }
    }

    fn header_size(&self) -> Size {
        Size {
            font: self.px(13.0),
            line: self.px(19.0),
        }
    }
}

/// What a card holds, so it can be laid out again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitKind {
    /// The session's title, facts and context files.
    Session,
    /// One message, by id.
    Message { id: u64, role: Role },
    /// A line of its own ("No messages").
    Notice,
}

/// A block's place in its card, and its items while they are kept.
#[derive(Debug)]
pub struct PlacedBlock {
    pub top: i32,
    pub height: i32,
    pub items: Option<Vec<Item>>,
}

/// A laid-out card.
#[derive(Debug)]
pub struct Unit {
    pub kind: UnitKind,
    pub height: i32,
    /// The card's own background and border.
    pub chrome: Vec<Item>,
    pub blocks: Vec<PlacedBlock>,
    /// Sorted y positions, strictly inside the card, where it may be cut.
    pub breaks: Vec<i32>,
}

/// One row of shaped text, relative to its paragraph's top-left.
struct Row {
    top: f32,
    height: f32,
    baseline: f32,
    width: f32,
    glyphs: Vec<LayoutGlyph>,
}

struct Shaped {
    rows: Vec<Row>,
    height: f32,
}

/// Where a block goes: its column and its top, in card coordinates.
#[derive(Clone, Copy, Debug)]
struct Slot {
    x: i32,
    top: i32,
    width: i32,
}

/// What a laid-out block gives its card.
struct Laid {
    height: i32,
    items: Vec<Item>,
    /// Relative to the block's top.
    breaks: Vec<i32>,
}

// Span styles travel through cosmic-text in each glyph's metadata.
const META_STRIKE: usize = 1;
const META_UNDERLINE: usize = 2;
const META_BG: usize = 4;

fn metadata(span: &Span) -> usize {
    let mut meta = 0;
    if span.strike {
        meta |= META_STRIKE;
    }
    if span.underline {
        meta |= META_UNDERLINE;
    }
    if let Some(Rgb(r, g, b)) = span.bg {
        meta |= META_BG | (usize::from(r) << 8) | (usize::from(g) << 16) | (usize::from(b) << 24);
    }
    meta
}

fn meta_bg(meta: usize) -> Option<Rgb> {
    (meta & META_BG != 0).then_some(Rgb((meta >> 8) as u8, (meta >> 16) as u8, (meta >> 24) as u8))
}

fn to_color(Rgb(r, g, b): Rgb) -> Color {
    Color::rgb(r, g, b)
}

fn from_color(color: Color) -> Rgb {
    Rgb(color.r(), color.g(), color.b())
}

/// Characters that end a line for some software but must not inside one
/// shaped line: drawn as spaces.
fn one_line(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Boundaries between groups of atomic intervals: the y positions at
/// which nothing is cut. Intervals are `(top, bottom)`.
fn breaks_between(mut atoms: Vec<(i32, i32)>) -> Vec<i32> {
    atoms.retain(|(top, bottom)| bottom > top);
    atoms.sort_unstable();
    let mut breaks = Vec::new();
    let mut reach: Option<i32> = None;
    for (top, bottom) in atoms {
        match reach {
            Some(end) if top < end => reach = Some(end.max(bottom)),
            Some(end) => {
                breaks.push(end);
                if top > end {
                    breaks.push(top);
                }
                reach = Some(bottom);
            }
            None => reach = Some(bottom),
        }
    }
    breaks
}

/// Shapes and places text; owns the engine for the whole export.
pub struct Typesetter {
    pub engine: fonts::Borrowed,
    pub geo: Geometry,
    pub pal: Palette,
    /// The continuation mark of wrapped code rows, shaped once.
    mark: Option<Vec<LayoutGlyph>>,
    /// Characters no font could draw.
    missing: MissingGlyphs,
}

impl Typesetter {
    pub fn new(geo: Geometry, pal: Palette) -> Typesetter {
        Typesetter {
            engine: fonts::borrow(),
            geo,
            pal,
            mark: None,
            missing: MissingGlyphs::default(),
        }
    }

    /// Every character that no font could draw so far (each drawn as the
    /// font's box), once each.
    pub fn missing_characters(&self) -> String {
        self.missing.characters()
    }

    fn shape(&mut self, spans: &[Span], size: Size, width: Option<f32>) -> Shaped {
        let mut text = String::new();
        let defaults = Attrs::new().family(Family::Name(SANS)).color(to_color(self.pal.text));
        let mut ranges = Vec::with_capacity(spans.len());
        for span in spans {
            let start = text.len();
            one_line(&span.text, &mut text);
            ranges.push(start..text.len());
        }
        let mut attrs = AttrsList::new(&defaults);
        for (span, range) in spans.iter().zip(ranges) {
            let mut a = Attrs::new()
                .family(Family::Name(if span.mono { MONO } else { SANS }))
                .color(to_color(span.color))
                .metadata(metadata(span));
            if span.bold {
                a = a.weight(Weight::BOLD);
            }
            if span.italic {
                a = a.style(Style::Italic);
            }
            attrs.add_span(range, &a);
        }
        let mut line = BufferLine::new(text, LineEnding::None, attrs, Shaping::Advanced);
        line.layout(
            &mut self.engine.fonts,
            size.font,
            width.map(|w| w.max(size.font)),
            Wrap::WordOrGlyph,
            Ellipsize::None,
            None,
            4,
            Hinting::Disabled,
        );
        let mut rows: Vec<Row> = line
            .layout_runs(None, size.line)
            .map(|run| Row {
                top: run.line_top,
                height: run.line_height,
                baseline: run.line_y,
                width: run.line_w,
                glyphs: run.glyphs.to_vec(),
            })
            .collect();
        for row in &rows {
            self.missing.note(line.text(), &row.glyphs);
        }
        if rows.is_empty() {
            rows.push(Row {
                top: 0.0,
                height: size.line,
                baseline: size.line * 0.75,
                width: 0.0,
                glyphs: Vec::new(),
            });
        }
        let height = rows.last().map_or(size.line, |r| r.top + r.height);
        Shaped { rows, height }
    }

    /// Places shaped text with its top-left at `(x, y)`; each row is
    /// aligned within `box_width`. Returns each row's `(top, bottom)`.
    fn place(
        &self,
        shaped: &Shaped,
        x: f32,
        y: f32,
        box_width: f32,
        align: Alignment,
        items: &mut Vec<Item>,
    ) -> Vec<(i32, i32)> {
        let geo = &self.geo;
        let mut rows = Vec::with_capacity(shaped.rows.len());
        for row in &shaped.rows {
            let dx = match align {
                Alignment::Center => ((box_width - row.width) / 2.0).max(0.0),
                Alignment::Right => (box_width - row.width).max(0.0),
                Alignment::Left | Alignment::None => 0.0,
            };
            let ox = x + dx;
            let top = (y + row.top).round() as i32;
            let bottom = (y + row.top + row.height).round() as i32;
            let baseline = y + row.baseline;
            rows.push((top, bottom));
            // Backgrounds (inline code, badges) first, under the glyphs.
            let inset = geo.px(2.0).round() as i32;
            let pad = geo.px(1.0);
            for (meta, from, to) in groups(&row.glyphs, |m| meta_bg(m).is_some()) {
                if let Some(color) = meta_bg(meta) {
                    let x0 = ox + from - pad;
                    let x1 = ox + to + pad;
                    items.push(Item::Round {
                        rect: Rect::new(
                            x0.round() as i32,
                            top + inset,
                            (x1 - x0).round() as i32,
                            bottom - top - 2 * inset,
                        ),
                        radius: geo.ipx(4.0),
                        color,
                        border: None,
                    });
                }
            }
            let glyphs: Vec<Glyph> = row
                .glyphs
                .iter()
                .map(|g| {
                    let p = g.physical((ox, baseline), 1.0);
                    Glyph {
                        key: p.cache_key,
                        x: p.x,
                        y: p.y,
                        color: g.color_opt.map_or(self.pal.text, from_color),
                    }
                })
                .collect();
            if !glyphs.is_empty() {
                items.push(Item::Glyphs { top, bottom, glyphs });
            }
            // Strike-through and link underlines over the glyphs.
            let thickness = geo.line;
            for (flag, offset) in [(META_STRIKE, -0.28f32), (META_UNDERLINE, 0.14f32)] {
                for (meta, from, to) in groups(&row.glyphs, |m| m & flag != 0) {
                    if meta & flag == 0 {
                        continue;
                    }
                    let color = row
                        .glyphs
                        .iter()
                        .find(|g| g.metadata == meta)
                        .and_then(|g| g.color_opt)
                        .map_or(self.pal.text, from_color);
                    let size = row.glyphs.first().map_or(geo.px(14.0), |g| g.font_size);
                    let ly = (baseline + offset * size).round() as i32;
                    items.push(Item::Fill {
                        rect: Rect::new((ox + from).round() as i32, ly, (to - from).round() as i32, thickness),
                        color,
                    });
                }
            }
        }
        rows
    }

    /// Lays out one text block's lines in `slot`.
    fn paragraph(
        &mut self,
        lines: &[Vec<Span>],
        size: Size,
        slot: Slot,
        marker: Option<&str>,
        items: &mut Vec<Item>,
    ) -> (f32, Vec<(i32, i32)>) {
        let Slot { x, top: y, width } = slot;
        let mut cy = y as f32;
        let mut atoms = Vec::new();
        let mut first_baseline = None;
        let empty: Vec<Span> = Vec::new();
        let lines: Vec<&Vec<Span>> = if lines.is_empty() {
            vec![&empty]
        } else {
            lines.iter().collect()
        };
        for line in lines {
            let shaped = self.shape(line, size, Some(width as f32));
            if first_baseline.is_none() {
                first_baseline = shaped.rows.first().map(|r| cy + r.baseline);
            }
            atoms.extend(self.place(&shaped, x as f32, cy, width as f32, Alignment::Left, items));
            cy += shaped.height;
        }
        if let (Some(marker), Some(baseline)) = (marker, first_baseline) {
            let span = Span::plain(marker, self.pal.muted);
            let shaped = self.shape(std::slice::from_ref(&span), size, None);
            if let Some(row) = shaped.rows.first() {
                let mx = x as f32 - self.geo.px(7.0) - row.width;
                let my = baseline - row.baseline;
                self.place(&shaped, mx, my, row.width, Alignment::Left, items);
            }
        }
        (cy - y as f32, atoms)
    }

    /// The card-relative column of a block: `(x, width)`.
    fn frame(&self, kind: UnitKind, block: &Block) -> (i32, i32) {
        let geo = &self.geo;
        let (base_x, base_w) = match kind {
            UnitKind::Message { .. } => {
                let x = geo.card_pad + geo.avatar + geo.avatar_gap;
                (x, geo.content_width() - x - geo.card_pad)
            }
            UnitKind::Session | UnitKind::Notice => (geo.card_pad, geo.content_width() - 2 * geo.card_pad),
        };
        let quotes = block.quotes.min(MAX_VISIBLE_DEPTH) as i32;
        let lists = block
            .lists
            .min(MAX_VISIBLE_DEPTH.saturating_sub(block.quotes.min(MAX_VISIBLE_DEPTH))) as i32;
        let indent = (quotes * geo.quote_step + lists * geo.list_step).min(base_w * 45 / 100);
        (base_x + indent, base_w - indent)
    }

    fn gap_before(&self, blocks: &[Block], i: usize) -> i32 {
        let geo = &self.geo;
        let (Some(block), Some(prev)) = (blocks.get(i), i.checked_sub(1).and_then(|p| blocks.get(p))) else {
            return 0;
        };
        match &block.body {
            Body::Code { piece, .. } if !piece.first => 0,
            Body::Text {
                kind: TextKind::Heading(_),
                ..
            } => geo.ipx(16.0),
            _ if matches!(prev.body, Body::Header { .. }) => geo.ipx(8.0),
            _ if block.tight => geo.ipx(4.0),
            _ => geo.ipx(10.0),
        }
    }

    /// Lays out block `i` of a card with its top at `top`.
    fn block_at(&mut self, kind: UnitKind, blocks: &[Block], i: usize, top: i32) -> Laid {
        let Some(block) = blocks.get(i) else {
            return Laid {
                height: 0,
                items: Vec::new(),
                breaks: Vec::new(),
            };
        };
        let (x, width) = self.frame(kind, block);
        let slot = Slot { x, top, width };
        let mut items = Vec::new();
        let mut atoms: Vec<(i32, i32)> = Vec::new();
        let height = match &block.body {
            Body::Text { kind: text_kind, lines } => {
                let size = self.geo.size(*text_kind);
                let marker = block.marker.as_deref();
                // A long marker (a depth note) goes inline, not in the margin.
                let inline_marker = marker.filter(|m| m.chars().count() > 4);
                let (height, rows) = if let Some(m) = inline_marker {
                    let mut lines = lines.clone();
                    if lines.is_empty() {
                        lines.push(Vec::new());
                    }
                    lines[0].insert(0, Span::plain(format!("{m}  "), self.pal.muted));
                    self.paragraph(&lines, size, slot, None, &mut items)
                } else {
                    self.paragraph(lines, size, slot, marker, &mut items)
                };
                atoms.extend(rows);
                height.ceil() as i32
            }
            Body::Header { initial, color, lines } => self.header(*initial, *color, lines, slot, &mut items),
            Body::Code {
                label,
                syntax,
                lines,
                piece,
                omitted,
            } => {
                let code = Code {
                    label: label.as_deref(),
                    syntax: *syntax,
                    lines,
                    piece: *piece,
                    omitted: *omitted,
                };
                self.code(&code, slot, &mut items, &mut atoms)
            }
            Body::Rule => {
                let h = self.geo.ipx(14.0);
                items.push(Item::Fill {
                    rect: Rect::new(x, top + h / 2, width, self.geo.line),
                    color: self.pal.rule,
                });
                h
            }
            Body::Table { rows, aligns } => self.table(kind, rows, aligns, slot, &mut items, &mut atoms),
        };
        // Quote bars, joined to the bars of the block above.
        let levels = block.quotes.min(MAX_VISIBLE_DEPTH);
        if levels > 0 {
            let gap = self.gap_before(blocks, i);
            let prev_quotes = i.checked_sub(1).and_then(|p| blocks.get(p)).map_or(0, |b| b.quotes);
            let (base_x, _) = self.frame(
                kind,
                &Block {
                    quotes: 0,
                    lists: 0,
                    ..block.clone_shallow()
                },
            );
            let mut bars = Vec::new();
            for level in 0..levels {
                let reach = if prev_quotes > level { gap } else { 0 };
                bars.push(Item::Fill {
                    rect: Rect::new(
                        base_x + level as i32 * self.geo.quote_step,
                        top - reach,
                        self.geo.ipx(3.0).max(1),
                        height + reach,
                    ),
                    color: self.pal.quote_bar,
                });
            }
            bars.append(&mut items);
            items = bars;
        }
        let breaks = breaks_between(atoms).into_iter().map(|b| b - top).collect();
        Laid { height, items, breaks }
    }

    /// The first block of a message card: avatar circle, role and facts.
    fn header(&mut self, initial: char, color: Rgb, lines: &[Vec<Span>], slot: Slot, items: &mut Vec<Item>) -> i32 {
        let Slot { x, top, .. } = slot;
        let d = self.geo.avatar;
        let ax = x - d - self.geo.avatar_gap;
        items.push(Item::Round {
            rect: Rect::new(ax, top, d, d),
            radius: d / 2,
            color,
            border: None,
        });
        let letter = Span {
            bold: true,
            ..Span::plain(initial.to_string(), self.pal.card)
        };
        let size = self.geo.header_size();
        let shaped = self.shape(std::slice::from_ref(&letter), size, None);
        if let Some(row) = shaped.rows.first() {
            let lx = ax as f32 + (d as f32 - row.width) / 2.0;
            let ly = top as f32 + d as f32 / 2.0 - row.height / 2.0;
            self.place(&shaped, lx, ly, row.width, Alignment::Left, items);
        }
        let mut text = Vec::new();
        let (h, _) = self.paragraph(lines, size, Slot { top: 0, ..slot }, None, &mut text);
        let h = h.ceil() as i32;
        let offset = ((d - h) / 2).max(0);
        for mut item in text {
            shift(&mut item, top + offset);
            items.push(item);
        }
        h.max(d)
    }

    fn mark(&mut self) -> Vec<LayoutGlyph> {
        if let Some(mark) = &self.mark {
            return mark.clone();
        }
        let span = Span {
            mono: true,
            ..Span::plain("↪", self.pal.muted)
        };
        let size = self.geo.code_size();
        let shaped = self.shape(std::slice::from_ref(&span), size, None);
        let mark = shaped.rows.into_iter().next().map_or(Vec::new(), |row| row.glyphs);
        self.mark = Some(mark.clone());
        mark
    }

    /// Lays out a whole card. Items are kept while `budget` (in glyphs)
    /// lasts; blocks past it keep only their place.
    pub fn unit(&mut self, kind: UnitKind, blocks: &[Block], budget: &mut usize) -> Unit {
        let geo = self.geo.clone();
        let mut placed = Vec::with_capacity(blocks.len());
        let mut breaks = Vec::new();
        let mut y = geo.card_pad;
        for i in 0..blocks.len() {
            y += self.gap_before(blocks, i);
            let laid = self.block_at(kind, blocks, i, y);
            if i > 0 {
                breaks.push(y);
            }
            breaks.extend(laid.breaks.iter().map(|b| y + b));
            let glyphs: usize = laid.items.iter().map(Item::glyph_count).sum();
            let items = if glyphs <= *budget {
                *budget -= glyphs;
                Some(laid.items)
            } else {
                None
            };
            placed.push(PlacedBlock {
                top: y,
                height: laid.height,
                items,
            });
            y += laid.height;
        }
        let height = y + geo.card_pad;
        breaks.retain(|b| *b > 0 && *b < height);
        breaks.sort_unstable();
        breaks.dedup();
        Unit {
            kind,
            height,
            chrome: self.chrome(kind, height),
            blocks: placed,
            breaks,
        }
    }

    /// Lays out block `i` again, exactly where [`Typesetter::unit`] put it.
    pub fn relayout(&mut self, kind: UnitKind, blocks: &[Block], i: usize, top: i32) -> Vec<Item> {
        self.block_at(kind, blocks, i, top).items
    }

    fn chrome(&self, kind: UnitKind, height: i32) -> Vec<Item> {
        let (fill, border) = match kind {
            UnitKind::Message { role: Role::User, .. } => (self.pal.user_card, self.pal.user_card_border),
            _ => (self.pal.card, self.pal.card_border),
        };
        let rect = Rect::new(0, 0, self.geo.content_width(), height);
        let r = self.geo.card_radius;
        vec![Item::Round {
            rect,
            radius: r,
            color: fill,
            border: Some((border, self.geo.line)),
        }]
    }

    /// One line of text for the page's own furniture (title, footer):
    /// items placed with its row's top at `y`, aligned in `x..x + width`.
    pub fn line(&mut self, spans: &[Span], kind: TextKind, x: i32, y: i32, width: i32, align: Alignment) -> Vec<Item> {
        let size = self.geo.size(kind);
        let shaped = self.shape(spans, size, Some(width as f32));
        let mut items = Vec::new();
        // Only the first row: furniture is one line by design; a name too
        // long for it is cut, with an ellipsis added by the caller.
        let shaped = Shaped {
            rows: shaped.rows.into_iter().take(1).collect(),
            height: size.line,
        };
        self.place(&shaped, x as f32, y as f32, width as f32, align, &mut items);
        items
    }

    /// Width of a single unwrapped line, for fitting furniture text.
    pub fn measure(&mut self, spans: &[Span], kind: TextKind) -> f32 {
        let size = self.geo.size(kind);
        self.shape(spans, size, None)
            .rows
            .iter()
            .map(|r| r.width)
            .fold(0.0, f32::max)
    }
}

impl Block {
    /// A copy with an empty body, for frame arithmetic.
    fn clone_shallow(&self) -> Block {
        Block {
            body: Body::Rule,
            lists: self.lists,
            quotes: self.quotes,
            marker: None,
            tight: self.tight,
        }
    }
}

fn shift(item: &mut Item, dy: i32) {
    match item {
        Item::Fill { rect, .. } | Item::Round { rect, .. } => rect.y += dy,
        Item::Glyphs { top, bottom, glyphs } => {
            *top += dy;
            *bottom += dy;
            for g in glyphs {
                g.y += dy;
            }
        }
    }
}

/// Runs of consecutive glyphs whose metadata passes `keep`, as
/// `(metadata, x_from, x_to)`; a change of metadata starts a new run.
fn groups(glyphs: &[LayoutGlyph], keep: impl Fn(usize) -> bool) -> Vec<(usize, f32, f32)> {
    let mut out: Vec<(usize, f32, f32)> = Vec::new();
    let mut open = false;
    for g in glyphs {
        if !keep(g.metadata) {
            open = false;
            continue;
        }
        let (from, to) = (g.x.min(g.x + g.w), g.x.max(g.x + g.w));
        match out.last_mut() {
            Some((meta, a, b)) if open && *meta == g.metadata => {
                *a = a.min(from);
                *b = b.max(to);
            }
            _ => out.push((g.metadata, from, to)),
        }
        open = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_fall_between_atoms_only() {
        assert_eq!(breaks_between(vec![(0, 10), (10, 20), (20, 30)]), vec![10, 20]);
        // Two columns whose rows do not line up: only shared edges count.
        assert!(breaks_between(vec![(0, 10), (10, 20), (0, 15), (15, 20)]).is_empty());
        assert_eq!(breaks_between(vec![(0, 10), (12, 20)]), vec![10, 12]);
        assert!(breaks_between(Vec::new()).is_empty());
    }
}
