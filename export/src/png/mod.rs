//! PNG export: the chat rendered as pages that look like a chat window —
//! a title bar, the session card with its context files, one card per
//! message with its Markdown rendered, and a footer with the page number.
//!
//! The pipeline runs in three passes over a session of any length:
//!
//! 1. **Layout** ([`layout`]): every card is parsed into blocks
//!    ([`blocks`]) and shaped once, giving its height and where it may be
//!    cut. Shaped items are kept for painting while a glyph budget lasts.
//! 2. **Pages** ([`pages`]): cards are cut into pages no taller than the
//!    limit, so the page count is known before the first byte is sent.
//! 3. **Paint** ([`paint`]): each page is painted band by band straight
//!    into its PNG encoder and streamed; cards whose items were not kept
//!    are laid out again from a second read of the same snapshot.
//!
//! Memory is therefore bounded by the budget plus one band, whatever the
//! chat's length or the page's size, and nothing depends on the clock:
//! the same session renders to the same bytes.

pub mod blocks;
pub mod fonts;
pub mod highlight;
pub mod layout;
pub mod pages;
pub mod paint;
pub mod theme;

use std::io;

use chronicle_proto::v1::{ContextFile, Message, Role};
use pulldown_cmark::Alignment;

pub use self::theme::Theme;
use self::{
    blocks::{Block, Span, TextKind},
    layout::{Geometry, Item, PlacedBlock, Rect, Typesetter, Unit, UnitKind},
    pages::{Fragment, Page},
    paint::{Band, Clip},
    theme::Palette,
};
use super::{ExportError, SessionHeader};

/// Logical width when the request says 0.
pub const DEFAULT_WIDTH: u32 = 960;
pub const MIN_WIDTH: u32 = 480;
pub const MAX_WIDTH: u32 = 2400;
pub const MIN_SCALE: f32 = 0.5;
pub const MAX_SCALE: f32 = 4.0;
/// Physical page height when the request says 0.
pub const DEFAULT_PAGE_HEIGHT: u32 = 16_384;
pub const MIN_PAGE_HEIGHT: u32 = 1_024;
/// PNG viewers and browsers commonly refuse images taller than this.
pub const MAX_PAGE_HEIGHT: u32 = 32_767;
/// Glyphs whose layout is kept between the layout and paint passes
/// (about 40 bytes each); beyond, blocks are laid out again at paint time.
const KEPT_GLYPHS: usize = 1_000_000;

/// Checked options of one image export.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageOptions {
    pub theme: Theme,
    /// Logical pixels.
    pub width_px: u32,
    pub scale: f32,
    /// Physical pixels.
    pub max_page_height_px: u32,
    /// First and last message ids to show, inclusive.
    pub first_message_id: u64,
    pub last_message_id: u64,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            theme: Theme::Light,
            width_px: DEFAULT_WIDTH,
            scale: 1.0,
            max_page_height_px: DEFAULT_PAGE_HEIGHT,
            first_message_id: 0,
            last_message_id: u64::MAX,
        }
    }
}

impl ImageOptions {
    /// Checks a request's raw fields, applying the documented defaults
    /// for zeros. The error says which field is wrong and what is allowed.
    pub fn new(
        theme: i32,
        width_px: u32,
        scale: f32,
        max_page_height_px: u32,
        first_message_id: u64,
        last_message_id: u64,
    ) -> Result<ImageOptions, String> {
        let theme = match chronicle_proto::v1::Theme::try_from(theme) {
            Ok(chronicle_proto::v1::Theme::Light) => Theme::Light,
            Ok(chronicle_proto::v1::Theme::Dark) => Theme::Dark,
            Err(_) => return Err(format!("theme {theme} is unknown — use THEME_LIGHT or THEME_DARK")),
        };
        let width_px = match width_px {
            0 => DEFAULT_WIDTH,
            w if (MIN_WIDTH..=MAX_WIDTH).contains(&w) => w,
            w => {
                return Err(format!(
                    "width_px {w} is out of range — use {MIN_WIDTH} to {MAX_WIDTH} logical pixels (0 = {DEFAULT_WIDTH})"
                ));
            }
        };
        let scale = if scale == 0.0 {
            1.0
        } else if (MIN_SCALE..=MAX_SCALE).contains(&scale) {
            scale
        } else {
            return Err(format!(
                "scale {scale} is out of range — use {MIN_SCALE} to {MAX_SCALE} (0 = 1, 2 for HiDPI)"
            ));
        };
        let max_page_height_px = match max_page_height_px {
            0 => DEFAULT_PAGE_HEIGHT,
            h if (MIN_PAGE_HEIGHT..=MAX_PAGE_HEIGHT).contains(&h) => h,
            h => {
                return Err(format!(
                    "max_page_height_px {h} is out of range — use {MIN_PAGE_HEIGHT} to {MAX_PAGE_HEIGHT} physical pixels (0 = {DEFAULT_PAGE_HEIGHT})"
                ));
            }
        };
        let last = if last_message_id == 0 {
            u64::MAX
        } else {
            last_message_id
        };
        if first_message_id > last {
            return Err(format!(
                "first_message_id {first_message_id} is after last_message_id {last_message_id} — give an ascending range (0 = open end)"
            ));
        }
        Ok(ImageOptions {
            theme,
            width_px,
            scale,
            max_page_height_px,
            first_message_id,
            last_message_id: last,
        })
    }

