//! The room's rules as a plain type: [`RoomState`] holds a room's canvas, members, open strokes
//! and commit pipeline, takes validated [`Command`]s and returns [`Effect`]s for whoever runs it
//! (the [`Room`](super::Room) actor) to carry out. No actix, no I/O, no clock of its own (every
//! call that needs the time is given `now`), so the rules are unit-tested directly.
//!
//! What members are told goes into the tick log ([`TickLog`]) and reaches their outboxes at
//! most once a tick, as one frame each ([`RoomState::deliver_due`]). Pushing into a member's outbox is not an effect: the outbox is a
//! bounded in-memory queue that never waits, and whether a push fits decides the member's lagging
//! state, which is one of the room's rules. Everything that touches the disk or burns CPU
//! (storing ops and bases, encoding tiles) is an effect.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;
use tiny_skia::Pixmap;

mod admin;
mod bus;
mod client_ops;
mod editing;
mod fault;
mod images;
mod input;
mod keyframes;
mod moderation;
mod preview;
mod restore;
mod revert;
mod rounds;
mod sync;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

use super::batch::{Audience, TickLog};
use super::member::Member;
use super::outbox::OutboxTx;
use super::tiles::TileCache;
use crate::canvas::{Document, TileId};
use crate::config::Config;
use crate::meta::RoomMeta;
use crate::metrics::Metrics;
use crate::protocol::{
    close, CursorPos, ErrorCode, MemberId, MemberInfo, ProtoError, Role, ServerMsg,
};
use crate::rate::Bucket;
use crate::store::{Record, TileSlot};

/// Work for the runner of a [`RoomState`].
#[derive(Debug)]
pub enum Effect {
    /// Store an op; report the outcome with [`RoomState::stored`].
    Persist {
        /// Seq of the op.
        seq: u64,
        /// Whose undo stack it is on.
        author: String,
        /// The op as stored.
        record: Record,
        /// For an undo, redo or revert: the oldest seq it re-rendered from.
        reach: Option<u64>,
        /// A restore's pixels: the tiles it changed.
        tiles: Vec<TileSlot>,
    },
    /// Encode a keyframe (the canvas at `seq`, for time travel) off the room's loop, then,
    /// if [`RoomState::keyframe_current`] still says so, store it.
    Keyframe {
        /// Its seq (the document's seq when it was asked for).
        seq: u64,
        /// The tiles that changed since the room's last keyframe (all, for its first).
        tiles: Vec<TileSlot>,
        /// The room's keyframe generation then.
        generation: u64,
    },
    /// Make the stored keyframe `seq` the room's base, where its loads start.
    SetBase {
        /// Seq of the keyframe.
        seq: u64,
    },
    /// The store failed to write ops after `upto`: load the room as stored up to `upto` and
    /// hand the document to [`RoomState::reloaded`] (or report [`RoomState::reload_failed`]).
    Reload {
        /// The last seq known durable.
        upto: u64,
    },
    /// After `after`, ask the store whether the room may write again (dropping anything it
    /// stored past `durable`); report with [`RoomState::probed`].
    Probe {
        /// How long to wait first.
        after: Duration,
        /// The last seq known durable.
        durable: u64,
    },
    /// Encode these tiles of the canvas at `seq` off the room's loop; report the frames with
    /// [`RoomState::tiles_encoded`].
    EncodeTiles {
        /// Tiles (absent ones are empty).
        tiles: Vec<(TileId, Option<Arc<Pixmap>>)>,
        /// Seq they show.
        seq: u64,
        /// Send them to members (a tile round) or only keep them for joiners (cache warm-up).
        send: bool,
    },
    /// Store a change of the room's facts (the owner's lock); a failure is only logged.
    Facts(crate::store::FactUpdate),
    /// Render the room's canvas at `seq` from the store off the room's loop (waiting for the
    /// ops up to it to be durable) for `member`'s restore; report with
    /// [`RoomState::restore_ready`].
    RenderRestore {
        /// Who restores.
        member: MemberId,
        /// The client's id for the op.
        client_id: Option<u32>,
        /// The seq to bring back.
        seq: u64,
    },
    /// Load the room's image `image` from the store, decode it and scale it into `at` off the
    /// room's loop; report with [`RoomState::image_placed`].
    PlaceImage {
        /// Who drew it.
        member: MemberId,
        /// The client's id for the op.
        client_id: Option<u32>,
        /// The upload's id.
        image: String,
        /// Where it goes.
        at: crate::canvas::Placement,
    },
}

