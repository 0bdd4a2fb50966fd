//! When the store fails: no `commit` for an op that is not stored.
//!
//! A failed write turns the room read-only. Every op not yet durable is taken back: its author
//! gets `error` `store_unavailable` naming it, strokes are dropped from everyone's live layer,
//! and the document is reloaded from the store as it was at the last durable seq; the tiles
//! those ops touched are sent again, so members who drew them locally (or joined in between)
//! see the stored canvas. Then the room asks the store, with growing waits, whether it may
//! write again; when it may, drawing resumes and the taken-back seqs are reused.

use std::borrow::Cow;
use std::time::Instant;

use super::{Audience, Effect, RoomState};
use crate::canvas::{Document, TileId};
use crate::protocol::{close, ErrorCode, MemberId, ServerMsg, StrokeId};

const NOT_SAVED: &str = "The server could not save this; it was not added to the board.";

impl RoomState {
    /// The store failed to make the op at `seq` durable (or a base, or an earlier write of the
    /// room failed). The first failure takes back every op after the last durable one.
    pub(super) fn store_failed(&mut self, seq: u64, error: &str, now: Instant) {
        if self.store_down {
            // Ops queued before the room learned of the failure; already taken back.
            return;
        }
        let durable = self.durable_seq;
        tracing::error!(
            room = %self.meta.id,
            seq,
            durable,
            taken_back = self.doc.seq() - durable,
            "store failed; room is read-only until it recovers: {error}"
        );
        let before = self.editing_refusal().map(|e| e.code);
        self.store_down = true;
        self.client_ops.forget_after(durable);
        for p in std::mem::take(&mut self.pending) {
            self.metrics.error_sent(ErrorCode::StoreUnavailable);
            self.log.push(
                &ServerMsg::Error {
                    code: ErrorCode::StoreUnavailable,
                    message: Cow::Borrowed(NOT_SAVED),
                    seq: Some(p.seq),
                    stroke: p.stroke,
                    id: p.client_id,
                },
                Audience::Only(p.author),
            );
            if let Some(stroke) = p.stroke {
                self.log.push(
                    &ServerMsg::StrokeDropped {
                        author: p.author,
                        stroke,
                    },
                    Audience::All,
                );
            }
            // Members who sent the same op again were waiting for its commit too.
            for (member, stroke, _) in p.echoes {
                self.not_saved(member, stroke, p.seq);
            }
        }
        self.drop_open_strokes();
        self.announce_editing(before, now);
        let touched: Vec<TileId> = match self.doc.changed_since(durable) {
            Some(tiles) => tiles.into_iter().map(|(id, _)| id).collect(),
            None => self.doc.canvas().all_tiles(),
        };
        self.rollback_tiles = Some(touched);
        self.effects.push(Effect::Reload { upto: durable });
    }

    /// The document as stored at the last durable seq: replaces the one holding the ops that
    /// were taken back, sends their tiles again, and starts asking the store to recover.
    pub fn reloaded(&mut self, doc: Document, now: Instant) {
        let durable = self.durable_seq;
        if doc.seq() != durable {
            self.reload_failed(&format!(
                "the store holds seq {} where {durable} was durable",
                doc.seq()
            ));
            return;
        }
        self.doc = doc;
        self.saved_base = self.doc.base_seq();
        self.reaching_back.clear();
        self.reset_keyframes();
        self.cache.forget_after(durable);
        // Bus-fed members' nodes would not pass them a tile round older than their canvas:
        // they reconnect instead, and resume from tiles.
        self.close_bus_members(0, u64::MAX);
        // Members who joined or caught up while the ops were in the canvas get the tiles too.
        for m in self.members.values_mut() {
            m.joined_seq = m.joined_seq.min(durable);
            m.tiles_seq = m.tiles_seq.min(durable);
        }
        for tile in self.rollback_tiles.take().unwrap_or_default() {
            self.dirty.insert(tile, (now, now));
        }
        self.urgent = true;
        self.start_round(now);
        let editors: Vec<_> = self
            .members
            .iter()
            .filter(|(_, m)| m.is_editor())
            .map(|(id, m)| (*id, self.doc.can_undo_redo(&m.author_key)))
            .collect();
        for (id, (can_undo, can_redo)) in editors {
            self.log.push(
                &ServerMsg::History { can_undo, can_redo },
                Audience::Only(id),
            );
        }
        self.effects.push(Effect::Probe {
            after: self.retry_delay,
            durable,
        });
    }

    /// Tells `member` its stroke (sent again, of an op at `seq`) was not saved: an error and
    /// `stroke_dropped` to it alone (others never saw the stroke again).
    pub(super) fn not_saved(&mut self, member: MemberId, stroke: StrokeId, seq: u64) {
        self.metrics.error_sent(ErrorCode::StoreUnavailable);
        self.log.push(
            &ServerMsg::Error {
                code: ErrorCode::StoreUnavailable,
                message: Cow::Borrowed(NOT_SAVED),
                seq: Some(seq),
                stroke: Some(stroke),
                id: None,
            },
            Audience::Only(member),
        );
        self.log.push(
            &ServerMsg::StrokeDropped {
                author: member,
                stroke,
            },
            Audience::Only(member),
        );
    }

    /// The room could not be reloaded from the store: closes every member's socket (they
    /// reconnect, and the room loads afresh from the store once it can be read).
    pub fn reload_failed(&mut self, error: &str) {
        tracing::error!(room = %self.meta.id, "cannot reload the room from the store: {error}");
        self.close_all(
            close::TRY_AGAIN,
            "the server cannot read this board right now; reconnecting",
        );
        self.store_down = false;
    }

    /// The store answered a probe: on success drawing resumes; otherwise the next probe waits
    /// twice as long (up to `Config::store_retry_max`).
    pub fn probed(&mut self, ok: bool, now: Instant) {
        if !self.store_down {
            return;
        }
        if ok {
            tracing::info!(room = %self.meta.id, seq = self.doc.seq(), "store recovered; drawing resumes");
            let before = self.editing_refusal().map(|e| e.code);
            self.store_down = false;
            self.retry_delay = self.config.store_retry_min;
            self.announce_editing(before, now);
        } else {
            self.retry_delay = (self.retry_delay * 2).min(self.config.store_retry_max);
            self.effects.push(Effect::Probe {
                after: self.retry_delay,
                durable: self.durable_seq,
            });
        }
    }

    /// Whether the room is read-only because the store failed.
    pub fn store_down(&self) -> bool {
        self.store_down
    }
}
