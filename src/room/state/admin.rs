//! What an operator may do to a room's members (admin API): remove one.

use std::time::Instant;

use super::RoomState;
use crate::protocol::{close, MemberId};

impl RoomState {
    /// Removes a member: its socket is closed with 4003 and `reason` (after what is already
    /// queued for it), its open strokes are dropped and the others are told it left, as on a
    /// leave. False when no such member is here. Not a ban: the person may join again.
    pub fn kick(&mut self, id: MemberId, reason: &str, now: Instant) -> bool {
        let Some(m) = self.members.remove(&id) else {
            return false;
        };
        tracing::info!(room = %self.meta.id, member = id, "member kicked");
        m.outbox.close(close::KICKED, reason);
        self.forget(&m);
        if self.members.is_empty() {
            self.empty_since = Some(now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::testkit::{join, room};
    use crate::protocol::{close, Role};

    /// A kicked member's outbox ends with 4003 and the reason; it no longer counts; kicking
    /// someone who is not here changes nothing.
    #[tokio::test]
    async fn kick_closes_with_4003_and_forgets_the_member() {
        let now = Instant::now();
        let mut room = room();
        let (ann, mut ann_rx) = join(&mut room, Role::Editor);
        let (_bob, mut bob_rx) = join(&mut room, Role::Viewer);

        assert!(room.kick(ann, "be nice", now));
        assert!(!room.kick(ann, "again", now));
        assert_eq!(room.status().editors, 0);
        assert_eq!(room.status().viewers, 1);
        // What was queued still arrives, then the outbox ends with the note.
        while ann_rx.recv().await.is_some() {}
        let note = ann_rx.close_note().expect("a close note");
        assert_eq!(
            (note.code, note.reason.as_str()),
            (close::KICKED, "be nice")
        );
        assert!(bob_rx.try_recv().is_some(), "the viewer is still served");
        assert!(bob_rx.close_note().is_none());
    }
}
