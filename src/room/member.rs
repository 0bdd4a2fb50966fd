//! A connected member as the room sees it: identity, outbox, open strokes, sync state, budget.

use std::collections::HashMap;

use bytestring::ByteString;

use super::outbox::{OutboxTx, Outgoing};
use crate::canvas::{Rgba, Tool};
use crate::protocol::{MemberInfo, StrokeId, ViewRect};
use crate::rate::Bucket;

/// A stroke that has begun and not yet ended.
#[derive(Debug)]
pub struct OpenStroke {
    /// Drawing tool.
    pub tool: Tool,
    /// Parsed color.
    pub color: Rgba,
    /// The color as the client sent it, relayed verbatim.
    pub color_text: String,
    /// Nominal width.
    pub width: f32,
    /// Every point so far.
    pub points: Vec<f32>,
    /// The client's id for the op.
    pub op: Option<String>,
    /// A stroke sent again whose op the room already committed at this seq: it is answered
    /// with that commit, not drawn again.
    pub duplicate_of: Option<u64>,
}

/// A connected member.
#[derive(Debug)]
pub struct Member {
    /// Id, name and role, as others see them.
    pub info: MemberInfo,
    /// The client reads `batch` frames.
    pub batch: bool,
    /// The member's forwarding task holds the other end.
    pub outbox: OutboxTx,
    /// Strokes begun and not ended.
    pub open: HashMap<StrokeId, OpenStroke>,
    /// Latest pointer position not yet broadcast.
    pub pending_cursor: Option<(f32, f32)>,
    /// Latest visible rectangle the member reported (follow mode).
    pub view: Option<ViewRect>,
    /// `view` changed since the last `views` batch.
    pub view_changed: bool,
    /// Whose undo stack this member's ops go on: the client's `user` id, or the member id.
    pub author_key: String,
    /// Seq of the canvas this member received on joining (or on its last resync); older tile
    /// rounds are skipped.
    pub joined_seq: u64,
    /// The member's canvas is complete at this seq: every tile round up to it was queued.
    pub tiles_seq: u64,
    /// The outbox overflowed: nothing is queued until it drains and the member is resynced.
    pub lagging: bool,
    /// While lagging, the member's own commits (so its client learns which strokes landed).
    pub missed_own: Vec<ByteString>,
    /// Pixel budget: what the member paints is charged here.
    pub paint: Bucket,
    /// Strokes open when the member was last resynced: its client may begin them again (it
    /// re-sends what it could not send while out of sync), which then restarts them.
    pub open_at_resync: Vec<StrokeId>,
    /// Cluster mode: a viewer relayed by a node that can deliver the room's common traffic from
    /// the bus, and reads batches.
    pub bus_able: bool,
    /// Cluster mode: its share of the common traffic goes on the bus, not into its outbox,
    /// since it was switched having every bus frame up to this number; `None` while not.
    pub bus: Option<u64>,
    /// Entries of the tick log from this absolute index on are for this member (it joined or
    /// was resynced then; earlier entries are already in what it was sent).
    pub log_from: usize,
}

impl Member {
    /// Whether the member may draw.
    pub fn is_editor(&self) -> bool {
        self.info.role.can_draw()
    }

    /// Queues an item unless the member is lagging; an overflow makes it lagging. Returns
    /// whether the item was queued.
    pub fn push(&mut self, item: Outgoing) -> bool {
        if self.lagging {
            return false;
        }
        if self.outbox.push(item).is_err() {
            self.lagging = true;
            self.missed_own.clear();
            tracing::info!(
                member = self.info.id,
                "member is lagging; live traffic paused"
            );
            return false;
        }
        true
    }
}
