//! The raster canvas: a sparse grid of 256x256 tiles rendered with tiny-skia.
//!
//! Synchronous and free of actix and I/O so it can be tested alone. The room actor owns one
//! [`Canvas`] and is the only writer; readers (join, export) take a [`Snapshot`], which shares the
//! tiles (copy on write) instead of copying pixels.

mod decode;
mod document;
mod fill;
mod lift;
mod op;
mod picture;
mod restore;
mod snapshot;
mod stroke;
mod text;

use std::sync::Arc;

use tiny_skia::Pixmap;

pub use decode::{decode, dimensions, DecodeError};
pub use document::{Applied, Document};
pub use fill::Region;
pub use lift::{Lifted, Move, Selection, MAX_SCALE, MIN_SCALE};
pub use op::{Fill, Op, Painter, Shape, ShapeKind, Stroke, Tool, HIGHLIGHTER_ALPHA};
pub use picture::{Picture, Placed, Placement};
pub use restore::{same_pixels, Restore};
pub use snapshot::{encode_png, encode_tile, Snapshot};
pub use stroke::{stroke_geometry, stroke_path, stroke_radius, Geometry};
pub use text::{face, layout, metrics, FontMetrics, Glyph, Text, FONT, FONT_FILE};

/// Side of a square tile in pixels.
pub const TILE_SIZE: u32 = 256;

/// An RGBA color with straight (not premultiplied) alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgba {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha; 255 is opaque.
    pub a: u8,
}

impl Rgba {
    /// The color as `#rrggbb`, or `#rrggbbaa` when not opaque.
    pub fn to_hex(self) -> String {
        if self.a == 255 {
            format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
        } else {
            format!("#{:02x}{:02x}{:02x}{:02x}", self.r, self.g, self.b, self.a)
        }
    }

    /// Parses `#rrggbb` or `#rrggbbaa`; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Rgba> {
        let hex = text.strip_prefix('#')?;
        if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        let a = if hex.len() == 8 { byte(6)? } else { 255 };
        Some(Rgba {
            r: byte(0)?,
            g: byte(2)?,
            b: byte(4)?,
            a,
        })
    }

    pub(crate) fn to_skia(self) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(self.r, self.g, self.b, self.a)
    }
}

/// Index of a tile: row and column. Ordered row by row, like the canvas is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Row, from the top (compared first).
    pub row: u16,
    /// Column, from the left.
    pub col: u16,
}

/// A sparse tiled RGBA canvas. Untouched tiles cost no memory.
#[derive(Debug, Clone)]
pub struct Canvas {
    width: u32,
    height: u32,
    cols: u32,
    rows: u32,
    /// Row-major tiles; `None` is fully transparent. `Arc` makes snapshots cheap: a write after a
    /// snapshot copies just the tile it touches.
    tiles: Vec<Option<Arc<Pixmap>>>,
}

