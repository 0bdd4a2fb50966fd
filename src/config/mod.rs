//! Runtime configuration: where to listen, where to store, and every limit the server enforces.
//!
//! Every limit is a named field with a documented default, so operators can read in one place what
//! a client may do. `docs/protocol.md` lists the same limits from the client's point of view.
//!
//! Every field can be set by a flag, an `INKROOM_*` environment variable or a key of a TOML file,
//! in that order of precedence over the defaults (`docs/configuration.md`):
//!
//! - [`fields`]: the list of settings, one entry per field: name, help, how to read and write it.
//!   Flags, variables, TOML keys, `inkroom config` and the docs are all made from it.
//! - [`load`]: merges the sources into a [`Config`] and says what is wrong with a bad value.
//! - `check`: checks settings against each other (`tick_min <= tick_max`, ...).
//! - `cli`: the settings as clap flags ([`Flags`] implements `clap::Args`).
//! - [`render`]: `inkroom config`'s TOML, the masked `Debug`, the docs' tables.
//! - [`units`]: durations (`250ms`, `7d`) and byte sizes (`64KiB`) as text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod check;
mod cli;
mod codec;
pub mod fields;
pub mod load;
pub mod render;
pub mod units;

pub use load::{load, ConfigError, Flags};

/// Server configuration. `Config::default()` gives the documented defaults. Its `Debug` lists
/// every setting with secrets masked.
#[derive(Clone)]
pub struct Config {
    /// Address the HTTP server binds to. Default `127.0.0.1:8080`.
    pub addr: SocketAddr,
    /// Directory holding the room store. Default `./data`.
    pub data_dir: PathBuf,
    /// Serve https and wss with this certificate chain and private key (PEM files) instead of
    /// plain http. Default none.
    pub tls: Option<TlsFiles>,

    /// Width of a room created without one. Default 1920.
    pub default_width: u32,
    /// Height of a room created without one. Default 1080.
    pub default_height: u32,
    /// Largest width or height a room may have, in pixels. Default 8192.
    pub max_canvas_side: u32,
    /// Most pixels in one PNG export (after scaling). Default 67,108,864 (8192x8192).
    pub max_export_pixels: u64,
    /// Longest room name, in characters. Default 100.
    pub max_room_name_chars: usize,
    /// Longest member display name, in characters. Default 40.
    pub max_member_name_chars: usize,
    /// Largest HTTP request body, in bytes. Default 16 KiB.
    pub max_http_body_bytes: usize,
    /// Largest image upload, in bytes (the body limit of `POST /api/rooms/{id}/images`).
    /// Default 10 MiB.
    pub max_image_bytes: usize,
    /// Most pixels an uploaded image may have (checked from its header before decoding), and
    /// most pixels one image op may cover. Default 16,777,216 (4096x4096).
    pub max_image_pixels: u64,
    /// Most bytes of uploaded images one room may hold. Default 64 MiB.
    pub room_image_bytes: u64,
    /// Image uploads read and decoded at once, server-wide; more wait their turn (each may hold
    /// `max_image_bytes` and a decoded `max_image_pixels` image in memory). Default 4.
    pub max_concurrent_uploads: usize,

