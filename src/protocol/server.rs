//! Messages the server sends, the values they carry, and their JSON encoding.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::client::StrokeId;
use super::error::ErrorCode;
use crate::canvas::{ShapeKind, Tool};

/// A member's id, unique within a room for the room's lifetime in memory.
pub type MemberId = u64;

/// What kind of op a `commit` acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// A freehand stroke.
    Stroke,
    /// A line, rectangle or ellipse.
    Shape,
    /// A flood fill.
    Fill,
    /// A clear.
    Clear,
    /// A block of text.
    Text,
    /// An uploaded image drawn into a rectangle.
    Image,
    /// An undo of the op at `target`.
    Undo,
    /// A redo of the op at `target`.
    Redo,
    /// A move (or delete) of a selection's pixels.
    Move,
    /// The owner's revert of every op of one member (see `revert`); the page fetches the tiles.
    Revert,
    /// The canvas set back to an earlier seq (see `restore`); the page fetches the tiles.
    Restore,
}

/// Whether a member may draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Joined with the edit key: may draw.
    Editor,
    /// Joined without a key: follows the canvas, may not change it.
    Viewer,
    /// Joined with the owner key: an editor who may also lock the room, remove members,
    /// revert a member's ops and replace the edit key.
    Owner,
}

impl Role {
    /// Whether the role may draw (editors and the owner).
    pub fn can_draw(self) -> bool {
        matches!(self, Role::Editor | Role::Owner)
    }
}

/// A member as others see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Member id within the room.
    pub id: MemberId,
    /// Display name.
    pub name: String,
    /// Editor or viewer.
    pub role: Role,
}

/// Public facts about a room: never contains the edit key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomView {
    /// Room id (UUID v4).
    pub id: String,
    /// Room name.
    pub name: String,
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// Background color `#rrggbb`.
    pub background: String,
}

/// One member's pointer position inside a `cursors` batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorPos {
    /// The member.
    pub id: MemberId,
    /// Horizontal position in canvas pixels.
    pub x: f32,
    /// Vertical position in canvas pixels.
    pub y: f32,
}

/// One member's visible canvas rectangle inside a `views` batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ViewRect {
    /// The member.
    pub id: MemberId,
    /// Left edge in canvas pixels.
    pub x: f32,
    /// Top edge in canvas pixels.
    pub y: f32,
    /// Width of the visible area in canvas pixels.
    pub width: f32,
    /// Height of the visible area in canvas pixels.
    pub height: f32,
}

