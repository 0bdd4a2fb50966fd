//! The Room actor: the one owner of a room's canvas, members, open strokes and seq.
//!
//! Sessions talk to it only through actix messages ([`Join`], [`FromClient`], [`Leave`], ...); it
//! talks back only through each member's bounded [`OutboxTx`]. It never awaits a member: every
//! broadcast is encoded once and pushed without waiting. A member whose outbox is full is marked
//! lagging: the room stops queueing live traffic for it and, once its outbox has drained, sends
//! it the tiles changed meanwhile and the current seq instead (a resync, like a reconnect with
//! `since` on the same socket).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, Message, WrapFuture,
};
use bytes::Bytes;
use bytestring::ByteString;

use super::outbox::{OutboxTx, Outgoing};
use super::registry::RoomMeta;
use crate::canvas::{
    Applied, Document, Fill, Op, Rgba, Shape, Snapshot, Stroke, TileId, Tool, TILE_SIZE,
};
use crate::config::Config;
use crate::protocol::{
    close, encode, frame, parse_color, ClientMsg, CursorPos, ErrorCode, MemberId, MemberInfo,
    OpKind, ProtoError, Role, ServerMsg, StrokeId, ViewRect,
};
use crate::rate::Bucket;
use crate::store::{Record, Store, StoreError, StoredRoom};

/// A stroke that has begun and not yet ended.
#[derive(Debug)]
struct OpenStroke {
    tool: Tool,
    color: Rgba,
    /// The color as the client sent it, relayed verbatim.
    color_text: String,
    width: f32,
    points: Vec<f32>,
}

/// A connected member.
#[derive(Debug)]
struct Member {
    info: MemberInfo,
    /// The member's forwarding task holds the other end.
    outbox: OutboxTx,
    open: HashMap<StrokeId, OpenStroke>,
    /// Latest pointer position not yet broadcast.
    pending_cursor: Option<(f32, f32)>,
    /// Latest visible rectangle the member reported (follow mode).
    view: Option<ViewRect>,
    /// `view` changed since the last `views` batch.
    view_changed: bool,
    /// Whose undo stack this member's ops go on: the client's `user` id, or the member id.
    author_key: String,
    /// Seq of the canvas this member received on joining (or on its last resync); older tile
    /// snapshots are skipped.
    joined_seq: u64,
    /// The member's canvas is complete at this seq: every tile round up to it was queued.
    tiles_seq: u64,
    /// The outbox overflowed: nothing is queued until it drains and the member is resynced.
    lagging: bool,
    /// While lagging, the member's own commits (so its client learns which strokes landed).
    missed_own: Vec<String>,
    /// Pixel budget: what the member paints is charged here.
    paint: Bucket,
    /// Strokes open when the member was last resynced: its client may begin them again (it
    /// re-sends what it could not send while out of sync), which then restarts them.
    open_at_resync: Vec<StrokeId>,
}

impl Member {
    /// Queues an item unless the member is lagging; an overflow makes it lagging.
    fn push(&mut self, item: Outgoing) {
        if !self.lagging && self.outbox.push(item).is_err() {
            self.lagging = true;
            self.missed_own.clear();
            tracing::info!(
                member = self.info.id,
                "member is lagging; live traffic paused"
            );
        }
    }
}

/// The actor owning one room.
pub struct Room {
    meta: Arc<RoomMeta>,
    config: Arc<Config>,
    /// The canvas, its seq and its history; only this actor touches it.
    doc: Document,
    members: BTreeMap<MemberId, Member>,
    next_member: MemberId,
    /// Tiles changed since the last snapshot broadcast.
    dirty: BTreeSet<TileId>,
    /// Some change (fill, shape, clear, undo, redo) needs its tiles sent now.
    urgent: bool,
    /// A snapshot is being encoded on the blocking pool.
    encoding: bool,
    /// Where ops are made durable.
    store: Arc<Store>,
    /// Commits waiting for the store, oldest first: (seq, encoded commit, author).
    pending: VecDeque<(u64, String, MemberId)>,
    /// Highest seq known durable.
    durable_seq: u64,
    /// Base seq last handed to the store.
    saved_base: u64,
    /// When the last member left (None while someone is here).
    empty_since: Option<std::time::Instant>,
    /// Undo and redo events after the saved base: (event seq, target seq). A base may only be
    /// saved where no later event reaches back before it, or replay could not repeat the event.
    reaching_back: Vec<(u64, u64)>,
}

