//! The owner's revert: every op of one member still in the history window taken back as one op,
//! which the owner can undo and redo like any of their own.

use std::time::Instant;

use super::{Audience, RoomState};
use crate::protocol::{ErrorCode, MemberId, OpKind, ProtoError, Role, ServerMsg};
use crate::room::cost;
use crate::store::Record;

impl RoomState {
    /// Reverts `member`'s ops for `from`, who must be the owner (`forbidden`). Refused like
    /// drawing while the room takes none (`locked`, `room_locked`, `store_unavailable`); a
    /// member not in the room, or the owner's own ops, are `bad_message`; a member with nothing
    /// left to take back is `nothing_to_undo`. Members drawing under the reverted key are told
    /// their new undo state at once.
    pub(super) fn revert(
        &mut self,
        from: MemberId,
        member: MemberId,
        now: Instant,
    ) -> Result<(), ProtoError> {
        let Some(owner) = self.members.get(&from) else {
            return Ok(());
        };
        if owner.info.role != Role::Owner {
            return Err(ProtoError::new(
                ErrorCode::Forbidden,
                "only the board's owner may revert someone's work",
            ));
        }
        let owner_key = owner.author_key.clone();
        if let Some(refusal) = self.editing_refusal() {
            return Err(refusal);
        }
        if self
            .members
            .get_mut(&from)
            .is_some_and(|m| m.paint.in_debt(now))
        {
            self.metrics.rate_limited_paint.inc();
            return Err(ProtoError::new(
                ErrorCode::RateLimited,
                format!(
                    "painting too much too fast (at most {} million pixels a second); wait a moment",
                    self.config.paint_pixels_per_second / 1e6
                ),
            ));
        }
        let Some(victim) = self.members.get(&member).map(|m| m.author_key.clone()) else {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                format!("member {member} is not in this board"),
            ));
        };
        if victim == owner_key {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                "you cannot revert your own work; use undo",
            ));
        }
        let Some(applied) = self.doc.revert(&owner_key, &victim) else {
            return Err(ProtoError::new(
                ErrorCode::NothingToUndo,
                format!("member {member} has nothing left to revert"),
            ));
        };
        let oldest = self.doc.reaches_back(applied.seq);
        self.reaching_back.push((applied.seq, oldest));
        if let Some(m) = self.members.get_mut(&from) {
            m.paint.charge(now, cost::tiles(applied.tiles.len()));
        }
        tracing::info!(room = %self.meta.id, member, seq = applied.seq, "owner reverted a member");
        let (can_undo, can_redo) = self.doc.can_undo_redo(&victim);
        let reverted: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(_, m)| m.author_key == victim)
            .map(|(id, _)| *id)
            .collect();
        for id in reverted {
            self.log.push(
                &ServerMsg::History { can_undo, can_redo },
                Audience::Only(id),
            );
        }
        self.persist(
            owner_key,
            applied.seq,
            Record::Revert {
                author: victim,
                from: oldest,
            },
        );
        self.announce(from, applied, OpKind::Revert, None, None, now);
        Ok(())
    }
}
