//! Selection and move: which pixels a rectangle or lasso selects, lifting them out of the canvas
//! once, and painting the move into a tile (the source left transparent, the lifted pixels
//! placed, optionally scaled, at the destination).
//!
//! Like a fill's region, the lifted pixels are taken when the move is first committed and kept
//! in the op, so replays (undo re-rendering) paint exactly what was moved. The store keeps only
//! the request: replay from the store repeats the same history, so lifting again gives the same
//! pixels.

use std::sync::Arc;

use tiny_skia::{
    FillRule, FilterQuality, Mask, PathBuilder, Pixmap, PixmapPaint, PremultipliedColorU8,
    Transform,
};

use super::{Canvas, TileId, TILE_SIZE};

/// Smallest scale a move may apply.
pub const MIN_SCALE: f32 = 0.1;
/// Largest scale a move may apply.
pub const MAX_SCALE: f32 = 10.0;

/// What a move selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// A rectangle `[x, y, w, h]` in canvas pixels; its edges are rounded to whole pixels.
    Rect([f32; 4]),
    /// A closed polygon `[x0, y0, x1, y1, ...]`; a pixel is selected when its center is inside
    /// (non-zero winding), without anti-aliasing, so a move never leaves half pixels behind.
    Lasso(Vec<f32>),
}

impl Selection {
    /// The selection's whole-pixel box (left, top, right, bottom; right and bottom exclusive),
    /// before clipping to the canvas; its top-left is what a move scales about.
    fn unclipped_box(&self) -> (f32, f32, f32, f32) {
        match self {
            Selection::Rect([x, y, w, h]) => {
                (x.round(), y.round(), (x + w).round(), (y + h).round())
            }
            Selection::Lasso(points) => {
                let xs = points.iter().step_by(2);
                let ys = points.iter().skip(1).step_by(2);
                let min = |it: &mut dyn Iterator<Item = &f32>| {
                    it.fold(f32::INFINITY, |m, &v| m.min(v)).floor()
                };
                let max = |it: &mut dyn Iterator<Item = &f32>| {
                    it.fold(f32::NEG_INFINITY, |m, &v| m.max(v)).ceil()
                };
                (
                    min(&mut xs.clone()),
                    min(&mut ys.clone()),
                    max(&mut xs.clone()),
                    max(&mut ys.clone()),
                )
            }
        }
    }

    /// The selection's whole-pixel box (left, top, right, bottom; right and bottom exclusive)
    /// clipped to a `width` x `height` canvas, or `None` when nothing of it is on the canvas.
    pub fn pixel_box(&self, width: u32, height: u32) -> Option<(u32, u32, u32, u32)> {
        let (l, t, r, b) = self.unclipped_box();
        if !(l.is_finite() && t.is_finite() && r.is_finite() && b.is_finite()) {
            return None;
        }
        let clamp_x = |v: f32| v.clamp(0.0, width as f32) as u32;
        let clamp_y = |v: f32| v.clamp(0.0, height as f32) as u32;
        let (l, t, r, b) = (clamp_x(l), clamp_y(t), clamp_x(r), clamp_y(b));
        (l < r && t < b).then_some((l, t, r, b))
    }

    /// Which pixels of the box `(left, top, w, h)` a lasso selects: a mask of the box's size,
    /// 255 for selected and 0 for not. `Ok(None)` for a rectangle, which selects its whole box;
    /// `Err(())` for a lasso that encloses nothing.
    fn mask(&self, left: u32, top: u32, w: u32, h: u32) -> Result<Option<Mask>, ()> {
        let mut mask = Mask::new(w, h).ok_or(())?;
        match self {
            Selection::Rect(_) => return Ok(None),
            Selection::Lasso(points) => {
                let mut pb = PathBuilder::new();
                let mut pairs = points.chunks_exact(2);
                let first = pairs.next().ok_or(())?;
                pb.move_to(first[0], first[1]);
                for p in pairs {
                    pb.line_to(p[0], p[1]);
                }
                pb.close();
                let path = pb.finish().ok_or(())?;
                let to_box = Transform::from_translate(-(left as f32), -(top as f32));
                mask.fill_path(&path, FillRule::Winding, false, to_box);
            }
        }
        Ok(Some(mask))
    }
}

