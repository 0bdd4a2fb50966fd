//! Canvas operations and how each one paints into a single tile.
//!
//! Every op renders tile by tile through [`Op::render_tile`], so the same code commits an op into
//! the canvas and replays it into just the affected tiles when an undo re-renders history.

use tiny_skia::{
    BlendMode, FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Rect, Transform,
};

use super::fill::Region;
use super::lift::Move;
use super::picture::Picture;
use super::restore::Restore;
use super::stroke::{stroke_geometry, Geometry};
use super::text::{self, Glyph, Text};
use super::{Rgba, TileId, TILE_SIZE};

/// A freehand drawing tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    /// A round, pressure-sensitive pen.
    Pen,
    /// A translucent marker: 35% of its color's opacity, constant width.
    Highlighter,
    /// Erases to transparent along the stroke, pressure-sensitive like the pen.
    Eraser,
}

/// Opacity factor of the highlighter.
pub const HIGHLIGHTER_ALPHA: f32 = 0.35;

/// A freehand stroke.
#[derive(Debug, Clone, PartialEq)]
pub struct Stroke {
    /// Tool used.
    pub tool: Tool,
    /// Color, straight alpha (ignored by the eraser).
    pub color: Rgba,
    /// Nominal width in pixels (the diameter at pressure 0.5).
    pub width: f32,
    /// Flat `[x, y, pressure, ...]` triples in canvas pixels.
    pub points: Vec<f32>,
}

/// A geometric shape kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    /// A straight line with round caps from (x0, y0) to (x1, y1).
    Line,
    /// An axis-aligned rectangle with corners (x0, y0) and (x1, y1).
    Rect,
    /// The ellipse inscribed in the rectangle with corners (x0, y0) and (x1, y1).
    Ellipse,
}

/// A shape, outlined or filled, committed as one op.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// Line, rectangle or ellipse.
    pub kind: ShapeKind,
    /// First corner (or line start).
    pub x0: f32,
    /// First corner (or line start).
    pub y0: f32,
    /// Second corner (or line end).
    pub x1: f32,
    /// Second corner (or line end).
    pub y1: f32,
    /// Color, straight alpha.
    pub color: Rgba,
    /// Outline width (ignored when filled; a line always uses it).
    pub width: f32,
    /// Filled instead of outlined (rectangles and ellipses).
    pub filled: bool,
}

/// A flood fill: the request, and once committed, the pixels it covered.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// Seed point.
    pub x: u32,
    /// Seed point.
    pub y: u32,
    /// Fill color, straight alpha.
    pub color: Rgba,
    /// Largest per-channel difference from the seed color that still fills (0-255).
    pub tolerance: u8,
    /// The covered pixels, computed when the fill is first committed; replays reuse it so an undo
    /// underneath never changes what a fill covered.
    pub region: Option<Region>,
}

/// One committed change to the canvas.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A freehand stroke.
    Stroke(Stroke),
    /// A line, rectangle or ellipse.
    Shape(Shape),
    /// A flood fill.
    Fill(Fill),
    /// Clears the whole canvas to transparent.
    Clear,
    /// Moves (or erases) the pixels of a selection.
    Move(Move),
    /// A block of text in the bundled font.
    Text(Text),
    /// An uploaded image scaled into a rectangle.
    Image(Picture),
    /// The canvas set back to how it was at an earlier seq.
    Restore(Restore),
}

impl Op {
    /// For ops that replace a tile's pixels instead of painting over them (a clear, a restore):
    /// what tile `id` becomes (`Some(None)`: transparent). `None` for every other op.
    pub fn replacement(&self, id: TileId) -> Option<Option<std::sync::Arc<Pixmap>>> {
        match self {
            Op::Clear => Some(None),
            Op::Restore(r) => r.target(id),
            _ => None,
        }
    }

    /// Paints the op into one tile (a pixmap covering tile `id`). Fills must have their region.
    /// To paint several tiles, use [`Op::painter`] once instead.
    pub fn render_tile(&self, id: TileId, tile: &mut Pixmap) {
        self.painter().render_tile(id, tile);
    }

    /// The op with its geometry computed once, ready to paint tile after tile.
    pub fn painter(&self) -> Painter<'_> {
        let geometry = match self {
            Op::Stroke(s) => Some(stroke_geometry(&tool_points(s), s.width)),
            Op::Shape(s) if s.kind == ShapeKind::Line => Some(stroke_geometry(
                &[s.x0, s.y0, 0.5, s.x1, s.y1, 0.5],
                s.width,
            )),
            _ => None,
        };
        let glyphs = match self {
            Op::Text(t) => text::layout(t),
            _ => Vec::new(),
        };
        Painter {
            op: self,
            geometry,
            glyphs,
        }
    }

    /// The area the op may paint, in canvas pixels (left, top, right, bottom), for vector ops.
    pub fn bounds(&self) -> Option<(f32, f32, f32, f32)> {
        match self {
            Op::Stroke(s) => stroke_geometry(&tool_points(s), s.width).bounds(),
            Op::Shape(s) => {
                let pad = if s.filled && s.kind != ShapeKind::Line {
                    0.0
                } else {
                    // A miter corner reaches out by width / sqrt(2) beyond the half width.
                    s.width
                };
                Some((
                    s.x0.min(s.x1) - pad,
                    s.y0.min(s.y1) - pad,
                    s.x0.max(s.x1) + pad,
                    s.y0.max(s.y1) + pad,
                ))
            }
            Op::Text(t) => text::bounds(&text::layout(t)),
            Op::Image(p) => p
                .area()
                .map(|(l, t, r, b)| (l as f32, t as f32, r as f32, b as f32)),
            Op::Fill(_) | Op::Clear | Op::Move(_) | Op::Restore(_) => None,
        }
    }
}

