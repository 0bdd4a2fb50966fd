//! Validated input: what a client message becomes once every value in it has been checked and
//! parsed. The room takes these and never parses or checks a value again.

use super::client::StrokeId;
use super::server::MemberId;
use crate::canvas::{Fill, Move, Placement, Rgba, Shape, ShapeKind, Text, Tool};

/// A checked `hello`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    /// Display name, cleaned (trimmed, no control characters, shortened, "Guest" when empty).
    pub name: String,
    /// The edit key as sent; the session compares it with the room's.
    pub key: Option<String>,
    /// Stable person id (1-64 of `A-Za-z0-9_-`), which keys undo history.
    pub user: Option<String>,
    /// The seq the client's canvas is complete at, when resuming.
    pub since: Option<u64>,
    /// The client reads `batch` frames.
    pub batch: bool,
}

/// A checked shape preview: the values of a `shape`, with the color as the client sent it (it is
/// relayed verbatim, never drawn by the server).
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewShape {
    /// Line, rectangle or ellipse.
    pub kind: ShapeKind,
    /// First corner or line start.
    pub x0: f32,
    /// First corner or line start.
    pub y0: f32,
    /// Second corner or line end.
    pub x1: f32,
    /// Second corner or line end.
    pub y1: f32,
    /// A valid `#rrggbb` or `#rrggbbaa`, as sent.
    pub color: String,
    /// Outline width, within the configured range.
    pub width: f32,
    /// Filled instead of outlined.
    pub fill: bool,
}

/// A checked message for the room, from a member already joined.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Starts a stroke.
    StrokeBegin {
        /// The client's stroke id.
        stroke: StrokeId,
        /// Drawing tool.
        tool: Tool,
        /// Parsed color.
        color: Rgba,
        /// The color as the client sent it, relayed verbatim to others.
        color_text: String,
        /// Nominal width, within the configured range.
        width: f32,
        /// Whole, finite, in-range `[x, y, pressure]` triples.
        points: Vec<f32>,
        /// The client's id for the op (checked: 1 to 64 characters of `A-Za-z0-9_-`).
        op: Option<String>,
    },
    /// More points of an open stroke.
    StrokePoints {
        /// The stroke.
        stroke: StrokeId,
        /// Whole, finite, in-range triples.
        points: Vec<f32>,
    },
    /// Ends an open stroke, which the room then commits.
    StrokeEnd {
        /// The stroke.
        stroke: StrokeId,
    },
    /// A line, rectangle or ellipse.
    Shape {
        /// The client's id, echoed in the commit.
        id: Option<u32>,
        /// The shape, ready to commit.
        shape: Shape,
    },
    /// The shape the sender is dragging (`Some`), or the end of a drag that will not be
    /// committed (`None`). Relayed to others, never stored.
    ShapePreview {
        /// The sender's id for the shape.
        id: u32,
        /// The shape as it is now; `None` cancels the preview.
        shape: Option<PreviewShape>,
    },
    /// A flood fill.
    Fill {
        /// The client's id, echoed in the commit.
        id: Option<u32>,
        /// The fill, its seed inside the canvas.
        fill: Fill,
    },
    /// Moves or deletes a selection's pixels.
    Move {
        /// The client's id, echoed in the commit.
        id: Option<u32>,
        /// The move, its selection, offset and scale checked (pixels not lifted yet).
        mv: Move,
    },
    /// A block of text.
    Text {
        /// The client's id, echoed in the commit.
        id: Option<u32>,
        /// The text, ready to commit.
        text: Text,
    },
    /// Clears the canvas.
    Clear {
        /// The client's id, echoed in the commit.
        id: Option<u32>,
    },
    /// Sets the canvas back to its state at `seq`.
    Restore {
        /// The client's id, echoed in the commit.
        id: Option<u32>,
        /// The seq whose canvas comes back.
        seq: u64,
    },
    /// Draws an uploaded image into a rectangle.
    Image {
        /// The client's id, echoed in the commit.
        id: Option<u32>,
        /// The upload's id (1-64 of `A-Za-z0-9_-`; whether the room has it is checked when the
        /// image is loaded).
        image: String,
        /// Where it goes: whole pixels, near the canvas, at most `Config::max_image_pixels`.
        at: Placement,
    },
    /// Undoes the sender's latest op.
    Undo,
    /// Redoes the sender's latest undone op.
    Redo,
    /// The sender's pointer position.
    Cursor {
        /// Horizontal position.
        x: f32,
        /// Vertical position.
        y: f32,
    },
    /// The rectangle the sender sees.
    View {
        /// Left edge.
        x: f32,
        /// Top edge.
        y: f32,
        /// Width.
        width: f32,
        /// Height.
        height: f32,
    },
    /// A new display name, already cleaned.
    Rename {
        /// The cleaned name.
        name: String,
    },
    /// A page of members after this id.
    ListMembers {
        /// Last id of the previous page.
        after: Option<MemberId>,
    },
    /// The owner locks or unlocks the room.
    Lock {
        /// Lock or unlock.
        locked: bool,
    },
    /// The owner removes a member.
    Kick {
        /// Who.
        member: MemberId,
    },
    /// The owner reverts a member's ops.
    Revert {
        /// Whose.
        member: MemberId,
    },
}

impl Command {
    /// Whether the command changes the canvas (and so needs an editor).
    pub fn is_drawing(&self) -> bool {
        !matches!(
            self,
            Command::Cursor { .. }
                | Command::View { .. }
                | Command::Rename { .. }
                | Command::ListMembers { .. }
                | Command::Lock { .. }
                | Command::Kick { .. }
                | Command::Revert { .. }
        )
    }

    /// Whether only the room's owner may send the command.
    pub fn is_moderation(&self) -> bool {
        matches!(
            self,
            Command::Lock { .. } | Command::Kick { .. } | Command::Revert { .. }
        )
    }

    /// Whether the command starts painting something new, and so is refused while the member is
    /// over its pixel budget.
    pub fn starts_painting(&self) -> bool {
        matches!(
            self,
            Command::StrokeBegin { .. }
                | Command::Shape { .. }
                | Command::Fill { .. }
                | Command::Move { .. }
                | Command::Text { .. }
                | Command::Image { .. }
                | Command::Restore { .. }
                | Command::Undo
                | Command::Redo
        )
    }
}

/// A checked client message: the `hello` that opens a connection, or a command for the room.
#[derive(Debug, Clone, PartialEq)]
pub enum Valid {
    /// The opening message.
    Hello(Hello),
    /// Anything after it.
    Command(Command),
}
