//! Rooms: the [`Room`] actor that owns a canvas and its members, the [`Registry`] that maps room
//! ids to running actors, and the bounded [`outbox`] each member reads from.

pub mod outbox;
mod registry;
#[allow(clippy::module_inception)]
mod room;

pub use registry::{NewRoom, Registry, RoomMeta};
pub(crate) use room::encode_tile_frames;
pub use room::{
    rebuild, Delete, FromClient, Join, Leave, Room, RoomStatus, Shutdown, Status, TakeSnapshot,
};