    /// Whether the export shows only part of the session.
    fn ranged(&self) -> bool {
        self.first_message_id > 0 || self.last_message_id < u64::MAX
    }

    /// Width of every page in physical pixels.
    pub fn physical_width(&self) -> u32 {
        Geometry::new(self.width_px, self.scale).width as u32
    }
}

/// Where the pages go: bytes through `io::Write`, with a call before and
/// after each page.
pub trait PageSink: io::Write {
    /// Called once, before the first page, with every character no font
    /// could draw (empty when all could).
    fn missing_characters(&mut self, _characters: &str) -> io::Result<()> {
        Ok(())
    }
    fn begin_page(&mut self, page: u32, page_count: u32) -> io::Result<()>;
    fn end_page(&mut self) -> io::Result<()>;
}

/// Renders the session and writes its pages to `sink`; returns how many
/// there were. `messages` is called twice (layout, then paint) and must
/// yield the same messages both times: a store snapshot does.
pub fn write<S, F, I, E>(
    sink: &mut S,
    options: &ImageOptions,
    header: &SessionHeader,
    files: &[ContextFile],
    messages: F,
) -> Result<u32, ExportError>
where
    S: PageSink,
    F: FnMut() -> Result<I, E>,
    I: Iterator<Item = Result<Message, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    write_kept(sink, options, header, files, messages, KEPT_GLYPHS)
}

/// [`write`], keeping at most `kept` glyphs' layout between the passes.
fn write_kept<S, F, I, E>(
    sink: &mut S,
    options: &ImageOptions,
    header: &SessionHeader,
    files: &[ContextFile],
    mut messages: F,
    kept: usize,
) -> Result<u32, ExportError>
where
    S: PageSink,
    F: FnMut() -> Result<I, E>,
    I: Iterator<Item = Result<Message, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let source = |err: E| ExportError::Source(Box::new(err));
    let mut ts = Typesetter::new(
        Geometry::new(options.width_px, options.scale),
        Palette::new(options.theme),
    );
    let title = header.title().to_owned();

    // 1. Layout: measure every card once.
    let mut budget = kept;
    let mut units = Vec::new();
    let session = blocks::session(header, files, &ts.pal);
    units.push(ts.unit(UnitKind::Session, &session, &mut budget));
    drop(session);
    for message in messages().map_err(source)? {
        let message = message.map_err(source)?;
        let role = Role::try_from(message.role).unwrap_or(Role::Unspecified);
        let blocks = blocks::message(&message, header, &ts.pal);
        units.push(ts.unit(UnitKind::Message { id: message.id, role }, &blocks, &mut budget));
    }
    if units.len() == 1 {
        let blocks = notice(options, &ts.pal);
        units.push(ts.unit(UnitKind::Notice, &blocks, &mut budget));
    }

    // 2. Pages.
    let pages = pages::plan(&units, &ts.geo, options.max_page_height_px as i32);
    for unit in &mut units {
        unit.breaks = Vec::new();
    }
    let page_count = u32::try_from(pages.len()).unwrap_or(u32::MAX);
    sink.missing_characters(&ts.missing_characters())?;

    // 3. Paint, page by page, re-reading cards whose items were dropped.
    let mut reader = Reader {
        messages: messages().map_err(source)?,
        current: None,
    };
    let reach = reach(&ts.geo);
    for (index, page) in pages.iter().enumerate() {
        let number = index as u32 + 1;
        for fragment in &page.fragments {
            let unit = &mut units[fragment.unit];
            let missing = |b: &PlacedBlock| b.items.is_none() && touches(b, fragment, reach);
            if unit.blocks.iter().any(missing) {
                let blocks = reader
                    .blocks(unit.kind, header, files, options, &ts.pal)
                    .map_err(source)?;
                for (i, placed) in unit.blocks.iter_mut().enumerate() {
                    if missing(placed) {
                        placed.items = Some(ts.relayout(unit.kind, blocks, i, placed.top));
                    }
                }
            }
        }
        sink.begin_page(number, page_count)?;
        paint_page(sink, &mut ts, page, &units, &title, number, page_count)?;
        sink.end_page()?;
        // What this page finished is not needed again.
        for fragment in &page.fragments {
            let unit = &mut units[fragment.unit];
            for placed in &mut unit.blocks {
                if placed.top + placed.height <= fragment.to {
                    placed.items = None;
                }
            }
            if fragment.to >= unit.height {
                unit.blocks = Vec::new();
                unit.chrome = Vec::new();
            }
        }
    }
    Ok(page_count)
}

