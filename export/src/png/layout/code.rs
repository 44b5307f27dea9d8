//! Code blocks: the rounded box, its language label, highlighted and
//! wrapped lines with a mark where a long line continues, and the rows a
//! page may be cut between.

use super::*;

/// The parts of a code block [`Typesetter::code`] needs.
pub(super) struct Code<'a> {
    pub(super) label: Option<&'a str>,
    pub(super) syntax: Option<&'static SyntaxReference>,
    pub(super) lines: &'a [CodeLine],
    pub(super) piece: Piece,
    pub(super) omitted: usize,
}

impl Typesetter {
    pub(super) fn code(
        &mut self,
        code: &Code<'_>,
        slot: Slot,
        items: &mut Vec<Item>,
        atoms: &mut Vec<(i32, i32)>,
    ) -> i32 {
        let Slot { x, top, width } = slot;
        let geo = self.geo.clone();
        let pad_l = geo.ipx(18.0);
        let pad_r = geo.ipx(12.0);
        let pad_t = if code.piece.first { geo.ipx(10.0) } else { 0 };
        let pad_b = if code.piece.last { geo.ipx(10.0) } else { 0 };
        let size = geo.code_size();
        let text_x = x + pad_l;
        let text_w = (width - pad_l - pad_r).max(geo.ipx(40.0));
        let mut body = Vec::new();
        let mut cy = (top + pad_t) as f32;
        if let Some(label) = code.label {
            let meta = geo.size(TextKind::Meta);
            let span = Span {
                mono: true,
                ..Span::plain(label, self.pal.muted)
            };
            let shaped = self.shape(std::slice::from_ref(&span), meta, Some(text_w as f32));
            atoms.extend(self.place(&shaped, text_x as f32, cy, text_w as f32, Alignment::Left, &mut body));
            cy += shaped.height + geo.px(2.0);
        }
        let mut highlighter = Highlighter::new(code.syntax, self.pal.syntax_theme);
        let mark = self.mark();
        let mark_x = x as f32 + geo.px(5.0);
        let mut source = String::new();
        for line in code.lines {
            source.clear();
            source.push_str(&line.text);
            source.push('\n');
            let spans: Vec<Span> = match highlighter.line(&source) {
                Some(tokens) => tokens
                    .into_iter()
                    .filter_map(|t| {
                        let end = t.range.end.min(line.text.len());
                        let text = line.text.get(t.range.start.min(end)..end)?;
                        (!text.is_empty()).then(|| Span {
                            mono: true,
                            bold: t.bold,
                            italic: t.italic,
                            ..Span::plain(text, t.color)
                        })
                    })
                    .collect(),
                None if line.text.is_empty() => Vec::new(),
                None => vec![Span {
                    mono: true,
                    ..Span::plain(line.text.as_str(), self.pal.code_text)
                }],
            };
            let shaped = self.shape(&spans, size, Some(text_w as f32));
            let rows = self.place(&shaped, text_x as f32, cy, text_w as f32, Alignment::Left, &mut body);
            // Wrapped rows start with a visible mark: the line goes on.
            for (i, row) in shaped.rows.iter().enumerate() {
                if i == 0 && !line.continued {
                    continue;
                }
                let baseline = cy + row.baseline;
                let glyphs: Vec<Glyph> = mark
                    .iter()
                    .map(|g| {
                        let p = g.physical((mark_x, baseline), 1.0);
                        Glyph {
                            key: p.cache_key,
                            x: p.x,
                            y: p.y,
                            color: self.pal.muted,
                        }
                    })
                    .collect();
                if let Some(&(row_top, row_bottom)) = rows.get(i) {
                    body.push(Item::Glyphs {
                        top: row_top,
                        bottom: row_bottom,
                        glyphs,
                    });
                }
            }
            atoms.extend(rows);
            cy += shaped.height;
        }
        if code.omitted > 0 {
            let meta = geo.size(TextKind::Meta);
            let span = Span {
                italic: true,
                ..Span::plain(
                    format!(
                        "… {} more line{}",
                        super::super::blocks::grouped(code.omitted as u64),
                        if code.omitted == 1 { "" } else { "s" }
                    ),
                    self.pal.muted,
                )
            };
            let shaped = self.shape(std::slice::from_ref(&span), meta, Some(text_w as f32));
            cy += geo.px(2.0);
            atoms.extend(self.place(&shaped, text_x as f32, cy, text_w as f32, Alignment::Left, &mut body));
            cy += shaped.height;
        }
        let height = (cy.ceil() as i32 - top + pad_b).max(1);
        // The tinted box, with round corners only where the block really
        // begins and ends: the pieces of a cut-up block join seamlessly.
        let rect = Rect::new(x, top, width, height);
        let r = geo.ipx(6.0);
        let b = geo.line;
        let (border, fill) = (self.pal.code_border, self.pal.code_bg);
        items.push(Item::Round {
            rect,
            radius: r,
            color: fill,
            border: Some((border, b)),
        });
        let square = |items: &mut Vec<Item>, y: i32, h: i32| {
            items.push(Item::Fill {
                rect: Rect::new(x, y, width, h),
                color: border,
            });
            items.push(Item::Fill {
                rect: Rect::new(x + b, y, width - 2 * b, h),
                color: fill,
            });
        };
        if !code.piece.first {
            square(items, top, r.min(height));
        }
        if !code.piece.last {
            square(items, top + height - r.min(height), r.min(height));
        }
        items.append(&mut body);
        height
    }
}
