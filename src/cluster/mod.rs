//! The cluster mode: several inkroom nodes behind a load balancer sharing rooms through
//! PostgreSQL (the store of record, and who owns which room). SQLite ([`crate::store`]) stays
//! the embedded single-node default; `--store postgres://...` runs a node as one of a cluster
//! (issue 14).
//!
//! Each room is owned by one node at a time through a lease with an epoch; every op the owner
//! writes is fenced by that epoch in the same transaction, so a former owner that stalled can
//! never write again, and a room's log has one order with no gap and no duplicate. Other nodes
//! forward requests for the room to its owner ([`crate::http::forward`]). See
//! `docs/cluster.md`.
//!
//! - [`PgStore`] (`store.rs`, `store/write.rs`, `store/read.rs`): the store's PostgreSQL
//!   engine behind [`crate::store::Backend`]. It claims a room (takes its lease and starts its
//!   [`LeaseKeeper`]) before the room is loaded, says when the room is lost, and releases it on
//!   unload. Its calls run on a runtime thread of its own; one writer task group-commits a
//!   room's queued ops into one fenced append, and fences keyframes, bases and probes by the
//!   same lease check.
//! - [`pg`]: [`Pg`], a bounded pool of PostgreSQL connections whose every call is
//!   bounded in time, and [`PgError`].
//! - `schema.rs`: the PostgreSQL schema and its versioned migrations (the SQLite store's tables
//!   plus `leases`).
//! - [`lease`]: [`Leases`], taking, renewing and releasing a room's
//!   [`Lease`] on the database's clock, with a local deadline on this node's.
//! - [`keeper`]: [`LeaseKeeper`], the task that renews a room's lease while this node owns
//!   the room, and tells the room at its local deadline to stop acting as the owner.
//! - [`oplog`]: [`OpLog`], the fenced append of a room's ops under its lease.
//! - [`bus`]: the fan-out bus over Redis: a room's owner publishes each encoded frame once,
//!   every node with local members receives it in seq order, and holes are filled from a
//!   short stream history or reported for a catch-up from the database.
//! - [`fanout`]: [`Fanout`](fanout::Fanout), the node's use of the bus (`--bus redis://...`):
//!   rooms publish the frame their relayed viewers share once a tick, and each node writes it
//!   to its own members of the room.

pub mod bus;
pub mod fanout;
pub mod keeper;
pub mod lease;
pub mod oplog;
pub mod pg;
mod schema;
mod store;

pub use keeper::{KeeperConfig, KeeperState, LeaseKeeper, LostReason};
pub use lease::{Lease, Leases};
pub use oplog::{AppendError, LogOp, OpLog};
pub use pg::{Pg, PgError, PgOptions};
pub use schema::VERSION as SCHEMA_VERSION;
pub use store::{ClusterOptions, PgStore};
