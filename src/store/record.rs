//! How ops are written to the store: the request, not its pixels (a fill's region is recomputed
//! on replay, which gives the same pixels because replay repeats the same history).

use serde::{Deserialize, Serialize};

use crate::canvas::{
    Fill, Move, Op, Placement, Rgba, Selection, Shape, ShapeKind, Stroke, Text, Tool,
};

/// The client op id in a stored op's JSON, if it has one.
pub(crate) fn client_op_of(data: &str) -> Option<String> {
    serde_json::from_str::<Record>(data)
        .ok()?
        .client_op()
        .map(str::to_owned)
}

/// One entry of a room's op log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Record {
    /// A stroke.
    Stroke {
        /// The client's id for the op, to answer a stroke sent again after a reconnect (or a
        /// failover) with its commit rather than draw it twice. Absent in older rows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op: Option<String>,
        /// Tool.
        tool: Tool,
        /// Color `#rrggbb[aa]`.
        color: String,
        /// Width.
        width: f32,
        /// Flat points.
        points: Vec<f32>,
    },
    /// A shape.
    Shape {
        /// Kind.
        shape: ShapeKind,
        /// Corners.
        x0: f32,
        /// Corners.
        y0: f32,
        /// Corners.
        x1: f32,
        /// Corners.
        y1: f32,
        /// Color.
        color: String,
        /// Outline width.
        width: f32,
        /// Filled.
        filled: bool,
    },
    /// A flood fill request.
    Fill {
        /// Seed.
        x: u32,
        /// Seed.
        y: u32,
        /// Color.
        color: String,
        /// Tolerance.
        tolerance: u8,
    },
    /// A block of text.
    Text {
        /// Left edge of the lines.
        x: f32,
        /// Top of the first line.
        y: f32,
        /// The characters.
        text: String,
        /// Pixels per em.
        size: f32,
        /// Color.
        color: String,
    },
    /// A clear.
    Clear,
    /// A move (or delete) of a selection: the request; the pixels are lifted again on replay.
    Move {
        /// `[x, y, w, h]` for a rectangle selection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rect: Option<[f32; 4]>,
        /// `[x0, y0, ...]` for a lasso selection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lasso: Option<Vec<f32>>,
        /// Offset.
        dx: f32,
        /// Offset.
        dy: f32,
        /// Scale about the selection's top-left.
        scale: f32,
        /// Erased only, nothing placed.
        #[serde(default)]
        delete: bool,
    },
    /// An uploaded image scaled into a rectangle (the image's bytes are in the room's images;
    /// replay scales them again, which gives the same pixels).
    Image {
        /// The upload's id.
        image: String,
        /// Left edge.
        x: i32,
        /// Top edge.
        y: i32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The author undid their latest op.
    Undo,
    /// The author redid their latest undone op.
    Redo,
    /// The canvas set back to how it was at seq `seq`, as one op (its pixels are stored with
    /// the op: the tiles it changed, see `history.rs`).
    Restore {
        /// The seq whose canvas it brought back.
        seq: u64,
    },
    /// The author (the room's owner) reverted another author's ops: every one of them not
    /// undone from seq `from` on (see `Document::revert_from`).
    Revert {
        /// The reverted author's key.
        author: String,
        /// Seq of the oldest op taken back.
        from: u64,
    },
}

impl Record {
    /// The client's id of the op, if it sent one.
    pub fn client_op(&self) -> Option<&str> {
        match self {
            Record::Stroke { op, .. } => op.as_deref(),
            _ => None,
        }
    }

    /// Sets the client's id of a stroke (other ops keep none).
    pub fn with_client_op(mut self, id: Option<String>) -> Record {
        if let Record::Stroke { op, .. } = &mut self {
            *op = id;
        }
        self
    }