/// The pixels a move took from the canvas.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifted {
    /// Left edge of the selection's box on the canvas.
    left: u32,
    /// Top edge of the selection's box on the canvas.
    top: u32,
    /// The selection's top-left before clipping to the canvas: the point a move scales about.
    origin: (f32, f32),
    /// Which pixels of the box a lasso selected (and so left transparent); `None` for a
    /// rectangle, which selected all of them.
    mask: Option<Arc<Mask>>,
    /// The selected pixels (unselected ones transparent), the size of the box.
    pixels: Arc<Pixmap>,
}

/// Moves (or, with `delete`, erases) the selected pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// The pixels to move.
    pub selection: Selection,
    /// Horizontal offset of the destination, in canvas pixels.
    pub dx: f32,
    /// Vertical offset of the destination, in canvas pixels.
    pub dy: f32,
    /// Scale about the selection's top-left corner, [`MIN_SCALE`] to [`MAX_SCALE`].
    pub scale: f32,
    /// Place nothing: the selection is only erased.
    pub delete: bool,
    /// The pixels lifted when the move was first committed; replays reuse them.
    pub lifted: Option<Lifted>,
}

impl Move {
    /// The canvas area the lifted pixels land on (left, top, right, bottom), when any are
    /// placed.
    fn destination(&self, lifted: &Lifted) -> Option<(f32, f32, f32, f32)> {
        if self.delete {
            return None;
        }
        let (left, top) = placed(lifted, self.scale);
        let (left, top) = (left + self.dx, top + self.dy);
        Some((
            left,
            top,
            left + lifted.pixels.width() as f32 * self.scale,
            top + lifted.pixels.height() as f32 * self.scale,
        ))
    }

    /// The tiles the move changes: the source's and the destination's.
    pub(super) fn tiles(&self, canvas: &Canvas) -> Vec<TileId> {
        let Some(lifted) = &self.lifted else {
            return Vec::new();
        };
        let (w, h) = (lifted.pixels.width(), lifted.pixels.height());
        let mut tiles = canvas.tiles_in(
            lifted.left as f32,
            lifted.top as f32,
            (lifted.left + w - 1) as f32,
            (lifted.top + h - 1) as f32,
        );
        if let Some((l, t, r, b)) = self.destination(lifted) {
            tiles.extend(canvas.tiles_in(l - 1.0, t - 1.0, r + 1.0, b + 1.0));
        }
        tiles.sort_unstable();
        tiles.dedup();
        tiles
    }

    /// Pixels the move repaints on a `width` x `height` canvas: the selection's box, plus the
    /// box scaled where the pixels are placed.
    pub fn pixel_area(&self, width: u32, height: u32) -> f64 {
        let Some((l, t, r, b)) = self.selection.pixel_box(width, height) else {
            return 0.0;
        };
        let area = f64::from(r - l) * f64::from(b - t);
        let placed = if self.delete {
            0.0
        } else {
            area * f64::from(self.scale) * f64::from(self.scale)
        };
        area + placed
    }

    /// Paints the move into tile `id`: the selected pixels of the source become transparent,
    /// then the lifted pixels are drawn over the destination.
    pub(super) fn render_tile(&self, id: TileId, tile: &mut Pixmap) {
        let Some(lifted) = &self.lifted else {
            return;
        };
        let (tx, ty) = (u32::from(id.col) * TILE_SIZE, u32::from(id.row) * TILE_SIZE);
        erase(lifted, tx, ty, tile);
        if self.delete {
            return;
        }
        let exact = self.scale == 1.0 && self.dx.fract() == 0.0 && self.dy.fract() == 0.0;
        let paint = PixmapPaint {
            quality: if exact {
                FilterQuality::Nearest
            } else {
                FilterQuality::Bilinear
            },
            ..PixmapPaint::default()
        };
        let (left, top) = placed(lifted, self.scale);
        let transform = Transform::from_row(
            self.scale,
            0.0,
            0.0,
            self.scale,
            left + self.dx - tx as f32,
            top + self.dy - ty as f32,
        );
        tile.draw_pixmap(
            0,
            0,
            lifted.pixels.as_ref().as_ref(),
            &paint,
            transform,
            None,
        );
    }
}