/// How far above its top a block may paint: quote bars reach up through
/// the gap to the block before (gaps are at most 16 logical pixels).
fn reach(geo: &Geometry) -> i32 {
    geo.ipx(20.0)
}

/// Whether a block paints anything inside a fragment of its card.
fn touches(block: &PlacedBlock, fragment: &Fragment, reach: i32) -> bool {
    block.top - reach < fragment.to && block.top + block.height > fragment.from
}

fn notice(options: &ImageOptions, pal: &Palette) -> Vec<Block> {
    let text = if options.ranged() {
        "No messages in this range."
    } else {
        "No messages."
    };
    vec![Block {
        body: blocks::Body::Text {
            kind: TextKind::Body,
            lines: vec![vec![Span {
                italic: true,
                ..Span::plain(text, pal.muted)
            }]],
        },
        lists: 0,
        quotes: 0,
        marker: None,
        tight: false,
    }]
}

/// The second read of the messages, for cards laid out again.
struct Reader<I> {
    messages: I,
    /// The message card last parsed, kept while its pages are painted.
    current: Option<(UnitKind, Vec<Block>)>,
}

impl<I, E> Reader<I>
where
    I: Iterator<Item = Result<Message, E>>,
{
    fn blocks(
        &mut self,
        kind: UnitKind,
        header: &SessionHeader,
        files: &[ContextFile],
        options: &ImageOptions,
        pal: &Palette,
    ) -> Result<&[Block], E> {
        if self.current.as_ref().is_none_or(|(k, _)| *k != kind) {
            let blocks = match kind {
                UnitKind::Session => blocks::session(header, files, pal),
                UnitKind::Notice => notice(options, pal),
                UnitKind::Message { id, .. } => {
                    let mut found = None;
                    for message in self.messages.by_ref() {
                        let message = message?;
                        if message.id == id {
                            found = Some(message);
                            break;
                        }
                    }
                    // The snapshot holds still, so the message is there;
                    // if it were not, an empty card is better than a panic.
                    found.map(|m| blocks::message(&m, header, pal)).unwrap_or_default()
                }
            };
            self.current = Some((kind, blocks));
        }
        Ok(self.current.as_ref().map_or(&[], |(_, blocks)| blocks.as_slice()))
    }
}

/// Paints and encodes one page into `sink`.
fn paint_page<S: io::Write>(
    sink: &mut S,
    ts: &mut Typesetter,
    page: &Page,
    units: &[Unit],
    title: &str,
    number: u32,
    page_count: u32,
) -> Result<(), ExportError> {
    let furniture = furniture(ts, page, title, number, page_count);
    let geo = ts.geo.clone();
    let width = geo.width as u32;
    let height = page.height.max(1) as u32;
    let reach = reach(&geo);
    let everything = Clip { y0: 0, y1: page.height };
    let result = paint::page(&mut *sink, width, height, ts.pal.page, |band: &mut Band| {
        for item in &furniture {
            band.item(&mut ts.engine, item, 0, 0, everything);
        }
        for fragment in &page.fragments {
            let clip = Clip {
                y0: fragment.y,
                y1: fragment.y + (fragment.to - fragment.from),
            };
            if clip.y1 <= band.top || clip.y0 >= band.top + band.rows {
                continue;
            }
            let Some(unit) = units.get(fragment.unit) else {
                continue;
            };
            let dx = geo.content_x();
            let dy = fragment.y - fragment.from;
            for item in &unit.chrome {
                band.item(&mut ts.engine, item, dx, dy, clip);
            }
            for placed in unit.blocks.iter().filter(|b| touches(b, fragment, reach)) {
                for item in placed.items.iter().flatten() {
                    band.item(&mut ts.engine, item, dx, dy, clip);
                }
            }
        }
    });
    result.map_err(|err| match err {
        png::EncodingError::IoError(err) => ExportError::Write(err),
        other => ExportError::Encode(other.to_string()),
    })
}

