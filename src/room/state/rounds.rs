//! Tile rounds: the tiles changed since the last round, encoded once off the loop and sent to
//! every member, after the commits they show.

use std::time::Instant;

use bytes::Bytes;

use super::{Effect, RoomState};
use crate::canvas::TileId;
use crate::room::outbox::Outgoing;

impl RoomState {
    /// Starts a tile round: the dirty tiles, encoded off the loop. One round runs at a time, and
    /// tiles never show an op whose commit has not gone out yet.
    pub(super) fn start_round(&mut self, now: Instant) {
        if self.encoding || self.dirty.is_empty() || self.durable_seq < self.doc.seq() {
            return;
        }
        self.encoding = true;
        self.urgent = false;
        self.last_round = Some(now);
        let ids: Vec<TileId> = std::mem::take(&mut self.dirty).into_iter().collect();
        self.effects.push(Effect::EncodeTiles {
            tiles: self.doc.canvas().snapshot_of(&ids),
            seq: self.doc.seq(),
            send: true,
        });
    }

    /// Frames of tiles encoded at `seq` are ready: keep them for joiners and, for a tile round,
    /// send them to members who joined at or before `seq`, after the commits they show.
    pub fn tiles_encoded(
        &mut self,
        frames: Vec<(TileId, Bytes)>,
        seq: u64,
        send: bool,
        now: Instant,
    ) {
        self.cache.insert(&self.doc, &frames, seq);
        if !send {
            return;
        }
        self.encoding = false;
        // Commits said this tick go out before the tiles that show them.
        self.log.deliver(&mut self.members);
        for m in self.members.values_mut() {
            if m.joined_seq > seq || m.lagging {
                continue;
            }
            for (_, f) in &frames {
                if !m.push(Outgoing::Binary(f.clone())) {
                    break;
                }
            }
            if !m.lagging {
                m.tiles_seq = seq;
            }
        }
        if self.urgent {
            self.start_round(now);
        }
    }

    /// A tile round could not be encoded: its tiles wait for the next round.
    pub fn tiles_failed(&mut self, tiles: Vec<TileId>) {
        self.encoding = false;
        self.dirty.extend(tiles);
    }
}