/// Rebuilds a stored room's document by replaying its ops after the base through the same code
/// that applied them live.
pub fn rebuild(stored: StoredRoom, config: &Config) -> Result<(RoomMeta, Document), StoreError> {
    let StoredRoom {
        meta,
        base_seq,
        base,
        ops,
    } = stored;
    let mut doc = Document::new(base, base_seq, config.undo_depth, config.checkpoint_every)
        .with_history_window(config.history_window);
    for (seq, author, record) in ops {
        let applied = match &record {
            Record::Undo => doc.undo(&author).map(|a| a.seq),
            Record::Redo => doc.redo(&author).map(|a| a.seq),
            other => other.to_op().map(|op| doc.commit(&author, op).seq),
        };
        if applied != Some(seq) {
            return Err(StoreError::Corrupt(format!(
                "room {}: op {seq} does not replay (got {applied:?})",
                meta.id
            )));
        }
    }
    Ok((meta, doc))
}

impl Room {
    /// A room over a document (new or rebuilt from the store).
    pub fn new(meta: Arc<RoomMeta>, config: Arc<Config>, doc: Document, store: Arc<Store>) -> Room {
        let durable_seq = doc.seq();
        let saved_base = doc.base_seq();
        Room {
            meta,
            config,
            doc,
            members: BTreeMap::new(),
            next_member: 1,
            dirty: BTreeSet::new(),
            urgent: false,
            encoding: false,
            store,
            pending: VecDeque::new(),
            durable_seq,
            saved_base,
            reaching_back: Vec::new(),
            empty_since: Some(std::time::Instant::now()),
        }
    }

    /// Encodes a message once and sends it to every member but `except`.
    fn broadcast(&mut self, msg: &ServerMsg<'_>, except: Option<MemberId>) {
        self.broadcast_text(encode(msg), except);
    }

