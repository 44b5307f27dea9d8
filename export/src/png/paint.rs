//! Pixels: paints a page in horizontal bands and streams each band into
//! the PNG encoder, so a page of any height needs one band of memory.
//!
//! The band is an `image::RgbImage`; rectangles are filled a row at a
//! time by copying a prepared row of their colour (a page is mostly
//! rectangles, so this is where the time goes), rounded corners are
//! anti-aliased pixel by pixel, and glyphs come from the engine's
//! rasterised-glyph cache and are alpha-blended over what is below. The
//! PNG is written with the `png` crate's streaming writer (`image` can
//! only encode a whole image at once) using its fast deflate, and
//! without any time or text chunk: the same page always gives the same
//! bytes.

use std::io::Write;

use cosmic_text::SwashContent;
use image::RgbImage;

use super::{
    fonts::Engine,
    layout::{Glyph, Item, Rect},
    theme::Rgb,
};

/// Bytes one band of pixels may take; its height follows from the width.
const BAND_BYTES: usize = 4 * 1024 * 1024;

/// One band of a page: page rows `top..top + rows`.
pub struct Band {
    pub image: RgbImage,
    pub top: i32,
    pub rows: i32,
    /// A whole row of one colour, copied from when filling.
    swatch: (Rgb, Vec<u8>),
}

/// Where an item may paint, in page coordinates: rows `y0..y1`.
#[derive(Clone, Copy, Debug)]
pub struct Clip {
    pub y0: i32,
    pub y1: i32,
}

/// `pixel` covered by `color` with coverage `alpha`.
#[inline]
fn blend(pixel: &mut [u8], color: Rgb, alpha: u8) {
    match alpha {
        0 => {}
        255 => pixel.copy_from_slice(&[color.0, color.1, color.2]),
        a => {
            let a = u32::from(a);
            let mix = |bg: u8, fg: u8| ((u32::from(bg) * (255 - a) + u32::from(fg) * a + 127) / 255) as u8;
            pixel[0] = mix(pixel[0], color.0);
            pixel[1] = mix(pixel[1], color.1);
            pixel[2] = mix(pixel[2], color.2);
        }
    }
}

/// How much of a pixel whose centre is `distance` from a circle's centre
/// the circle of `radius` covers, 0–255.
#[inline]
fn coverage(radius: f32, distance: f32) -> u8 {
    ((radius - distance + 0.5).clamp(0.0, 1.0) * 255.0).round() as u8
}

impl Band {
    pub fn new(width: u32, rows: u32) -> Band {
        Band {
            image: RgbImage::new(width, rows),
            top: 0,
            rows: rows as i32,
            swatch: (Rgb(0, 0, 0), vec![0; width as usize * 3]),
        }
    }

    /// The band's rows that are also inside `clip`, band-relative.
    fn rows_in(&self, clip: Clip, y0: i32, y1: i32) -> Option<(i32, i32)> {
        let from = y0.max(clip.y0).max(self.top) - self.top;
        let to = y1.min(clip.y1).min(self.top + self.rows) - self.top;
        (from < to).then_some((from, to))
    }

    fn width(&self) -> i32 {
        self.image.width() as i32
    }

    fn row_bytes(&self) -> usize {
        self.image.width() as usize * 3
    }

    /// Paints one item, moved by `(dx, dy)` and clipped to `clip`.
    pub fn item(&mut self, engine: &mut Engine, item: &Item, dx: i32, dy: i32, clip: Clip) {
        match item {
            Item::Fill { rect, color } => self.fill(moved(*rect, dx, dy), *color, clip),
            Item::Round {
                rect,
                radius,
                color,
                border,
            } => self.round(moved(*rect, dx, dy), *radius, *color, *border, clip),
            Item::Glyphs { top, bottom, glyphs } => {
                // Glyphs may reach past their row's box (accents, tails):
                // allow a row's height either way; the clip still rules.
                let slack = bottom - top;
                if self.rows_in(clip, top + dy - slack, bottom + dy + slack).is_some() {
                    self.glyphs(engine, glyphs, dx, dy, clip);
                }
            }
        }
    }

    pub fn fill(&mut self, rect: Rect, color: Rgb, clip: Clip) {
        let Some((from, to)) = self.rows_in(clip, rect.y, rect.y + rect.h) else {
            return;
        };
        let x0 = rect.x.max(0);
        let x1 = (rect.x + rect.w).min(self.width());
        if x0 >= x1 {
            return;
        }
        if self.swatch.0 != color {
            let pattern = [color.0, color.1, color.2];
            for pixel in self.swatch.1.chunks_exact_mut(3) {
                pixel.copy_from_slice(&pattern);
            }
            self.swatch.0 = color;
        }
        let row_bytes = self.row_bytes();
        let (start, len) = (x0 as usize * 3, (x1 - x0) as usize * 3);
        let swatch = &self.swatch.1[..len];
        let pixels: &mut [u8] = &mut self.image;
        for y in from as usize..to as usize {
            let at = y * row_bytes + start;
            pixels[at..at + len].copy_from_slice(swatch);
        }
    }