    /// The record of a committed op.
    pub fn of(op: &Op) -> Record {
        match op {
            Op::Stroke(s) => Record::Stroke {
                op: None,
                tool: s.tool,
                color: s.color.to_hex(),
                width: s.width,
                points: s.points.clone(),
            },
            Op::Shape(s) => Record::Shape {
                shape: s.kind,
                x0: s.x0,
                y0: s.y0,
                x1: s.x1,
                y1: s.y1,
                color: s.color.to_hex(),
                width: s.width,
                filled: s.filled,
            },
            Op::Fill(f) => Record::Fill {
                x: f.x,
                y: f.y,
                color: f.color.to_hex(),
                tolerance: f.tolerance,
            },
            Op::Text(t) => Record::Text {
                x: t.x,
                y: t.y,
                text: t.text.clone(),
                size: t.size,
                color: t.color.to_hex(),
            },
            Op::Clear => Record::Clear,
            Op::Move(m) => {
                let (rect, lasso) = match &m.selection {
                    Selection::Rect(r) => (Some(*r), None),
                    Selection::Lasso(p) => (None, Some(p.clone())),
                };
                Record::Move {
                    rect,
                    lasso,
                    dx: m.dx,
                    dy: m.dy,
                    scale: m.scale,
                    delete: m.delete,
                }
            }
            Op::Restore(r) => Record::Restore { seq: r.seq },
            Op::Image(p) => Record::Image {
                image: p.image.clone(),
                x: p.at.x,
                y: p.at.y,
                width: p.at.width,
                height: p.at.height,
            },
        }
    }

    /// For an image: which upload, and where it goes (replay decodes and scales it, see
    /// [`Picture::new`](crate::canvas::Picture::new)).
    pub fn image(&self) -> Option<(&str, Placement)> {
        match self {
            Record::Image {
                image,
                x,
                y,
                width,
                height,
            } => Some((
                image,
                Placement {
                    x: *x,
                    y: *y,
                    width: *width,
                    height: *height,
                },
            )),
            _ => None,
        }
    }

    /// The op to replay, or `None` for undo, redo and revert, unreadable colors, images (whose
    /// pixels come from [`Record::image`] and the stored upload) and restores (whose pixels are
    /// stored with the op).
    pub fn to_op(&self) -> Option<Op> {
        let color = |c: &str| -> Option<Rgba> { Rgba::from_hex(c) };
        Some(match self {
            Record::Stroke {
                tool,
                color: c,
                width,
                points,
                ..
            } => Op::Stroke(Stroke {
                tool: *tool,
                color: color(c)?,
                width: *width,
                points: points.clone(),
            }),
            Record::Shape {
                shape,
                x0,
                y0,
                x1,
                y1,
                color: c,
                width,
                filled,
            } => Op::Shape(Shape {
                kind: *shape,
                x0: *x0,
                y0: *y0,
                x1: *x1,
                y1: *y1,
                color: color(c)?,
                width: *width,
                filled: *filled,
            }),
            Record::Fill {
                x,
                y,
                color: c,
                tolerance,
            } => Op::Fill(Fill {
                x: *x,
                y: *y,
                color: color(c)?,
                tolerance: *tolerance,
                region: None,
            }),
            Record::Text {
                x,
                y,
                text,
                size,
                color: c,
            } => Op::Text(Text {
                x: *x,
                y: *y,
                text: text.clone(),
                size: *size,
                color: color(c)?,
            }),
            Record::Clear => Op::Clear,
            Record::Move {
                rect,
                lasso,
                dx,
                dy,
                scale,
                delete,
            } => Op::Move(Move {
                selection: match (rect, lasso) {
                    (Some(r), None) => Selection::Rect(*r),
                    (None, Some(p)) => Selection::Lasso(p.clone()),
                    _ => return None,
                },
                dx: *dx,
                dy: *dy,
                scale: *scale,
                delete: *delete,
                lifted: None,
            }),
            Record::Undo
            | Record::Redo
            | Record::Revert { .. }
            | Record::Image { .. }
            | Record::Restore { .. } => return None,
        })
    }
}
