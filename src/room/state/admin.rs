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
    use std::sync::Arc;
    use std::time::Instant;

    use crate::canvas::{Canvas, Document};
    use crate::config::Config;
    use crate::meta::{validate, NewRoom};
    use crate::metrics::{Metrics, StoreMetrics};
    use crate::protocol::{close, Role};
    use crate::room::outbox::{outbox, OutboxRx};
    use crate::room::{Joining, RoomState};

    fn join(room: &mut RoomState, role: Role) -> (u64, OutboxRx) {
        let (tx, rx) = outbox(64, 1 << 20);
        let id = room
            .join(Joining {
                name: "someone".into(),
                role,
                outbox: tx,
                user: None,
                since: None,
                batch: false,
                edit_key: Some(room.meta().edit_key.clone()),
            })
            .expect("joins");
        (id, rx)
    }

    /// A kicked member's outbox ends with 4003 and the reason; it no longer counts; kicking
    /// someone who is not here changes nothing.
    #[tokio::test]
    async fn kick_closes_with_4003_and_forgets_the_member() {
        let config = Arc::new(Config::default());
        let meta = validate(NewRoom::default(), &config).expect("valid room");
        let canvas = Canvas::new(meta.width, meta.height).expect("canvas");
        let doc = Document::new(canvas, 0, config.undo_depth, config.checkpoint_every);
        let now = Instant::now();
        let metrics = Metrics::new(&StoreMetrics::new().expect("store metrics")).expect("metrics");
        let mut room = RoomState::new(Arc::new(meta), config, doc, now, Arc::new(metrics));
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
