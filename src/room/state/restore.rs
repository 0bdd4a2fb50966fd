//! A restore: the canvas set back to an earlier seq as one op. The earlier canvas is rendered
//! from the store off the room's loop ([`Effect::RenderRestore`]); once it is ready the room
//! commits the tiles that differ from the canvas as it is then, like any op, undoable by the
//! member who restored.

use std::time::Instant;

use super::{Effect, RoomState};
use crate::canvas::{Canvas, Op, Restore};
use crate::protocol::{ErrorCode, MemberId, OpKind, ProtoError, Role};
use crate::room::cost;

impl RoomState {
    /// Why `member` may not restore, if it may not: on a board with an owner only the owner
    /// may (the caller has checked it may draw).
    fn restore_refusal(&self, member: MemberId) -> Option<ProtoError> {
        let role = self.members.get(&member)?.info.role;
        (self.meta.owner_key.is_some() && role != Role::Owner).then(|| {
            ProtoError::new(
                ErrorCode::Forbidden,
                "only the board's owner can restore an earlier moment",
            )
        })
    }

    /// A member asks to restore the canvas at `seq`: renders it off the loop.
    pub(super) fn ask_restore(
        &mut self,
        member: MemberId,
        client_id: Option<u32>,
        seq: u64,
    ) -> Result<(), ProtoError> {
        if let Some(refusal) = self.restore_refusal(member) {
            return Err(refusal);
        }
        if self.restoring.contains(&member) {
            return Err(ProtoError::new(
                ErrorCode::RateLimited,
                "your last restore is still on its way; wait for it first",
            ));
        }
        if seq > self.doc.seq() {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                format!(
                    "this board has no step {seq}: it is at step {}",
                    self.doc.seq()
                ),
            ));
        }
        self.restoring.insert(member);
        self.effects.push(Effect::RenderRestore {
            member,
            client_id,
            seq,
        });
        Ok(())
    }

    /// The canvas at `seq` for `member`'s restore is ready (or rendering it failed). Commits
    /// the restore, unless the member has left or may no longer draw or restore; a refusal is
    /// sent to the member as `error` with the op's client id (and returned, for tests and logs).
    pub fn restore_ready(
        &mut self,
        member: MemberId,
        client_id: Option<u32>,
        seq: u64,
        canvas: Result<Canvas, ProtoError>,
        now: Instant,
    ) -> Result<(), ProtoError> {
        self.restoring.remove(&member);
        if !self.members.contains_key(&member) {
            return Ok(());
        }
        let result = if let Some(refusal) = self
            .drawing_refusal(member)
            .or_else(|| self.restore_refusal(member))
        {
            Err(refusal)
        } else if seq > self.doc.seq() {
            // A failed write took the room back below `seq` while it was rendered.
            Err(ProtoError::new(
                ErrorCode::BadMessage,
                format!(
                    "this board has no step {seq} any more: it is at step {}",
                    self.doc.seq()
                ),
            ))
        } else {
            canvas.map(|target| {
                let restore = Restore::between(seq, self.doc.canvas(), &target);
                let tiles = restore.tiles.len();
                if let Some(m) = self.members.get_mut(&member) {
                    m.paint.charge(now, cost::tiles(tiles));
                }
                tracing::info!(room = %self.meta.id, member, seq, tiles, "restored an earlier moment");
                self.commit(
                    member,
                    Op::Restore(restore),
                    OpKind::Restore,
                    None,
                    client_id,
                    now,
                );
            })
        };
        if let Err(e) = &result {
            self.refuse(member, e, client_id);
        }
        result
    }
}