/// A commit waiting for the store.
#[derive(Debug)]
pub(super) struct Pending {
    /// Seq of the op.
    pub seq: u64,
    /// The encoded `commit`.
    pub commit: ByteString,
    /// Who made the op.
    pub author: MemberId,
    /// The stroke it ends, for a stroke.
    pub stroke: Option<crate::protocol::StrokeId>,
    /// The client's id of a shape, fill or clear.
    pub client_id: Option<u32>,
    /// The same commit for members who sent the op again meanwhile (after a reconnect): who,
    /// their stroke id, the commit.
    pub echoes: Vec<(MemberId, crate::protocol::StrokeId, ByteString)>,
}

/// Live facts about a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomStatus {
    /// Latest committed seq.
    pub seq: u64,
    /// Members who may draw.
    pub editors: usize,
    /// Members who only watch.
    pub viewers: usize,
    /// Members whose outbox overflowed and who wait for a resync.
    pub lagging: usize,
}

/// What a new member brings: who it is, where its traffic goes, and how it reads.
pub struct Joining {
    /// Display name, already cleaned.
    pub name: String,
    /// Editor or viewer, already decided from the key.
    pub role: Role,
    /// Where the room sends this member's traffic.
    pub outbox: OutboxTx,
    /// The client's stable `user` id, if any (keys its undo history).
    pub user: Option<String>,
    /// The seq the client's canvas is complete at, when it is resuming.
    pub since: Option<u64>,
    /// The client reads `batch` frames.
    pub batch: bool,
    /// Cluster mode: the member is relayed by a node that can deliver the room's common
    /// traffic from the bus.
    pub bus: bool,
    /// For an editor: the edit key its `hello` was found right against. The room refuses the
    /// join (`bad_key`) when the owner has replaced the key since. Never logged.
    pub edit_key: Option<String>,
}

