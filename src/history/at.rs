//! The canvas at any seq: the latest keyframe no later op (up to that seq) reaches behind, plus
//! the ops after it, replayed. A [`Cursor`] walks forward through history the same way, jumping
//! to a later keyframe whenever one is closer than replaying.

use super::Replay;
use crate::canvas::Canvas;
use crate::config::Config;
use crate::meta::RoomMeta;
use crate::store::history::Bounds;
use crate::store::HistoryRead;
use crate::store::StoreError;

/// Ops read from the store at a time.
const CHUNK: usize = 512;
/// A cursor moving forward jumps to a keyframe only this many ops or more ahead of it.
const JUMP: u64 = 32;

/// Why the canvas at a seq cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The room does not exist.
    #[error("no such board")]
    NotFound,
    /// The seq is not in the room's kept history.
    #[error("seq {seq} is not in this board's history, which goes from {from} to {last}")]
    OutOfRange {
        /// The seq asked for.
        seq: u64,
        /// The first kept seq.
        from: u64,
        /// The latest stored seq.
        last: u64,
    },
    /// The store failed or holds something unreadable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Rendering or encoding failed (out of memory for a frame, say).
    #[error("rendering failed: {0}")]
    Render(String),
}

impl From<rusqlite::Error> for HistoryError {
    fn from(e: rusqlite::Error) -> Self {
        HistoryError::Store(StoreError::Sqlite(e))
    }
}

/// A position in a room's history, moved forward op by op.
pub struct Cursor<'a> {
    conn: &'a dyn HistoryRead,
    meta: &'a RoomMeta,
    config: &'a Config,
    bounds: Bounds,
    /// The keyframe the replay started from.
    base: u64,
    replay: Replay,
}

impl<'a> Cursor<'a> {
    /// A cursor at seq `seq` of the room. Blocking and CPU-heavy.
    pub fn open(
        conn: &'a dyn HistoryRead,
        meta: &'a RoomMeta,
        config: &'a Config,
        seq: u64,
    ) -> Result<Cursor<'a>, HistoryError> {
        let bounds = conn.bounds(meta.id)?.ok_or(HistoryError::NotFound)?;
        check(bounds, seq)?;
        let start = conn.start_for(meta.id, bounds.from, seq, seq)?;
        let replay = Replay::new(meta.id, conn.keyframe(meta, start)?, start, config);
        let mut cursor = Cursor {
            conn,
            meta,
            config,
            bounds,
            base: start,
            replay,
        };
        cursor.replay_to(seq)?;
        Ok(cursor)
    }

    /// Starts the replay over from keyframe `k` (images already read are kept).
    fn restart_at(&mut self, k: u64) -> Result<(), HistoryError> {
        let base = self.conn.keyframe(self.meta, k)?;
        let images = self.replay.take_images();
        self.replay = Replay::new(self.meta.id, base, k, self.config);
        self.replay.add_images(images);
        self.base = k;
        Ok(())
    }

    /// The room's kept history when the cursor was opened.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// The seq the cursor is at.
    pub fn seq(&self) -> u64 {
        self.replay.doc().seq()
    }

    /// The canvas at the cursor.
    pub fn canvas(&self) -> &Canvas {
        self.replay.doc().canvas()
    }

    /// Moves the cursor forward to `seq` (not before where it is): from a later keyframe when
    /// there is one at or before `seq` that no op up to `seq` reaches behind, else by replaying.
    pub fn advance(&mut self, seq: u64) -> Result<(), HistoryError> {
        check(self.bounds, seq)?;
        let here = self.seq();
        if seq <= here {
            return Ok(());
        }
        // Replaying on from here repeats history only if no op up to `seq` reaches behind the
        // keyframe this replay started from.
        let reach = self.conn.oldest_reach(self.meta.id, here, seq)?;
        let can_go_on = reach.is_none_or(|r| r > self.base);
        // A keyframe ahead costs decoding its tiles: worth it over replaying a few dozen ops.
        let ahead = self
            .conn
            .latest_keyframe(self.meta.id, here + 1, seq, seq)?;
        match ahead {
            Some(k) if !can_go_on || k >= here + JUMP => self.restart_at(k)?,
            _ if can_go_on => {}
            _ => {
                let k = self
                    .conn
                    .start_for(self.meta.id, self.bounds.from, seq, seq)?;
                self.restart_at(k)?;
            }
        }
        self.replay_to(seq)
    }

    fn replay_to(&mut self, seq: u64) -> Result<(), HistoryError> {
        while self.seq() < seq {
            let ops = self.conn.ops(self.meta, self.seq(), seq, CHUNK)?;
            let Some(first) = ops.first() else {
                return Err(StoreError::Corrupt(format!(
                    "room {} has no op after {} up to {seq}",
                    self.meta.id,
                    self.seq()
                ))
                .into());
            };
            if first.seq != self.seq() + 1 {
                return Err(StoreError::Corrupt(format!(
                    "room {} is missing op {}",
                    self.meta.id,
                    self.seq() + 1
                ))
                .into());
            }
            let images = self
                .conn
                .images_for(self.meta.id, &ops, self.replay.images())?;
            self.replay.add_images(images);
            for op in ops {
                self.replay.apply(op)?;
            }
        }
        Ok(())
    }
}

fn check(bounds: Bounds, seq: u64) -> Result<(), HistoryError> {
    if seq < bounds.from || seq > bounds.seq {
        return Err(HistoryError::OutOfRange {
            seq,
            from: bounds.from,
            last: bounds.seq,
        });
    }
    Ok(())
}

/// The canvas of the room at seq `seq`. Blocking and CPU-heavy: call from the blocking pool.
pub fn canvas_at(
    conn: &dyn HistoryRead,
    meta: &RoomMeta,
    config: &Config,
    seq: u64,
) -> Result<Canvas, HistoryError> {
    Ok(Cursor::open(conn, meta, config, seq)?.canvas().clone())
}
