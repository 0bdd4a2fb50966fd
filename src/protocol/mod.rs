//! The WebSocket protocol, by job: what clients send ([`client`]), what it becomes once checked
//! ([`command`], by [`validate`](mod@validate), [`text`](mod@text)), what the server sends ([`server`]), errors and close
//! codes ([`error`]) and the binary tile frame ([`frame`]).
//!
//! No I/O lives here. `docs/protocol.md` is the contract for these types; the test
//! `tests/protocol_doc.rs` decodes every JSON example in that document with [`decode_client`] and
//! [`decode_server`], so the two cannot drift apart.

pub mod client;
pub mod command;
pub mod error;
pub mod frame;
pub mod server;
pub mod text;
pub mod validate;
pub mod validate_move;

pub use client::{decode_client, ClientMsg, StrokeId};
pub use command::{Command, Hello, PreviewShape, Valid};
pub use error::{close, ErrorCode, ProtoError};
pub use server::{
    decode_server, encode, encode_batch, is_batch, CursorPos, MemberId, MemberInfo, OpKind, Role,
    RoomView, ServerMsg, ViewRect,
};
pub use text::validate_text;
pub use validate::{
    clean_name, parse_color, validate, validate_color, validate_cursor, validate_points,
    validate_view, validate_width,
};
