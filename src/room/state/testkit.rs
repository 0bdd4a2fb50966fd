//! Small helpers for the state's unit tests: a default room and members joining it.

use std::sync::Arc;
use std::time::Instant;

use crate::canvas::{Canvas, Document};
use crate::config::Config;
use crate::meta::{validate, NewRoom};
use crate::metrics::{Metrics, StoreMetrics};
use crate::protocol::Role;
use crate::room::outbox::{outbox, OutboxRx};
use crate::room::{Joining, RoomState};

/// A room with the default configuration and an empty canvas.
pub(super) fn room() -> RoomState {
    let config = Arc::new(Config::default());
    let meta = validate(NewRoom::default(), &config).expect("valid room");
    let canvas = Canvas::new(meta.width, meta.height).expect("canvas");
    let doc = Document::new(canvas, 0, config.undo_depth, config.checkpoint_every);
    let metrics = Metrics::new(&StoreMetrics::new().expect("store metrics")).expect("metrics");
    RoomState::new(
        Arc::new(meta),
        config,
        doc,
        Instant::now(),
        Arc::new(metrics),
    )
}

/// Joins a member with the room's edit key (its role decides what it may do); returns its id
/// and the reading end of its outbox.
pub(super) fn join(room: &mut RoomState, role: Role) -> (u64, OutboxRx) {
    let (tx, rx) = outbox(64, 1 << 20);
    let id = room
        .join(Joining {
            name: "someone".into(),
            role,
            outbox: tx,
            user: None,
            since: None,
            batch: false,
            edit_key: Some(room.meta().edit_key.clone()),
        })
        .expect("joins");
    (id, rx)
}
