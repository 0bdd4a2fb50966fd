//! Whether the room takes drawing: an operator or the room's owner may lock it, and a failing
//! store turns it read-only until writes succeed again. Members learn of all through `editing`.

use std::borrow::Cow;
use std::time::Instant;

use super::{Audience, RoomState};
use crate::protocol::{encode, ErrorCode, MemberId, ProtoError, ServerMsg};

const LOCKED: &str = "An operator locked this board: you can look but not draw.";
const OWNER_LOCKED: &str =
    "The board's owner locked it: you can look but not draw until they unlock it.";
const STORE_DOWN: &str =
    "The server cannot save drawing right now; this board is read-only until it can. \
     Nothing saved is lost, and drawing comes back by itself.";

impl RoomState {
    /// For an op finished off the room's loop (an image, a restore): why `member` may no
    /// longer draw, if so: it is a viewer now, or the room refuses drawing.
    pub(super) fn drawing_refusal(&self, member: MemberId) -> Option<ProtoError> {
        match self.members.get(&member) {
            Some(m) if !m.is_editor() => Some(ProtoError::new(
                ErrorCode::ReadOnly,
                "this is a view-only link: you cannot draw",
            )),
            _ => self.editing_refusal(),
        }
    }

    /// Why drawing is refused now, if it is (the store's failure first: it ends by itself).
    pub(super) fn editing_refusal(&self) -> Option<ProtoError> {
        if self.store_down {
            Some(ProtoError::new(ErrorCode::StoreUnavailable, STORE_DOWN))
        } else if self.locked {
            Some(ProtoError::new(ErrorCode::RoomLocked, LOCKED))
        } else if self.owner_locked {
            Some(ProtoError::new(ErrorCode::Locked, OWNER_LOCKED))
        } else {
            None
        }
    }

    /// Whether an operator has locked the room.
    pub fn locked(&self) -> bool {
        self.locked
    }

    /// Locks or unlocks the room (admin API): while locked, everyone is a viewer. Open
    /// strokes are dropped (never committed); everyone is told.
    pub fn set_locked(&mut self, locked: bool, now: Instant) {
        if self.locked == locked {
            return;
        }
        let before = self.editing_refusal().map(|e| e.code);
        self.locked = locked;
        tracing::info!(room = %self.meta.id, locked, "room lock changed");
        if locked {
            self.drop_open_strokes();
        }
        self.announce_editing(before, now);
    }

    /// Tells everyone when whether and why drawing is refused has changed from `before`.
    pub(super) fn announce_editing(&mut self, before: Option<ErrorCode>, _now: Instant) {
        let after = self.editing_refusal();
        if before == after.as_ref().map(|e| e.code) {
            return;
        }
        self.log
            .push_text(editing_message(after.as_ref()).into(), Audience::All, None);
    }

    /// The `editing` message for a joiner, when the room is read-only now.
    pub(super) fn editing_for_joiner(&self) -> Option<String> {
        self.editing_refusal().map(|e| editing_message(Some(&e)))
    }

    /// Drops every open stroke without committing it: everyone drops its live preview.
    pub(super) fn drop_open_strokes(&mut self) {
        let open: Vec<(u64, Vec<crate::protocol::StrokeId>)> = self
            .members
            .iter_mut()
            .filter(|(_, m)| !m.open.is_empty())
            .map(|(id, m)| (*id, std::mem::take(&mut m.open).into_keys().collect()))
            .collect();
        for (author, strokes) in open {
            for stroke in strokes {
                self.log
                    .push(&ServerMsg::StrokeDropped { author, stroke }, Audience::All);
            }
        }
    }
}

/// `editing` for a refusal (or for none: drawing allowed), encoded.
fn editing_message(refusal: Option<&ProtoError>) -> String {
    encode(&ServerMsg::Editing {
        allowed: refusal.is_none(),
        reason: refusal.map(|e| e.code),
        message: refusal.map(|e| Cow::Borrowed(e.message.as_str())),
    })
}
