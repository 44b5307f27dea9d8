//! Tables: column widths fitted to the card, cells shaped and wrapped,
//! header and body rows with their rules, and a cut allowed between any
//! two rows.

use super::*;

impl Typesetter {
    pub(super) fn table(
        &mut self,
        kind: UnitKind,
        rows: &[Vec<Vec<Span>>],
        aligns: &[Alignment],
        slot: Slot,
        items: &mut Vec<Item>,
        atoms: &mut Vec<(i32, i32)>,
    ) -> i32 {
        let Slot { x, top, width } = slot;
        let geo = self.geo.clone();
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
        if columns == 0 {
            return 0;
        }
        let size = geo.size(TextKind::Body);
        let pad_x = geo.ipx(9.0);
        let pad_y = geo.ipx(5.0);
        let min_col = geo.ipx(56.0);
        if columns as i32 * min_col > width {
            return self.table_records(rows, slot, items, atoms);
        }
        let header_bold = |spans: &[Span], header: bool| -> Vec<Span> {
            spans
                .iter()
                .map(|s| Span {
                    bold: s.bold || header,
                    ..s.clone()
                })
                .collect()
        };
        // Natural widths: each column as wide as its widest unwrapped cell.
        let mut natural = vec![min_col; columns];
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let shaped = self.shape(&header_bold(cell, r == 0), size, None);
                let w = shaped.rows.iter().map(|row| row.width).fold(0.0, f32::max);
                natural[c] = natural[c].max(w.ceil() as i32 + 2 * pad_x);
            }
        }
        let widths = fit_columns(&natural, width, min_col);
        let table_w: i32 = widths.iter().sum();
        let surface = match kind {
            UnitKind::Message { role: Role::User, .. } => self.pal.user_card,
            _ => self.pal.card,
        };
        let mut body = Vec::new();
        let mut lines = Vec::new();
        let mut y = top + geo.line;
        for (r, row) in rows.iter().enumerate() {
            let mut cells = Vec::with_capacity(columns);
            let mut row_h = 0.0f32;
            for (c, width) in widths.iter().enumerate() {
                let spans = row.get(c).map(|cell| header_bold(cell, r == 0)).unwrap_or_default();
                let shaped = self.shape(&spans, size, Some((width - 2 * pad_x) as f32));
                row_h = row_h.max(shaped.height);
                cells.push(shaped);
            }
            let row_h = row_h.ceil() as i32 + 2 * pad_y;
            if r == 0 {
                body.push(Item::Fill {
                    rect: Rect::new(x + geo.line, y, table_w - 2 * geo.line, row_h),
                    color: self.pal.table_head,
                });
            }
            let mut cx = x;
            for (c, shaped) in cells.iter().enumerate() {
                let w = widths[c];
                let align = aligns.get(c).copied().unwrap_or(Alignment::None);
                atoms.extend(self.place(
                    shaped,
                    (cx + pad_x) as f32,
                    (y + pad_y) as f32,
                    (w - 2 * pad_x) as f32,
                    align,
                    &mut body,
                ));
                cx += w;
            }
            y += row_h;
            if r + 1 < rows.len() {
                lines.push(Item::Fill {
                    rect: Rect::new(x, y, table_w, geo.line),
                    color: self.pal.table_border,
                });
                y += geo.line;
            }
        }
        let height = y + geo.line - top;
        let mut cx = x;
        for w in &widths[..widths.len() - 1] {
            cx += w;
            lines.push(Item::Fill {
                rect: Rect::new(cx, top, geo.line, height),
                color: self.pal.table_border,
            });
        }
        let rect = Rect::new(x, top, table_w, height);
        let r = geo.ipx(6.0);
        items.push(Item::Round {
            rect,
            radius: r,
            color: surface,
            border: Some((self.pal.table_border, geo.line)),
        });
        items.append(&mut body);
        items.append(&mut lines);
        height
    }

    /// A table too wide for its columns: each row as "header: cell"
    /// lines, so every cell is still shown.
    fn table_records(
        &mut self,
        rows: &[Vec<Vec<Span>>],
        slot: Slot,
        items: &mut Vec<Item>,
        atoms: &mut Vec<(i32, i32)>,
    ) -> i32 {
        let Slot { x, top, width } = slot;
        let size = self.geo.size(TextKind::Body);
        let meta = self.geo.size(TextKind::Meta);
        let header: &[Vec<Span>] = rows.first().map_or(&[], Vec::as_slice);
        let mut y = top as f32;
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
        let note = Span {
            italic: true,
            ..Span::plain(
                format!(
                    "A table of {} columns, too wide for the page: one row after the other.",
                    super::super::blocks::grouped(columns as u64)
                ),
                self.pal.muted,
            )
        };
        let shaped = self.shape(std::slice::from_ref(&note), meta, Some(width as f32));
        atoms.extend(self.place(&shaped, x as f32, y, width as f32, Alignment::Left, items));
        y += shaped.height;
        for (r, row) in rows.iter().enumerate().skip(1) {
            y += self.geo.px(6.0);
            let title = Span {
                bold: true,
                ..Span::plain(format!("Row {r}"), self.pal.muted)
            };
            let shaped = self.shape(std::slice::from_ref(&title), meta, Some(width as f32));
            atoms.extend(self.place(&shaped, x as f32, y, width as f32, Alignment::Left, items));
            y += shaped.height;
            for (c, cell) in row.iter().enumerate() {
                let mut spans: Vec<Span> = header
                    .get(c)
                    .map(|h| {
                        h.iter()
                            .map(|s| Span {
                                bold: true,
                                ..s.clone()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                spans.push(Span::plain(": ", self.pal.muted));
                spans.extend(cell.iter().cloned());
                let shaped = self.shape(&spans, size, Some((width - self.geo.list_step) as f32));
                atoms.extend(self.place(
                    &shaped,
                    (x + self.geo.list_step) as f32,
                    y,
                    width as f32,
                    Alignment::Left,
                    items,
                ));
                y += shaped.height;
            }
        }
        y.ceil() as i32 - top
    }
}

/// Column widths: natural widths when they fit, else the narrow columns
/// keep theirs and the wide ones share what is left.
fn fit_columns(natural: &[i32], width: i32, min_col: i32) -> Vec<i32> {
    let total: i32 = natural.iter().sum();
    if total <= width {
        return natural.to_vec();
    }
    let mut widths = vec![0; natural.len()];
    let mut open: Vec<usize> = (0..natural.len()).collect();
    let mut left = width;
    loop {
        let fair = (left / open.len().max(1) as i32).max(min_col);
        let (narrow, wide): (Vec<usize>, Vec<usize>) = open.iter().partition(|&&c| natural[c] <= fair);
        if narrow.is_empty() {
            let n = wide.len() as i32;
            for (k, &c) in wide.iter().enumerate() {
                // The last column takes the rounding remainder.
                widths[c] = if k as i32 == n - 1 {
                    (left - fair * (n - 1)).max(min_col)
                } else {
                    fair
                };
            }
            return widths;
        }
        for &c in &narrow {
            widths[c] = natural[c];
            left -= natural[c];
        }
        open = wide;
        if open.is_empty() {
            return widths;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_the_width() {
        assert_eq!(fit_columns(&[50, 60], 200, 40), vec![50, 60]);
        let widths = fit_columns(&[50, 500, 700], 400, 40);
        assert_eq!(widths[0], 50, "a narrow column keeps its width");
        assert_eq!(widths.iter().sum::<i32>(), 400);
    }
}
