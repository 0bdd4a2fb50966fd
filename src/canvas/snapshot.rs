//! Immutable views of the canvas and their encoding to PNG, for joins and exports.
//!
//! Encoding is CPU work: callers run it on a blocking pool, never on the room's loop.

use std::sync::Arc;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use tiny_skia::{Pixmap, PixmapPaint, Transform};

use super::{Rgba, TileId, TILE_SIZE};

/// The non-empty tiles of a canvas at one moment, sharing pixels with the canvas.
#[derive(Debug, Clone)]
pub struct Snapshot {
    width: u32,
    height: u32,
    tiles: Vec<(TileId, Arc<Pixmap>)>,
}

impl Snapshot {
    pub(super) fn new(width: u32, height: u32, tiles: Vec<(TileId, Arc<Pixmap>)>) -> Snapshot {
        Snapshot {
            width,
            height,
            tiles,
        }
    }

    /// The non-empty tiles.
    pub fn tiles(&self) -> &[(TileId, Arc<Pixmap>)] {
        &self.tiles
    }

    /// Canvas width.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Canvas height.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// One pixel with straight alpha, or `None` outside the canvas.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgba> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let id = TileId {
            col: (x / TILE_SIZE) as u16,
            row: (y / TILE_SIZE) as u16,
        };
        let Some((_, tile)) = self.tiles.iter().find(|(t, _)| *t == id) else {
            return Some(Rgba {
                r: 0,
                g: 0,
                b: 0,
                a: 0,
            });
        };
        let p = tile.pixel(x % TILE_SIZE, y % TILE_SIZE)?.demultiply();
        Some(Rgba {
            r: p.red(),
            g: p.green(),
            b: p.blue(),
            a: p.alpha(),
        })
    }

    /// The whole canvas as PNG at full size, composited over an opaque background.
    pub fn to_png(&self, background: Rgba) -> Vec<u8> {
        self.export_png(Some(background), 1.0)
            .expect("a full-size export of a valid canvas fits")
    }

    /// Size of an export at `scale` (each side at least 1 pixel).
    pub fn export_size(&self, scale: f32) -> (u32, u32) {
        let side = |v: u32| ((v as f32 * scale).round() as u32).max(1);
        (side(self.width), side(self.height))
    }

    /// The canvas as PNG, scaled by `scale`, over `background` (or transparent when `None`).
    /// `None` when the scaled image cannot be allocated.
    pub fn export_png(&self, background: Option<Rgba>, scale: f32) -> Option<Vec<u8>> {
        self.render(background, scale)
            .map(|full| encode_tile(&full))
    }

    /// The canvas as one premultiplied pixmap, scaled by `scale`, over `background` (or
    /// transparent when `None`). `None` when it cannot be allocated.
    pub fn render(&self, background: Option<Rgba>, scale: f32) -> Option<Pixmap> {
        let (w, h) = self.export_size(scale);
        let mut full = Pixmap::new(w, h)?;
        if let Some(bg) = background {
            full.fill(tiny_skia::Color::from_rgba8(bg.r, bg.g, bg.b, 255));
        }
        let exact = (w, h) == (self.width, self.height);
        let paint = PixmapPaint {
            quality: if exact {
                tiny_skia::FilterQuality::Nearest
            } else {
                tiny_skia::FilterQuality::Bilinear
            },
            ..PixmapPaint::default()
        };
        let (sx, sy) = (w as f32 / self.width as f32, h as f32 / self.height as f32);
        for (id, tile) in &self.tiles {
            let (x, y) = (
                (u32::from(id.col) * TILE_SIZE) as f32,
                (u32::from(id.row) * TILE_SIZE) as f32,
            );
            let transform = if exact {
                Transform::from_translate(x, y)
            } else {
                Transform::from_row(sx, 0.0, 0.0, sy, x * sx, y * sy)
            };
            full.draw_pixmap(0, 0, Pixmap::as_ref(tile), &paint, transform, None);
        }
        Some(full)
    }
}

/// Encodes a premultiplied pixmap (a tile, or a whole export) as a straight-alpha RGBA PNG with
/// fast compression.
pub fn encode_tile(pixmap: &Pixmap) -> Vec<u8> {
    let rgba = pixmap.clone().take_demultiplied();
    encode_png(&rgba, pixmap.width(), pixmap.height())
}

/// Encodes straight-alpha RGBA bytes as PNG with the fast (fdeflate) setting.
pub fn encode_png(rgba: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(rgba, width, height, ExtendedColorType::Rgba8)
        .expect("writing a correctly sized image into memory cannot fail");
    out
}
