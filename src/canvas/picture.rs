//! Images on the canvas: where one is placed ([`Placement`]) and its pixels scaled into that
//! place ([`Picture`]), computed once when the op is made (off the room's loop) so that commits,
//! replays and undos only copy pixels.

use std::sync::Arc;

use image::imageops::{self, FilterType};
use image::RgbaImage;
use tiny_skia::{ColorU8, IntSize, Pixmap, PixmapPaint, Transform};

/// Where an image goes: a rectangle in whole canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width, at least 1.
    pub width: u32,
    /// Height, at least 1.
    pub height: u32,
}

impl Placement {
    /// The rectangle rounded to whole pixels; `None` unless every value is finite and the
    /// rounded sides are between 1 and 2^20.
    pub fn from_rect(x: f32, y: f32, width: f32, height: f32) -> Option<Placement> {
        let ok = |v: f32| v.is_finite() && v.abs() < (1 << 24) as f32;
        if !(ok(x) && ok(y) && ok(width) && ok(height)) {
            return None;
        }
        let (w, h) = (width.round(), height.round());
        let side = 1.0..=(1u32 << 20) as f32;
        if !(side.contains(&w) && side.contains(&h)) {
            return None;
        }
        Some(Placement {
            x: x.round() as i32,
            y: y.round() as i32,
            width: w as u32,
            height: h as u32,
        })
    }

    /// Pixels the rectangle covers.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The part inside a `canvas_width` x `canvas_height` canvas: (left, top, width, height),
    /// or `None` when it misses the canvas.
    pub fn visible(&self, canvas_width: u32, canvas_height: u32) -> Option<(u32, u32, u32, u32)> {
        let (x0, y0) = (i64::from(self.x), i64::from(self.y));
        let left = x0.max(0);
        let top = y0.max(0);
        let right = (x0 + i64::from(self.width)).min(i64::from(canvas_width));
        let bottom = (y0 + i64::from(self.height)).min(i64::from(canvas_height));
        (left < right && top < bottom).then(|| {
            (
                left as u32,
                top as u32,
                (right - left) as u32,
                (bottom - top) as u32,
            )
        })
    }
}

/// The visible part of a placed image, premultiplied, and where its top-left corner lands.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// Left edge in canvas pixels.
    pub left: u32,
    /// Top edge in canvas pixels.
    pub top: u32,
    /// The pixels (shared by the op in history and its replays).
    pub pixmap: Arc<Pixmap>,
}

/// An uploaded image drawn scaled into a rectangle: one op.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// The upload's id in the room's store.
    pub image: String,
    /// Where it goes.
    pub at: Placement,
    /// Its pixels inside the canvas; `None` when the placement misses the canvas.
    pub placed: Option<Placed>,
}

impl Picture {
    /// Scales `source` (straight alpha) into `at` and keeps the part inside the canvas. Scaling
    /// filters premultiplied pixels (so transparent edges do not darken) with a triangle filter,
    /// which averages over the source when shrinking. Deterministic: the same image and
    /// placement always give the same pixels.
    pub fn new(
        image: String,
        source: &RgbaImage,
        at: Placement,
        canvas_width: u32,
        canvas_height: u32,
    ) -> Picture {
        let placed = at
            .visible(canvas_width, canvas_height)
            .and_then(|(left, top, w, h)| {
                let mut premul = source.clone();
                for p in premul.pixels_mut() {
                    let c = ColorU8::from_rgba(p[0], p[1], p[2], p[3]).premultiply();
                    p.0 = [c.red(), c.green(), c.blue(), c.alpha()];
                }
                let scaled = if premul.dimensions() == (at.width, at.height) {
                    premul
                } else {
                    imageops::resize(&premul, at.width, at.height, FilterType::Triangle)
                };
                let (cx, cy) = (
                    (i64::from(left) - i64::from(at.x)) as u32,
                    (i64::from(top) - i64::from(at.y)) as u32,
                );
                let mut part = imageops::crop_imm(&scaled, cx, cy, w, h).to_image();
                for p in part.pixels_mut() {
                    // Filtering can round a color a step above its alpha.
                    let a = p[3];
                    p.0 = [p[0].min(a), p[1].min(a), p[2].min(a), a];
                }
                let size = IntSize::from_wh(w, h)?;
                let pixmap = Pixmap::from_vec(part.into_raw(), size)?;
                Some(Placed {
                    left,
                    top,
                    pixmap: Arc::new(pixmap),
                })
            });
        Picture { image, at, placed }
    }

    /// The canvas rectangle it paints (left, top, right, bottom), exclusive on the right and
    /// bottom.
    pub fn area(&self) -> Option<(u32, u32, u32, u32)> {
        self.placed.as_ref().map(|p| {
            (
                p.left,
                p.top,
                p.left + p.pixmap.width(),
                p.top + p.pixmap.height(),
            )
        })
    }

    /// Paints the picture over a tile whose top-left is at canvas pixel (`x0`, `y0`).
    pub fn render_tile(&self, x0: u32, y0: u32, tile: &mut Pixmap) {
        if let Some(p) = &self.placed {
            let dx = i64::from(p.left) - i64::from(x0);
            let dy = i64::from(p.top) - i64::from(y0);
            tile.draw_pixmap(
                dx as i32,
                dy as i32,
                Pixmap::as_ref(&p.pixmap),
                &PixmapPaint::default(),
                Transform::identity(),
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_round_and_refuse_nonsense() {
        assert_eq!(
            Placement::from_rect(10.4, 19.6, 399.5, 300.2),
            Some(Placement {
                x: 10,
                y: 20,
                width: 400,
                height: 300
            })
        );
        assert_eq!(Placement::from_rect(f32::NAN, 0.0, 10.0, 10.0), None);
        assert_eq!(Placement::from_rect(0.0, 0.0, 0.2, 10.0), None);
        assert_eq!(Placement::from_rect(0.0, 0.0, -5.0, 10.0), None);
        assert_eq!(Placement::from_rect(0.0, 0.0, f32::INFINITY, 10.0), None);
    }

    #[test]
    fn only_the_visible_part_is_kept() {
        let src = RgbaImage::from_pixel(4, 4, image::Rgba([255, 0, 0, 255]));
        let at = Placement::from_rect(-10.0, 90.0, 40.0, 20.0).expect("valid");
        let p = Picture::new("a".into(), &src, at, 100, 100);
        assert_eq!(p.area(), Some((0, 90, 30, 100)));
        let off = Placement::from_rect(200.0, 0.0, 10.0, 10.0).expect("valid");
        assert_eq!(Picture::new("a".into(), &src, off, 100, 100).area(), None);
    }
}
