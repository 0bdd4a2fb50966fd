//! Tile rounds: the tiles changed since the last round, encoded once off the loop and sent to
//! every member, after the commits they show.

use std::time::Instant;

use bytes::Bytes;

use super::{Effect, RoomState};
use crate::canvas::TileId;
use crate::cluster::fanout::BusBody;
use crate::room::outbox::Outgoing;

impl RoomState {
    /// Starts a tile round, encoded off the loop: after a fill, shape, clear, undo or redo every
    /// dirty tile at once; otherwise the tiles that settled (nobody drew on them for
    /// `snapshot_interval`) or waited `snapshot_max_delay`. One round runs at a time, and tiles
    /// never show an op whose commit has not gone out yet.
    pub(super) fn start_round(&mut self, now: Instant) {
        if self.encoding || self.dirty.is_empty() || self.durable_seq < self.doc.seq() {
            return;
        }
        let ids: Vec<TileId> = if self.urgent {
            std::mem::take(&mut self.dirty).into_keys().collect()
        } else {
            let (settle, max) = (
                self.config.snapshot_interval,
                self.config.snapshot_max_delay,
            );
            let ripe: Vec<TileId> = self
                .dirty
                .iter()
                .filter(|(_, (first, last))| {
                    now.saturating_duration_since(*last) >= settle
                        || now.saturating_duration_since(*first) >= max
                })
                .map(|(id, _)| *id)
                .collect();
            for id in &ripe {
                self.dirty.remove(id);
            }
            ripe
        };
        if ids.is_empty() {
            return;
        }
        self.encoding = true;
        self.urgent = false;
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
        self.log.deliver_all(&mut self.members);
        if self.log.bus_on() {
            self.log.push_bus(BusBody::Tiles {
                seq,
                frames: frames.iter().map(|(_, f)| f.clone()).collect(),
            });
        }
        for m in self.members.values_mut() {
            if m.joined_seq > seq || m.lagging || m.bus.is_some() {
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
    pub fn tiles_failed(&mut self, tiles: Vec<TileId>, now: Instant) {
        self.encoding = false;
        for tile in tiles {
            self.dirty.entry(tile).or_insert((now, now));
        }
    }
}
