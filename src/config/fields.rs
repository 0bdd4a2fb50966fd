//! The list of settings: one [`Field`] per setting of [`Config`], with its help text and how to
//! read and write it. `--help`, the `INKROOM_*` variables, the TOML keys, `inkroom config` and
//! `docs/configuration.md` all come from [`FIELDS`], so they cannot disagree.

use super::codec::{
    Addr, Bytes, Codec, Count, Flag, Number, Opt, Origins, Path, Positive, Span, Text,
};
use super::load::Draft;
use super::Config;

/// A group of related settings, for `--help`, `inkroom config` and the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Listening, TLS, data, logging, admin access.
    Server,
    /// Room sizes, names, exports and how long rooms stay loaded or stored.
    Rooms,
    /// Editors, viewers and presence.
    Members,
    /// What one connection may send.
    Input,
    /// Ticks, queues, tiles and cursors: how the room delivers.
    Delivery,
    /// Undo and history.
    History,
    /// Heartbeat and timeouts of a connection.
    Connections,
    /// The room store.
    Store,
    /// Running as one node of several.
    Cluster,
}

impl Section {
    /// Every section, in the order they are shown.
    pub const ALL: [Section; 9] = [
        Section::Server,
        Section::Rooms,
        Section::Members,
        Section::Input,
        Section::Delivery,
        Section::History,
        Section::Connections,
        Section::Store,
        Section::Cluster,
    ];

    /// The section's title.
    pub fn title(self) -> &'static str {
        match self {
            Section::Server => "Server",
            Section::Rooms => "Rooms",
            Section::Members => "Members",
            Section::Input => "Input limits",
            Section::Delivery => "Delivery",
            Section::History => "History",
            Section::Connections => "Connections",
            Section::Store => "Store",
            Section::Cluster => "Cluster",
        }
    }
}

/// One setting: its TOML key (the flag and the environment variable are made from it), its help,
/// and how to read and write it.
pub struct Field {
    /// The TOML key, e.g. `max_frame_bytes`; the flag is its kebab case (`--max-frame-bytes`)
    /// and the environment variable its upper case (`INKROOM_MAX_FRAME_BYTES`), unless
    /// overridden for compatibility.
    pub name: &'static str,
    /// Where the setting is listed.
    pub section: Section,
    /// What the setting does, in a sentence or two.
    pub help: &'static str,
    /// What a valid value looks like ("a duration greater than zero, ...").
    pub expected: &'static str,
    /// The value's placeholder in `--help` (`DURATION`, `BYTES`, ...).
    pub placeholder: &'static str,
    /// A list: the flag repeats, the variable is comma-separated, the TOML value is an array.
    pub list: bool,
    /// A secret: never printed; `inkroom config` masks it.
    pub secret: bool,
    /// The flag's name when it is not the key's kebab case.
    flag: Option<&'static str>,
    /// The variable's name when it is not `INKROOM_` and the key in upper case.
    env: Option<&'static str>,
    /// Stores the value read from a source's texts; on failure returns the text at fault.
    set: fn(&mut Draft, &[String]) -> Result<(), String>,
    /// The value as a TOML literal, `None` when unset.
    get: fn(&Config) -> Option<String>,
}

/// What a masked secret looks like.
pub const MASK: &str = "\"********\"";

impl Field {
    /// The long flag, without the dashes: `max-frame-bytes`.
    pub fn flag(&self) -> String {
        self.flag
            .map_or_else(|| self.name.replace('_', "-"), str::to_owned)
    }

    /// The environment variable: `INKROOM_MAX_FRAME_BYTES`.
    pub fn env(&self) -> String {
        self.env.map_or_else(
            || format!("INKROOM_{}", self.name.to_ascii_uppercase()),
            str::to_owned,
        )
    }

    /// The setting's value in `config` as a TOML literal, `None` when unset. Secrets are
    /// masked.
    pub fn show(&self, config: &Config) -> Option<String> {
        let value = (self.get)(config)?;
        Some(if self.secret { MASK.to_owned() } else { value })
    }

