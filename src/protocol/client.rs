//! Messages a client sends, as they arrive on the wire (before validation).

use serde::{Deserialize, Serialize};

use super::error::{ErrorCode, ProtoError};
use super::server::MemberId;
use crate::canvas::{ShapeKind, Tool};

/// A stroke id chosen by the client; unique among that member's open strokes.
pub type StrokeId = u32;

/// A message from a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// First message on every connection: who I am and, for editors, the edit key.
    Hello {
        /// Display name shown to others; trimmed and shortened by the server.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The room's edit key; absent for viewers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// A stable, client-chosen id for the person (kept in the browser), so undo history
        /// follows them across reconnects. 1-64 characters of `A-Za-z0-9_-`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        /// When reconnecting: the seq the client's canvas is complete at. The server then sends
        /// only the tiles changed since, or everything when it cannot tell.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
        /// The client reads [`batch`](crate::protocol::ServerMsg::Batch) frames: the server
        /// then sends everything new in one tick as one frame. Default false (one message per
        /// frame).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        batch: bool,
    },
    /// Starts a stroke, optionally with its first points.
    StrokeBegin {
        /// Client-chosen id for this stroke.
        stroke: StrokeId,
        /// Drawing tool.
        tool: Tool,
        /// Color as `#rrggbb` or `#rrggbbaa` (ignored by the eraser; default black).
        #[serde(default = "black")]
        color: String,
        /// Nominal width in canvas pixels (the width at pressure 0.5).
        width: f32,
        /// Flat `[x, y, pressure, ...]` triples.
        #[serde(default)]
        points: Vec<f32>,
        /// The client's own id for the op, the same when the stroke is sent again after a
        /// reconnect: a stroke whose `op` the room already committed is answered with that
        /// commit rather than drawn twice. 1 to 64 characters of `A-Za-z0-9_-`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op: Option<String>,
    },
    /// More points of an open stroke.
    StrokePoints {
        /// The stroke the points belong to.
        stroke: StrokeId,
        /// Flat `[x, y, pressure, ...]` triples.
        points: Vec<f32>,
    },
    /// Ends an open stroke; the room commits it.
    StrokeEnd {
        /// The stroke to end.
        stroke: StrokeId,
    },
    /// The sender's pointer position in canvas pixels.
    Cursor {
        /// Horizontal position.
        x: f32,
        /// Vertical position.
        y: f32,
    },
    /// The canvas rectangle the sender sees (for follow mode), in canvas pixels.
    View {
        /// Left edge.
        x: f32,
        /// Top edge.
        y: f32,
        /// Width of the visible area.
        width: f32,
        /// Height of the visible area.
        height: f32,
    },
    /// A line, rectangle or ellipse, committed as one op.
    Shape {
        /// Optional client id, echoed in the commit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        /// `line`, `rect` or `ellipse`.
        shape: ShapeKind,
        /// First corner or line start.
        x0: f32,
        /// First corner or line start.
        y0: f32,
        /// Second corner or line end.
        x1: f32,
        /// Second corner or line end.
        y1: f32,
        /// Color as `#rrggbb` or `#rrggbbaa`.
        color: String,
        /// Outline width (lines always use it).
        #[serde(default = "default_shape_width")]
        width: f32,
        /// Filled instead of outlined (rect and ellipse).
        #[serde(default)]
        fill: bool,
    },
    /// The line, rectangle or ellipse the sender is dragging, shown live to others and never
    /// stored; or, with `cancel`, the end of a drag that will not be committed. A drag that is
    /// committed ends with the sender's `shape`.
    ShapePreview {
        /// The sender's id for this shape (the `id` its `shape` will carry).
        id: u32,
        /// `line`, `rect` or `ellipse`; required unless `cancel`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shape: Option<ShapeKind>,
        /// First corner or line start; required unless `cancel`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        x0: Option<f32>,
        /// First corner or line start; required unless `cancel`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        y0: Option<f32>,
        /// Second corner or line end; required unless `cancel`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        x1: Option<f32>,
        /// Second corner or line end; required unless `cancel`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        y1: Option<f32>,
        /// Color as `#rrggbb` or `#rrggbbaa`; required unless `cancel`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<String>,
        /// Outline width (default 4, as for `shape`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<f32>,
        /// Filled instead of outlined (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fill: Option<bool>,
        /// The drag ended without a shape: others drop the preview.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        cancel: bool,
    },
    /// A flood fill from a pixel.
    Fill {
        /// Optional client id, echoed in the commit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        /// Seed pixel, inside the canvas.
        x: f32,
        /// Seed pixel, inside the canvas.
        y: f32,
        /// Fill color as `#rrggbb` or `#rrggbbaa`.
        color: String,
        /// Largest per-channel difference from the seed color that still fills, 0-255.
        #[serde(default)]
        tolerance: u8,
    },
    /// A block of text in the bundled font, committed as one op.
    Text {
        /// Optional client id, echoed in the commit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        /// Left edge of every line, in canvas pixels.
        x: f32,
        /// Top of the first line, in canvas pixels.
        y: f32,
        /// The characters, `\n` between lines; 1 to `max_text_chars` characters.
        text: String,
        /// Font size in canvas pixels per em, `min_text_size` to `max_text_size`.
        size: f32,
        /// Color as `#rrggbb` or `#rrggbbaa`.
        color: String,
    },
    /// Clears the whole canvas (undoable).
    Clear {
        /// Optional client id, echoed in the commit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
    },
    /// Changes the sender's display name (anyone, viewers too).
    Rename {
        /// The new name; trimmed and shortened like the name in `hello`.
        name: String,
    },
    /// Asks for a page of the room's members (viewers included), in member id order, starting
    /// after member `after` (from the start when absent). Anyone may ask.
    ListMembers {
        /// The last member id of the previous page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<MemberId>,
    },
    /// Draws an uploaded image (see `POST /api/rooms/{id}/images`) scaled into a rectangle,
    /// committed as one op. The rectangle is rounded to whole pixels.
    Image {
        /// Optional client id, echoed in the commit (or in the `error` if it fails).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        /// The upload's id, as `POST /api/rooms/{id}/images` answered it.
        image: String,
        /// Left edge in canvas pixels.
        x: f32,
        /// Top edge in canvas pixels.
        y: f32,
        /// Width to scale to, in canvas pixels.
        width: f32,
        /// Height to scale to, in canvas pixels.
        height: f32,
    },
    /// Undoes the sender's latest op.
    Undo,
    /// Redoes the sender's latest undone op.
    Redo,
    /// The owner locks or unlocks the room: while locked nobody may draw (`locked`).
    Lock {
        /// Lock (true) or unlock (false).
        locked: bool,
    },
    /// The owner removes a member: its connection closes with 4003.
    Kick {
        /// The member to remove.
        member: MemberId,
    },
    /// Moves the pixels of a rectangle or lasso by (dx, dy), optionally scaled about the
    /// selection's top-left; or, with `delete`, erases them. Committed as op `move`.
    Move {
        /// Optional client id, echoed in the commit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        /// The selected rectangle `[x, y, w, h]` in canvas pixels (or give `lasso`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rect: Option<[f32; 4]>,
        /// The selected polygon `[x0, y0, x1, y1, ...]` in canvas pixels (or give `rect`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lasso: Option<Vec<f32>>,
        /// Horizontal offset of the destination.
        dx: f32,
        /// Vertical offset of the destination.
        dy: f32,
        /// Scale about the selection's top-left, 0.1 to 10 (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scale: Option<f32>,
        /// Erase the selection and place nothing (the Delete key).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        delete: bool,
    },
    /// The owner takes back every op of a member still in the history window, as one op the
    /// owner can undo.
    Revert {
        /// The member whose ops go.
        member: MemberId,
    },
    /// Sets the canvas to its state at an earlier seq, as one op (`restore`) the sender can
    /// undo. Only the owner, on a board that has one; any editor on an older board without.
    Restore {
        /// Optional client id, echoed in the commit (or in the `error` if it fails).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        /// The seq whose canvas comes back (0 is the blank board).
        seq: u64,
    },
}