    /// Largest WebSocket frame a client may send, in bytes. Default 64 KiB.
    pub max_frame_bytes: usize,
    /// Most points (x, y, pressure triples) in one client message. Default 1024.
    pub max_points_per_message: usize,
    /// Most points in one stroke, over all its messages. Default 20,000.
    pub max_points_per_stroke: usize,
    /// Most strokes one member may have open (begun, not ended) at once. Default 8.
    pub max_open_strokes: usize,
    /// Most corners in one lasso selection of a `move`. Default 2,000.
    pub max_lasso_points: usize,
    /// Most canvas pixels one `move` may select (its box on the canvas). A move keeps the pixels
    /// it lifted for undo, so this bounds the memory one move holds: 4 bytes a pixel plus 1 for
    /// a lasso's mask. Default 16,777,216 (4096 x 4096).
    pub max_selection_pixels: u64,
    /// Thickest stroke a client may ask for, in pixels. Default 256.
    pub max_stroke_width: f32,
    /// Smallest text size, in canvas pixels per em. Default 6.
    pub min_text_size: f32,
    /// Largest text size, in canvas pixels per em. Default 512.
    pub max_text_size: f32,
    /// Most characters in one text op. Default 2,000.
    pub max_text_chars: usize,
    /// Messages one connection may send per second, sustained. Default 300 (a stylus at 240
    /// points a second in 120 messages, plus cursors and 20 strokes a second, stays far below).
    pub messages_per_second: f64,
    /// Messages one connection may send in a burst above the sustained rate. Default 600.
    pub message_burst: f64,
    /// Ops (stroke ends, shapes, fills, clears, moves, undos, redos) per second, sustained. Default 40.
    pub ops_per_second: f64,
    /// Ops in a burst. Default 80.
    pub op_burst: f64,
    /// Pixels one member may paint per second, sustained (a pixel budget): strokes cost their
    /// length times their width, shapes their outline or area, fills and undos the tiles they
    /// repaint. Default 50,000,000 (a stylus at 240 points a second with the widest brush stays
    /// below it).
    pub paint_pixels_per_second: f64,
    /// Pixels one member may paint in a burst; a member over budget gets `rate_limited` for new
    /// strokes, shapes, fills, undos and redos until the budget refills. Default 200,000,000
    /// (three fills of the largest canvas).
    pub paint_burst_pixels: f64,
    /// Messages refused for rate within 5 s after which the connection is closed (4029).
    /// Default 300.
    pub rate_strikes: u32,
    /// Most rooms loaded in memory at once. Opening one more first unloads rooms nobody is in;
    /// if every loaded room has members, the request gets `server_busy` (HTTP 503). Default 1000.
    pub max_loaded_rooms: usize,
    /// Most editors (members with the edit key) in one room. Default 200.
    pub max_editors_per_room: usize,
    /// Most viewers in one room. Default 10,000.
    pub max_viewers_per_room: usize,
    /// Viewers named to everyone: the first this-many viewers present are announced on join,
    /// rename and leave, listed in `welcome`, and their cursors and views relayed; the rest are
    /// only counted (`presence`) and can be paged with `list_members`. Keeps joining a big room
    /// as cheap as joining a small one. Default 50.
    pub listed_viewers: usize,
    /// Members per `member_list` page. Default 100.
    pub member_page: usize,
    /// Shortest time between two `presence` messages (member counts). Default 1 s.
    pub presence_interval: Duration,