impl Canvas {
    /// A transparent canvas, or `None` when a side is 0 or over 65,535 tiles' worth.
    pub fn new(width: u32, height: u32) -> Option<Canvas> {
        if width == 0 || height == 0 {
            return None;
        }
        let cols = width.div_ceil(TILE_SIZE);
        let rows = height.div_ceil(TILE_SIZE);
        if cols > u32::from(u16::MAX) || rows > u32::from(u16::MAX) {
            return None;
        }
        Some(Canvas {
            width,
            height,
            cols,
            rows,
            tiles: vec![None; (cols * rows) as usize],
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Pixel size of a tile: 256x256 except at the right and bottom edges.
    pub fn tile_size(&self, id: TileId) -> (u32, u32) {
        let x0 = u32::from(id.col) * TILE_SIZE;
        let y0 = u32::from(id.row) * TILE_SIZE;
        (
            TILE_SIZE.min(self.width - x0),
            TILE_SIZE.min(self.height - y0),
        )
    }

    /// Number of tile columns and rows.
    pub fn grid(&self) -> (u32, u32) {
        (self.cols, self.rows)
    }

    /// Every tile id of the canvas, row by row.
    pub fn all_tiles(&self) -> Vec<TileId> {
        (0..self.tiles.len()).map(|i| self.tile_id(i)).collect()
    }

    /// The tiles an op may paint. For a fill this computes its region (once) and stores it in the
    /// op, so later replays cover exactly the same pixels.
    pub fn prepare(&self, op: &mut Op) -> Vec<TileId> {
        self.compute_region(op);
        self.touched_by(&op.painter())
    }

    /// Commits an op into the canvas and returns the tiles it touched. A stroke's geometry is
    /// built once, for both its tiles and its pixels.
    pub fn apply(&mut self, op: &mut Op) -> Vec<TileId> {
        self.compute_region(op);
        let painter = op.painter();
        let touched = self.touched_by(&painter);
        self.paint_with(&painter, &touched);
        touched
    }

    /// Paints an already prepared op into the given tiles.
    pub fn paint(&mut self, op: &Op, tiles: &[TileId]) {
        self.paint_with(&op.painter(), tiles);
    }

    /// A fill's region, or a move's lifted pixels, computed once and kept in the op.
    fn compute_region(&self, op: &mut Op) {
        match op {
            Op::Fill(f) if f.region.is_none() => f.region = self.flood(f.x, f.y, f.tolerance),
            Op::Move(m) if m.lifted.is_none() => m.lifted = self.lift(&m.selection),
            _ => {}
        }
    }

    fn touched_by(&self, painter: &Painter<'_>) -> Vec<TileId> {
        match painter.op() {
            Op::Fill(f) => f.region.as_ref().map(Region::tile_ids).unwrap_or_default(),
            Op::Clear => self.all_tiles(),
            Op::Restore(r) => r.tile_ids(),
            Op::Move(m) => m.tiles(self),
            Op::Text(_) => {
                // Only the tiles some glyph reaches: a long text's box may be mostly empty.
                let mut ids: Vec<TileId> = painter
                    .glyphs()
                    .iter()
                    .flat_map(|g| {
                        let b = g.bounds;
                        self.tiles_in(
                            b.left() - 1.0,
                            b.top() - 1.0,
                            b.right() + 1.0,
                            b.bottom() + 1.0,
                        )
                    })
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
            // Exactly the tiles under the visible part (its right and bottom are exclusive).
            Op::Image(p) => match p.area() {
                Some((l, t, r, b)) => {
                    self.tiles_in(l as f32, t as f32, (r - 1) as f32, (b - 1) as f32)
                }
                None => Vec::new(),
            },
            Op::Stroke(_) | Op::Shape(_) => match painter.bounds() {
                Some((l, t, r, b)) => self.tiles_in(l - 1.0, t - 1.0, r + 1.0, b + 1.0),
                None => Vec::new(),
            },
        }
    }

    fn paint_with(&mut self, painter: &Painter<'_>, tiles: &[TileId]) {
        for &id in tiles {
            match painter.op().replacement(id) {
                Some(tile) => self.set_tile(id, tile),
                None => painter.render_tile(id, self.tile_mut(id)),
            }
        }
    }

    /// Shortcut: commits a stroke and returns the tiles it touched.
    pub fn draw_stroke(&mut self, stroke: &Stroke) -> Vec<TileId> {
        self.apply(&mut Op::Stroke(stroke.clone()))
    }

    /// The shared pixels of one tile (`None` when transparent).
    pub fn tile(&self, id: TileId) -> Option<&Arc<Pixmap>> {
        self.tiles.get(self.index(id)).and_then(Option::as_ref)
    }

    /// Replaces one tile (used when history re-renders it).
    pub fn set_tile(&mut self, id: TileId, tile: Option<Arc<Pixmap>>) {
        let i = self.index(id);
        self.tiles[i] = tile;
    }

    /// A snapshot of just some tiles (absent ones are reported as empty by the caller).
    pub fn snapshot_of(&self, ids: &[TileId]) -> Vec<(TileId, Option<Arc<Pixmap>>)> {
        ids.iter().map(|&id| (id, self.tile(id).cloned())).collect()
    }

    /// Row-major slot of a tile.
    pub(crate) fn index(&self, id: TileId) -> usize {
        (u32::from(id.row) * self.cols + u32::from(id.col)) as usize
    }

    /// The tile at a row-major slot.
    pub(crate) fn tile_id(&self, index: usize) -> TileId {
        TileId {
            row: (index as u32 / self.cols) as u16,
            col: (index as u32 % self.cols) as u16,
        }
    }

    /// The non-empty slots of a row-major tile list (the canvas's or a checkpoint's).
    pub(crate) fn non_empty(&self, slots: &[Option<Arc<Pixmap>>]) -> Vec<(TileId, Arc<Pixmap>)> {
        slots
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((self.tile_id(i), Arc::clone(t.as_ref()?))))
            .collect()
    }

    /// A cheap copy of every tile slot (for history checkpoints).
    pub(crate) fn slots(&self) -> Vec<Option<Arc<Pixmap>>> {
        self.tiles.clone()
    }

    /// A cheap, immutable copy of the current tiles.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::new(self.width, self.height, self.non_empty(&self.tiles))
    }

    /// Tiles overlapping the rectangle, clipped to the canvas.
    pub fn tiles_in(&self, left: f32, top: f32, right: f32, bottom: f32) -> Vec<TileId> {
        if !(left.is_finite() && top.is_finite() && right.is_finite() && bottom.is_finite()) {
            return Vec::new();
        }
        if right < 0.0 || bottom < 0.0 || left >= self.width as f32 || top >= self.height as f32 {
            return Vec::new();
        }
        let tile = TILE_SIZE as f32;
        let c0 = (left.max(0.0) / tile) as u32;
        let r0 = (top.max(0.0) / tile) as u32;
        let c1 = ((right / tile) as u32).min(self.cols - 1);
        let r1 = ((bottom / tile) as u32).min(self.rows - 1);
        let mut out = Vec::with_capacity(((c1 - c0 + 1) * (r1 - r0 + 1)) as usize);
        for row in r0..=r1 {
            for col in c0..=c1 {
                out.push(TileId {
                    col: col as u16,
                    row: row as u16,
                });
            }
        }
        out
    }

    /// The tile's pixmap, allocated on first write and unshared from snapshots.
    fn tile_mut(&mut self, id: TileId) -> &mut Pixmap {
        let (w, h) = self.tile_size(id);
        let index = self.index(id);
        let slot = self.tiles[index].get_or_insert_with(|| {
            Arc::new(Pixmap::new(w, h).expect("tile sides are between 1 and 256"))
        });
        Arc::make_mut(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pen(color: Rgba, width: f32, points: Vec<f32>) -> Stroke {
        Stroke {
            tool: Tool::Pen,
            color,
            width,
            points,
        }
    }

    const RED: Rgba = Rgba {
        r: 255,
        g: 0,
        b: 0,
        a: 255,
    };

    #[test]
    fn untouched_tiles_cost_nothing() {
        let mut c = Canvas::new(1000, 600).expect("valid size");
        assert!(c.snapshot().tiles().is_empty());
        let touched = c.draw_stroke(&pen(RED, 4.0, vec![10.0, 10.0, 0.5, 50.0, 10.0, 0.5]));
        assert_eq!(touched, vec![TileId { col: 0, row: 0 }]);
        assert_eq!(c.snapshot().tiles().len(), 1);
    }

    #[test]
    fn strokes_across_tile_edges_touch_every_tile() {
        let mut c = Canvas::new(600, 600).expect("valid size");
        let touched = c.draw_stroke(&pen(RED, 10.0, vec![100.0, 250.0, 0.5, 300.0, 250.0, 0.5]));
        assert_eq!(touched.len(), 4);
        let snap = c.snapshot();
        // The line is continuous across the seam at x = 256.
        for x in [250, 255, 256, 260] {
            assert_eq!(snap.pixel(x, 250).map(|p| p.a), Some(255), "x={x}");
        }
        assert_eq!(snap.pixel(100, 200).map(|p| p.a), Some(0));
    }

    #[test]
    fn strokes_outside_the_canvas_touch_nothing() {
        let mut c = Canvas::new(100, 100).expect("valid size");
        let touched = c.draw_stroke(&pen(RED, 4.0, vec![-50.0, -50.0, 0.5, -40.0, -40.0, 0.5]));
        assert!(touched.is_empty());
    }

    #[test]
    fn edge_tiles_are_clipped_to_the_canvas() {
        let c = Canvas::new(300, 260).expect("valid size");
        assert_eq!(c.tile_size(TileId { col: 1, row: 1 }), (44, 4));
        assert!(Canvas::new(0, 10).is_none());
    }
}