    /// A rectangle with anti-aliased corners of `radius`, and a border
    /// of `(colour, width)` inside its edge. Each pixel is painted once
    /// (corner pixels twice: border, then fill over the inner curve).
    pub fn round(&mut self, rect: Rect, radius: i32, color: Rgb, border: Option<(Rgb, i32)>, clip: Clip) {
        let r = radius.clamp(0, rect.w.min(rect.h) / 2);
        let (edge, b) = match border {
            Some((edge, width)) => (edge, width.clamp(0, r.max(1))),
            None => (color, 0),
        };
        let Rect { x, y, w, h } = rect;
        if r == 0 {
            self.fill(rect, edge, clip);
            return self.fill(Rect::new(x + b, y + b, w - 2 * b, h - 2 * b), color, clip);
        }
        // The border's straight edges.
        if b > 0 {
            self.fill(Rect::new(x + r, y, w - 2 * r, b), edge, clip);
            self.fill(Rect::new(x + r, y + h - b, w - 2 * r, b), edge, clip);
            self.fill(Rect::new(x, y + r, b, h - 2 * r), edge, clip);
            self.fill(Rect::new(x + w - b, y + r, b, h - 2 * r), edge, clip);
        }
        // The inside: a full-width middle and the strips between corners.
        self.fill(Rect::new(x + b, y + r, w - 2 * b, h - 2 * r), color, clip);
        self.fill(Rect::new(x + r, y + b, w - 2 * r, r - b), color, clip);
        self.fill(Rect::new(x + r, y + h - r, w - 2 * r, r - b), color, clip);
        // The corners, pixel by pixel, by how much of each pixel the outer
        // quarter circle (border) and the inner one (fill) cover.
        let (outer, inner) = (r as f32, (r - b) as f32);
        let corners = [
            (x, y, x + r, y + r),
            (x + w - r, y, x + w - r, y + r),
            (x, y + h - r, x + r, y + h - r),
            (x + w - r, y + h - r, x + w - r, y + h - r),
        ];
        let row_bytes = self.row_bytes();
        let width = self.width();
        for (cx0, cy0, ccx, ccy) in corners {
            let Some((from, to)) = self.rows_in(clip, cy0, cy0 + r) else {
                continue;
            };
            for by in from..to {
                let fy = (by + self.top) as f32 + 0.5 - ccy as f32;
                for px in cx0.max(0)..(cx0 + r).min(width) {
                    let fx = px as f32 + 0.5 - ccx as f32;
                    let distance = (fx * fx + fy * fy).sqrt();
                    let at = by as usize * row_bytes + px as usize * 3;
                    let pixels: &mut [u8] = &mut self.image;
                    let pixel = &mut pixels[at..at + 3];
                    if b > 0 {
                        blend(pixel, edge, coverage(outer, distance));
                        blend(pixel, color, coverage(inner, distance));
                    } else {
                        blend(pixel, color, coverage(outer, distance));
                    }
                }
            }
        }
    }

    fn glyphs(&mut self, engine: &mut Engine, glyphs: &[Glyph], dx: i32, dy: i32, clip: Clip) {
        let Engine { fonts, glyphs: cache } = engine;
        let row_bytes = self.row_bytes();
        let width = self.width();
        for glyph in glyphs {
            let Some(image) = cache.get_image(fonts, glyph.key) else {
                continue;
            };
            let p = image.placement;
            let left = glyph.x + dx + p.left;
            let top = glyph.y + dy - p.top;
            let w = p.width as i32;
            let Some((from, to)) = self.rows_in(clip, top, top + p.height as i32) else {
                continue;
            };
            // The glyph's columns that land on the band.
            let (g0, g1) = ((-left).max(0), w.min(width - left));
            if g0 >= g1 {
                continue;
            }
            let samples = match image.content {
                SwashContent::Mask => 1,
                SwashContent::Color | SwashContent::SubpixelMask => 4,
            };
            for by in from..to {
                let gy = by + self.top - top;
                let src_at = ((gy * w + g0) as usize) * samples;
                let src_len = (g1 - g0) as usize * samples;
                let Some(src) = image.data.get(src_at..src_at + src_len) else {
                    continue;
                };
                let dst_at = by as usize * row_bytes + (left + g0) as usize * 3;
                let pixels: &mut [u8] = &mut self.image;
                let dst = &mut pixels[dst_at..dst_at + (g1 - g0) as usize * 3];
                match image.content {
                    SwashContent::Mask => {
                        for (pixel, &alpha) in dst.chunks_exact_mut(3).zip(src) {
                            blend(pixel, glyph.color, alpha);
                        }
                    }
                    SwashContent::Color => {
                        for (pixel, rgba) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
                            blend(pixel, Rgb(rgba[0], rgba[1], rgba[2]), rgba[3]);
                        }
                    }
                    SwashContent::SubpixelMask => {
                        // Never requested (the engine asks for alpha
                        // masks); drawn as plain coverage all the same.
                        for (pixel, rgba) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
                            let alpha = ((u16::from(rgba[0]) + u16::from(rgba[1]) + u16::from(rgba[2])) / 3) as u8;
                            blend(pixel, glyph.color, alpha);
                        }
                    }
                }
            }
        }
    }
}