/// A message from the server. Borrowed fields let the room serialize a relay without copying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg<'a> {
    /// Answer to `hello`: the member's id and role, the room, its seq and who is here.
    Welcome {
        /// The receiving member's id.
        you: MemberId,
        /// The receiving member's role.
        role: Role,
        /// The room.
        room: RoomView,
        /// Seq of the canvas the following tiles show.
        seq: u64,
        /// Every editor, the receiver, and the viewers that are listed (see
        /// [`Config::listed_viewers`](crate::config::Config::listed_viewers)); the rest of the
        /// viewers are only counted in `viewers`.
        members: Vec<MemberInfo>,
        /// How many viewers the room has, listed or not (the receiver included if a viewer).
        #[serde(default)]
        viewers: u64,
        /// True when the following tiles are only those changed since the `since` of `hello`
        /// (keep the rest of your canvas); false when they are the whole canvas (start afresh).
        #[serde(default)]
        resumed: bool,
    },
    /// All tiles of the canvas at `seq` have been sent; live traffic follows.
    Synced {
        /// Seq the tiles reflect.
        seq: u64,
    },
    /// Another member started a stroke.
    StrokeBegin {
        /// Who draws.
        author: MemberId,
        /// The author's stroke id.
        stroke: StrokeId,
        /// Drawing tool.
        tool: Tool,
        /// Color.
        color: Cow<'a, str>,
        /// Nominal width.
        width: f32,
        /// Points so far.
        points: Cow<'a, [f32]>,
    },
    /// More points of another member's stroke.
    StrokePoints {
        /// Who draws.
        author: MemberId,
        /// The author's stroke id.
        stroke: StrokeId,
        /// New points.
        points: Cow<'a, [f32]>,
    },
    /// Another member ended a stroke (its `commit` follows).
    StrokeEnd {
        /// Who drew.
        author: MemberId,
        /// The author's stroke id.
        stroke: StrokeId,
    },
    /// A stroke that was begun (or ended) will never be committed: drop its live preview. Sent
    /// to everyone, its author included, when the room turns read-only under open strokes or
    /// the store fails to save ended ones.
    StrokeDropped {
        /// Who drew.
        author: MemberId,
        /// The author's stroke id.
        stroke: StrokeId,
    },
    /// The line, rectangle or ellipse another member is dragging (the latest of the tick), or
    /// with `cancel` the end of a drag that was not committed. Never stored. A drag that is
    /// committed ends with the author's `commit` of `op` `shape` instead, and every preview of
    /// a member ends when it leaves or when the room stops taking drawing (`editing`).
    ShapePreview {
        /// Who drags.
        author: MemberId,
        /// The author's id for the shape (its commit carries the same `id`).
        id: u32,
        /// `line`, `rect` or `ellipse`; absent on a cancel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shape: Option<ShapeKind>,
        /// First corner or line start; absent on a cancel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        x0: Option<f32>,
        /// First corner or line start; absent on a cancel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        y0: Option<f32>,
        /// Second corner or line end; absent on a cancel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        x1: Option<f32>,
        /// Second corner or line end; absent on a cancel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        y1: Option<f32>,
        /// Color, as the author sent it; absent on a cancel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<Cow<'a, str>>,
        /// Outline width; absent on a cancel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<f32>,
        /// Filled instead of outlined; absent on a cancel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fill: Option<bool>,
        /// The drag ended without a shape: drop the preview.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        cancel: bool,
    },
    /// An op is now part of the canvas at `seq`; sent to everyone, the author included.
    Commit {
        /// The new canvas seq.
        seq: u64,
        /// Who drew.
        author: MemberId,
        /// The author's stroke id (stroke commits only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stroke: Option<StrokeId>,
        /// What was committed.
        op: OpKind,
        /// The client's id for a shape, fill or clear, if it gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        /// For undo and redo: the seq of the op undone or redone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<u64>,
    },
    /// Sent to a member after its own commits, undos and redos: what it can undo and redo now.
    History {
        /// Something to undo.
        can_undo: bool,
        /// Something to redo.
        can_redo: bool,
    },
    /// Latest pointer positions of members that moved since the last batch.
    Cursors {
        /// One entry per member that moved.
        cursors: Vec<CursorPos>,
    },
    /// Visible rectangles of members whose view changed since the last batch (follow mode).
    Views {
        /// One entry per member whose view changed.
        views: Vec<ViewRect>,
    },
    /// How many editors and viewers the room has now; sent when the counts change (at most
    /// once a tick).
    Presence {
        /// Members who may draw.
        editors: u64,
        /// Members who only watch.
        viewers: u64,
    },
    /// A page of members, the answer to `list_members`.
    MemberList {
        /// Members in id order.
        members: Vec<MemberInfo>,
        /// Ask again with `after` set to this for the next page; absent on the last page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<MemberId>,
    },
    /// Several messages that went out in the same tick, in order (only to clients whose `hello`
    /// asked for batches).
    Batch {
        /// The messages, each as it would be sent alone.
        messages: Vec<ServerMsg<'a>>,
    },
    /// Someone joined.
    MemberJoined {
        /// The new member.
        member: MemberInfo,
    },
    /// Someone changed their display name, or their role changed (an editor whose edit key
    /// the owner replaced becomes a viewer; a member seeing itself so learns its own new role).
    MemberUpdated {
        /// The member as it is now.
        member: MemberInfo,
    },
    /// Someone left.
    MemberLeft {
        /// The member that left.
        id: MemberId,
    },
    /// Whether the room takes drawing now. Sent to everyone when it changes, and after
    /// `welcome` while the room is read-only. While `allowed` is false every drawing message is
    /// refused (with `store_unavailable` or `room_locked`); cursors, views and names still work.
    Editing {
        /// Drawing is possible.
        allowed: bool,
        /// Why not: `store_unavailable` (the server cannot save; it retries by itself),
        /// `room_locked` (an operator locked the room) or `locked` (the room's owner locked
        /// it). Absent when allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<ErrorCode>,
        /// A sentence for the page. Absent when allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Cow<'a, str>>,
    },
    /// A request was refused; see [`ErrorCode`].
    Error {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: Cow<'a, str>,
        /// For an op that could not be committed (`store_unavailable`): the seq it had been
        /// given, which will be reused by a later op.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        /// The refused op's stroke id, if it was a stroke.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stroke: Option<StrokeId>,
        /// The client's id of the refused shape, fill or clear, if it gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
    },
}

/// Serializes a server message to JSON text. Encode once per broadcast, then share the bytes.
pub fn encode(msg: &ServerMsg<'_>) -> String {
    serde_json::to_string(msg).expect("server messages contain only serializable data")
}

/// Parses a server message (used by tests and tools that act as clients).
pub fn decode_server(text: &str) -> Result<ServerMsg<'static>, serde_json::Error> {
    serde_json::from_str(text)
}

/// How every encoded `batch` begins.
const HEAD: &str = r#"{"type":"batch","messages":["#;

/// Whether an encoded server message is a `batch` (as [`encode_batch`] writes it).
pub fn is_batch(text: &str) -> bool {
    text.starts_with(HEAD)
}

/// Joins messages that are each already encoded into one `batch` frame, without parsing them
/// again: `{"type":"batch","messages":[m1,m2,...]}`.
pub fn encode_batch<'m>(messages: impl Iterator<Item = &'m str>, size_hint: usize) -> String {
    let mut out = String::with_capacity(HEAD.len() + size_hint + 2);
    out.push_str(HEAD);
    for (i, m) in messages.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(m);
    }
    out.push_str("]}");
    out
}