impl std::fmt::Debug for Joining {
    /// Every field but the edit key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joining")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("user", &self.user)
            .field("since", &self.since)
            .field("batch", &self.batch)
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

/// One room's rules and state.
pub struct RoomState {
    meta: Arc<RoomMeta>,
    config: Arc<Config>,
    /// The canvas, its seq and its history; only this type touches it.
    doc: Document,
    members: BTreeMap<MemberId, Member>,
    next_member: MemberId,
    /// Editors and viewers now.
    editors: usize,
    viewers: usize,
    /// Listed members: every editor and at most `Config::listed_viewers` viewers. What joiners
    /// are told of others (names, open strokes, views) and what is relayed of cursors comes
    /// from these alone, so neither costs more in a room of thousands.
    listed: BTreeSet<MemberId>,
    /// Counts last announced with `presence`, and when.
    presence_sent: (usize, usize),
    last_presence: Option<Instant>,
    /// Shapes being dragged, by author, relayed once a tick and never stored.
    previews: BTreeMap<MemberId, preview::Preview>,
    /// What members are told this tick.
    log: TickLog,
    /// When cursors, views and presence last went out.
    last_cursors: Option<Instant>,
    /// When the tick log was last delivered, and the deliveries saved up then (see
    /// [`RoomState::deliver_due`]).
    last_delivery: Option<Instant>,
    delivery_credit: f64,
    /// When each slice of a crowded room was last delivered.
    slice_last: Vec<Option<Instant>>,
    /// Tiles changed since they were last sent: when each first and last changed. A tile
    /// changed only by strokes waits until it settles (see `Config::snapshot_interval`):
    /// members drew those strokes live already, the tile only corrects their rendering.
    dirty: BTreeMap<TileId, (Instant, Instant)>,
    /// Some change (fill, shape, clear, undo, redo) needs its tiles sent now.
    urgent: bool,
    /// A tile round is being encoded.
    encoding: bool,
    /// Encoded tile frames, shared by tile rounds and joins.
    cache: TileCache,
    /// Commits waiting for the store, oldest first.
    pending: VecDeque<Pending>,
    /// The latest ops clients named, to answer one sent again rather than apply it twice.
    client_ops: client_ops::ClientOps,
    /// Highest seq known durable.
    durable_seq: u64,
    /// Base seq last handed to the store.
    saved_base: u64,
    /// Undo and redo events after the saved base: (event seq, target seq). A base may only be
    /// saved where no later event reaches back before it, or replay could not repeat the event.
    reaching_back: Vec<(u64, u64)>,
    /// Keyframes asked for, and which may become the base.
    keyframes: keyframes::Keyframes,
    /// Members whose restore is being rendered (one at a time each).
    restoring: BTreeSet<MemberId>,
    /// An operator locked the room: nobody may draw.
    locked: bool,
    /// The room's owner locked it: nobody may draw (apart from the operator's lock).
    owner_locked: bool,
    /// The store failed: the room is read-only until a retry succeeds.
    store_down: bool,
    /// Tiles to send again once the document is back at what is stored (after a failure).
    rollback_tiles: Option<Vec<TileId>>,
    /// Wait before the next try of a failing store.
    retry_delay: Duration,
    /// When the last member left (None while someone is here).
    empty_since: Option<Instant>,
    /// Work for the runner, taken with [`RoomState::take_effects`].
    effects: Vec<Effect>,
    /// Where errors, resyncs and refusals are counted.
    metrics: Arc<Metrics>,
    /// Cluster mode: members whose common traffic goes on the bus, and whether the bus
    /// works now (members are switched to it only then).
    bus_members: usize,
    bus_ready: bool,
    /// After a failed publish: no member is switched to the bus before this, and how long the
    /// next pause lasts (doubling while failures keep coming).
    bus_paused_until: Option<Instant>,
    bus_pause: Duration,
}

impl RoomState {
    /// A room over a document (new or rebuilt from the store), recording into `metrics`. Asks
    /// to warm the tile cache.
    pub fn new(
        meta: Arc<RoomMeta>,
        config: Arc<Config>,
        doc: Document,
        now: Instant,
        metrics: Arc<Metrics>,
    ) -> Self {
        let durable_seq = doc.seq();
        let saved_base = doc.base_seq();
        let retry_delay = config.store_retry_min;
        let client_ops = client_ops::ClientOps::new(config.remembered_ops);
        let warm = Effect::EncodeTiles {
            tiles: doc
                .canvas()
                .snapshot()
                .tiles()
                .iter()
                .map(|(id, t)| (*id, Some(Arc::clone(t))))
                .collect(),
            seq: doc.seq(),
            send: false,
        };
        RoomState {
            meta,
            config,
            doc,
            members: BTreeMap::new(),
            next_member: 1,
            editors: 0,
            viewers: 0,
            listed: BTreeSet::new(),
            presence_sent: (0, 0),
            last_presence: None,
            previews: BTreeMap::new(),
            log: TickLog::default(),
            last_cursors: None,
            last_delivery: None,
            delivery_credit: 0.0,
            slice_last: Vec::new(),
            dirty: BTreeMap::new(),
            urgent: false,
            encoding: false,
            cache: TileCache::default(),
            pending: VecDeque::new(),
            client_ops,
            durable_seq,
            saved_base,
            reaching_back: Vec::new(),
            keyframes: keyframes::Keyframes::starting_at(durable_seq),
            restoring: BTreeSet::new(),
            locked: false,
            owner_locked: false,
            store_down: false,
            rollback_tiles: None,
            retry_delay,
            empty_since: Some(now),
            effects: vec![warm],
            metrics,
            bus_members: 0,
            bus_ready: false,
            bus_paused_until: None,
            bus_pause: bus::FIRST_PAUSE,
        }
    }

