//! The room's rules as a plain type: [`RoomState`] holds a room's canvas, members, open strokes
//! and commit pipeline, takes validated [`Command`]s and returns [`Effect`]s for whoever runs it
//! (the [`Room`](super::Room) actor) to carry out. No actix, no I/O, no clock of its own (every
//! call that needs the time is given `now`), so the rules are unit-tested directly.
//!
//! What members are told goes into the tick log ([`TickLog`]) and reaches their outboxes once a
//! tick, as one frame each. Pushing into a member's outbox is not an effect: the outbox is a
//! bounded in-memory queue that never waits, and whether a push fits decides the member's lagging
//! state, which is one of the room's rules. Everything that touches the disk or burns CPU
//! (storing ops and bases, encoding tiles) is an effect.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use bytestring::ByteString;
use tiny_skia::Pixmap;

use super::batch::{Audience, TickLog};
use super::cost;
use super::member::{Member, OpenStroke};
use super::outbox::{OutboxTx, Outgoing};
use super::tiles::TileCache;
use crate::canvas::{Applied, Document, Op, Stroke, TileId};
use crate::config::Config;
use crate::meta::RoomMeta;
use crate::protocol::{
    close, encode, Command, CursorPos, ErrorCode, MemberId, MemberInfo, OpKind, ProtoError, Role,
    ServerMsg, StrokeId, ViewRect,
};
use crate::rate::Bucket;
use crate::store::Record;

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
    },
    /// Store a new history base (the oldest state undo can reach).
    SaveBase {
        /// Seq of the base.
        seq: u64,
        /// Its tiles.
        tiles: Vec<(TileId, Arc<Pixmap>)>,
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
#[derive(Debug)]
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
    /// Viewers now listed (at most `Config::listed_viewers`).
    listed_viewers: usize,
    /// Counts last announced with `presence`.
    presence_sent: (usize, usize),
    /// What members are told this tick.
    log: TickLog,
    /// When cursors, views and presence last went out.
    last_cursors: Option<Instant>,
    /// When the last tile round started.
    last_round: Option<Instant>,
    /// Tiles changed since the last tile round.
    dirty: BTreeSet<TileId>,
    /// Some change (fill, shape, clear, undo, redo) needs its tiles sent now.
    urgent: bool,
    /// A tile round is being encoded.
    encoding: bool,
    /// Encoded tile frames, shared by tile rounds and joins.
    cache: TileCache,
    /// Commits waiting for the store, oldest first: (seq, encoded commit, author).
    pending: VecDeque<(u64, ByteString, MemberId)>,
    /// Highest seq known durable.
    durable_seq: u64,
    /// Base seq last handed to the store.
    saved_base: u64,
    /// Undo and redo events after the saved base: (event seq, target seq). A base may only be
    /// saved where no later event reaches back before it, or replay could not repeat the event.
    reaching_back: Vec<(u64, u64)>,
    /// When the last member left (None while someone is here).
    empty_since: Option<Instant>,
    /// Work for the runner, taken with [`RoomState::take_effects`].
    effects: Vec<Effect>,
}

