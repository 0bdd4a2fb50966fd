//! The WebSocket protocol: every message a client sends ([`ClientMsg`]) and every message the
//! server sends ([`ServerMsg`]), their JSON encoding, the binary tile frame, and validation.
//!
//! No I/O lives here. `docs/protocol.md` is the contract for these types; the test
//! `tests/protocol_doc.rs` decodes every JSON example in that document with [`decode_client`] and
//! [`decode_server`], so the two cannot drift apart.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::canvas::{Rgba, ShapeKind, Tool};
use crate::config::Config;

/// A member's id, unique within a room for the room's lifetime in memory.
pub type MemberId = u64;

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
    /// Undoes the sender's latest op.
    Undo,
    /// Redoes the sender's latest undone op.
    Redo,
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
        )
    }
}

impl ClientMsg {
    /// Whether the message commits an op (and so counts against the op rate).
    pub fn is_op(&self) -> bool {
        matches!(
            self,
            ClientMsg::StrokeEnd { .. }
                | ClientMsg::Shape { .. }
                | ClientMsg::Fill { .. }
                | ClientMsg::Clear { .. }
                | ClientMsg::Undo
                | ClientMsg::Redo
        )
    }
}

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
    /// An undo of the op at `target`.
    Undo,
    /// A redo of the op at `target`.
    Redo,
}

/// Whether a member may draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Joined with the edit key: may draw.
    Editor,
    /// Joined without a key: follows the canvas, may not change it.
    Viewer,
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
        /// Everyone in the room, the receiver included.
        members: Vec<MemberInfo>,
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
    /// Someone joined.
    MemberJoined {
        /// The new member.
        member: MemberInfo,
    },
    /// Someone changed their display name.
    MemberUpdated {
        /// The member as it is now.
        member: MemberInfo,
    },
    /// Someone left.
    MemberLeft {
        /// The member that left.
        id: MemberId,
    },
    /// A request was refused; see [`ErrorCode`].
    Error {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: Cow<'a, str>,
    },
}

/// Stable error codes, shared by WebSocket `error` messages and HTTP error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// `hello` carried a key that is not the room's edit key. The connection closes.
    BadKey,
    /// A viewer sent a drawing message. Nothing changes.
    ReadOnly,
    /// Unparseable JSON, an unknown type, a wrong field type, or an invalid value.
    BadMessage,
    /// A frame, a message's points or a stroke is over its size limit.
    TooLarge,
    /// Points or end for a stroke that is not open.
    UnknownStroke,
    /// `stroke_begin` reused the id of a stroke that is still open.
    DuplicateStroke,
    /// Too many strokes open at once.
    TooManyStrokes,
    /// The room has as many members as it may hold.
    RoomFull,
    /// The first message was not `hello`, or `hello` came twice.
    NotHello,
    /// `undo` or `redo` with nothing to undo or redo.
    NothingToUndo,
    /// No such room (HTTP 404).
    NotFound,
    /// The HTTP request was invalid (HTTP 400).
    BadRequest,
    /// The server failed; the request may be retried (HTTP 500).
    Internal,
    /// A page from another site tried to open a room's WebSocket (HTTP 403).
    ForbiddenOrigin,
    /// Too many messages or ops per second, or over the pixel budget; the message was dropped.
    RateLimited,
    /// The server holds as many rooms in memory as it may, all in use (HTTP 503); retry later.
    ServerBusy,
}

impl ErrorCode {
    /// Every code, for documentation checks.
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::ServerBusy,
        ErrorCode::RateLimited,
        ErrorCode::ForbiddenOrigin,
        ErrorCode::NothingToUndo,
        ErrorCode::BadKey,
        ErrorCode::ReadOnly,
        ErrorCode::BadMessage,
        ErrorCode::TooLarge,
        ErrorCode::UnknownStroke,
        ErrorCode::DuplicateStroke,
        ErrorCode::TooManyStrokes,
        ErrorCode::RoomFull,
        ErrorCode::NotHello,
        ErrorCode::NotFound,
        ErrorCode::BadRequest,
        ErrorCode::Internal,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadKey => "bad_key",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnknownStroke => "unknown_stroke",
            ErrorCode::DuplicateStroke => "duplicate_stroke",
            ErrorCode::TooManyStrokes => "too_many_strokes",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::NotHello => "not_hello",
            ErrorCode::NothingToUndo => "nothing_to_undo",
            ErrorCode::NotFound => "not_found",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Internal => "internal",
            ErrorCode::ForbiddenOrigin => "forbidden_origin",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ServerBusy => "server_busy",
        }
    }
}

