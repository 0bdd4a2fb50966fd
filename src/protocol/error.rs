//! Error codes, refused requests and WebSocket close codes.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::server::{encode, ServerMsg};

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
    /// The store failed to save: the op was not committed and is in nobody's canvas. The room
    /// is read-only until the store works again (an `editing` message says when).
    StoreUnavailable,
    /// An operator locked the room: nobody may draw until it is unlocked.
    RoomLocked,
    /// The admin API was called without the right token (HTTP 401), or is off (HTTP 404).
    Unauthorized,
    /// The room's owner locked it: nobody may draw until the owner unlocks it.
    Locked,
    /// A moderation message (`lock`, `kick`, `revert`) or request from someone who is not the
    /// room's owner (HTTP 403 for `POST /api/rooms/{id}/edit_key`).
    Forbidden,
    /// An `image` op named an image the room does not have. Nothing changes.
    UnknownImage,
    /// An upload is not a PNG, JPEG, GIF or WebP image (HTTP 415), or cannot be decoded
    /// (truncated or corrupt, HTTP 422).
    BadImage,
    /// An upload would take the room past its quota of image bytes (HTTP 413).
    ImageQuota,
    /// As many history renders or timelapses are running as the server allows (HTTP 429, with
    /// `Retry-After`); try again shortly.
    Busy,
}

impl ErrorCode {
    /// Every code, for documentation checks.
    pub const ALL: [ErrorCode; 25] = [
        ErrorCode::Busy,
        ErrorCode::Locked,
        ErrorCode::Forbidden,
        ErrorCode::UnknownImage,
        ErrorCode::BadImage,
        ErrorCode::ImageQuota,
        ErrorCode::StoreUnavailable,
        ErrorCode::RoomLocked,
        ErrorCode::Unauthorized,
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
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::RoomLocked => "room_locked",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Locked => "locked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::UnknownImage => "unknown_image",
            ErrorCode::BadImage => "bad_image",
            ErrorCode::ImageQuota => "image_quota",
            ErrorCode::Busy => "busy",
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
            seq: None,
            stroke: None,
            id: None,
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
    /// An operator (admin API) or the room's owner (`kick`) removed the member from the room.
    pub const KICKED: u16 = 4003;
    /// Cluster mode: the room moved to another node (this one lost it, or its owner went
    /// away). Reconnect at once with `since`.
    pub const MOVED: u16 = 1012;
    /// The room cannot be served right now (the store cannot be read, or in cluster mode the
    /// room is between owners); reconnect after a short wait.
    pub const TRY_AGAIN: u16 = 1013;
}