fn moved(rect: Rect, dx: i32, dy: i32) -> Rect {
    Rect::new(rect.x + dx, rect.y + dy, rect.w, rect.h)
}

/// Encodes one page of `width × height` pixels into `out`, asking
/// `paint` for each band in turn, top to bottom.
pub fn page<W: Write>(
    out: W,
    width: u32,
    height: u32,
    background: Rgb,
    mut paint: impl FnMut(&mut Band),
) -> Result<(), png::EncodingError> {
    let mut encoder = png::Encoder::new(out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    let band_rows = (BAND_BYTES / (width as usize * 3).max(1)).clamp(16, 2048) as u32;
    let mut band = Band::new(width, band_rows);
    let row_bytes = width as usize * 3;
    let blank: Vec<u8> = [background.0, background.1, background.2].repeat(width as usize);
    {
        let mut stream = writer.stream_writer_with_size(256 * 1024)?;
        let mut top = 0;
        while top < height {
            let rows = band_rows.min(height - top);
            for row in band.image.chunks_exact_mut(row_bytes).take(rows as usize) {
                row.copy_from_slice(&blank);
            }
            band.top = top as i32;
            band.rows = rows as i32;
            paint(&mut band);
            stream.write_all(&band.image.as_raw()[..rows as usize * row_bytes])?;
            top += rows;
        }
        stream.finish()?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(width: u32, rows: u32) -> Band {
        let mut band = Band::new(width, rows);
        band.fill(Rect::new(0, 0, width as i32, rows as i32), Rgb(255, 255, 255), ALL);
        band
    }

    const ALL: Clip = Clip {
        y0: i32::MIN,
        y1: i32::MAX,
    };

    #[test]
    fn rounded_rectangles_are_soft_at_the_corners_and_solid_inside() {
        let mut b = band(40, 40);
        b.round(Rect::new(0, 0, 40, 40), 10, Rgb(0, 0, 0), None, ALL);
        assert_eq!(b.image.get_pixel(20, 20).0, [0, 0, 0], "inside");
        assert_eq!(b.image.get_pixel(0, 0).0, [255, 255, 255], "the corner is cut");
        let edge = b.image.get_pixel(3, 2).0[0];
        assert!(edge > 0 && edge < 255, "anti-aliased edge, got {edge}");
        // With a border: the edge has the border's colour, the inside the fill's.
        let mut b = band(40, 40);
        b.round(
            Rect::new(0, 0, 40, 40),
            10,
            Rgb(0, 0, 0),
            Some((Rgb(200, 0, 0), 2)),
            ALL,
        );
        assert_eq!(b.image.get_pixel(20, 0).0, [200, 0, 0], "top border");
        assert_eq!(b.image.get_pixel(0, 20).0, [200, 0, 0], "left border");
        assert_eq!(b.image.get_pixel(20, 20).0, [0, 0, 0], "inside");
        assert_eq!(b.image.get_pixel(20, 2).0, [0, 0, 0], "inside the border");
    }

    #[test]
    fn clips_limit_what_is_painted() {
        let mut b = band(10, 10);
        b.fill(Rect::new(0, 0, 10, 10), Rgb(0, 0, 0), Clip { y0: 2, y1: 5 });
        assert_eq!(b.image.get_pixel(5, 1).0, [255, 255, 255]);
        assert_eq!(b.image.get_pixel(5, 3).0, [0, 0, 0]);
        assert_eq!(b.image.get_pixel(5, 5).0, [255, 255, 255]);
    }

    #[test]
    fn pages_stream_band_by_band_into_one_png() {
        let mut out = Vec::new();
        let mut bands = 0;
        page(&mut out, 600, 3000, Rgb(10, 20, 30), |band| {
            bands += 1;
            band.fill(Rect::new(0, 1500, 600, 10), Rgb(200, 0, 0), ALL);
        })
        .expect("encode");
        assert!(bands >= 1);
        let decoded = image::load_from_memory(&out).expect("decodes").to_rgb8();
        assert_eq!(decoded.dimensions(), (600, 3000));
        assert_eq!(decoded.get_pixel(5, 5).0, [10, 20, 30]);
        assert_eq!(decoded.get_pixel(5, 1505).0, [200, 0, 0]);
    }
}