/// A refused message: the code and a sentence for the person behind the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ProtoError {
    /// Stable code.
    pub code: ErrorCode,
    /// Explanation.
    pub message: String,
}

impl ProtoError {
    /// Builds an error from a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ProtoError {
            code,
            message: message.into(),
        }
    }

    /// The `error` message carrying this error, encoded.
    pub fn encode(&self) -> String {
        encode(&ServerMsg::Error {
            code: self.code,
            message: Cow::Borrowed(&self.message),
        })
    }
}

/// WebSocket close codes the server uses (RFC 6455 private range 4000-4999 for app reasons).
pub mod close {
    /// The server is shutting down or restarting.
    pub const GOING_AWAY: u16 = 1001;
    /// The first message was not a valid `hello` in time.
    pub const NOT_HELLO: u16 = 4000;
    /// `hello` carried a wrong edit key.
    pub const BAD_KEY: u16 = 4001;
    /// The room was deleted.
    pub const ROOM_DELETED: u16 = 4004;
    /// The member could not keep up: its outbox overflowed. Reconnect to resync.
    pub const LAGGING: u16 = 4008;
    /// The room is full.
    pub const ROOM_FULL: u16 = 4009;
    /// The client sent a frame over the size limit.
    pub const TOO_LARGE: u16 = 4013;
    /// The client stopped answering pings.
    pub const TIMEOUT: u16 = 4014;
    /// The client kept sending faster than its rate limits.
    pub const RATE_LIMITED: u16 = 4029;
}

/// Serializes a server message to JSON text. Encode once per broadcast, then share the bytes.
pub fn encode(msg: &ServerMsg<'_>) -> String {
    serde_json::to_string(msg).expect("server messages contain only serializable data")
}

/// Parses a client message; a failure is a `bad_message` error naming what was wrong.
pub fn decode_client(text: &str) -> Result<ClientMsg, ProtoError> {
    serde_json::from_str(text).map_err(|e| ProtoError::new(ErrorCode::BadMessage, e.to_string()))
}

/// Parses a server message (used by tests and tools that act as clients).
pub fn decode_server(text: &str) -> Result<ServerMsg<'static>, serde_json::Error> {
    serde_json::from_str(text)
}

/// Parses `#rrggbb` or `#rrggbbaa` into a color.
pub fn parse_color(text: &str) -> Option<Rgba> {
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

/// Parses an opaque `#rrggbb` color (room backgrounds).
pub fn parse_opaque_color(text: &str) -> Option<Rgba> {
    if text.len() != 7 {
        return None;
    }
    parse_color(text)
}

/// Checks a flat point array: whole triples, finite, inside the allowed area, pressure in 0..1.
///
/// The allowed area is the canvas plus one canvas size on every side, so a stroke may leave the
/// canvas and come back; anything further out is a client bug and is refused.
pub fn validate_points(
    points: &[f32],
    width: u32,
    height: u32,
    config: &Config,
) -> Result<(), ProtoError> {
    if !points.len().is_multiple_of(3) {
        return Err(ProtoError::new(
            ErrorCode::BadMessage,
            "points must be [x, y, pressure] triples",
        ));
    }
    if points.len() / 3 > config.max_points_per_message {
        return Err(ProtoError::new(
            ErrorCode::TooLarge,
            format!(
                "at most {} points per message",
                config.max_points_per_message
            ),
        ));
    }
    let (w, h) = (width as f32, height as f32);
    for p in points.chunks_exact(3) {
        let (x, y, pressure) = (p[0], p[1], p[2]);
        if !(x.is_finite() && y.is_finite() && pressure.is_finite()) {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                "points must be finite numbers",
            ));
        }
        if x < -w || x > 2.0 * w || y < -h || y > 2.0 * h {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                format!("point ({x}, {y}) is too far outside the {width}x{height} canvas"),
            ));
        }
        if !(0.0..=1.0).contains(&pressure) {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                "pressure must be between 0 and 1",
            ));
        }
    }
    Ok(())
}