    /// Shortest tick: a room sends each member at most one frame per tick, holding everything
    /// new. A message into a room that sent nothing for a tick goes out at once. Default 2 ms.
    pub tick_min: Duration,
    /// Longest tick, however big the room. Default 50 ms.
    pub tick_max: Duration,
    /// Deliveries a quiet room may save up: that many messages in a row go out at once before
    /// the tick paces them. Default 4.
    pub tick_burst: u32,
    /// Frames a room aims to send per second in all: every frame is a socket write per member,
    /// so the tick is members / this (3 ms with 190 members), within `tick_min` and `tick_max`.
    /// Default 60,000.
    pub frames_per_second: f64,
    /// The same for a room of over `crowd_members` members, where each delivery is thousands
    /// of writes at once and needs more room around it (44 ms with 2,000). Default 45,000.
    pub crowd_frames_per_second: f64,
    /// See `crowd_frames_per_second`. Default 1,000.
    pub crowd_members: usize,
    /// A crowded room's members are delivered in this many slices, in turn, a slice every
    /// tick / slices: each still gets a frame a tick, but the writes are spread over the tick
    /// instead of all landing at once. Default 4.
    pub crowd_slices: usize,
    /// Commands from members waiting for the room; a session waits for room in this queue only
    /// when the room is this far behind. Default 4096.
    pub room_input_queue: usize,
    /// Control frames (pongs, pings, close) waiting for a connection's writer. Default 16.
    pub control_queue: usize,
    /// Most frames waiting in one member's outbox before it counts as lagging (a frame carries
    /// a tick's worth of traffic for batch clients, one message for others). Default 1024.
    pub outbox_frames: usize,
    /// Most bytes waiting in one member's outbox before it counts as lagging. Default 8 MiB.
    pub outbox_bytes: usize,
    /// A tile changed by strokes is sent once nobody has drawn on it for this long (members
    /// drew the strokes live; the tile corrects their rendering). Fills, shapes, clears, undos
    /// and redos send theirs at once. Default 1 s.
    pub snapshot_interval: Duration,
    /// While people keep drawing on a tile, it is still sent at least this often. Default 5 s.
    pub snapshot_max_delay: Duration,
    /// Ops each author can undo. Default 50.
    pub undo_depth: usize,
    /// Ops between history checkpoints (undo re-renders from the nearest one). Default 32.
    pub checkpoint_every: u64,
    /// Only ops among a room's last this-many seqs can be undone. Bounds the history kept in
    /// memory and replayed when a room loads. Default 1000.
    pub history_window: u64,
    /// A keyframe (the canvas at that seq, for time travel) is stored at least every this many
    /// ops, so the canvas at any seq is a keyframe plus a short replay. Default 256.
    pub keyframe_every: u64,
    /// ... or once this many megapixels of tiles were painted since the last keyframe,
    /// whichever comes first. Default 64.
    pub keyframe_megapixels: u64,
    /// Renders of a board's earlier canvas (`canvas.png?seq=`, restores) running at once;
    /// more get `429 busy`. Default 2.
    pub history_renders: usize,
    /// Timelapses rendered at once; more get `429 busy`. Default 1.
    pub timelapse_jobs: usize,
    /// Most frames a timelapse may have. Default 1000.
    pub max_timelapse_frames: u32,
    /// Most pixels one timelapse frame may have (its size after `scale`). Default 8.3 M
    /// (3840x2160).
    pub max_timelapse_frame_pixels: u64,
    /// A room with no members for this long is unloaded from memory (it stays in the store and
    /// loads again on its next visit). Default 60 s.
    pub room_idle_unload: Duration,
    /// Origins (`scheme://host[:port]`) whose pages may open a room's WebSocket, besides the
    /// server's own (the request's Host). Default empty: same origin only. Requests without an
    /// Origin header (not from a browser page) are allowed.
    pub allowed_origins: Vec<String>,
    /// Wait for the disk before acknowledging an op (`commit`). Default true.
    pub durable: bool,
    /// How often the room sends batched cursor positions. Default 33 ms (about 30 a second).
    pub cursor_interval: Duration,
    /// How often the server pings each connection. Default 5 s.
    pub heartbeat_interval: Duration,
    /// A connection silent for this long (no message, no pong) is dropped. Default 20 s.
    pub client_timeout: Duration,
    /// Time a new connection has to send `hello`. Default 10 s.
    pub hello_timeout: Duration,
    /// Longest a single write to a socket may wait before the connection is dropped. Default 10 s.
    pub write_timeout: Duration,

    /// Largest the database may grow, in bytes (SQLite's `max_page_count`); past it writes fail
    /// like on a full disk and rooms turn read-only until space is freed. Default none.
    pub max_store_bytes: Option<u64>,
    /// After a failed write, a room waits this long before trying the store again; the wait
    /// doubles on every failure up to `store_retry_max`. Default 250 ms.
    pub store_retry_min: Duration,
    /// Longest wait between two tries of a failing store. Default 10 s.
    pub store_retry_max: Duration,

    /// How many of a room's latest client-named ops (`op` on `stroke_begin`) it remembers, to
    /// answer a stroke sent again after a reconnect with its commit rather than draw it twice.
    /// Default 4096.
    pub remembered_ops: usize,