    /// Remembers the client op ids of stored ops (a room just loaded), oldest first; ids of
    /// ops past the document's seq (which it does not have) are left out.
    pub fn remember_client_ops(&mut self, ops: Vec<(String, u64)>) {
        let seq = self.doc.seq();
        for (op, at) in ops.into_iter().filter(|(_, at)| *at <= seq) {
            self.client_ops.remember(op, at);
        }
    }

    /// Tells `member` (if still here) why its message was refused, with the op's client id.
    pub(super) fn refuse(&mut self, member: MemberId, e: &ProtoError, client_id: Option<u32>) {
        if !self.members.contains_key(&member) {
            return;
        }
        self.metrics.error_sent(e.code);
        self.log.push(
            &ServerMsg::Error {
                code: e.code,
                message: std::borrow::Cow::Borrowed(&e.message),
                seq: None,
                stroke: None,
                id: client_id,
            },
            Audience::Only(member),
        );
    }

    /// The room's facts.
    pub fn meta(&self) -> &Arc<RoomMeta> {
        &self.meta
    }

    /// The document (canvas, seq, history).
    pub fn doc(&self) -> &Document {
        &self.doc
    }

    /// Work to carry out now, oldest first.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Live counts.
    pub fn status(&self) -> RoomStatus {
        RoomStatus {
            seq: self.doc.seq(),
            editors: self.editors,
            viewers: self.viewers,
            lagging: self.members.values().filter(|m| m.lagging).count(),
        }
    }

    /// Nobody is here, nothing waits for the store and no tiles are being encoded: the room
    /// may leave memory.
    pub fn is_idle(&self) -> bool {
        self.members.is_empty() && self.pending.is_empty() && !self.encoding && !self.store_down
    }

    /// How long the room has been idle (zero while it is not).
    pub fn idle_for(&mut self, now: Instant) -> Duration {
        if !self.members.is_empty() {
            self.empty_since = None;
            return Duration::ZERO;
        }
        let since = *self.empty_since.get_or_insert(now);
        if self.is_idle() {
            now.saturating_duration_since(since)
        } else {
            Duration::ZERO
        }
    }

    /// Admits a member: queues `welcome`, the canvas and the open strokes into its outbox before
    /// any live traffic, so it misses nothing and sees nothing twice. Costs the same however
    /// many members the room has: only editors and listed viewers are named to it, and only
    /// they are announced.
    pub fn join(&mut self, j: Joining) -> Result<MemberId, ProtoError> {
        let (count, max, what) = match j.role {
            Role::Editor | Role::Owner => {
                (self.editors, self.config.max_editors_per_room, "editors")
            }
            Role::Viewer => (self.viewers, self.config.max_viewers_per_room, "viewers"),
        };
        if j.role == Role::Editor
            && !j
                .edit_key
                .as_deref()
                .is_some_and(|k| self.meta.is_edit_key(k))
        {
            // The owner replaced the edit key between the session's check and this join.
            return Err(ProtoError::new(
                ErrorCode::BadKey,
                "this edit link's key is not valid for this board",
            ));
        }
        if count >= max {
            return Err(ProtoError::new(
                ErrorCode::RoomFull,
                format!("this board already has {max} {what}"),
            ));
        }
        let id = self.next_member;
        self.next_member += 1;
        let info = MemberInfo {
            id,
            name: j.name,
            role: j.role,
        };
        let listed_viewers = self.listed.len() - self.editors;
        let listed = j.role.can_draw() || listed_viewers < self.config.listed_viewers;
        let author_key = match j.user {
            Some(user) => format!("u:{user}"),
            None => format!("m:{id}"),
        };
        if !self.queue_sync(&j.outbox, &info, j.since, &author_key) {
            j.outbox.close(close::LAGGING, "could not queue the canvas");
            return Err(ProtoError::new(
                ErrorCode::Internal,
                "the canvas is too large for the outbox",
            ));
        }
        if listed {
            self.log.push(
                &ServerMsg::MemberJoined {
                    member: info.clone(),
                },
                Audience::All,
            );
        }
        match j.role {
            Role::Editor | Role::Owner => self.editors += 1,
            Role::Viewer => self.viewers += 1,
        }
        if listed {
            self.listed.insert(id);
        }
        let seq = self.doc.seq();
        self.members.insert(
            id,
            Member {
                info,
                batch: j.batch,
                bus_able: j.bus && j.batch && j.role == Role::Viewer,
                bus: None,
                outbox: j.outbox,
                open: HashMap::new(),
                pending_cursor: None,
                view: None,
                view_changed: false,
                author_key,
                joined_seq: seq,
                tiles_seq: seq,
                lagging: false,
                missed_own: Vec::new(),
                open_at_resync: Vec::new(),
                paint: Bucket::new(
                    self.config.paint_pixels_per_second,
                    self.config.paint_burst_pixels,
                ),
                log_from: self.log.end(),
            },
        );
        self.empty_since = None;
        tracing::debug!(room = %self.meta.id, member = id, "joined");
        Ok(id)
    }