fn black() -> String {
    "#000000".to_owned()
}

fn default_shape_width() -> f32 {
    4.0
}

impl ClientMsg {
    /// Whether the message changes the canvas (and so needs an editor).
    pub fn is_drawing(&self) -> bool {
        !matches!(
            self,
            ClientMsg::Hello { .. }
                | ClientMsg::Cursor { .. }
                | ClientMsg::View { .. }
                | ClientMsg::Rename { .. }
                | ClientMsg::ListMembers { .. }
                | ClientMsg::Lock { .. }
                | ClientMsg::Kick { .. }
                | ClientMsg::Revert { .. }
        )
    }

    /// Whether the message is one only the room's owner may send.
    pub fn is_moderation(&self) -> bool {
        matches!(
            self,
            ClientMsg::Lock { .. } | ClientMsg::Kick { .. } | ClientMsg::Revert { .. }
        )
    }
}

impl ClientMsg {
    /// Every message type as it appears in `type` on the wire, in [`ClientMsg::type_index`]
    /// order.
    pub const TYPES: [&'static str; 21] = [
        "hello",
        "stroke_begin",
        "stroke_points",
        "stroke_end",
        "cursor",
        "view",
        "shape",
        "fill",
        "clear",
        "rename",
        "list_members",
        "undo",
        "redo",
        "shape_preview",
        "lock",
        "kick",
        "move",
        "text",
        "image",
        "revert",
        "restore",
    ];

