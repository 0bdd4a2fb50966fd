//! Small helpers for the state's unit tests: a default room and members joining it.

use std::sync::Arc;
use std::time::Instant;

use crate::canvas::{Canvas, Document};
use crate::config::Config;
use crate::meta::{validate, NewRoom, RoomMeta};
use crate::metrics::{Metrics, StoreMetrics};
use crate::protocol::Role;
use crate::room::outbox::{outbox, OutboxRx};
use crate::room::{Joining, RoomState};

/// A room with the default configuration and an empty canvas.
pub(super) fn room() -> RoomState {
    let config = Config::default();
    let meta = validate(NewRoom::default(), &config).expect("valid room");
    let canvas = Canvas::new(meta.width, meta.height).expect("canvas");
    let doc = Document::new(canvas, 0, config.undo_depth, config.checkpoint_every);
    state_over(&meta, &config, doc, Instant::now())
}

/// The metadata of a `width` x `height` room.
pub(super) fn meta_sized(config: &Config, width: u32, height: u32) -> RoomMeta {
    validate(
        NewRoom {
            width: Some(width),
            height: Some(height),
            ..NewRoom::default()
        },
        config,
    )
    .expect("valid room")
}

/// A room's state over a document, with metrics of its own.
pub(super) fn state_over(
    meta: &RoomMeta,
    config: &Config,
    doc: Document,
    now: Instant,
) -> RoomState {
    let metrics = Metrics::new(&StoreMetrics::new().expect("store metrics")).expect("metrics");
    RoomState::new(
        Arc::new(meta.clone()),
        Arc::new(config.clone()),
        doc,
        now,
        Arc::new(metrics),
    )
}

/// Joins a member with the room's edit key (its role decides what it may do); returns its id
/// and the reading end of its outbox.
pub(super) fn join(room: &mut RoomState, role: Role) -> (u64, OutboxRx) {
    join_with_outbox(room, role, 64, 1 << 20)
}

/// [`join`] with an outbox of `frames` frames and `bytes` bytes.
pub(super) fn join_with_outbox(
    room: &mut RoomState,
    role: Role,
    frames: usize,
    bytes: usize,
) -> (u64, OutboxRx) {
    join_as(room, role, frames, bytes, false)
}

/// A member reading batches through another node's relay that can feed it from the bus.
pub(super) fn join_relayed(room: &mut RoomState, role: Role, frames: usize) -> (u64, OutboxRx) {
    join_as(room, role, frames, 1 << 20, true)
}

fn join_as(
    room: &mut RoomState,
    role: Role,
    frames: usize,
    bytes: usize,
    relayed: bool,
) -> (u64, OutboxRx) {
    let (tx, rx) = outbox(frames, bytes);
    let id = room
        .join(Joining {
            name: "someone".into(),
            role,
            outbox: tx,
            user: None,
            since: None,
            batch: relayed,
            bus: relayed,
            edit_key: Some(room.meta().edit_key.clone()),
        })
        .expect("joins");
    (id, rx)
}

/// A pen stroke's first point at (`x`, 10), black, 4 wide, without an op id.
pub(super) fn begin(stroke: u32, x: f32) -> crate::protocol::Command {
    crate::protocol::Command::StrokeBegin {
        stroke,
        tool: crate::canvas::Tool::Pen,
        color: crate::canvas::Rgba {
            r: 0,
            g: 0,
            b: 0,
            a: 255,
        },
        color_text: "#000000".into(),
        width: 4.0,
        points: vec![x, 10.0, 0.5],
        op: None,
    }
}
