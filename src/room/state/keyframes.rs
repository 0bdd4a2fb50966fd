//! When the room asks the store for a keyframe (the canvas at the current seq, for time
//! travel), and when one of them becomes the room's base (where a load starts).
//!
//! A keyframe is asked for once [`Config::keyframe_every`](crate::config::Config::keyframe_every)
//! ops or [`Config::keyframe_megapixels`](crate::config::Config::keyframe_megapixels) of
//! painted tiles have gone by since the last one, and right after an undo, redo or revert that
//! //! reached behind the last one, so the canvas at any seq is a keyframe plus a bounded replay. It
//! carries only the tiles the document changed since the last keyframe this room asked for, and
//! every tile for the first after a load or reload (the store skips tiles it already holds), so
//! the room keeps no pixels for it. Keyframes reach the store in seq order (the actor encodes
//! one at a time), so each is a delta on the one before.
//! A keyframe becomes the base once history can no longer reach behind it: the document's
//! oldest reachable state is at or after it, it is durable, and no undo, redo or revert since
//! reached back to or before it.

use std::collections::VecDeque;

use super::{Effect, RoomState};
use crate::canvas::{Applied, TILE_SIZE};

/// The room's keyframe bookkeeping.
#[derive(Debug, Default)]
pub(super) struct Keyframes {
    /// Seq of the latest keyframe asked for (or of the document when the room started).
    last: u64,
    /// Whether the next keyframe may carry only the tiles changed since `last`: false until
    /// this room has asked for one (the store's latest keyframe may be older than `last`).
    delta: bool,
    /// Pixels of tiles painted since it.
    painted: u64,
    /// Keyframes asked for that are not yet the base, ascending, and whether the store holds
    /// each yet (only a stored one can become the base).
    candidates: VecDeque<(u64, bool)>,
    /// Bumped when the document is reloaded after a failed write: a keyframe asked for before
    /// may show ops that were taken back, and must not be stored.
    generation: u64,
}

impl Keyframes {
    /// Bookkeeping for a room whose document is at `seq` (its next keyframe carries every
    /// tile).
    pub(super) fn starting_at(seq: u64) -> Keyframes {
        Keyframes {
            last: seq,
            ..Keyframes::default()
        }
    }
}

impl RoomState {
    /// After an op is handed to the store: asks for a keyframe when one is due, and moves the
    /// base on to the latest keyframe history can no longer reach behind. An op that
    /// re-rendered from at or before the last keyframe (`reach`: an undo soon after it, say)
    /// asks for one at once: replays up to a later seq would otherwise have to start a whole
    /// interval further back.
    pub(super) fn keyframe_if_due(&mut self, applied: &Applied, reach: Option<u64>) {
        let k = &mut self.keyframes;
        let tile_pixels = u64::from(TILE_SIZE * TILE_SIZE);
        k.painted = k
            .painted
            .saturating_add(applied.tiles.len() as u64 * tile_pixels);
        let due = applied.seq.saturating_sub(k.last) >= self.config.keyframe_every
            || k.painted >= self.config.keyframe_megapixels.saturating_mul(1_000_000)
            || reach.is_some_and(|r| r <= k.last && k.last > self.saved_base);
        if due {
            let canvas = self.doc.canvas();
            let tiles = canvas
                .all_tiles()
                .into_iter()
                .filter(|&id| !k.delta || self.doc.tile_version(id) > k.last)
                .map(|id| (id, canvas.tile(id).cloned()))
                .collect();
            k.delta = true;
            k.last = applied.seq;
            k.painted = 0;
            k.candidates.push_back((applied.seq, false));
            self.effects.push(Effect::Keyframe {
                seq: applied.seq,
                tiles,
                generation: k.generation,
            });
        }
        self.move_base();
    }

    /// The store holds keyframe `seq`: it may become the base.
    pub fn keyframe_stored(&mut self, seq: u64, generation: u64) {
        if generation != self.keyframes.generation {
            return;
        }
        if let Some(c) = self.keyframes.candidates.iter_mut().find(|c| c.0 == seq) {
            c.1 = true;
        }
        self.move_base();
    }

    /// Makes the latest stored keyframe that history can no longer reach behind the base.
    fn move_base(&mut self) {
        let reachable = self.doc.base_seq().min(self.durable_seq);
        let reaching = &self.reaching_back;
        let Some(base) = self
            .keyframes
            .candidates
            .iter()
            .rev()
            .filter(|&&(k, stored)| stored && k <= reachable)
            .map(|&(k, _)| k)
            .find(|&k| {
                !reaching
                    .iter()
                    .any(|&(event, target)| event > k && target <= k)
            })
        else {
            return;
        };
        if base <= self.saved_base {
            return;
        }
        self.saved_base = base;
        self.keyframes.candidates.retain(|&(k, _)| k > base);
        self.reaching_back.retain(|&(event, _)| event > base);
        self.effects.push(Effect::SetBase { seq: base });
    }

    /// After the document was reloaded from the store: keyframes asked for since are
    /// forgotten (those that were stored stay usable for time travel), and the next one sends
    /// every tile.
    pub(super) fn reset_keyframes(&mut self) {
        let generation = self.keyframes.generation + 1;
        self.keyframes = Keyframes {
            generation,
            ..Keyframes::starting_at(self.doc.seq())
        };
    }

    /// A keyframe could not be encoded (or stored): the next one carries every tile, and
    /// keyframes asked for before it are forgotten.
    pub fn keyframe_failed(&mut self) {
        self.reset_keyframes();
    }

    /// Whether keyframe `seq`, asked for in `generation` and now encoded off the loop, may
    /// still be stored: no write failed since (its pixels may show ops taken back).
    pub fn keyframe_current(&self, seq: u64, generation: u64) -> bool {
        !self.store_down && generation == self.keyframes.generation && seq <= self.doc.seq()
    }
}