    /// A member's connection ended. Its open strokes are dropped; others' clients drop them on
    /// `member_left` (listed members) or when the stroke never ends (the rest cannot draw).
    pub fn leave(&mut self, id: MemberId, now: Instant) {
        let Some(m) = self.members.remove(&id) else {
            return;
        };
        self.forget(&m);
        if self.members.is_empty() {
            self.empty_since = Some(now);
        }
    }

    /// Listed members, in id order.
    fn listed_members(&self) -> impl Iterator<Item = &Member> {
        self.listed.iter().filter_map(|id| self.members.get(id))
    }

    /// Counts a member out and tells the others.
    fn forget(&mut self, m: &Member) {
        // Others drop its preview on `member_left`.
        self.previews.remove(&m.info.id);
        if m.bus.is_some() {
            self.bus_members -= 1;
        }
        match m.info.role {
            Role::Editor | Role::Owner => self.editors -= 1,
            Role::Viewer => self.viewers -= 1,
        }
        if self.listed.remove(&m.info.id) {
            self.log
                .push(&ServerMsg::MemberLeft { id: m.info.id }, Audience::All);
        }
    }

    /// The room's tick: one frame per member at most this often. Every frame costs a socket
    /// write per member, so the tick grows with the room (`Config::frames_per_second`).
    pub fn tick_interval(&self) -> Duration {
        let c = &self.config;
        let n = self.members.len();
        let fps = if n > c.crowd_members {
            c.crowd_frames_per_second
        } else {
            c.frames_per_second
        };
        let t = Duration::from_secs_f64(n as f64 / fps.max(1.0));
        t.clamp(c.tick_min, c.tick_max)
    }