    /// Cluster mode: the PostgreSQL URL (`postgres://user:password@host:port/db`) of the store
    /// every node shares. Default none: single-node SQLite in `data_dir`.
    pub store: Option<String>,
    /// Cluster mode: the Redis URL (`redis://host:port/db`) of the bus over which a room's node
    /// sends its live traffic once to every node with members of the room. Default none:
    /// members on other nodes are relayed to the room's node. A secret (it may hold a
    /// password).
    pub bus: Option<String>,
    /// Cluster mode: the base URL other nodes reach this node at (`http://10.0.0.5:8080`).
    /// Default none: `http://` and the address the server listens on.
    pub advertise: Option<String>,
    /// Cluster mode: how long a node's lease on a room lasts unless renewed; after the owner
    /// dies, another node takes the room this long after the last renewal at most. Default 10 s.
    pub lease_ttl: Duration,
    /// Cluster mode: how long before its lease expires an owner stops acknowledging ops on
    /// its own (covers clock drift and pauses). Default 2 s.
    pub lease_margin: Duration,
    /// Token for the admin API (`Authorization: Bearer <token>`). Default none: the admin API
    /// is off. A secret: never logged, masked by `inkroom config`.
    pub admin_token: Option<String>,
    /// Most rooms in one page of the admin API's room list (a page holds 100 unless the request
    /// asks for another size). Default 1000.
    pub admin_page_max: usize,
    /// A room nobody has visited or drawn in for this long is deleted, with everything it holds.
    /// A room's own retention (set through the admin API) overrides it. Default none: rooms are
    /// kept forever.
    pub room_retention: Option<Duration>,
    /// Write logs as JSON lines instead of readable text. Default false.
    pub log_json: bool,
}

/// Where the TLS certificate chain and its private key are, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            tls: None,
            default_width: 1920,
            default_height: 1080,
            max_canvas_side: 8192,
            max_export_pixels: 8192 * 8192,
            max_room_name_chars: 100,
            max_member_name_chars: 40,
            max_http_body_bytes: 16 * 1024,
            max_image_bytes: 10 * 1024 * 1024,
            max_concurrent_uploads: 4,
            max_image_pixels: 4096 * 4096,
            room_image_bytes: 64 * 1024 * 1024,
            max_frame_bytes: 64 * 1024,
            max_points_per_message: 1024,
            max_points_per_stroke: 20_000,
            max_open_strokes: 8,
            max_lasso_points: 2000,
            max_selection_pixels: 4096 * 4096,
            max_stroke_width: 256.0,
            min_text_size: 6.0,
            max_text_size: 512.0,
            max_text_chars: 2000,
            messages_per_second: 300.0,
            message_burst: 600.0,
            ops_per_second: 40.0,
            op_burst: 80.0,
            rate_strikes: 300,
            paint_pixels_per_second: 50_000_000.0,
            paint_burst_pixels: 200_000_000.0,
            max_editors_per_room: 200,
            max_viewers_per_room: 10_000,
            listed_viewers: 50,
            member_page: 100,
            presence_interval: Duration::from_secs(1),
            tick_min: Duration::from_millis(2),
            tick_max: Duration::from_millis(50),
            tick_burst: 4,
            frames_per_second: 60_000.0,
            crowd_frames_per_second: 45_000.0,
            crowd_members: 1000,
            crowd_slices: 4,
            room_input_queue: 4096,
            control_queue: 16,
            max_loaded_rooms: 1000,
            outbox_frames: 1024,
            outbox_bytes: 8 * 1024 * 1024,
            snapshot_interval: Duration::from_secs(1),
            snapshot_max_delay: Duration::from_secs(5),
            undo_depth: 50,
            checkpoint_every: 32,
            history_window: 1000,
            keyframe_every: 256,
            keyframe_megapixels: 64,
            history_renders: 2,
            timelapse_jobs: 1,
            max_timelapse_frames: 1000,
            max_timelapse_frame_pixels: 3840 * 2160,
            room_idle_unload: Duration::from_secs(60),
            allowed_origins: Vec::new(),
            durable: true,
            cursor_interval: Duration::from_millis(33),
            heartbeat_interval: Duration::from_secs(5),
            client_timeout: Duration::from_secs(20),
            hello_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_store_bytes: None,
            store_retry_min: Duration::from_millis(250),
            store_retry_max: Duration::from_secs(10),
            remembered_ops: 4096,
            store: None,
            bus: None,
            advertise: None,
            lease_ttl: Duration::from_secs(10),
            lease_margin: Duration::from_secs(2),
            admin_token: None,
            admin_page_max: 1000,
            room_retention: None,
            log_json: false,
        }
    }
}