/// Trims a display name, drops control characters, shortens it, and falls back to "Guest".
pub fn clean_name(name: Option<&str>, max_chars: usize) -> String {
    let cleaned: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "Guest".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Checks a `#rrggbb` / `#rrggbbaa` color.
pub fn validate_color(color: &str) -> Result<(), ProtoError> {
    parse_color(color)
        .map(|_| ())
        .ok_or_else(|| ProtoError::new(ErrorCode::BadMessage, "color must be #rrggbb or #rrggbbaa"))
}

/// Checks a stroke's width against the configured range.
pub fn validate_width(width: f32, config: &Config) -> Result<(), ProtoError> {
    if width.is_finite() && width >= 0.5 && width <= config.max_stroke_width {
        Ok(())
    } else {
        Err(ProtoError::new(
            ErrorCode::BadMessage,
            format!(
                "width must be between 0.5 and {} pixels",
                config.max_stroke_width
            ),
        ))
    }
}

/// Checks a position: finite and within the same area as points.
pub fn validate_cursor(x: f32, y: f32, width: u32, height: u32) -> Result<(), ProtoError> {
    let (w, h) = (width as f32, height as f32);
    if x.is_finite() && y.is_finite() && x >= -w && x <= 2.0 * w && y >= -h && y <= 2.0 * h {
        Ok(())
    } else {
        Err(ProtoError::new(
            ErrorCode::BadMessage,
            "cursor must be finite and near the canvas",
        ))
    }
}

/// Checks a visible rectangle: finite, of positive size at most 16 times the canvas, and
/// overlapping the area 16 canvases around it.
pub fn validate_view(
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    width: u32,
    height: u32,
) -> Result<(), ProtoError> {
    let (cw, ch) = (width as f32 * 16.0, height as f32 * 16.0);
    let ok = [x, y, w, h].iter().all(|v| v.is_finite())
        && w > 0.0
        && h > 0.0
        && w <= cw
        && h <= ch
        && x >= -cw
        && x <= cw
        && y >= -ch
        && y <= ch;
    if ok {
        Ok(())
    } else {
        Err(ProtoError::new(
            ErrorCode::BadMessage,
            "view must be a finite rectangle of positive size near the canvas",
        ))
    }
}

/// Checks everything about a message that does not depend on room state: widths, colors,
/// points and cursor positions, for a canvas of `width` x `height`.
pub fn validate(
    msg: &ClientMsg,
    width: u32,
    height: u32,
    config: &Config,
) -> Result<(), ProtoError> {
    match msg {
        ClientMsg::Hello { user, .. } => match user {
            Some(u)
                if u.is_empty()
                    || u.len() > 64
                    || !u
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Err(ProtoError::new(
                    ErrorCode::BadMessage,
                    "user must be 1-64 characters of A-Z, a-z, 0-9, - and _",
                ))
            }
            _ => Ok(()),
        },
        ClientMsg::StrokeEnd { .. }
        | ClientMsg::Clear { .. }
        | ClientMsg::Undo
        | ClientMsg::Redo
        | ClientMsg::Rename { .. } => Ok(()),
        ClientMsg::Shape {
            x0,
            y0,
            x1,
            y1,
            color,
            width: shape_width,
            ..
        } => {
            validate_width(*shape_width, config)?;
            validate_color(color)?;
            validate_cursor(*x0, *y0, width, height)?;
            validate_cursor(*x1, *y1, width, height)
        }
        ClientMsg::Fill { x, y, color, .. } => {
            validate_color(color)?;
            if x.is_finite()
                && y.is_finite()
                && *x >= 0.0
                && *y >= 0.0
                && *x < width as f32
                && *y < height as f32
            {
                Ok(())
            } else {
                Err(ProtoError::new(
                    ErrorCode::BadMessage,
                    format!("fill must start inside the {width}x{height} canvas"),
                ))
            }
        }
        ClientMsg::StrokeBegin {
            color,
            width: stroke_width,
            points,
            ..
        } => {
            validate_width(*stroke_width, config)?;
            validate_color(color)?;
            validate_points(points, width, height, config)
        }
        ClientMsg::StrokePoints { points, .. } => validate_points(points, width, height, config),
        ClientMsg::Cursor { x, y } => validate_cursor(*x, *y, width, height),
        ClientMsg::View {
            x,
            y,
            width: w,
            height: h,
        } => validate_view(*x, *y, *w, *h, width, height),
    }
}