/// Where the lifted box's top-left lands before the offset: scaled about the selection's origin.
fn placed(lifted: &Lifted, scale: f32) -> (f32, f32) {
    let (ox, oy) = lifted.origin;
    (
        ox + (lifted.left as f32 - ox) * scale,
        oy + (lifted.top as f32 - oy) * scale,
    )
}

/// Makes the selected pixels of the tile at (tx, ty) transparent.
fn erase(lifted: &Lifted, tx: u32, ty: u32, tile: &mut Pixmap) {
    let (bw, bh) = (lifted.pixels.width(), lifted.pixels.height());
    let x0 = lifted.left.max(tx);
    let y0 = lifted.top.max(ty);
    let x1 = (lifted.left + bw).min(tx + tile.width());
    let y1 = (lifted.top + bh).min(ty + tile.height());
    let tw = tile.width();
    let mask = lifted.mask.as_deref().map(Mask::data);
    let pixels = tile.pixels_mut();
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y - lifted.top) * bw + (x - lifted.left)) as usize;
            if mask.is_none_or(|m| m[i] != 0) {
                pixels[((y - ty) * tw + (x - tx)) as usize] = PremultipliedColorU8::TRANSPARENT;
            }
        }
    }
}

impl Canvas {
    /// Lifts the pixels a selection covers: `None` when none of it is on the canvas.
    pub fn lift(&self, selection: &Selection) -> Option<Lifted> {
        let (l, t, r, b) = selection.pixel_box(self.width, self.height)?;
        let (w, h) = (r - l, b - t);
        let mask = selection.mask(l, t, w, h).ok()?;
        let mut pixels = Pixmap::new(w, h)?;
        let data = mask.as_ref().map(Mask::data);
        let out = pixels.pixels_mut();
        for id in self.tiles_in(l as f32, t as f32, (r - 1) as f32, (b - 1) as f32) {
            let Some(tile) = self.tile(id) else {
                continue;
            };
            let (tx, ty) = (u32::from(id.col) * TILE_SIZE, u32::from(id.row) * TILE_SIZE);
            let src = tile.pixels();
            for y in t.max(ty)..b.min(ty + tile.height()) {
                for x in l.max(tx)..r.min(tx + tile.width()) {
                    let i = ((y - t) * w + (x - l)) as usize;
                    if data.is_none_or(|m| m[i] != 0) {
                        out[i] = src[((y - ty) * tile.width() + (x - tx)) as usize];
                    }
                }
            }
        }
        let (ox, oy, _, _) = selection.unclipped_box();
        Some(Lifted {
            left: l,
            top: t,
            origin: (ox, oy),
            mask: mask.map(Arc::new),
            pixels: Arc::new(pixels),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::{Op, Rgba, Shape, ShapeKind};

    fn square(x: f32, y: f32, side: f32) -> Op {
        Op::Shape(Shape {
            kind: ShapeKind::Rect,
            x0: x,
            y0: y,
            x1: x + side,
            y1: y + side,
            color: Rgba {
                r: 200,
                g: 20,
                b: 20,
                a: 255,
            },
            width: 1.0,
            filled: true,
        })
    }

    fn moved(selection: Selection, dx: f32, dy: f32) -> Op {
        Op::Move(Move {
            selection,
            dx,
            dy,
            scale: 1.0,
            delete: false,
            lifted: None,
        })
    }

    #[test]
    fn a_rect_move_copies_pixels_exactly_and_leaves_transparency() {
        let mut c = Canvas::new(600, 300).expect("valid size");
        c.apply(&mut square(10.0, 10.0, 40.0));
        let before = c.snapshot().pixel(20, 20);
        let tiles = c.apply(&mut moved(
            Selection::Rect([0.0, 0.0, 60.0, 60.0]),
            300.0,
            5.0,
        ));
        let snap = c.snapshot();
        assert_eq!(snap.pixel(20, 20).map(|p| p.a), Some(0));
        assert_eq!(snap.pixel(320, 25), before);
        assert_eq!(snap.pixel(349, 54), before);
        assert_eq!(snap.pixel(351, 56).map(|p| p.a), Some(0));
        // Source (tile 0) and destination (tile 1) both change.
        assert_eq!(
            tiles,
            vec![TileId { row: 0, col: 0 }, TileId { row: 0, col: 1 }]
        );
    }

    #[test]
    fn a_lasso_moves_only_the_polygon() {
        let mut c = Canvas::new(300, 300).expect("valid size");
        c.apply(&mut square(0.0, 0.0, 100.0));
        // The triangle below the diagonal from (0,0) to (100,100).
        let lasso = Selection::Lasso(vec![0.0, 0.0, 100.0, 100.0, 0.0, 100.0]);
        c.apply(&mut moved(lasso, 150.0, 0.0));
        let snap = c.snapshot();
        assert_eq!(snap.pixel(10, 90).map(|p| p.a), Some(0));
        assert_eq!(snap.pixel(90, 10).map(|p| p.a), Some(255));
        assert_eq!(snap.pixel(160, 90).map(|p| p.a), Some(255));
        assert_eq!(snap.pixel(240, 10).map(|p| p.a), Some(0));
    }

    #[test]
    fn delete_erases_and_places_nothing() {
        let mut c = Canvas::new(300, 300).expect("valid size");
        c.apply(&mut square(0.0, 0.0, 100.0));
        let mut op = Op::Move(Move {
            selection: Selection::Rect([0.0, 0.0, 50.0, 100.0]),
            dx: 100.0,
            dy: 0.0,
            scale: 1.0,
            delete: true,
            lifted: None,
        });
        let tiles = c.apply(&mut op);
        assert_eq!(tiles, vec![TileId { row: 0, col: 0 }]);
        let snap = c.snapshot();
        assert_eq!(snap.pixel(10, 10).map(|p| p.a), Some(0));
        assert_eq!(snap.pixel(60, 10).map(|p| p.a), Some(255));
        assert_eq!(snap.pixel(110, 10).map(|p| p.a), Some(0));
    }

    #[test]
    fn scaling_is_about_the_selections_top_left_even_off_the_canvas() {
        let mut c = Canvas::new(300, 300).expect("valid size");
        c.apply(&mut square(0.0, 0.0, 20.0));
        // The selection starts at (-20, -20): the square's corner (0, 0) lands at (-20, -20) +
        // 2 * (20, 20) = (20, 20), and its far corner (20, 20) at (60, 60).
        c.apply(&mut Op::Move(Move {
            selection: Selection::Rect([-20.0, -20.0, 40.0, 40.0]),
            dx: 0.0,
            dy: 0.0,
            scale: 2.0,
            delete: false,
            lifted: None,
        }));
        let snap = c.snapshot();
        assert_eq!(snap.pixel(10, 10).map(|p| p.a), Some(0));
        assert_eq!(snap.pixel(18, 40).map(|p| p.a), Some(0));
        assert_eq!(snap.pixel(22, 22).map(|p| p.a), Some(255));
        assert_eq!(snap.pixel(58, 58).map(|p| p.a), Some(255));
        assert_eq!(snap.pixel(62, 40).map(|p| p.a), Some(0));
    }

    #[test]
    fn selections_off_the_canvas_lift_nothing() {
        let c = Canvas::new(100, 100).expect("valid size");
        assert!(c.lift(&Selection::Rect([200.0, 0.0, 10.0, 10.0])).is_none());
        assert!(c.lift(&Selection::Rect([10.0, 10.0, 0.2, 10.0])).is_none());
        assert_eq!(
            Selection::Rect([-5.0, 90.0, 20.0, 20.0]).pixel_box(100, 100),
            Some((0, 90, 15, 100))
        );
    }
}