    /// The default as plain text for `--help` and the docs: `64KiB`, `127.0.0.1:8080`, `none`.
    pub fn default_text(&self) -> String {
        match self.show(&Config::default()) {
            None => "none".into(),
            Some(v) if v == "[]" => "none".into(),
            Some(v) => v.trim_matches('"').to_owned(),
        }
    }

    /// A true-or-false setting: its flag alone means true (`--log-json`), `--durable=false`
    /// says false.
    pub fn is_switch(&self) -> bool {
        self.placeholder == <Flag as Codec>::PLACEHOLDER
    }

    /// Reads the setting from a source's texts into `draft`; on failure returns the text at
    /// fault.
    pub(crate) fn set(&self, draft: &mut Draft, items: &[String]) -> Result<(), String> {
        (self.set)(draft, items)
    }
}

/// Finds a setting by its TOML key.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// A [`Field`] for `Config::$name`, read and written with `$codec`.
macro_rules! field {
    ($section:ident, $name:ident, $codec:ty, $help:literal) => {
        field!($section, $name, $codec, $help, secret: false, flag: None, env: None)
    };
    ($section:ident, $name:ident, $codec:ty, $help:literal,
     secret: $secret:expr, flag: $flag:expr, env: $env:expr) => {
        Field {
            name: stringify!($name),
            section: Section::$section,
            help: $help,
            expected: <$codec as Codec>::EXPECTED,
            placeholder: <$codec as Codec>::PLACEHOLDER,
            list: <$codec as Codec>::LIST,
            secret: $secret,
            flag: $flag,
            env: $env,
            set: |draft, items| {
                draft.config.$name = <$codec as Codec>::parse_all(items)?;
                Ok(())
            },
            get: |config| <$codec as Codec>::show(&config.$name),
        }
    };
}