    /// The position of this message's type in [`ClientMsg::TYPES`].
    pub fn type_index(&self) -> usize {
        match self {
            ClientMsg::Hello { .. } => 0,
            ClientMsg::StrokeBegin { .. } => 1,
            ClientMsg::StrokePoints { .. } => 2,
            ClientMsg::StrokeEnd { .. } => 3,
            ClientMsg::Cursor { .. } => 4,
            ClientMsg::View { .. } => 5,
            ClientMsg::Shape { .. } => 6,
            ClientMsg::Fill { .. } => 7,
            ClientMsg::Clear { .. } => 8,
            ClientMsg::Rename { .. } => 9,
            ClientMsg::ListMembers { .. } => 10,
            ClientMsg::Undo => 11,
            ClientMsg::Redo => 12,
            ClientMsg::ShapePreview { .. } => 13,
            ClientMsg::Lock { .. } => 14,
            ClientMsg::Kick { .. } => 15,
            ClientMsg::Move { .. } => 16,
            ClientMsg::Text { .. } => 17,
            ClientMsg::Image { .. } => 18,
            ClientMsg::Revert { .. } => 19,
            ClientMsg::Restore { .. } => 20,
        }
    }

    /// The message's `type` on the wire.
    pub fn type_name(&self) -> &'static str {
        Self::TYPES[self.type_index()]
    }

    /// Whether the message commits an op (and so counts against the op rate).
    pub fn is_op(&self) -> bool {
        matches!(
            self,
            ClientMsg::StrokeEnd { .. }
                | ClientMsg::Shape { .. }
                | ClientMsg::Fill { .. }
                | ClientMsg::Text { .. }
                | ClientMsg::Clear { .. }
                | ClientMsg::Move { .. }
                | ClientMsg::Image { .. }
                | ClientMsg::Undo
                | ClientMsg::Redo
                | ClientMsg::Revert { .. }
                | ClientMsg::Restore { .. }
        )
    }
}

/// Parses a client message; a failure is a `bad_message` error naming what was wrong.
pub fn decode_client(text: &str) -> Result<ClientMsg, ProtoError> {
    serde_json::from_str(text).map_err(|e| ProtoError::new(ErrorCode::BadMessage, e.to_string()))
}
