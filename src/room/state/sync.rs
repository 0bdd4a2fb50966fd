//! Keeping members in sync: commits going out once durable, joins and resyncs of members that
//! fell behind.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;

use super::{Audience, RoomState};
use crate::protocol::{close, encode, MemberId, MemberInfo, Role, ServerMsg, ViewRect};
use crate::room::outbox::{OutboxTx, Outgoing};

impl RoomState {
    /// The store made the op at `seq` (and every one before it) durable, or failed to. Commits
    /// up to it go out in this tick, each author gets its undo state. A failure turns the room
    /// read-only and takes back every op not yet durable (see [`RoomState::store_failed`]).
    pub fn stored(&mut self, seq: u64, failed: Option<&str>, now: Instant) {
        if let Some(e) = failed {
            self.store_failed(seq, e, now);
            return;
        }
        self.durable_seq = self.durable_seq.max(seq);
        while self
            .pending
            .front()
            .is_some_and(|p| p.seq <= self.durable_seq)
        {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            let author = p.author;
            let lagging = self.members.get(&author).is_some_and(|m| m.lagging);
            if lagging {
                self.keep_missed(author, p.commit.clone());
            }
            self.log.push_text(p.commit, Audience::All, Some(author));
            for (member, _, echo) in p.echoes {
                self.log.push_text(echo, Audience::Only(member), None);
            }
            if lagging {
                continue;
            }
            if let Some(m) = self.members.get(&author) {
                let (can_undo, can_redo) = self.doc.can_undo_redo(&m.author_key);
                self.log.push(
                    &ServerMsg::History { can_undo, can_redo },
                    Audience::Only(author),
                );
            }
        }
        if self.urgent {
            self.start_round(now);
        }
    }

    /// Remembers a lagging member's own commit; past `Config::outbox_frames` of them the member
    /// is dropped (4008) and reconnects to catch up.
    pub(super) fn keep_missed(&mut self, author: MemberId, commit: ByteString) {
        let Some(m) = self.members.get_mut(&author) else {
            return;
        };
        if m.missed_own.len() < self.config.outbox_frames {
            m.missed_own.push(commit);
            return;
        }
        tracing::info!(room = %self.meta.id, member = author, "dropping lagging member");
        m.outbox
            .close(close::LAGGING, "too far behind; reconnect to catch up");
        if let Some(m) = self.members.remove(&author) {
            self.forget(&m);
        }
    }

    /// Resyncs lagging members whose outbox has drained: their own commits they missed, then a
    /// fresh `welcome` (resumed), the tiles changed since their canvas was complete, `synced`,
    /// the open strokes, everyone's view and their undo state. Coalesces everything they missed
    /// into one catch-up, as remote-desktop servers do.
    pub(super) fn resync_drained(&mut self) {
        let ready: Vec<MemberId> = self
            .members
            .iter()
            // A bus-fed member is closed instead (`switch_to_bus`): its feed would race a resync.
            .filter(|(_, m)| m.lagging && m.bus.is_none() && m.outbox.is_drained())
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            let Some(member) = self.members.get_mut(&id) else {
                continue;
            };
            let since = member.tiles_seq;
            let missed = std::mem::take(&mut member.missed_own);
            let (outbox, info, author_key) = (
                member.outbox.clone(),
                member.info.clone(),
                member.author_key.clone(),
            );
            let queued = missed
                .into_iter()
                .all(|c| outbox.push(Outgoing::Text(c)).is_ok())
                && self.queue_sync(&outbox, &info, Some(since), &author_key);
            let seq = self.doc.seq();
            let log_len = self.log.end();
            if queued {
                if let Some(m) = self.members.get_mut(&id) {
                    m.lagging = false;
                    m.joined_seq = seq;
                    m.tiles_seq = seq;
                    m.open_at_resync = m.open.keys().copied().collect();
                    m.log_from = log_len;
                }
                self.metrics.resyncs.inc();
                tracing::info!(room = %self.meta.id, member = id, since, seq, "resynced lagging member");
            } else {
                tracing::debug!(room = %self.meta.id, member = id, "resync did not fit");
            }
        }
    }

    /// Queues what a member needs to be in sync: `welcome`, the canvas at the current seq (only
    /// the tiles changed after `since` when that can be told) followed by `synced`, the open
    /// strokes, everyone's view and the member's undo state. False if the outbox overflowed.
    pub(super) fn queue_sync(
        &self,
        outbox: &OutboxTx,
        info: &MemberInfo,
        since: Option<u64>,
        author_key: &str,
    ) -> bool {
        let seq = self.doc.seq();
        let changed = since.and_then(|since| self.doc.changed_since(since));
        let resumed = changed.is_some();
        let tiles = changed.unwrap_or_else(|| {
            self.doc
                .canvas()
                .snapshot()
                .tiles()
                .iter()
                .map(|(id, t)| (*id, Some(Arc::clone(t))))
                .collect()
        });
        let tiles = self.cache.sources(&self.doc, tiles);
        let mut members: Vec<MemberInfo> = self
            .listed_members()
            .filter(|m| m.info.id != info.id)
            .map(|m| m.info.clone())
            .collect();
        members.push(info.clone());
        let own_viewer =
            usize::from(info.role == Role::Viewer && !self.members.contains_key(&info.id));
        let welcome = encode(&ServerMsg::Welcome {
            you: info.id,
            role: info.role,
            room: self.meta.view(),
            seq,
            members,
            viewers: (self.viewers + own_viewer) as u64,
            resumed,
        });
        let mut queued = outbox.push(Outgoing::Text(welcome.into())).is_ok()
            && outbox.push(Outgoing::Canvas { tiles, seq }).is_ok();
        // Only editors draw, and every editor is listed.
        for m in self.listed_members() {
            for (stroke, open) in &m.open {
                let begin = encode(&ServerMsg::StrokeBegin {
                    author: m.info.id,
                    stroke: *stroke,
                    tool: open.tool,
                    color: Cow::Borrowed(&open.color_text),
                    width: open.width,
                    points: Cow::Borrowed(&open.points),
                });
                queued = queued && outbox.push(Outgoing::Text(begin.into())).is_ok();
            }
        }
        if let Some(editing) = self.editing_for_joiner() {
            queued = queued && outbox.push(Outgoing::Text(editing.into())).is_ok();
        }
        let views: Vec<ViewRect> = self.listed_members().filter_map(|m| m.view).collect();
        if !views.is_empty() {
            let text = encode(&ServerMsg::Views { views });
            queued = queued && outbox.push(Outgoing::Text(text.into())).is_ok();
        }
        let (can_undo, can_redo) = self.doc.can_undo_redo(author_key);
        if can_undo || can_redo {
            let history = encode(&ServerMsg::History { can_undo, can_redo });
            queued = queued && outbox.push(Outgoing::Text(history.into())).is_ok();
        }
        queued
    }
}
