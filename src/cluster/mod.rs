//! Running rooms across several nodes: the pieces a cluster of inkroom servers shares through
//! PostgreSQL and Redis (see `docs/cluster.md`).
//!
//! - [`bus`]: the fan-out bus over Redis: a room's owner publishes each encoded frame once,
//!   every node with local members receives it in seq order, and holes are filled from a
//!   short stream history or reported for a catch-up from the database.

pub mod bus;
