//! [`HistoryRead`]: the reads time travel makes (the canvas at a seq, timelapses, restores,
//! `/history`), over whichever engine stores the room. The SQLite store answers them from a
//! read connection of its own ([`rusqlite::Connection`] implements the trait with the
//! functions of `history.rs`); the cluster store from PostgreSQL.

use std::collections::HashMap;

use rusqlite::Connection;
use uuid::Uuid;

use super::history::{self, Bounds, StoredOp};
use super::StoreError;
use crate::canvas::Canvas;
use crate::meta::RoomMeta;

/// Reads of a room's history. Every call blocks: use it on the blocking pool.
pub trait HistoryRead {
    /// Where the room's kept history starts and ends, if the room exists.
    fn bounds(&self, room: Uuid) -> Result<Option<Bounds>, StoreError>;

    /// The latest keyframe from `from` to `at_most` from which replaying the ops up to `upto`
    /// gives the canvas at `upto`; `None` when no stored keyframe will do.
    fn latest_keyframe(
        &self,
        room: Uuid,
        from: u64,
        at_most: u64,
        upto: u64,
    ) -> Result<Option<u64>, StoreError>;

    /// The canvas at keyframe `seq` (blank for seq 0 without a keyframe).
    fn keyframe(&self, meta: &RoomMeta, seq: u64) -> Result<Canvas, StoreError>;

    /// The oldest seq any op after `after`, up to `upto`, re-rendered from.
    fn oldest_reach(&self, room: Uuid, after: u64, upto: u64) -> Result<Option<u64>, StoreError>;

    /// Up to `limit` ops after `after` and up to `upto`, in order, with restores' pixels.
    fn ops(
        &self,
        meta: &RoomMeta,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<StoredOp>, StoreError>;

    /// One uploaded image's bytes.
    fn image(&self, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// The commit times of up to `count` ops spread evenly over `from..=upto`.
    fn marks(
        &self,
        room: Uuid,
        from: u64,
        upto: u64,
        count: u64,
    ) -> Result<Vec<(u64, Option<i64>)>, StoreError>;

    /// The latest op committed at or before `at` (unix milliseconds).
    fn seq_at(&self, room: Uuid, at: i64) -> Result<Option<u64>, StoreError>;

    /// Like [`HistoryRead::latest_keyframe`], but 0 (the blank canvas) when there is none and
    /// the history starts at 0; `Corrupt` otherwise.
    fn start_for(&self, room: Uuid, from: u64, at_most: u64, upto: u64) -> Result<u64, StoreError> {
        match self.latest_keyframe(room, from, at_most, upto)? {
            Some(k) => Ok(k),
            None if from == 0 => Ok(0),
            None => Err(StoreError::Corrupt(format!(
                "room {room} has no keyframe to replay seq {upto} from"
            ))),
        }
    }

    /// The bytes of the images the ops draw that `have` lacks, by id.
    fn images_for(
        &self,
        room: Uuid,
        ops: &[StoredOp],
        have: &HashMap<String, Vec<u8>>,
    ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let mut out = HashMap::new();
        for (id, seq) in images_wanted(ops, have) {
            let bytes = self
                .image(room, id)?
                .ok_or_else(|| image_missing(room, seq, id))?;
            out.insert(id.to_owned(), bytes);
        }
        Ok(out)
    }
}

/// The images `ops` draw that `have` lacks, each once, with the seq of the first op drawing it.
pub(crate) fn images_wanted<'a>(
    ops: &'a [StoredOp],
    have: &HashMap<String, Vec<u8>>,
) -> Vec<(&'a str, u64)> {
    let mut wanted: Vec<(&str, u64)> = Vec::new();
    for op in ops {
        if let Some((id, _)) = op.record.image() {
            if !have.contains_key(id) && !wanted.iter().any(|(w, _)| *w == id) {
                wanted.push((id, op.seq));
            }
        }
    }
    wanted
}

/// An op draws an image the store does not have.
pub(crate) fn image_missing(room: Uuid, seq: u64, id: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "room {room} op {seq} draws image {id}, which is not stored"
    ))
}

impl HistoryRead for Connection {
    fn bounds(&self, room: Uuid) -> Result<Option<Bounds>, StoreError> {
        history::bounds(self, room)
    }

    fn latest_keyframe(
        &self,
        room: Uuid,
        from: u64,
        at_most: u64,
        upto: u64,
    ) -> Result<Option<u64>, StoreError> {
        history::latest_keyframe(self, room, from, at_most, upto)
    }

    fn keyframe(&self, meta: &RoomMeta, seq: u64) -> Result<Canvas, StoreError> {
        history::keyframe(self, meta, seq)
    }

    fn oldest_reach(&self, room: Uuid, after: u64, upto: u64) -> Result<Option<u64>, StoreError> {
        history::oldest_reach(self, room, after, upto)
    }

    fn ops(
        &self,
        meta: &RoomMeta,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<StoredOp>, StoreError> {
        history::ops(self, meta, after, upto, limit)
    }

    fn image(&self, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        super::images::read(self, room, id)
    }

    fn marks(
        &self,
        room: Uuid,
        from: u64,
        upto: u64,
        count: u64,
    ) -> Result<Vec<(u64, Option<i64>)>, StoreError> {
        history::marks(self, room, from, upto, count)
    }

    fn seq_at(&self, room: Uuid, at: i64) -> Result<Option<u64>, StoreError> {
        history::seq_at(self, room, at)
    }
}
