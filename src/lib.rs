//! inkroom: a real-time collaborative drawing server.
//!
//! People open a board link and draw together; the server holds the authoritative raster canvas,
//! relays strokes live while they are drawn, commits them in order and serves the result as PNG.
//!
//! # Layout
//!
//! - [`config`]: [`Config`](config::Config), every address, size, rate and timeout, with defaults;
//!   the list of settings and how flags, `INKROOM_*` variables and a TOML file set them.
//! - [`server`]: builds the actix-web app; [`server::run`] is shared by `main` and the tests.
//! - [`http`]: HTTP handlers: rooms API and PNG export ([`http::rooms`]), image uploads
//!   ([`http::images`]), the embedded front end
//!   ([`http::assets`]), liveness and readiness ([`http::health`]), Prometheus metrics
//!   ([`http::metrics`]), the admin API ([`http::admin`]), the JSON error body
//!   ([`http::error`]).
//! - [`metrics`]: [`Metrics`](metrics::Metrics), the server's Prometheus collectors in a
//!   registry of its own; rooms, sessions and the store record into it.
//! - [`protocol`]: the wire, by job: client messages, validated [`Command`](protocol::Command)s,
//!   server messages and batches, error and close codes, the binary tile frame. No I/O.
//! - [`meta`]: what a room is ([`RoomMeta`](meta::RoomMeta)) and its edit key.
//! - [`session`]: one task per WebSocket: `hello`, heartbeat, validated commands into the room's
//!   input queue, and the connection's one writer.
//! - [`room`]: [`RoomState`](room::RoomState), the room's rules as a plain type (a stroke is
//!   committed on `stroke_end`, in `RoomState::handle`; ops the store could not save are taken
//!   back in `state/fault.rs`); the [`Room`](room::Room) actor that runs
//!   its effects; the tick log that sends each member one frame a tick; the bounded per-member
//!   [`outbox`](room::outbox); the [`Registry`](room::Registry) of rooms; operators' actions
//!   ([`room::operator`]), the room owner's moderation (lock and kick in
//!   `state/moderation.rs`, revert in `state/revert.rs`, a new edit key in
//!   [`room::moderation`]) and the retention [`sweeper`](room::sweeper); an image op's pixels,
//!   decoded and scaled off the room's loop ([`room::place`]).
//! - [`canvas`]: the tiled raster canvas rendered with tiny-skia, stroke geometry, flood fills,
//!   selection moves (pixels lifted once, in `canvas/lift.rs`), text in the bundled font
//!   (`canvas/text.rs`), snapshots and PNG encoding; uploaded images decoded under limits and
//!   placed scaled (`decode.rs`, `picture.rs`), restores of an earlier canvas (`restore.rs`).
//!   Synchronous, no actix.
//! - [`history`]: time travel: the canvas at any seq (a keyframe plus a replay, [`history::Cursor`]),
//!   timelapses as animated PNG ([`history::timelapse`], [`history::apng`]), RFC 3339 times,
//!   and the slots that bound history work ([`history::HistoryJobs`]); the HTTP side is
//!   [`http::history`], a restore's is `room/state/restore.rs`.
//! - [`store`]: persistence in SQLite on a writer thread: rooms, every op with its commit time,
//!   keyframes (`store/history.rs`), uploaded
//!   images under a per-room quota, operator facts and retention; a room whose write failed is
//!   held until it has rolled back and a probe succeeds; online [`backup`](store::backup) and
//!   restore.
//! - [`rate`]: token buckets for message, op and pixel limits.
//! - [`cluster`]: the cluster mode (`--store postgres://...`): [`PgStore`](cluster::PgStore),
//!   the store's PostgreSQL engine, which claims a room through its
//!   [`Lease`](cluster::Lease) before it is loaded, keeps the lease
//!   ([`cluster::LeaseKeeper`]) and fences every write of the room by its epoch (the op-log
//!   append is [`cluster::OpLog`]); the schema and its migrations, the bounded connection pool;
//!   on Redis, [`cluster::bus`], the fan-out of a room's encoded frames, not used by the server
//!   yet. Requests for a room another node owns are forwarded to it ([`http::forward`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod canvas;
pub mod cluster;
pub mod config;
pub mod history;
pub mod http;
pub mod meta;
pub mod metrics;
pub mod protocol;
pub mod rate;
pub mod room;
pub mod server;
pub mod session;
pub mod store;