/// Binary frames sent by the server. Every binary frame starts with a 16-byte header.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 1 | kind: 1 = tile |
/// | 1 | 1 | flags: bit 0 = tile is empty (no PNG follows) |
/// | 2 | 2 | tile column, big-endian |
/// | 4 | 2 | tile row, big-endian |
/// | 6 | 2 | tile size in pixels (256), big-endian |
/// | 8 | 8 | seq the tile reflects, big-endian |
/// | 16 | .. | PNG image of the tile (straight alpha, clipped at the canvas edge) |
pub mod frame {
    /// Frame kind of a tile.
    pub const KIND_TILE: u8 = 1;
    /// Flag: the tile is empty (fully transparent); no PNG follows.
    pub const FLAG_EMPTY: u8 = 1;
    /// Length of the header before the payload.
    pub const HEADER_LEN: usize = 16;

    /// Builds a tile frame.
    pub fn tile(col: u16, row: u16, tile_size: u16, seq: u64, png: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + png.map_or(0, <[u8]>::len));
        out.push(KIND_TILE);
        out.push(if png.is_none() { FLAG_EMPTY } else { 0 });
        out.extend_from_slice(&col.to_be_bytes());
        out.extend_from_slice(&row.to_be_bytes());
        out.extend_from_slice(&tile_size.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        if let Some(png) = png {
            out.extend_from_slice(png);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_parse_strictly() {
        assert_eq!(
            parse_color("#ff8000"),
            Some(Rgba {
                r: 255,
                g: 128,
                b: 0,
                a: 255
            })
        );
        assert_eq!(parse_color("#ff800080").map(|c| c.a), Some(128));
        for bad in ["ff8000", "#ff80", "#gg8000", "#ff8000801", "", "#"] {
            assert_eq!(parse_color(bad), None, "{bad}");
        }
        assert_eq!(parse_opaque_color("#ff800080"), None);
    }

    #[test]
    fn points_are_checked() {
        let c = Config::default();
        assert!(validate_points(&[1.0, 2.0, 0.5], 100, 100, &c).is_ok());
        assert_eq!(
            validate_points(&[1.0, 2.0], 100, 100, &c).map_err(|e| e.code),
            Err(ErrorCode::BadMessage)
        );
        assert!(validate_points(&[f32::NAN, 2.0, 0.5], 100, 100, &c).is_err());
        assert!(validate_points(&[1e9, 2.0, 0.5], 100, 100, &c).is_err());
        assert!(validate_points(&[1.0, 2.0, 1.5], 100, 100, &c).is_err());
        let many = vec![1.0; 3 * (c.max_points_per_message + 1)];
        assert_eq!(
            validate_points(&many, 100, 100, &c).map_err(|e| e.code),
            Err(ErrorCode::TooLarge)
        );
    }

    #[test]
    fn unknown_types_and_wrong_fields_are_bad_messages() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"type":"nope"}"#,
            r#"{"type":"stroke_end","stroke":"x"}"#,
            r#"{"type":"stroke_end","stroke":-1}"#,
            r#"{"type":"cursor","x":1}"#,
        ] {
            assert_eq!(
                decode_client(bad).map_err(|e| e.code),
                Err(ErrorCode::BadMessage),
                "{bad}"
            );
        }
    }
}
