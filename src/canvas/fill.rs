//! Flood fill: which pixels a fill covers ([`Region`]), and painting a region into tiles.
//!
//! The search is a scanline span fill over the whole canvas with a one-bit-per-pixel visited set,
//! reading tiles directly (an absent tile is transparent), so a fill of an empty 4096x4096 canvas
//! touches each pixel about once.

use tiny_skia::{Paint, Pixmap, PremultipliedColorU8, Rect, Transform};

use super::{Canvas, Rgba, TileId, TILE_SIZE};

const WORDS_PER_TILE: usize = (TILE_SIZE * TILE_SIZE / 64) as usize;

/// The pixels one tile contributes to a region.
#[derive(Debug, Clone, PartialEq)]
enum TileMask {
    /// Every pixel of the tile.
    Full,
    /// One bit per pixel, row-major with a stride of 256.
    Bits(Box<[u64]>),
}

/// The pixels a fill covers, per tile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Region {
    /// Sorted by tile id.
    tiles: Vec<(TileId, TileMask)>,
}

impl Region {
    /// Tiles with at least one covered pixel.
    pub fn tile_ids(&self) -> Vec<TileId> {
        self.tiles.iter().map(|(id, _)| *id).collect()
    }

    /// Number of covered pixels.
    pub fn pixel_count(&self, canvas: &Canvas) -> u64 {
        self.tiles
            .iter()
            .map(|(id, m)| match m {
                TileMask::Full => {
                    let (w, h) = canvas.tile_size(*id);
                    u64::from(w * h)
                }
                TileMask::Bits(b) => b.iter().map(|w| u64::from(w.count_ones())).sum(),
            })
            .sum()
    }