/// An op with its stroke geometry computed, painting one tile at a time from just the contours
/// that reach that tile.
pub struct Painter<'a> {
    op: &'a Op,
    geometry: Option<Geometry>,
    /// A text op's glyphs, laid out once.
    glyphs: Vec<Glyph>,
}

impl Painter<'_> {
    /// The op being painted.
    pub fn op(&self) -> &Op {
        self.op
    }

    /// The area it may paint (left, top, right, bottom), for strokes, shapes and text.
    pub fn bounds(&self) -> Option<(f32, f32, f32, f32)> {
        match (&self.geometry, self.op) {
            (Some(g), _) => g.bounds(),
            (None, Op::Text(_)) => text::bounds(&self.glyphs),
            (None, _) => self.op.bounds(),
        }
    }

    /// A text op's glyphs (empty for other ops).
    pub fn glyphs(&self) -> &[Glyph] {
        &self.glyphs
    }

    /// Paints the op into the pixmap of tile `id`.
    pub fn render_tile(&self, id: TileId, tile: &mut Pixmap) {
        let (x0, y0) = (
            (u32::from(id.col) * TILE_SIZE) as f32,
            (u32::from(id.row) * TILE_SIZE) as f32,
        );
        let to_tile = Transform::from_translate(-x0, -y0);
        let local = |g: &Geometry| {
            g.path_within(x0, y0, x0 + tile.width() as f32, y0 + tile.height() as f32)
        };
        match (self.op, &self.geometry) {
            (Op::Stroke(s), Some(g)) => {
                if let Some(path) = local(g) {
                    fill_stroke(s, &path, tile, to_tile);
                }
            }
            (Op::Shape(s), Some(g)) => {
                if let Some(path) = local(g) {
                    let paint = solid(s.color);
                    tile.fill_path(&path, &paint, FillRule::Winding, to_tile, None);
                }
            }
            (Op::Shape(s), None) => render_shape(s, tile, to_tile),
            (Op::Fill(f), _) => {
                if let Some(region) = &f.region {
                    region.paint_tile(id, f.color, tile);
                }
            }
            (Op::Clear, _) => tile.fill(tiny_skia::Color::TRANSPARENT),
            (Op::Restore(r), _) => match r.target(id) {
                Some(Some(target)) if target.data().len() == tile.data().len() => {
                    tile.data_mut().copy_from_slice(target.data());
                }
                Some(_) => tile.fill(tiny_skia::Color::TRANSPARENT),
                None => {}
            },
            (Op::Move(m), _) => m.render_tile(id, tile),
            (Op::Text(t), _) => {
                let area = Rect::from_xywh(x0, y0, tile.width() as f32, tile.height() as f32);
                let paint = solid(t.color);
                for g in &self.glyphs {
                    if area.is_some_and(|a| a.intersect(&g.bounds).is_some()) {
                        tile.fill_path(&g.path, &paint, FillRule::Winding, to_tile, None);
                    }
                }
            }
            (Op::Image(p), _) => p.render_tile(x0 as u32, y0 as u32, tile),
            (Op::Stroke(_), None) => {}
        }
    }
}

fn solid(color: Rgba) -> Paint<'static> {
    let mut paint = Paint {
        anti_alias: true,
        ..Paint::default()
    };
    paint.set_color(color.to_skia());
    paint
}

/// Points with the pressure the tool uses: the highlighter ignores pressure.
fn tool_points(s: &Stroke) -> std::borrow::Cow<'_, [f32]> {
    if s.tool == Tool::Highlighter {
        let mut pts = s.points.clone();
        for p in pts.chunks_exact_mut(3) {
            p[2] = 0.5;
        }
        std::borrow::Cow::Owned(pts)
    } else {
        std::borrow::Cow::Borrowed(&s.points)
    }
}

fn fill_stroke(s: &Stroke, path: &tiny_skia::Path, tile: &mut Pixmap, to_tile: Transform) {
    let mut paint = Paint {
        anti_alias: true,
        ..Paint::default()
    };
    match s.tool {
        Tool::Pen => paint.set_color(s.color.to_skia()),
        Tool::Highlighter => {
            let a = (f32::from(s.color.a) * HIGHLIGHTER_ALPHA).round() as u8;
            paint.set_color(Rgba { a, ..s.color }.to_skia());
        }
        Tool::Eraser => {
            paint.set_color(tiny_skia::Color::BLACK);
            paint.blend_mode = BlendMode::DestinationOut;
        }
    }
    tile.fill_path(path, &paint, FillRule::Winding, to_tile, None);
}

fn render_shape(s: &Shape, tile: &mut Pixmap, to_tile: Transform) {
    let paint = solid(s.color);
    let Some(rect) = Rect::from_ltrb(
        s.x0.min(s.x1),
        s.y0.min(s.y1),
        s.x0.max(s.x1),
        s.y0.max(s.y1),
    ) else {
        return;
    };
    let mut pb = PathBuilder::new();
    match s.kind {
        ShapeKind::Rect => pb.push_rect(rect),
        _ => pb.push_oval(rect),
    }
    let Some(path) = pb.finish() else {
        return;
    };
    if s.filled {
        tile.fill_path(&path, &paint, FillRule::Winding, to_tile, None);
    } else {
        let stroke = tiny_skia::Stroke {
            width: s.width,
            line_cap: LineCap::Butt,
            line_join: LineJoin::Miter,
            ..tiny_skia::Stroke::default()
        };
        tile.stroke_path(&path, &paint, &stroke, to_tile, None);
    }
}