impl RoomState {
    /// A room over a document (new or rebuilt from the store). Asks to warm the tile cache.
    pub fn new(meta: Arc<RoomMeta>, config: Arc<Config>, doc: Document, now: Instant) -> Self {
        let durable_seq = doc.seq();
        let saved_base = doc.base_seq();
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
            listed_viewers: 0,
            presence_sent: (0, 0),
            log: TickLog::default(),
            last_cursors: None,
            last_round: None,
            dirty: BTreeSet::new(),
            urgent: false,
            encoding: false,
            cache: TileCache::default(),
            pending: VecDeque::new(),
            durable_seq,
            saved_base,
            reaching_back: Vec::new(),
            empty_since: Some(now),
            effects: vec![warm],
        }
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
        self.members.is_empty() && self.pending.is_empty() && !self.encoding
    }

    /// How long the room has been idle (zero while it is not).
    pub fn idle_for(&mut self, now: Instant) -> std::time::Duration {
        if !self.members.is_empty() {
            self.empty_since = None;
            return std::time::Duration::ZERO;
        }
        let since = *self.empty_since.get_or_insert(now);
        if self.is_idle() {
            now.saturating_duration_since(since)
        } else {
            std::time::Duration::ZERO
        }
    }

    /// Admits a member: queues `welcome`, the canvas and the open strokes into its outbox before
    /// any live traffic, so it misses nothing and sees nothing twice. Costs the same however
    /// many members the room has: only editors and listed viewers are named to it, and only
    /// they are announced.
    pub fn join(&mut self, j: Joining, now: Instant) -> Result<MemberId, ProtoError> {
        let (count, max, what) = match j.role {
            Role::Editor => (self.editors, self.config.max_editors_per_room, "editors"),
            Role::Viewer => (self.viewers, self.config.max_viewers_per_room, "viewers"),
        };
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
        let listed = j.role == Role::Editor || self.listed_viewers < self.config.listed_viewers;
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
            Role::Editor => self.editors += 1,
            Role::Viewer => {
                self.viewers += 1;
                self.listed_viewers += usize::from(listed);
            }
        }
        let seq = self.doc.seq();
        self.members.insert(
            id,
            Member {
                info,
                listed,
                batch: j.batch,
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
                log_from: self.log.len(),
            },
        );
        self.empty_since = None;
        tracing::debug!(room = %self.meta.id, member = id, "joined");
        let _ = now;
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

    /// Counts a member out and tells the others.
    fn forget(&mut self, m: &Member) {
        match m.info.role {
            Role::Editor => self.editors -= 1,
            Role::Viewer => {
                self.viewers -= 1;
                self.listed_viewers -= usize::from(m.listed);
            }
        }
        if m.listed {
            self.log
                .push(&ServerMsg::MemberLeft { id: m.info.id }, Audience::All);
        }
    }

    /// Handles a validated command from a member. A refusal is queued to the member as `error`
    /// (and returned, for tests and logs).
    pub fn handle(&mut self, id: MemberId, cmd: Command, now: Instant) -> Result<(), ProtoError> {
        let result = self.apply(id, cmd, now);
        if let Err(e) = &result {
            if self.members.contains_key(&id) {
                self.log.push(
                    &ServerMsg::Error {
                        code: e.code,
                        message: Cow::Borrowed(&e.message),
                    },
                    Audience::Only(id),
                );
            }
        }
        result
    }

    fn apply(&mut self, id: MemberId, cmd: Command, now: Instant) -> Result<(), ProtoError> {
        let Some(member) = self.members.get_mut(&id) else {
            // Left while the command was in flight; nothing to answer.
            return Ok(());
        };
        if cmd.is_drawing() && !member.is_editor() {
            return Err(ProtoError::new(
                ErrorCode::ReadOnly,
                "this is a view-only link: you cannot draw",
            ));
        }
        if cmd.starts_painting() && member.paint.in_debt(now) {
            return Err(ProtoError::new(
                ErrorCode::RateLimited,
                format!(
                    "painting too much too fast (at most {} million pixels a second); wait a moment",
                    self.config.paint_pixels_per_second / 1e6
                ),
            ));
        }
        match cmd {
            Command::Cursor { x, y } => {
                member.pending_cursor = Some((x, y));
                Ok(())
            }
            Command::View {
                x,
                y,
                width,
                height,
            } => {
                member.view = Some(ViewRect {
                    id,
                    x,
                    y,
                    width,
                    height,
                });
                member.view_changed = true;
                Ok(())
            }
            Command::Rename { name } => {
                member.info.name = name;
                if member.listed {
                    let member = member.info.clone();
                    self.log
                        .push(&ServerMsg::MemberUpdated { member }, Audience::All);
                }
                Ok(())
            }
            Command::ListMembers { after } => {
                let page = self.config.member_page.max(1);
                let start = after.map_or(0, |a| a.saturating_add(1));
                let mut members: Vec<MemberInfo> = self
                    .members
                    .range(start..)
                    .take(page + 1)
                    .map(|(_, m)| m.info.clone())
                    .collect();
                let next = (members.len() > page).then(|| {
                    members.truncate(page);
                    members.last().map_or(start, |m| m.id)
                });
                self.log
                    .push(&ServerMsg::MemberList { members, next }, Audience::Only(id));
                Ok(())
            }
            Command::StrokeBegin {
                stroke,
                tool,
                color,
                color_text,
                width,
                points,
            } => {
                if let Some(i) = member.open_at_resync.iter().position(|s| *s == stroke) {
                    member.open_at_resync.swap_remove(i);
                    member.open.remove(&stroke);
                }
                if member.open.contains_key(&stroke) {
                    return Err(ProtoError::new(
                        ErrorCode::DuplicateStroke,
                        format!("stroke {stroke} is already open"),
                    ));
                }
                if member.open.len() >= self.config.max_open_strokes {
                    return Err(ProtoError::new(
                        ErrorCode::TooManyStrokes,
                        format!(
                            "at most {} strokes may be open at once",
                            self.config.max_open_strokes
                        ),
                    ));
                }
                member.paint.charge(
                    now,
                    f64::from(width * width) + cost::stroke(width, None, &points),
                );
                self.log.push(
                    &ServerMsg::StrokeBegin {
                        author: id,
                        stroke,
                        tool,
                        color: Cow::Borrowed(&color_text),
                        width,
                        points: Cow::Borrowed(&points),
                    },
                    Audience::Except(id),
                );
                member.open.insert(
                    stroke,
                    OpenStroke {
                        tool,
                        color,
                        color_text,
                        width,
                        points,
                    },
                );
                Ok(())
            }
            Command::StrokePoints { stroke, points } => {
                let max = self.config.max_points_per_stroke;
                let open = member
                    .open
                    .get_mut(&stroke)
                    .ok_or_else(|| unknown(stroke))?;
                if (open.points.len() + points.len()) / 3 > max {
                    return Err(ProtoError::new(
                        ErrorCode::TooLarge,
                        format!("a stroke may have at most {max} points; end it and begin another"),
                    ));
                }
                let last = open.points.len().checked_sub(3).map(|i| &open.points[i..]);
                member
                    .paint
                    .charge(now, cost::stroke(open.width, last, &points));
                self.log.push(
                    &ServerMsg::StrokePoints {
                        author: id,
                        stroke,
                        points: Cow::Borrowed(&points),
                    },
                    Audience::Except(id),
                );
                open.points.extend_from_slice(&points);
                Ok(())
            }
            Command::StrokeEnd { stroke } => {
                let open = member.open.remove(&stroke).ok_or_else(|| unknown(stroke))?;
                self.log.push(
                    &ServerMsg::StrokeEnd { author: id, stroke },
                    Audience::Except(id),
                );
                let op = Op::Stroke(Stroke {
                    tool: open.tool,
                    color: open.color,
                    width: open.width,
                    points: open.points,
                });
                self.commit(id, op, OpKind::Stroke, Some(stroke), None, now);
                Ok(())
            }
            Command::Shape {
                id: client_id,
                shape,
            } => {
                member.paint.charge(now, cost::shape(&shape));
                self.commit(id, Op::Shape(shape), OpKind::Shape, None, client_id, now);
                Ok(())
            }
            Command::Fill {
                id: client_id,
                fill,
            } => {
                self.commit(id, Op::Fill(fill), OpKind::Fill, None, client_id, now);
                Ok(())
            }
            Command::Clear { id: client_id } => {
                self.commit(id, Op::Clear, OpKind::Clear, None, client_id, now);
                Ok(())
            }
            Command::Undo | Command::Redo => {
                let undo = matches!(cmd, Command::Undo);
                let key = member.author_key.clone();
                let applied = if undo {
                    self.doc.undo(&key)
                } else {
                    self.doc.redo(&key)
                };
                let Some(applied) = applied else {
                    return Err(ProtoError::new(
                        ErrorCode::NothingToUndo,
                        if undo {
                            "nothing to undo"
                        } else {
                            "nothing to redo"
                        },
                    ));
                };
                let (kind, record) = if undo {
                    (OpKind::Undo, Record::Undo)
                } else {
                    (OpKind::Redo, Record::Redo)
                };
                if let Some(target) = applied.target {
                    self.reaching_back.push((applied.seq, target));
                }
                if let Some(m) = self.members.get_mut(&id) {
                    m.paint.charge(now, cost::tiles(applied.tiles.len()));
                }
                self.persist(key, applied.seq, record);
                self.announce(id, applied, kind, None, None, now);
                Ok(())
            }
        }
    }

    /// Commits an op to the document and hands it to the store.
    fn commit(
        &mut self,
        author: MemberId,
        op: Op,
        kind: OpKind,
        stroke: Option<StrokeId>,
        client_id: Option<u32>,
        now: Instant,
    ) {
        let Some(key) = self.members.get(&author).map(|m| m.author_key.clone()) else {
            return;
        };
        let record = Record::of(&op);
        let is_fill = matches!(op, Op::Fill(_));
        let applied = self.doc.commit(&key, op);
        if is_fill {
            if let Some(m) = self.members.get_mut(&author) {
                m.paint.charge(now, cost::tiles(applied.tiles.len()));
            }
        }
        self.persist(key, applied.seq, record);
        self.announce(author, applied, kind, stroke, client_id, now);
    }

    /// Hands an op to the store, and a new history base whenever the document's advanced and
    /// no later undo or redo reaches back to or before it (replay could not repeat that event).
    fn persist(&mut self, author: String, seq: u64, record: Record) {
        self.effects.push(Effect::Persist {
            seq,
            author,
            record,
        });
        let base = self.doc.base_seq();
        let reaches_back = self.reaching_back.iter().any(|&(_, target)| target <= base);
        if base > self.saved_base && !reaches_back {
            self.saved_base = base;
            self.reaching_back.retain(|&(event, _)| event > base);
            self.effects.push(Effect::SaveBase {
                seq: base,
                tiles: self.doc.base_tiles(),
            });
        }
    }

    /// Queues the commit until it is durable and marks its tiles dirty. Clients render strokes
    /// themselves; everything else they learn from tiles, sent at once.
    fn announce(
        &mut self,
        author: MemberId,
        applied: Applied,
        op: OpKind,
        stroke: Option<StrokeId>,
        client_id: Option<u32>,
        now: Instant,
    ) {
        let commit = encode(&ServerMsg::Commit {
            seq: applied.seq,
            author,
            stroke,
            op,
            id: client_id,
            target: applied.target,
        });
        self.pending.push_back((applied.seq, commit.into(), author));
        self.dirty.extend(applied.tiles);
        if op != OpKind::Stroke {
            self.urgent = true;
            self.start_round(now);
        }
    }

    /// The store made the op at `seq` (and every one before it) durable, or failed to. Commits
    /// up to it go out in this tick, each author gets its undo state.
    pub fn stored(&mut self, seq: u64, failed: Option<&str>, now: Instant) {
        if let Some(e) = failed {
            tracing::error!(room = %self.meta.id, seq, "op not stored: {e}");
        }
        self.durable_seq = self.durable_seq.max(seq);
        while self
            .pending
            .front()
            .is_some_and(|(seq, _, _)| *seq <= self.durable_seq)
        {
            let Some((_, commit, author)) = self.pending.pop_front() else {
                break;
            };
            let lagging = self.members.get(&author).is_some_and(|m| m.lagging);
            if lagging {
                self.keep_missed(author, commit.clone());
            }
            self.log.push_text(commit, Audience::All, Some(author));
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
    fn keep_missed(&mut self, author: MemberId, commit: ByteString) {
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

    /// One tick: cursors, views and presence (at their own cadence), then everything said this
    /// tick to every member as one frame each, then resyncs of lagging members that drained,
    /// then a tile round when one is due.
    pub fn tick(&mut self, now: Instant) {
        let cursors_due = self
            .last_cursors
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.cursor_interval);
        if cursors_due {
            self.last_cursors = Some(now);
            self.queue_cursors();
        }
        self.log.deliver(&mut self.members);
        self.resync_drained();
        let round_due = self
            .last_round
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.snapshot_interval);
        if round_due {
            self.start_round(now);
        }
    }

    /// Batched cursor positions and views of listed members that moved, and the counts.
    fn queue_cursors(&mut self) {
        let mut cursors = Vec::new();
        let mut views = Vec::new();
        for (id, m) in &mut self.members {
            if let Some((x, y)) = m.pending_cursor.take() {
                if m.listed {
                    cursors.push(CursorPos { id: *id, x, y });
                }
            }
            if std::mem::take(&mut m.view_changed) && m.listed {
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
        if counts != self.presence_sent {
            self.presence_sent = counts;
            self.log.push(
                &ServerMsg::Presence {
                    editors: counts.0 as u64,
                    viewers: counts.1 as u64,
                },
                Audience::All,
            );
        }
    }

    /// Resyncs lagging members whose outbox has drained: their own commits they missed, then a
    /// fresh `welcome` (resumed), the tiles changed since their canvas was complete, `synced`,
    /// the open strokes, everyone's view and their undo state. Coalesces everything they missed
    /// into one catch-up, as remote-desktop servers do.
    fn resync_drained(&mut self) {
        let ready: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(_, m)| m.lagging && m.outbox.is_drained())
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
            let log_len = self.log.len();
            if queued {
                if let Some(m) = self.members.get_mut(&id) {
                    m.lagging = false;
                    m.joined_seq = seq;
                    m.tiles_seq = seq;
                    m.open_at_resync = m.open.keys().copied().collect();
                    m.log_from = log_len;
                }
                tracing::info!(room = %self.meta.id, member = id, since, seq, "resynced lagging member");
            } else {
                tracing::debug!(room = %self.meta.id, member = id, "resync did not fit");
            }
        }
    }

    /// Queues what a member needs to be in sync: `welcome`, the canvas at the current seq (only
    /// the tiles changed after `since` when that can be told) followed by `synced`, the open
    /// strokes, everyone's view and the member's undo state. False if the outbox overflowed.
    fn queue_sync(
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
        let (tiles, _missing) = self.cache.sources(&self.doc, tiles);
        let mut members: Vec<MemberInfo> = self
            .members
            .values()
            .filter(|m| m.listed && m.info.id != info.id)
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
        for (author, m) in &self.members {
            for (stroke, open) in &m.open {
                let begin = encode(&ServerMsg::StrokeBegin {
                    author: *author,
                    stroke: *stroke,
                    tool: open.tool,
                    color: Cow::Borrowed(&open.color_text),
                    width: open.width,
                    points: Cow::Borrowed(&open.points),
                });
                queued = queued && outbox.push(Outgoing::Text(begin.into())).is_ok();
            }
        }
        let views: Vec<ViewRect> = self
            .members
            .values()
            .filter(|m| m.listed)
            .filter_map(|m| m.view)
            .collect();
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

    /// Starts a tile round: the dirty tiles, encoded off the loop. One round runs at a time, and
    /// tiles never show an op whose commit has not gone out yet.
    fn start_round(&mut self, now: Instant) {
        if self.encoding || self.dirty.is_empty() || self.durable_seq < self.doc.seq() {
            return;
        }
        self.encoding = true;
        self.urgent = false;
        self.last_round = Some(now);
        let ids: Vec<TileId> = std::mem::take(&mut self.dirty).into_iter().collect();
        self.effects.push(Effect::EncodeTiles {
            tiles: self.doc.canvas().snapshot_of(&ids),
            seq: self.doc.seq(),
            send: true,
        });
    }

    /// Frames of tiles encoded at `seq` are ready: keep them for joiners and, for a tile round,
    /// send them to members who joined at or before `seq`, after the commits they show.
    pub fn tiles_encoded(
        &mut self,
        frames: Vec<(TileId, Bytes)>,
        seq: u64,
        send: bool,
        now: Instant,
    ) {
        self.cache.insert(&self.doc, &frames, seq);
        if !send {
            return;
        }
        self.encoding = false;
        // Commits said this tick go out before the tiles that show them.
        self.log.deliver(&mut self.members);
        for m in self.members.values_mut() {
            if m.joined_seq > seq || m.lagging {
                continue;
            }
            for (_, f) in &frames {
                if !m.push(Outgoing::Binary(f.clone())) {
                    break;
                }
            }
            if !m.lagging {
                m.tiles_seq = seq;
            }
        }
        if self.urgent {
            self.start_round(now);
        }
    }

    /// A tile round could not be encoded: its tiles wait for the next round.
    pub fn tiles_failed(&mut self, tiles: Vec<TileId>) {
        self.encoding = false;
        self.dirty.extend(tiles);
    }

    /// Closes every member's connection with a code and reason, and forgets them.
    pub fn close_all(&mut self, code: u16, reason: &str) {
        for (_, m) in std::mem::take(&mut self.members) {
            m.outbox.close(code, reason);
        }
        self.editors = 0;
        self.viewers = 0;
        self.listed_viewers = 0;
    }

    /// Drops commits still waiting for the store (the room is being deleted).
    pub fn drop_pending(&mut self) {
        self.pending.clear();
    }

    /// Bytes of encoded tiles kept for joiners.
    pub fn cache_bytes(&self) -> usize {
        self.cache.bytes()
    }
}

fn unknown(stroke: StrokeId) -> ProtoError {
    ProtoError::new(
        ErrorCode::UnknownStroke,
        format!("stroke {stroke} is not open; send stroke_begin first"),
    )
}
