//! Time travel: the canvas at any seq of a room's history, and timelapses of it.
//!
//! Everything here reads the store and replays ops (CPU-heavy): callers run it on the blocking
//! pool, under [`HistoryJobs`] so that history requests never starve drawing.

pub mod apng;
mod at;
mod jobs;
mod replay;
pub mod time;
pub mod timelapse;

pub use at::{canvas_at, Cursor, HistoryError};
pub use jobs::{HistoryJobs, JobKind};
pub use replay::Replay;