/// Every setting, by section. Each field of [`Config`] appears once (`render`'s tests name every
/// field of `Config` and compare), `tls` as `tls_cert` and `tls_key`.
#[rustfmt::skip]
pub static FIELDS: &[Field] = &[
    // Server
    field!(Server, addr, Addr,
        "Address to listen on (port 0 picks a free port)."),
    field!(Server, data_dir, Path,
        "Directory of the room store (SQLite, created if missing)."),
    Field {
        name: "tls_cert",
        section: Section::Server,
        help: "Serve https and wss with this certificate chain (PEM, leaf first); needs tls_key.",
        expected: <Opt<Path> as Codec>::EXPECTED,
        placeholder: <Opt<Path> as Codec>::PLACEHOLDER,
        list: false,
        secret: false,
        flag: None,
        env: None,
        set: |draft, items| {
            draft.tls_cert = <Opt<Path> as Codec>::parse_all(items)?;
            Ok(())
        },
        get: |config| <Opt<Path> as Codec>::show(&config.tls.as_ref().map(|t| t.cert.clone())),
    },
    Field {
        name: "tls_key",
        section: Section::Server,
        help: "Private key (PEM: PKCS#8, PKCS#1 or SEC1) of tls_cert.",
        expected: <Opt<Path> as Codec>::EXPECTED,
        placeholder: <Opt<Path> as Codec>::PLACEHOLDER,
        list: false,
        secret: false,
        flag: None,
        env: None,
        set: |draft, items| {
            draft.tls_key = <Opt<Path> as Codec>::parse_all(items)?;
            Ok(())
        },
        get: |config| <Opt<Path> as Codec>::show(&config.tls.as_ref().map(|t| t.key.clone())),
    },
    field!(Server, allowed_origins, Origins,
        "Other origins (scheme://host[:port]) whose pages may open boards, e.g. behind a proxy; \
         the server's own origin is always allowed. Requests without an Origin header are \
         allowed.",
        secret: false, flag: Some("allow-origin"), env: Some("INKROOM_ALLOW_ORIGINS")),
    field!(Server, admin_token, Opt<Text>,
        "Token for the admin API (Authorization: Bearer <token>); unset turns the admin API off. \
         A secret: never logged, masked by `inkroom config`.",
        secret: true, flag: None, env: None),
    field!(Server, admin_page_max, Positive<usize>,
        "Most rooms in one page of the admin API's room list (100 unless the request asks)."),
    field!(Server, log_json, Flag,
        "Write logs as JSON lines instead of readable text (the filter is INKROOM_LOG)."),
    // Rooms
    field!(Rooms, default_width, Positive<u32>,
        "Width of a room created without one, in pixels."),
    field!(Rooms, default_height, Positive<u32>,
        "Height of a room created without one, in pixels."),
    field!(Rooms, max_canvas_side, Positive<u32>,
        "Largest width or height a room may have, in pixels."),
    field!(Rooms, max_export_pixels, Positive<u64>,
        "Most pixels in one PNG export, after scaling."),
    field!(Rooms, max_room_name_chars, Positive<usize>,
        "Longest room name, in characters."),
    field!(Rooms, max_member_name_chars, Positive<usize>,
        "Longest member display name, in characters."),
    field!(Rooms, max_http_body_bytes, Bytes<usize>,
        "Largest HTTP request body."),
    field!(Rooms, max_image_bytes, Bytes<usize>,
        "Largest image upload (the body limit of POST /api/rooms/{id}/images alone)."),
    field!(Rooms, max_concurrent_uploads, Positive<usize>,
        "Image uploads read and decoded at once, server-wide; more wait their turn."),
    field!(Rooms, max_image_pixels, Positive<u64>,
        "Most pixels an uploaded image may have (read from its header before it is decoded), \
         and most pixels one image op may cover."),
    field!(Rooms, room_image_bytes, Bytes<u64>,
        "Most bytes of uploaded images one room may hold; past it, uploads get image_quota \
         (HTTP 413)."),
    field!(Rooms, max_loaded_rooms, Positive<usize>,
        "Most rooms in memory at once; past it, rooms nobody is in are unloaded, and when all \
         are in use new ones get server_busy (HTTP 503)."),
    field!(Rooms, room_idle_unload, Span,
        "A room with no members for this long leaves memory (it stays stored and loads again on \
         its next visit)."),
    field!(Rooms, room_retention, Opt<Span>,
        "A room nobody has visited or drawn in for this long is deleted with everything it holds \
         (a room's own retention, set through the admin API, overrides it); unset keeps rooms \
         forever."),
    // Members
    field!(Members, max_editors_per_room, Count<usize>,
        "Most editors (members with the edit key) in one room."),
    field!(Members, max_viewers_per_room, Count<usize>,
        "Most viewers in one room."),
    field!(Members, listed_viewers, Count<usize>,
        "The first this-many viewers are named to everyone (joins, cursors, member list); the \
         rest are only counted."),
    field!(Members, member_page, Positive<usize>,
        "Members per member_list page."),
    field!(Members, presence_interval, Span,
        "Shortest time between two presence messages (member counts)."),
    // Input
    field!(Input, max_frame_bytes, Bytes<usize>,
        "Largest WebSocket message a client may send."),
    field!(Input, max_points_per_message, Positive<usize>,
        "Most points in one client message."),
    field!(Input, max_points_per_stroke, Positive<usize>,
        "Most points in one stroke, over all its messages."),
    field!(Input, max_open_strokes, Positive<usize>,
        "Most strokes one member may have begun and not ended."),
    field!(Input, max_lasso_points, Positive<usize>,
        "Most corners in one lasso selection of a move."),
    field!(Input, max_selection_pixels, Positive<u64>,
        "Most canvas pixels one move may select; a move keeps the pixels it lifted for undo."),
    field!(Input, max_stroke_width, Number<f32>,
        "Thickest stroke a client may ask for, in pixels."),
    field!(Input, min_text_size, Number<f32>,
        "Smallest text size, in canvas pixels per em."),
    field!(Input, max_text_size, Number<f32>,
        "Largest text size, in canvas pixels per em."),
    field!(Input, max_text_chars, Positive<usize>,
        "Most characters in one text op."),
    field!(Input, messages_per_second, Number<f64>,
        "Messages one connection may send per second, sustained."),
    field!(Input, message_burst, Number<f64>,
        "Messages one connection may send in a burst above the sustained rate."),
    field!(Input, ops_per_second, Number<f64>,
        "Ops (stroke ends, shapes, fills, clears, moves, undos, redos) per second, sustained."),
    field!(Input, op_burst, Number<f64>,
        "Ops in a burst."),
    field!(Input, paint_pixels_per_second, Number<f64>,
        "Pixels one member may paint per second, sustained (strokes cost length times width, \
         fills and undos the tiles they repaint)."),
    field!(Input, paint_burst_pixels, Number<f64>,
        "Pixels one member may paint in a burst before getting rate_limited."),
    field!(Input, rate_strikes, Positive<u32>,
        "Messages refused for rate within 5 s after which the connection is closed (4029)."),
    // Delivery
    field!(Delivery, tick_min, Span,
        "Shortest tick: each member gets at most one frame per tick."),
    field!(Delivery, tick_max, Span,
        "Longest tick, however big the room."),
    field!(Delivery, tick_burst, Positive<u32>,
        "Messages a quiet room sends at once before the tick paces them."),
    field!(Delivery, frames_per_second, Number<f64>,
        "Frames a room aims to send per second in all; the tick is members / this, within \
         tick_min and tick_max."),
    field!(Delivery, crowd_frames_per_second, Number<f64>,
        "The same for a room of over crowd_members members."),
    field!(Delivery, crowd_members, Count<usize>,
        "Members above which a room is crowded."),
    field!(Delivery, crowd_slices, Positive<usize>,
        "A crowded room delivers to its members in this many slices, spread over the tick."),
    field!(Delivery, room_input_queue, Positive<usize>,
        "Commands waiting for a room."),
    field!(Delivery, control_queue, Positive<usize>,
        "Control frames (pongs, pings, close) waiting for a connection's writer."),
    field!(Delivery, outbox_frames, Positive<usize>,
        "Frames waiting for one member before it counts as lagging."),
    field!(Delivery, outbox_bytes, Bytes<usize>,
        "Bytes waiting for one member before it counts as lagging."),
    field!(Delivery, snapshot_interval, Span,
        "A tile changed by strokes is sent once nobody has drawn on it for this long."),
    field!(Delivery, snapshot_max_delay, Span,
        "While people keep drawing on a tile, it is still sent at least this often."),
    field!(Delivery, cursor_interval, Span,
        "How often a room sends batched cursor positions."),
    // History
    field!(History, undo_depth, Positive<usize>,
        "Ops each author can undo."),
    field!(History, checkpoint_every, Positive<u64>,
        "Ops between history checkpoints (undo re-renders from the nearest one)."),
    field!(History, history_window, Positive<u64>,
        "Only ops among a room's last this-many can be undone; bounds the history kept in memory \
         and replayed when a room loads."),
    field!(History, keyframe_every, Positive<u64>,
        "A keyframe (the canvas at that seq, for time travel) is stored at least every this \
         many ops."),
    field!(History, keyframe_megapixels, Positive<u64>,
        "... or once this many megapixels of tiles were painted since the last one."),
    field!(History, history_renders, Positive<usize>,
        "Renders of a board's earlier canvas (canvas.png?seq=, restores) at once; more get 429."),
    field!(History, timelapse_jobs, Positive<usize>,
        "Timelapses rendered at once; more get 429."),
    field!(History, max_timelapse_frames, Positive<u32>,
        "Most frames a timelapse may have."),
    field!(History, max_timelapse_frame_pixels, Positive<u64>,
        "Most pixels one timelapse frame may have (after its scale)."),
    // Connections
    field!(Connections, heartbeat_interval, Span,
        "How often the server pings each connection."),
    field!(Connections, client_timeout, Span,
        "A connection silent for this long (no message, no pong) is dropped."),
    field!(Connections, hello_timeout, Span,
        "Time a new connection has to send hello."),
    field!(Connections, write_timeout, Span,
        "Longest a single write to a socket may wait before the connection is dropped."),
    // Store
    field!(Store, durable, Flag,
        "Wait for the disk before acknowledging an op (commit)."),
    field!(Store, max_store_bytes, Opt<Bytes<u64>>,
        "Largest the database may grow; past it writes fail as on a full disk and rooms turn \
         read-only until space is freed. Unset: no limit."),
    field!(Store, store_retry_min, Span,
        "After a failed write, a room waits this long before trying the store again; the wait \
         doubles on every failure up to store_retry_max."),
    field!(Store, store_retry_max, Span,
        "Longest wait between two tries of a failing store."),
    field!(Store, remembered_ops, Count<usize>,
        "How many of a room's latest client-named ops it remembers, to answer a stroke sent \
         again after a reconnect with its commit rather than draw it twice."),
    // Cluster
    field!(Cluster, store, Opt<Text>,
        "Run as one node of a cluster: the PostgreSQL URL (postgres://user:password@host:port/db) \
         of the store all nodes share. Unset: a single node with SQLite in data_dir.",
        secret: true, flag: None, env: None),
    field!(Cluster, bus, Opt<Text>,
        "Cluster mode: the Redis URL (redis://host:port/db) of the bus nodes share a room's live \
         traffic over, so a room's viewers may be spread over every node. Unset: members on \
         other nodes are relayed to the room's node.",
        secret: true, flag: None, env: None),
    field!(Cluster, advertise, Opt<Text>,
        "The base URL other nodes reach this node at (http://10.0.0.5:8080): they forward the \
         members of rooms this node owns to it. Unset: http:// and the address listened on."),
    field!(Cluster, lease_ttl, Span,
        "How long a node's hold on a room lasts unless renewed: when a node dies, others take \
         its rooms within this long."),
    field!(Cluster, lease_margin, Span,
        "How long before its hold on a room runs out a node stops acknowledging the room's \
         ops on its own (covers clock drift and pauses); less than lease_ttl."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_flags_and_variables_are_unique() {
        let mut names: Vec<String> = FIELDS.iter().map(|f| f.name.to_owned()).collect();
        let mut flags: Vec<String> = FIELDS.iter().map(Field::flag).collect();
        let mut envs: Vec<String> = FIELDS.iter().map(Field::env).collect();
        for list in [&mut names, &mut flags, &mut envs] {
            let len = list.len();
            list.sort();
            list.dedup();
            assert_eq!(list.len(), len, "duplicates in {list:?}");
        }
        assert!(!flags.contains(&"config".to_owned()), "--config is taken");
    }

    #[test]
    fn flags_and_variables_follow_the_key_except_the_old_origin_ones() {
        let f = field("max_frame_bytes").expect("a field");
        assert_eq!(f.flag(), "max-frame-bytes");
        assert_eq!(f.env(), "INKROOM_MAX_FRAME_BYTES");
        let origins = field("allowed_origins").expect("a field");
        assert_eq!(origins.flag(), "allow-origin");
        assert_eq!(origins.env(), "INKROOM_ALLOW_ORIGINS");
    }

    #[test]
    fn defaults_read_as_documented() {
        let default = |name: &str| field(name).expect("a field").default_text();
        assert_eq!(default("addr"), "127.0.0.1:8080");
        assert_eq!(default("max_frame_bytes"), "64KiB");
        assert_eq!(default("tick_min"), "2ms");
        assert_eq!(default("admin_token"), "none");
        assert_eq!(default("allowed_origins"), "none");
        assert_eq!(default("durable"), "true");
    }

    #[test]
    fn every_default_reads_back_through_its_own_field() {
        let defaults = Config::default();
        for f in FIELDS {
            let Some(shown) = (f.get)(&defaults) else {
                continue;
            };
            let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {shown}"))
                .expect("valid TOML")
                .remove("v")
                .expect("the value");
            let text = match value {
                toml::Value::String(s) => vec![s],
                toml::Value::Array(items) => items
                    .into_iter()
                    .map(|i| i.as_str().expect("a string").to_owned())
                    .collect(),
                other => vec![other.to_string()],
            };
            let mut draft = Draft::new();
            f.set(&mut draft, &text)
                .unwrap_or_else(|bad| panic!("{}: {bad:?} does not read back", f.name));
        }
    }
}