    /// Sends shared text to every member but `except` (lagging members skip it).
    fn broadcast_text(&mut self, text: String, except: Option<MemberId>) {
        let text = ByteString::from(text);
        for (id, m) in &mut self.members {
            if Some(*id) != except {
                m.push(Outgoing::Text(text.clone()));
            }
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
                .all(|c| outbox.push(Outgoing::Text(c.into())).is_ok())
                && self.queue_sync(&outbox, &info, Some(since), &author_key);
            let seq = self.doc.seq();
            if queued {
                if let Some(m) = self.members.get_mut(&id) {
                    m.lagging = false;
                    m.joined_seq = seq;
                    m.tiles_seq = seq;
                    m.open_at_resync = m.open.keys().copied().collect();
                }
                tracing::info!(room = %self.meta.id, member = id, since, seq, "resynced lagging member");
            } else {
                // It filled up again at once: leave it lagging; the next drain retries.
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
        let mut members = self.member_infos();
        if !self.members.contains_key(&info.id) {
            members.push(info.clone());
        }
        // The canvas is at `seq`; commits still waiting for the store are at or below it.
        let welcome = encode(&ServerMsg::Welcome {
            you: info.id,
            role: info.role,
            room: self.meta.view(),
            seq,
            members,
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
        // Everyone's current view, so the member can follow someone at once.
        let views: Vec<ViewRect> = self.members.values().filter_map(|m| m.view).collect();
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

    fn member_infos(&self) -> Vec<MemberInfo> {
        self.members.values().map(|m| m.info.clone()).collect()
    }

    /// Sends the batched cursor positions of members that moved.
    fn flush_cursors(&mut self) {
        let cursors: Vec<CursorPos> = self
            .members
            .iter_mut()
            .filter_map(|(id, m)| {
                let (x, y) = m.pending_cursor.take()?;
                Some(CursorPos { id: *id, x, y })
            })
            .collect();
        if !cursors.is_empty() {
            self.broadcast(&ServerMsg::Cursors { cursors }, None);
        }
        let views: Vec<ViewRect> = self
            .members
            .values_mut()
            .filter_map(|m| std::mem::take(&mut m.view_changed).then_some(m.view)?)
            .collect();
        if !views.is_empty() {
            self.broadcast(&ServerMsg::Views { views }, None);
        }
    }

    fn handle_client(
        &mut self,
        id: MemberId,
        msg: ClientMsg,
        ctx: &mut Context<Self>,
    ) -> Result<(), ProtoError> {
        let Some(member) = self.members.get_mut(&id) else {
            // Dropped as lagging while the message was in flight; nothing to answer.
            return Ok(());
        };
        if msg.is_drawing() && member.info.role != Role::Editor {
            return Err(ProtoError::new(
                ErrorCode::ReadOnly,
                "this is a view-only link: you cannot draw",
            ));
        }
        let now = std::time::Instant::now();
        let starts_painting = matches!(
            msg,
            ClientMsg::StrokeBegin { .. }
                | ClientMsg::Shape { .. }
                | ClientMsg::Fill { .. }
                | ClientMsg::Undo
                | ClientMsg::Redo
        );
        if starts_painting && member.paint.in_debt(now) {
            return Err(ProtoError::new(
                ErrorCode::RateLimited,
                format!(
                    "painting too much too fast (at most {} million pixels a second); wait a moment",
                    self.config.paint_pixels_per_second / 1e6
                ),
            ));
        }
        match msg {
            ClientMsg::Hello { .. } => Err(ProtoError::new(
                ErrorCode::NotHello,
                "hello was already received",
            )),
            ClientMsg::Cursor { x, y } => {
                member.pending_cursor = Some((x, y));
                Ok(())
            }
            ClientMsg::View {
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
            ClientMsg::Rename { name } => {
                member.info.name =
                    crate::protocol::clean_name(Some(&name), self.config.max_member_name_chars);
                let member = member.info.clone();
                self.broadcast(&ServerMsg::MemberUpdated { member }, None);
                Ok(())
            }
            ClientMsg::StrokeBegin {
                stroke,
                tool,
                color,
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
                let rgba = color_of(&color)?;
                member.paint.charge(
                    now,
                    f64::from(width * width) + stroke_cost(width, None, &points),
                );
                let relay = ServerMsg::StrokeBegin {
                    author: id,
                    stroke,
                    tool,
                    color: Cow::Borrowed(&color),
                    width,
                    points: Cow::Borrowed(&points),
                };
                let text = encode(&relay);
                member.open.insert(
                    stroke,
                    OpenStroke {
                        tool,
                        color: rgba,
                        color_text: color,
                        width,
                        points,
                    },
                );
                self.broadcast_text(text, Some(id));
                Ok(())
            }
            ClientMsg::StrokePoints { stroke, points } => {
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
                    .charge(now, stroke_cost(open.width, last, &points));
                open.points.extend_from_slice(&points);
                let text = encode(&ServerMsg::StrokePoints {
                    author: id,
                    stroke,
                    points: Cow::Borrowed(&points),
                });
                self.broadcast_text(text, Some(id));
                Ok(())
            }
            ClientMsg::StrokeEnd { stroke } => {
                let open = member.open.remove(&stroke).ok_or_else(|| unknown(stroke))?;
                self.broadcast(&ServerMsg::StrokeEnd { author: id, stroke }, Some(id));
                let op = Op::Stroke(Stroke {
                    tool: open.tool,
                    color: open.color,
                    width: open.width,
                    points: open.points,
                });
                self.commit(id, op, OpKind::Stroke, Some(stroke), None, ctx);
                Ok(())
            }
            ClientMsg::Shape {
                id: client_id,
                shape,
                x0,
                y0,
                x1,
                y1,
                color,
                width,
                fill,
            } => {
                member
                    .paint
                    .charge(now, shape_cost(x0, y0, x1, y1, width, fill));
                let op = Op::Shape(Shape {
                    kind: shape,
                    x0,
                    y0,
                    x1,
                    y1,
                    color: color_of(&color)?,
                    width,
                    filled: fill,
                });
                self.commit(id, op, OpKind::Shape, None, client_id, ctx);
                Ok(())
            }
            ClientMsg::Fill {
                id: client_id,
                x,
                y,
                color,
                tolerance,
            } => {
                let op = Op::Fill(Fill {
                    x: x as u32,
                    y: y as u32,
                    color: color_of(&color)?,
                    tolerance,
                    region: None,
                });
                self.commit(id, op, OpKind::Fill, None, client_id, ctx);
                Ok(())
            }
            ClientMsg::Clear { id: client_id } => {
                self.commit(id, Op::Clear, OpKind::Clear, None, client_id, ctx);
                Ok(())
            }
            ClientMsg::Undo | ClientMsg::Redo => {
                let undo = matches!(msg, ClientMsg::Undo);
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
                let kind = if undo { OpKind::Undo } else { OpKind::Redo };
                let record = if undo { Record::Undo } else { Record::Redo };
                if let Some(target) = applied.target {
                    self.reaching_back.push((applied.seq, target));
                }
                if let Some(m) = self.members.get_mut(&id) {
                    m.paint.charge(now, tiles_cost(applied.tiles.len()));
                }
                self.persist(&key, applied.seq, &record, ctx);
                self.announce(id, applied, kind, None, None, ctx);
                Ok(())
            }
        }
    }

    /// Commits an op to the document and tells everyone.
    fn commit(
        &mut self,
        author: MemberId,
        op: Op,
        kind: OpKind,
        stroke: Option<StrokeId>,
        client_id: Option<u32>,
        ctx: &mut Context<Self>,
    ) {
        let Some(key) = self.members.get(&author).map(|m| m.author_key.clone()) else {
            return;
        };
        let record = Record::of(&op);
        let is_fill = matches!(op, Op::Fill(_));
        let applied = self.doc.commit(&key, op);
        if is_fill {
            if let Some(m) = self.members.get_mut(&author) {
                m.paint
                    .charge(std::time::Instant::now(), tiles_cost(applied.tiles.len()));
            }
        }
        self.persist(&key, applied.seq, &record, ctx);
        self.announce(author, applied, kind, stroke, client_id, ctx);
    }

    /// Broadcasts a commit, marks its tiles dirty, and tells the author its undo state.
    fn announce(
        &mut self,
        author: MemberId,
        applied: Applied,
        op: OpKind,
        stroke: Option<StrokeId>,
        client_id: Option<u32>,
        ctx: &mut Context<Self>,
    ) {
        // Everyone hears of the commit once it is durable (see `Durable`).
        let commit = encode(&ServerMsg::Commit {
            seq: applied.seq,
            author,
            stroke,
            op,
            id: client_id,
            target: applied.target,
        });
        self.pending.push_back((applied.seq, commit, author));
        self.dirty.extend(applied.tiles);
        // Clients render strokes themselves; everything else they learn from tiles, sent now.
        if op != OpKind::Stroke {
            self.urgent = true;
            self.flush_tiles(ctx);
        }
    }

    /// Stops the actor once the room has been empty for `room_idle_unload` and everything is
    /// written; the registry loads it again on the next visit.
    fn unload_if_idle(&mut self, ctx: &mut Context<Self>) {
        if !self.members.is_empty() {
            self.empty_since = None;
            return;
        }
        let since = *self.empty_since.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() >= self.config.room_idle_unload
            && self.pending.is_empty()
            && !self.encoding
        {
            tracing::info!(room = %self.meta.id, seq = self.doc.seq(), "unloading idle room");
            ctx.stop();
        }
    }

    /// Hands an op to the store; `Durable` comes back when it is on disk. Also hands over a new
    /// history base whenever the document's advanced.
    fn persist(&mut self, author_key: &str, seq: u64, record: &Record, ctx: &mut Context<Self>) {
        let addr = ctx.address();
        self.store.append(
            self.meta.id,
            seq,
            author_key,
            record,
            Box::new(move |result| {
                addr.do_send(Durable {
                    seq,
                    failed: result.err().map(|e| e.to_string()),
                })
            }),
        );
        // Save the base only where no later undo or redo reaches back to or before it, or the
        // replay on load could not repeat that event.
        let base = self.doc.base_seq();
        let reaches_back = self.reaching_back.iter().any(|&(_, target)| target <= base);
        if base > self.saved_base && !reaches_back {
            self.saved_base = base;
            self.reaching_back.retain(|&(event, _)| event > base);
            self.store
                .save_base(self.meta.id, base, self.doc.base_tiles());
        }
    }

    /// Encodes the dirty tiles on the blocking pool and broadcasts them, tagged with the seq they
    /// show. One encoding runs at a time; changes meanwhile wait for the next round.
    fn flush_tiles(&mut self, ctx: &mut Context<Self>) {
        // Tiles never show an op whose commit has not gone out yet.
        if self.encoding || self.dirty.is_empty() || self.durable_seq < self.doc.seq() {
            return;
        }
        self.encoding = true;
        self.urgent = false;
        let ids: Vec<TileId> = std::mem::take(&mut self.dirty).into_iter().collect();
        let tiles = self.doc.canvas().snapshot_of(&ids);
        let seq = self.doc.seq();
        let encode_job = tokio::task::spawn_blocking(move || encode_tile_frames(tiles, seq));
        ctx.spawn(encode_job.into_actor(self).map(move |frames, room, ctx| {
            room.encoding = false;
            match frames {
                Ok(frames) => room.send_frames(&frames, seq),
                Err(e) => tracing::error!(room = %room.meta.id, "tile encoding failed: {e}"),
            }
            if room.urgent {
                room.flush_tiles(ctx);
            }
        }));
    }

    /// Sends tile frames to members who joined at or before `seq`.
    fn send_frames(&mut self, frames: &[Bytes], seq: u64) {
        for m in self.members.values_mut() {
            if m.joined_seq > seq || m.lagging {
                continue;
            }
            for f in frames {
                m.push(Outgoing::Binary(f.clone()));
            }
            if !m.lagging {
                m.tiles_seq = seq;
            }
        }
    }
}

/// Encodes tiles as binary tile frames (an absent tile becomes an "empty" frame).
pub(crate) fn encode_tile_frames(
    tiles: Vec<(TileId, Option<Arc<tiny_skia::Pixmap>>)>,
    seq: u64,
) -> Vec<Bytes> {
    tiles
        .into_iter()
        .map(|(id, tile)| {
            let png = tile.map(|t| crate::canvas::encode_tile(&t));
            Bytes::from(frame::tile(
                id.col,
                id.row,
                TILE_SIZE as u16,
                seq,
                png.as_deref(),
            ))
        })
        .collect()
}

/// Pixels a stroke's new points paint: each segment's length times the widest the pen gets on
/// it (`last` is the stroke's previous point, if any).
fn stroke_cost(width: f32, last: Option<&[f32]>, points: &[f32]) -> f64 {
    let mut prev = last.map(|p| (p[0], p[1], p[2]));
    let mut cost = 0.0;
    for p in points.chunks_exact(3) {
        if let Some((x, y, pressure)) = prev {
            let len = f64::from((p[0] - x).hypot(p[1] - y));
            let w = f64::from(width * (0.25 + 1.5 * pressure.max(p[2]).clamp(0.0, 1.0)));
            cost += len * w;
        }
        prev = Some((p[0], p[1], p[2]));
    }
    cost
}

/// Pixels a shape paints: its box when filled, its outline times its width otherwise.
fn shape_cost(x0: f32, y0: f32, x1: f32, y1: f32, width: f32, filled: bool) -> f64 {
    let (dx, dy) = (f64::from((x1 - x0).abs()), f64::from((y1 - y0).abs()));
    let w = f64::from(width);
    if filled {
        (dx + w) * (dy + w)
    } else {
        2.0 * (dx + dy + 2.0 * w) * w
    }
}

/// Pixels repainted over whole tiles (fills, undos and redos).
fn tiles_cost(tiles: usize) -> f64 {
    tiles as f64 * f64::from(TILE_SIZE * TILE_SIZE)
}

fn color_of(text: &str) -> Result<Rgba, ProtoError> {
    parse_color(text)
        .ok_or_else(|| ProtoError::new(ErrorCode::BadMessage, "color must be #rrggbb or #rrggbbaa"))
}

fn unknown(stroke: StrokeId) -> ProtoError {
    ProtoError::new(
        ErrorCode::UnknownStroke,
        format!("stroke {stroke} is not open; send stroke_begin first"),
    )
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.config.cursor_interval, |room, _| {
            room.flush_cursors();
            room.resync_drained();
        });
        ctx.run_interval(self.config.snapshot_interval, |room, ctx| {
            room.flush_tiles(ctx)
        });
        let check = (self.config.room_idle_unload / 4).max(std::time::Duration::from_millis(10));
        ctx.run_interval(check, |room, ctx| room.unload_if_idle(ctx));
    }
}

/// The store made ops up to `seq` durable (or failed to).
#[derive(Message)]
#[rtype(result = "()")]
struct Durable {
    seq: u64,
    failed: Option<String>,
}

impl Handler<Durable> for Room {
    type Result = ();

    fn handle(&mut self, d: Durable, ctx: &mut Context<Self>) {
        if let Some(e) = &d.failed {
            tracing::error!(room = %self.meta.id, seq = d.seq, "op not stored: {e}");
        }
        self.durable_seq = self.durable_seq.max(d.seq);
        while self
            .pending
            .front()
            .is_some_and(|(seq, _, _)| *seq <= self.durable_seq)
        {
            let Some((_, commit, author)) = self.pending.pop_front() else {
                break;
            };
            let missed = self
                .members
                .get(&author)
                .is_some_and(|m| m.lagging)
                .then(|| commit.clone());
            self.broadcast_text(commit, None);
            let Some(m) = self.members.get_mut(&author) else {
                continue;
            };
            if let Some(commit) = missed {
                // Bounded by the outbox size; past it, the client reconnects to catch up.
                if m.missed_own.len() >= self.config.outbox_messages {
                    tracing::info!(room = %self.meta.id, member = author, "dropping lagging member");
                    m.outbox
                        .close(close::LAGGING, "too far behind; reconnect to catch up");
                    self.members.remove(&author);
                    self.broadcast(&ServerMsg::MemberLeft { id: author }, None);
                } else {
                    m.missed_own.push(commit);
                }
                continue;
            }
            let (can_undo, can_redo) = self.doc.can_undo_redo(&m.author_key);
            let text = encode(&ServerMsg::History { can_undo, can_redo });
            m.push(Outgoing::Text(text.into()));
        }
        if self.urgent {
            self.flush_tiles(ctx);
        }
    }
}

/// The registry needs memory: stop now if nobody is in the room and everything is written.
/// Answers whether the room is stopping.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct UnloadIfEmpty;

impl Handler<UnloadIfEmpty> for Room {
    type Result = bool;

    fn handle(&mut self, _: UnloadIfEmpty, ctx: &mut Context<Self>) -> bool {
        let idle = self.members.is_empty() && self.pending.is_empty() && !self.encoding;
        if idle {
            tracing::info!(room = %self.meta.id, seq = self.doc.seq(), "unloading empty room early");
            ctx.stop();
        }
        idle
    }
}

/// The server is shutting down: close every member's socket with 1001.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl Handler<Shutdown> for Room {
    type Result = ();

    fn handle(&mut self, _: Shutdown, _: &mut Context<Self>) {
        for (_, member) in std::mem::take(&mut self.members) {
            member.outbox.close(
                close::GOING_AWAY,
                "the server is restarting; reconnect in a moment",
            );
        }
    }
}

/// The room is being deleted: close every member's socket with 4004 and stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Delete;

impl Handler<Delete> for Room {
    type Result = ();

    fn handle(&mut self, _: Delete, ctx: &mut Context<Self>) {
        for (_, member) in std::mem::take(&mut self.members) {
            member
                .outbox
                .close(close::ROOM_DELETED, "this board was deleted");
        }
        self.pending.clear();
        ctx.stop();
    }
}

/// A new member wants in. The room queues `welcome`, the canvas and the open strokes into the
/// member's outbox before any live traffic, so the member misses nothing and sees nothing twice.
#[derive(Message)]
#[rtype(result = "Result<MemberId, ProtoError>")]
pub struct Join {
    /// Display name, already cleaned.
    pub name: String,
    /// Editor or viewer, already decided from the key.
    pub role: Role,
    /// Where the room sends this member's traffic.
    pub outbox: OutboxTx,
    /// The client's stable `user` id from `hello`, if any (keys its undo history).
    pub user: Option<String>,
    /// The seq the client's canvas is complete at, when it is resuming.
    pub since: Option<u64>,
}

impl Handler<Join> for Room {
    type Result = Result<MemberId, ProtoError>;

    fn handle(&mut self, join: Join, _: &mut Context<Self>) -> Self::Result {
        if self.members.len() >= self.config.max_members_per_room {
            return Err(ProtoError::new(
                ErrorCode::RoomFull,
                format!(
                    "this board already has {} people in it",
                    self.config.max_members_per_room
                ),
            ));
        }
        let id = self.next_member;
        self.next_member += 1;
        let info = MemberInfo {
            id,
            name: join.name,
            role: join.role,
        };
        let author_key = match join.user {
            Some(user) => format!("u:{user}"),
            None => format!("m:{id}"),
        };
        if !self.queue_sync(&join.outbox, &info, join.since, &author_key) {
            join.outbox
                .close(close::LAGGING, "could not queue the canvas");
            return Err(ProtoError::new(
                ErrorCode::Internal,
                "the canvas is too large for the outbox",
            ));
        }
        let seq = self.doc.seq();
        self.broadcast(
            &ServerMsg::MemberJoined {
                member: info.clone(),
            },
            None,
        );
        self.members.insert(
            id,
            Member {
                info,
                outbox: join.outbox,
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
            },
        );
        tracing::debug!(room = %self.meta.id, member = id, "joined");
        Ok(id)
    }
}

/// A member's connection ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// Who left.
    pub member: MemberId,
}

impl Handler<Leave> for Room {
    type Result = ();

    fn handle(&mut self, leave: Leave, _: &mut Context<Self>) {
        if self.members.remove(&leave.member).is_some() {
            // Open strokes of a member who left are dropped; others' clients drop them on
            // `member_left`.
            self.broadcast(&ServerMsg::MemberLeft { id: leave.member }, None);
        }
    }
}

/// A validated message from a member.
#[derive(Message)]
#[rtype(result = "Result<(), ProtoError>")]
pub struct FromClient {
    /// The sender.
    pub member: MemberId,
    /// The message, already checked for shape and ranges by the session.
    pub msg: ClientMsg,
}

impl Handler<FromClient> for Room {
    type Result = Result<(), ProtoError>;

    fn handle(&mut self, m: FromClient, ctx: &mut Context<Self>) -> Self::Result {
        self.handle_client(m.member, m.msg, ctx)
    }
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

/// Asks for a [`RoomStatus`].
#[derive(Message)]
#[rtype(result = "RoomStatus")]
pub struct Status;

impl Handler<Status> for Room {
    type Result = actix::MessageResult<Status>;

    fn handle(&mut self, _: Status, _: &mut Context<Self>) -> Self::Result {
        let editors = self
            .members
            .values()
            .filter(|m| m.info.role == Role::Editor)
            .count();
        actix::MessageResult(RoomStatus {
            seq: self.doc.seq(),
            editors,
            viewers: self.members.len() - editors,
            lagging: self.members.values().filter(|m| m.lagging).count(),
        })
    }
}

/// Asks for the committed canvas and its seq (for exports).
#[derive(Message)]
#[rtype(result = "(Snapshot, u64)")]
pub struct TakeSnapshot;

impl Handler<TakeSnapshot> for Room {
    type Result = actix::MessageResult<TakeSnapshot>;

    fn handle(&mut self, _: TakeSnapshot, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult((self.doc.canvas().snapshot(), self.doc.seq()))
    }
}