    /// Blends `color` over the covered pixels of tile `id`.
    pub fn paint_tile(&self, id: TileId, color: Rgba, tile: &mut Pixmap) {
        let Ok(i) = self.tiles.binary_search_by_key(&id, |(t, _)| *t) else {
            return;
        };
        match &self.tiles[i].1 {
            TileMask::Full => {
                if color.a == 255 {
                    tile.fill(color.to_skia());
                } else if let Some(rect) =
                    Rect::from_xywh(0.0, 0.0, tile.width() as f32, tile.height() as f32)
                {
                    let mut paint = Paint::default();
                    paint.set_color(color.to_skia());
                    tile.fill_rect(rect, &paint, Transform::identity(), None);
                }
            }
            TileMask::Bits(bits) => {
                let src = premultiply(color);
                let inv = 255 - u32::from(color.a);
                let width = tile.width() as usize;
                let pixels = tile.pixels_mut();
                for (word_index, &word) in bits.iter().enumerate() {
                    let mut w = word;
                    while w != 0 {
                        let bit = w.trailing_zeros() as usize;
                        w &= w - 1;
                        let pos = word_index * 64 + bit;
                        let (x, y) = (pos % TILE_SIZE as usize, pos / TILE_SIZE as usize);
                        if x < width {
                            if let Some(p) = pixels.get_mut(y * width + x) {
                                *p = over(src, *p, inv);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn premultiply(c: Rgba) -> [u32; 4] {
    let a = u32::from(c.a);
    let m = |v: u8| (u32::from(v) * a + 127) / 255;
    [m(c.r), m(c.g), m(c.b), a]
}

/// Source-over of a premultiplied source on a premultiplied pixel.
fn over(src: [u32; 4], dst: PremultipliedColorU8, inv: u32) -> PremultipliedColorU8 {
    let d = |v: u8| (u32::from(v) * inv + 127) / 255;
    let r = (src[0] + d(dst.red())).min(255) as u8;
    let g = (src[1] + d(dst.green())).min(255) as u8;
    let b = (src[2] + d(dst.blue())).min(255) as u8;
    let a = (src[3] + d(dst.alpha())).min(255) as u8;
    PremultipliedColorU8::from_rgba(r.min(a), g.min(a), b.min(a), a)
        .unwrap_or(PremultipliedColorU8::TRANSPARENT)
}

impl Canvas {
    /// The pixels a flood fill from (x, y) covers: connected (4-neighbour) pixels whose
    /// premultiplied channels all differ from the seed's by at most `tolerance`.
    /// `None` when the seed is outside the canvas.
    pub fn flood(&self, x: u32, y: u32, tolerance: u8) -> Option<Region> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let seed = self.raw_pixel(x, y);
        let tol = i32::from(tolerance);
        let matches = |px: u32| -> bool {
            px == seed
                || (0..4).all(|k| {
                    let a = ((px >> (k * 8)) & 0xff) as i32;
                    let b = ((seed >> (k * 8)) & 0xff) as i32;
                    (a - b).abs() <= tol
                })
        };
        let mut visited = vec![0u64; (w * h).div_ceil(64)];
        let is_set = |v: &[u64], i: usize| v[i >> 6] & (1 << (i & 63)) != 0;
        let mut stack = vec![(x as usize, y as usize)];
        while let Some((sx, sy)) = stack.pop() {
            let row = sy * w;
            if is_set(&visited, row + sx) || !matches(self.raw_pixel(sx as u32, sy as u32)) {
                continue;
            }
            let mut left = sx;
            while left > 0
                && !is_set(&visited, row + left - 1)
                && matches(self.raw_pixel(left as u32 - 1, sy as u32))
            {
                left -= 1;
            }
            let mut right = sx;
            while right + 1 < w
                && !is_set(&visited, row + right + 1)
                && matches(self.raw_pixel(right as u32 + 1, sy as u32))
            {
                right += 1;
            }
            set_span(&mut visited, row + left, row + right);
            for ny in [sy.wrapping_sub(1), sy + 1] {
                if ny >= h {
                    continue;
                }
                let nrow = ny * w;
                let mut in_run = false;
                for nx in left..=right {
                    let ok = !is_set(&visited, nrow + nx)
                        && matches(self.raw_pixel(nx as u32, ny as u32));
                    if ok && !in_run {
                        stack.push((nx, ny));
                    }
                    in_run = ok;
                }
            }
        }
        Some(self.region_from_bits(&visited))
    }

    /// The premultiplied pixel as a little-endian u32 (r in the low byte); 0 for absent tiles.
    fn raw_pixel(&self, x: u32, y: u32) -> u32 {
        let index = ((y / TILE_SIZE) * self.cols + x / TILE_SIZE) as usize;
        match &self.tiles[index] {
            None => 0,
            Some(tile) => {
                let tw = tile.width();
                let p = tile.pixels()[((y % TILE_SIZE) * tw + x % TILE_SIZE) as usize];
                u32::from_le_bytes([p.red(), p.green(), p.blue(), p.alpha()])
            }
        }
    }

    /// Splits a canvas-wide bitset into per-tile masks.
    fn region_from_bits(&self, bits: &[u64]) -> Region {
        let w = self.width as usize;
        let get = |i: usize| bits[i >> 6] & (1 << (i & 63)) != 0;
        let mut tiles = Vec::new();
        for row in 0..self.rows {
            for col in 0..self.cols {
                let id = TileId {
                    col: col as u16,
                    row: row as u16,
                };
                let (tw, th) = self.tile_size(id);
                let (x0, y0) = ((col * TILE_SIZE) as usize, (row * TILE_SIZE) as usize);
                let mut mask = vec![0u64; WORDS_PER_TILE].into_boxed_slice();
                let mut count = 0usize;
                for ly in 0..th as usize {
                    let base = (y0 + ly) * w + x0;
                    for lx in 0..tw as usize {
                        if get(base + lx) {
                            let pos = ly * TILE_SIZE as usize + lx;
                            mask[pos >> 6] |= 1 << (pos & 63);
                            count += 1;
                        }
                    }
                }
                if count == (tw * th) as usize {
                    tiles.push((id, TileMask::Full));
                } else if count > 0 {
                    tiles.push((id, TileMask::Bits(mask)));
                }
            }
        }
        tiles.sort_unstable_by_key(|(id, _)| *id);
        Region { tiles }
    }
}

/// Sets bits `from..=to`.
fn set_span(bits: &mut [u64], from: usize, to: usize) {
    let mut i = from;
    while i <= to {
        if i & 63 == 0 && i + 63 <= to {
            bits[i >> 6] = u64::MAX;
            i += 64;
        } else {
            bits[i >> 6] |= 1 << (i & 63);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::{Op, Shape, ShapeKind};

    fn wall(c: &mut Canvas, x0: f32, y0: f32, x1: f32, y1: f32) {
        c.apply(&mut Op::Shape(Shape {
            kind: ShapeKind::Rect,
            x0,
            y0,
            x1,
            y1,
            color: Rgba {
                r: 0,
                g: 0,
                b: 0,
                a: 255,
            },
            width: 1.0,
            filled: true,
        }));
    }

    #[test]
    fn fills_the_whole_empty_canvas_from_any_edge() {
        let c = Canvas::new(700, 300).expect("valid size");
        for (x, y) in [(0, 0), (699, 299), (0, 299), (350, 0)] {
            let r = c.flood(x, y, 0).expect("inside");
            assert_eq!(r.pixel_count(&c), 700 * 300, "seed {x},{y}");
        }
        assert!(c.flood(700, 0, 0).is_none());
    }

    #[test]
    fn a_wall_stops_a_fill_and_a_one_pixel_gap_lets_it_through() {
        // A crisp vertical wall at x = 300..302 across the whole height (crossing a tile seam).
        let mut c = Canvas::new(600, 300).expect("valid size");
        wall(&mut c, 300.0, 0.0, 302.0, 300.0);
        let left = c.flood(10, 10, 0).expect("inside").pixel_count(&c);
        assert_eq!(left, 300 * 300);

        // The same wall with a one-pixel gap at y = 150.
        let mut c = Canvas::new(600, 300).expect("valid size");
        wall(&mut c, 300.0, 0.0, 302.0, 150.0);
        wall(&mut c, 300.0, 151.0, 302.0, 300.0);
        let through = c.flood(10, 10, 0).expect("inside").pixel_count(&c);
        assert_eq!(through, 600 * 300 - 2 * 299);
    }

    /// On a canvas already painted edge to edge, a fill of another color repaints all of it.
    #[test]
    fn fills_a_full_canvas() {
        let mut c = Canvas::new(600, 400).expect("valid size");
        let paint = |c: &mut Canvas, g: u8| {
            let mut op = Op::Fill(super::super::Fill {
                x: 5,
                y: 5,
                color: Rgba {
                    r: 10,
                    g,
                    b: 10,
                    a: 255,
                },
                tolerance: 0,
                region: None,
            });
            c.apply(&mut op);
            match op {
                Op::Fill(f) => f.region.expect("computed").pixel_count(c),
                _ => unreachable!(),
            }
        };
        assert_eq!(paint(&mut c, 100), 600 * 400);
        assert_eq!(paint(&mut c, 200), 600 * 400);
        let s = c.snapshot();
        assert_eq!(s.pixel(599, 399).map(|p| p.g), Some(200));
        assert_eq!(s.pixel(0, 0).map(|p| p.g), Some(200));
    }

    /// A region spanning several rows and columns of tiles paints every one of them.
    #[test]
    fn fills_paint_every_tile_of_their_region() {
        let mut c = Canvas::new(1000, 700).expect("valid size");
        // A box from (300, 200) to (900, 650): its inside spans tiles in 3 columns and 3 rows.
        wall(&mut c, 300.0, 200.0, 900.0, 204.0);
        wall(&mut c, 300.0, 646.0, 900.0, 650.0);
        wall(&mut c, 300.0, 200.0, 304.0, 650.0);
        wall(&mut c, 896.0, 200.0, 900.0, 650.0);
        let mut op = Op::Fill(super::super::Fill {
            x: 600,
            y: 400,
            color: Rgba {
                r: 0,
                g: 200,
                b: 0,
                a: 255,
            },
            tolerance: 0,
            region: None,
        });
        c.apply(&mut op);
        let s = c.snapshot();
        for y in (205..646).step_by(7) {
            for x in (305..896).step_by(7) {
                assert_eq!(
                    s.pixel(x, y).map(|p| (p.g, p.a)),
                    Some((200, 255)),
                    "{x},{y}"
                );
            }
        }
        assert_eq!(s.pixel(100, 100).map(|p| p.a), Some(0));
    }

    #[test]
    fn painting_a_region_changes_only_its_pixels() {
        let mut c = Canvas::new(300, 300).expect("valid size");
        wall(&mut c, 100.0, 0.0, 102.0, 300.0);
        let mut op = Op::Fill(super::super::Fill {
            x: 200,
            y: 10,
            color: Rgba {
                r: 255,
                g: 0,
                b: 0,
                a: 255,
            },
            tolerance: 0,
            region: None,
        });
        c.apply(&mut op);
        let s = c.snapshot();
        assert_eq!(s.pixel(200, 200).map(|p| (p.r, p.a)), Some((255, 255)));
        assert_eq!(s.pixel(101, 200).map(|p| (p.r, p.a)), Some((0, 255)));
        assert_eq!(s.pixel(50, 200).map(|p| p.a), Some(0));
    }
}