    /// Delivers what was said since the last delivery if the room may send a frame now, and
    /// says how long until it should be asked again (`None`: nothing waits).
    ///
    /// The room earns one delivery per tick and may save up `Config::tick_burst` of them, so
    /// sporadic messages (a person drawing in a normal room) go out at once, while under
    /// sustained traffic deliveries settle to one per tick. A crowded room delivers its
    /// `Config::crowd_slices` slices of members in turn, a slice every tick / slices.
    pub fn deliver_due(&mut self, now: Instant) -> Option<Duration> {
        let k = if self.members.len() > self.config.crowd_members {
            self.config.crowd_slices.max(1)
        } else {
            1
        };
        self.log.set_slices(k, &mut self.members);
        self.slice_last.resize(k, None);
        let pending: Vec<usize> = (0..k).filter(|s| self.log.pending(*s)).collect();
        if pending.is_empty() {
            return None;
        }
        let interval = self.tick_interval();
        if k == 1 {
            let tick = interval.as_secs_f64();
            let burst = f64::from(self.config.tick_burst.max(1));
            let earned = self.last_delivery.map_or(burst, |t| {
                now.saturating_duration_since(t).as_secs_f64() / tick
            });
            let credit = (self.delivery_credit + earned).min(burst);
            if credit < 1.0 {
                return Some(Duration::from_secs_f64((1.0 - credit) * tick));
            }
            self.delivery_credit = credit - 1.0;
            self.last_delivery = Some(now);
            self.log.deliver(0, &mut self.members);
            return None;
        }
        let gap = interval / k as u32;
        if let Some(t) = self.last_delivery {
            let since = now.saturating_duration_since(t);
            if since < gap {
                return Some(gap - since);
            }
        }
        // The pending slice served longest ago, once its tick has passed.
        let slice = pending
            .iter()
            .copied()
            .min_by_key(|s| self.slice_last[*s])
            .unwrap_or(0);
        if let Some(t) = self.slice_last[slice] {
            let since = now.saturating_duration_since(t);
            if since < interval {
                return Some(interval - since);
            }
        }
        self.slice_last[slice] = Some(now);
        self.last_delivery = Some(now);
        self.log.deliver(slice, &mut self.members);
        (0..k).any(|s| self.log.pending(s)).then_some(gap)
    }

    /// Delivers what was said at once (before a shutdown).
    pub fn flush(&mut self) {
        self.log.deliver_all(&mut self.members);
    }

    /// Housekeeping, every `cursor_interval`: cursors, views and presence into the tick log,
    /// resyncs of lagging members that drained, and a tile round when one is due.
    pub fn tick(&mut self, now: Instant) {
        let cursors_due = self
            .last_cursors
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.cursor_interval);
        if cursors_due {
            self.last_cursors = Some(now);
            self.queue_cursors(now);
            self.queue_previews();
        }
        self.resync_drained();
        self.start_round(now);
        self.switch_to_bus(now);
    }

    /// Batched cursor positions and views of listed members that moved, and the counts when
    /// they changed (at most every `presence_interval`: while thousands join, a count a frame
    /// would cost every member a write per tick).
    fn queue_cursors(&mut self, now: Instant) {
        let mut cursors = Vec::new();
        let mut views = Vec::new();
        for id in &self.listed {
            let Some(m) = self.members.get_mut(id) else {
                continue;
            };
            if let Some((x, y)) = m.pending_cursor.take() {
                cursors.push(CursorPos { id: *id, x, y });
            }
            if std::mem::take(&mut m.view_changed) {
                views.extend(m.view);
            }
        }
        if !cursors.is_empty() {
            self.log
                .push(&ServerMsg::Cursors { cursors }, Audience::All);
        }
        if !views.is_empty() {
            self.log.push(&ServerMsg::Views { views }, Audience::All);
        }
        let counts = (self.editors, self.viewers);
        let presence_due = self
            .last_presence
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.presence_interval);
        if counts != self.presence_sent && presence_due {
            self.presence_sent = counts;
            self.last_presence = Some(now);
            self.log.push(
                &ServerMsg::Presence {
                    editors: counts.0 as u64,
                    viewers: counts.1 as u64,
                },
                Audience::All,
            );
        }
    }

    /// Closes every member's connection with a code and reason, and forgets them.
    pub fn close_all(&mut self, code: u16, reason: &str) {
        for (_, m) in std::mem::take(&mut self.members) {
            m.outbox.close(code, reason);
        }
        self.editors = 0;
        self.viewers = 0;
        self.listed.clear();
        self.bus_members = 0;
        self.log.stop_bus();
    }

    /// Drops commits still waiting for the store (the room is being deleted).
    pub fn drop_pending(&mut self) {
        self.pending.clear();
    }
}