/// The window around the cards: title bar with its three dots and the
/// session's name, the footer with the page number.
fn furniture(ts: &mut Typesetter, page: &Page, title: &str, number: u32, page_count: u32) -> Vec<Item> {
    let geo = ts.geo.clone();
    let pal = ts.pal.clone();
    let mut items = Vec::new();
    let window = Rect::new(
        geo.margin,
        geo.margin,
        geo.width - 2 * geo.margin,
        page.height - 2 * geo.margin,
    );
    let (border, chrome, body) = (pal.chrome_border, pal.chrome, window_colour(&pal));
    let edge = Some((border, geo.line));
    let (r, line) = (geo.radius, geo.line);
    let body_top = geo.margin + geo.title_bar;
    let body_bottom = page.height - geo.margin - geo.footer;
    // The window, then its title bar and footer: each a rounded box whose
    // inner edge is squared off again by the body, so every pixel is
    // painted about once.
    items.push(Item::Round {
        rect: window,
        radius: r,
        color: body,
        border: edge,
    });
    items.push(Item::Round {
        rect: Rect::new(window.x, window.y, window.w, geo.title_bar + r),
        radius: r,
        color: chrome,
        border: edge,
    });
    items.push(Item::Round {
        rect: Rect::new(window.x, body_bottom - r, window.w, geo.footer + r),
        radius: r,
        color: chrome,
        border: edge,
    });
    for y in [body_top, body_bottom - r] {
        items.push(Item::Fill {
            rect: Rect::new(window.x + line, y, window.w - 2 * line, r),
            color: body,
        });
    }
    for y in [body_top, body_bottom] {
        items.push(Item::Fill {
            rect: Rect::new(window.x + line, y, window.w - 2 * line, line),
            color: border,
        });
    }
    // Three dots, as on a desktop window.
    let d = geo.ipx(12.0);
    let cy = geo.margin + (geo.title_bar - d) / 2;
    for (i, colour) in pal.dots.iter().enumerate() {
        items.push(Item::Round {
            rect: Rect::new(geo.margin + geo.ipx(16.0) + i as i32 * geo.ipx(20.0), cy, d, d),
            radius: d / 2,
            color: *colour,
            border: None,
        });
    }
    let meta = geo.size(TextKind::Meta);
    let text_top = |band_top: i32, band_h: i32| band_top + ((band_h as f32 - meta.line) / 2.0).round() as i32;
    let room = geo.width - 2 * (geo.margin + geo.ipx(90.0));
    let mut name = title.to_owned();
    let label = |name: &str| -> Vec<Span> {
        let mut span = Span::plain(name, pal.text);
        span.bold = true;
        vec![span]
    };
    if ts.measure(&label(&name), TextKind::Meta) > room as f32 {
        while !name.is_empty() && ts.measure(&label(&format!("{name}…")), TextKind::Meta) > room as f32 {
            name.pop();
        }
        name.push('…');
    }
    let x = geo.margin + geo.ipx(90.0);
    items.extend(ts.line(
        &label(&name),
        TextKind::Meta,
        x,
        text_top(geo.margin, geo.title_bar),
        room,
        Alignment::Center,
    ));
    let foot_top = text_top(body_bottom, geo.footer);
    let side = geo.margin + geo.ipx(16.0);
    let foot_w = geo.width - 2 * side;
    items.extend(ts.line(
        &[Span::plain("Chronicle", pal.muted)],
        TextKind::Meta,
        side,
        foot_top,
        foot_w,
        Alignment::Left,
    ));
    items.extend(ts.line(
        &[Span::plain(format!("page {number} of {page_count}"), pal.muted)],
        TextKind::Meta,
        side,
        foot_top,
        foot_w,
        Alignment::Right,
    ));
    items
}

/// The window's body, between the page and the cards in lightness.
fn window_colour(pal: &Palette) -> theme::Rgb {
    pal.page.mix(pal.chrome, 0.55)
}

#[cfg(test)]
mod tests;
