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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::super::testkit::{join, room};
    use crate::protocol::{Command, ErrorCode, Role};
    use crate::room::outbox::outbox;
    use crate::room::{Joining, RoomState};

    fn refusal(room: &RoomState) -> Option<ErrorCode> {
        room.editing_refusal().map(|e| e.code)
    }

    /// The owner's lock and the operator's are apart: both may be on, drawing is refused while
    /// either is, and the operator's reason is told first.
    #[test]
    fn owner_and_operator_locks_are_told_apart() {
        let mut room = room();
        let now = Instant::now();
        let (owner, _rx) = join(&mut room, Role::Owner);
        room.handle(owner, Command::Lock { locked: true }, now)
            .expect("the owner may lock");
        assert_eq!(refusal(&room), Some(ErrorCode::Locked));
        room.set_locked(true, now);
        assert_eq!(refusal(&room), Some(ErrorCode::RoomLocked));
        room.set_locked(false, now);
        assert_eq!(refusal(&room), Some(ErrorCode::Locked));
        assert!(room.owner_locked());
        room.handle(owner, Command::Lock { locked: false }, now)
            .expect("the owner may unlock");
        assert_eq!(refusal(&room), None);
        // Locking and unlocking are stored.
        let stored = room
            .take_effects()
            .into_iter()
            .filter(|e| matches!(e, super::Effect::Facts(_)))
            .count();
        assert_eq!(stored, 2);
    }

    /// Editors and viewers may not moderate, even if a command reaches the room.
    #[test]
    fn only_the_owner_moderates() {
        let mut room = room();
        let now = Instant::now();
        let (editor, _e) = join(&mut room, Role::Editor);
        let (viewer, _v) = join(&mut room, Role::Viewer);
        for who in [editor, viewer] {
            let locked = room.handle(who, Command::Lock { locked: true }, now);
            assert_eq!(locked.map_err(|e| e.code), Err(ErrorCode::Forbidden));
            let kicked = room.handle(who, Command::Kick { member: editor }, now);
            assert_eq!(kicked.map_err(|e| e.code), Err(ErrorCode::Forbidden));
        }
        assert!(!room.owner_locked());
        assert_eq!(room.status().editors, 1);
    }

    /// A new edit key makes every editor a viewer; the owner stays.
    #[test]
    fn a_new_edit_key_demotes_editors_only() {
        let mut room = room();
        let (_owner, _o) = join(&mut room, Role::Owner);
        let (_editor, _e) = join(&mut room, Role::Editor);
        let meta = Arc::new(room.meta().with_new_edit_key());
        room.replace_edit_key(Arc::clone(&meta));
        assert_eq!(room.meta().edit_key, meta.edit_key);
        assert_eq!((room.status().editors, room.status().viewers), (1, 1));
    }

    /// A session that checked the old key just before it was replaced cannot join as an
    /// editor with it: `bad_key`.
    #[test]
    fn a_join_with_a_replaced_key_is_refused() {
        let mut room = room();
        let old = room.meta().edit_key.clone();
        room.replace_edit_key(Arc::new(room.meta().with_new_edit_key()));
        let (tx, _rx) = outbox(64, 1 << 20);
        let joined = room.join(Joining {
            name: "late".into(),
            role: Role::Editor,
            outbox: tx,
            user: None,
            since: None,
            batch: false,
            bus: false,
            edit_key: Some(old),
        });
        assert_eq!(joined.map_err(|e| e.code), Err(ErrorCode::BadKey));
        assert_eq!(room.status().editors, 0);
    }
}
