//! What the room's owner may do (moderation): lock and unlock the room, remove a member, and
//! take drawing away from the editors when the edit key is replaced. The owner lock shares the
//! `editing` machinery with the operator's lock (`editing.rs`) under its own reason, `locked`.

use std::time::Instant;

use super::{Audience, Effect, RoomState};
use crate::meta::RoomMeta;
use crate::protocol::{ErrorCode, MemberId, ProtoError, Role, ServerMsg};
use crate::store::FactUpdate;

/// Said in the close frame of a member the owner removed (at most 123 bytes).
pub const KICKED_BY_OWNER: &str = "the board's owner removed you";

impl RoomState {
    /// Whether the room's owner has locked it.
    pub fn owner_locked(&self) -> bool {
        self.owner_locked
    }

    /// Locks or unlocks the room for its owner: while locked nobody draws (`locked`). Open
    /// strokes are dropped, everyone is told through `editing` when what they may do changed,
    /// and the lock is stored (`persist`) so it outlives the room's time in memory.
    pub fn set_owner_locked(&mut self, locked: bool, persist: bool, now: Instant) {
        if self.owner_locked == locked {
            return;
        }
        let before = self.editing_refusal().map(|e| e.code);
        self.owner_locked = locked;
        tracing::info!(room = %self.meta.id, locked, "owner lock changed");
        if locked {
            self.drop_open_strokes();
        }
        if persist {
            self.effects.push(Effect::Facts(FactUpdate::OwnerLocked {
                room: self.meta.id,
                locked,
            }));
        }
        self.announce_editing(before, now);
    }

    /// Runs a moderation command from `from`, who the session found to be the owner (checked
    /// again here, so the rule holds whoever calls).
    pub(super) fn moderate(
        &mut self,
        from: MemberId,
        locked: Option<bool>,
        kick: Option<MemberId>,
        now: Instant,
    ) -> Result<(), ProtoError> {
        let is_owner = self
            .members
            .get(&from)
            .is_some_and(|m| m.info.role == Role::Owner);
        if !is_owner {
            return Err(ProtoError::new(
                ErrorCode::Forbidden,
                "only the board's owner may lock it or remove people",
            ));
        }
        if let Some(locked) = locked {
            self.set_owner_locked(locked, true, now);
        }
        if let Some(member) = kick {
            if member == from {
                return Err(ProtoError::new(
                    ErrorCode::BadMessage,
                    "you cannot remove yourself; close the page instead",
                ));
            }
            if !self.kick(member, KICKED_BY_OWNER, now) {
                return Err(ProtoError::new(
                    ErrorCode::BadMessage,
                    format!("member {member} is not in this board"),
                ));
            }
        }
        Ok(())
    }

    /// The owner replaced the edit key: the room now knows the new one, and every editor
    /// (all joined with the old key) becomes a viewer: its open strokes are dropped and
    /// everyone, the member included, is told with `member_updated`. The owner stays.
    pub fn replace_edit_key(&mut self, meta: std::sync::Arc<RoomMeta>) {
        self.meta = meta;
        let demoted: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(_, m)| m.info.role == Role::Editor)
            .map(|(id, _)| *id)
            .collect();
        for id in demoted {
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            m.info.role = Role::Viewer;
            let strokes: Vec<_> = std::mem::take(&mut m.open).into_keys().collect();
            let info = m.info.clone();
            self.editors -= 1;
            self.viewers += 1;
            self.previews.remove(&id);
            for stroke in strokes {
                self.log.push(
                    &ServerMsg::StrokeDropped { author: id, stroke },
                    Audience::All,
                );
            }
            // Editors are always listed; a demoted one stays listed so others see the change.
            self.log
                .push(&ServerMsg::MemberUpdated { member: info }, Audience::All);
        }
        tracing::info!(room = %self.meta.id, "edit key replaced; editors are viewers now");
    }
}
