//! Rooms. [`RoomState`] holds one room's rules (where a stroke is committed: `stroke_end` in
//! `RoomState::handle`); the [`Room`] actor runs it; the [`Registry`] maps room ids to running
//! rooms; each member reads from a bounded [`outbox`] filled once a tick from the tick log
//! ([`batch`]).
//!
//! - [`state`]: the rules, commands in, effects out; no actix, no I/O.
//! - [`actor`]: the actor shell that runs effects, and its messages.
//! - [`batch`]: the tick log and per-tick frames.
//! - [`member`]: a member as the room sees it.
//! - [`outbox`]: the bounded queue between the room and a connection's writer.
//! - [`tiles`]: tile frame encoding and the cache of encoded tiles.
//! - [`cost`]: what painting costs against the pixel budget.
//! - [`load`]: rebuilding a stored room.
//! - [`place`]: an image op's pixels, from the store, off the room's loop.
//! - [`registry`]: room ids to running rooms, loading and unloading.
//! - [`admin`]: the actor's messages for operators (lock, kick, live facts) and its touches.
//! - [`moderation`]: the owner's replacement of the edit key, through the registry.
//! - [`operator`]: operators' actions through the registry (the admin API).
//! - [`sweeper`]: deleting rooms whose retention ran out.

pub mod actor;
pub mod admin;
pub mod batch;
pub mod cost;
pub mod load;
pub mod member;
pub mod moderation;
pub mod operator;
pub mod outbox;
pub mod place;
pub mod registry;
pub mod state;
pub mod sweeper;
pub mod tiles;

pub use actor::{Delete, Input, Join, Moved, Room, Shutdown, Status, TakeSnapshot, UnloadIfEmpty};
pub use load::rebuild;
pub use registry::{Located, Registry, RoomHandle};
pub use state::{Effect, Joining, RoomState, RoomStatus};

/// Runs a blocking store read (or write that waits) on the blocking pool, off the I/O threads.
pub(crate) async fn on_blocking_pool<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, crate::store::StoreError> {
    actix_web::web::block(f)
        .await
        .map_err(|_| crate::store::StoreError::Closed)?
}
