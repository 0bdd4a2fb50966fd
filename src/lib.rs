//! inkroom: a real-time collaborative drawing server.
//!
//! People open a board link and draw together; the server holds the authoritative raster canvas,
//! relays strokes live while they are drawn, commits them in order and serves the result as PNG.
//!
//! # Layout
//!
//! - [`config`]: [`Config`](config::Config), every address, size, rate and timeout, with defaults.
//! - [`server`]: builds the actix-web app; [`server::run`] is shared by `main` and the tests.
//! - [`http`]: HTTP handlers: rooms API and PNG export ([`http::rooms`]), the embedded front end
//!   and health check ([`http::assets`]), the JSON error body ([`http::error`]).
//! - [`protocol`]: every WebSocket message ([`protocol::ClientMsg`], [`protocol::ServerMsg`]),
//!   error codes, close codes, the binary tile frame and validation. No I/O.
//! - [`rate`]: token buckets for message, op and pixel limits.
//! - [`session`]: one task per WebSocket: `hello`, heartbeat, input to the room, outbox to the socket.
//! - [`room`]: the [`Room`](room::Room) actor, where strokes are committed
//!   (`Room::handle_client`, on `stroke_end`); the [`Registry`](room::Registry) of rooms; the
//!   bounded per-member [`outbox`](room::outbox).
//! - [`canvas`]: the tiled raster canvas rendered with tiny-skia, stroke geometry, snapshots and
//!   PNG encoding. Synchronous, no actix.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod canvas;
pub mod config;
pub mod http;
pub mod protocol;
pub mod rate;
pub mod room;
pub mod server;
pub mod session;
pub mod store;
