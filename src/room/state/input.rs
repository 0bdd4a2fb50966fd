//! The input rules: what each command from a member does, and how an op is committed.

use std::borrow::Cow;
use std::time::Instant;

use super::{Audience, Effect, Pending, RoomState};
use crate::canvas::{Applied, Op, Stroke};
use crate::protocol::{
    encode, Command, ErrorCode, MemberId, MemberInfo, OpKind, ProtoError, ServerMsg, StrokeId,
    ViewRect,
};
use crate::room::cost;
use crate::room::member::OpenStroke;
use crate::store::{Record, TileSlot};

impl RoomState {
    /// Handles a validated command from a member. A refusal is queued to the member as `error`
    /// (and returned, for tests and logs).
    pub fn handle(&mut self, id: MemberId, cmd: Command, now: Instant) -> Result<(), ProtoError> {
        let shape = matches!(cmd, Command::Shape { .. });
        let result = self.apply(id, cmd, now);
        if shape {
            // The drag is over either way: committed, or never to be.
            self.end_preview(id, result.is_ok());
        }
        if let Err(e) = &result {
            self.refuse(id, e, None);
        }
        result
    }

    pub(super) fn apply(
        &mut self,
        id: MemberId,
        cmd: Command,
        now: Instant,
    ) -> Result<(), ProtoError> {
        if cmd.is_moderation() {
            return match cmd {
                Command::Lock { locked } => self.moderate(id, Some(locked), None, now),
                Command::Kick { member } => self.moderate(id, None, Some(member), now),
                Command::Revert { member } => self.revert(id, member, now),
                // `is_moderation` is true of these three alone.
                _ => Ok(()),
            };
        }
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
        if cmd.is_drawing() {
            if let Some(refusal) = self.editing_refusal() {
                return Err(refusal);
            }
        }
        let Some(member) = self.members.get_mut(&id) else {
            return Ok(());
        };
        if cmd.starts_painting() && member.paint.in_debt(now) {
            self.metrics.rate_limited_paint.inc();
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
            Command::ShapePreview {
                id: shape_id,
                shape,
            } => {
                self.set_preview(id, shape_id, shape);
                Ok(())
            }
            Command::Rename { name } => {
                member.info.name = name;
                if self.listed.contains(&id) {
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
            // Handled before the member is looked up (see `moderation.rs`).
            Command::Lock { .. } | Command::Kick { .. } | Command::Revert { .. } => Ok(()),
            Command::StrokeBegin {
                stroke,
                tool,
                color,
                color_text,
                width,
                points,
                op,
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
                // Sent again after a reconnect, of an op already committed: others have it.
                let duplicate_of = op.as_deref().and_then(|op| self.client_ops.seq_of(op));
                if duplicate_of.is_none() {
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
                }
                member.open.insert(
                    stroke,
                    OpenStroke {
                        tool,
                        color,
                        color_text,
                        width,
                        points,
                        op,
                        duplicate_of,
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
                if open.duplicate_of.is_none() {
                    self.log.push(
                        &ServerMsg::StrokePoints {
                            author: id,
                            stroke,
                            points: Cow::Borrowed(&points),
                        },
                        Audience::Except(id),
                    );
                }
                open.points.extend_from_slice(&points);
                Ok(())
            }
            Command::StrokeEnd { stroke } => {
                let open = member.open.remove(&stroke).ok_or_else(|| unknown(stroke))?;
                if let Some(seq) = open.duplicate_of {
                    self.answer_duplicate(id, stroke, seq);
                    return Ok(());
                }
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
                self.commit_op(id, op, OpKind::Stroke, Some(stroke), None, open.op, now);
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
            Command::Move { id: client_id, mv } => {
                let (w, h) = (self.doc.canvas().width(), self.doc.canvas().height());
                member.paint.charge(now, cost::moved(&mv, w, h));
                self.commit(id, Op::Move(mv), OpKind::Move, None, client_id, now);
                Ok(())
            }
            Command::Text {
                id: client_id,
                text,
            } => {
                member.paint.charge(now, cost::text(&text));
                self.commit(id, Op::Text(text), OpKind::Text, None, client_id, now);
                Ok(())
            }
            Command::Clear { id: client_id } => {
                self.commit(id, Op::Clear, OpKind::Clear, None, client_id, now);
                Ok(())
            }
            Command::Restore { id: client_id, seq } => self.ask_restore(id, client_id, seq),
            Command::Image {
                id: client_id,
                image,
                at,
            } => {
                member.paint.charge(now, cost::image(&at));
                self.effects.push(Effect::PlaceImage {
                    member: id,
                    client_id,
                    image,
                    at,
                });
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
                    // Undoing a revert re-renders from the oldest op it took back.
                    let reach = self.doc.reaches_back(target);
                    self.reaching_back.push((applied.seq, reach));
                }
                if let Some(m) = self.members.get_mut(&id) {
                    m.paint.charge(now, cost::tiles(applied.tiles.len()));
                }
                self.persist(key, &applied, record, Vec::new());
                self.announce(id, applied, kind, None, None, now);
                Ok(())
            }
        }
    }

    /// Commits an op to the document and hands it to the store.
    pub(super) fn commit(
        &mut self,
        author: MemberId,
        op: Op,
        kind: OpKind,
        stroke: Option<StrokeId>,
        client_id: Option<u32>,
        now: Instant,
    ) {
        self.commit_op(author, op, kind, stroke, client_id, None, now);
    }

    /// [`RoomState::commit`] of an op the client named (`client_op`), remembered once durable
    /// so that the op sent again is answered rather than applied twice.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn commit_op(
        &mut self,
        author: MemberId,
        op: Op,
        kind: OpKind,
        stroke: Option<StrokeId>,
        client_id: Option<u32>,
        client_op: Option<String>,
        now: Instant,
    ) {
        let Some(key) = self.members.get(&author).map(|m| m.author_key.clone()) else {
            return;
        };
        let record = Record::of(&op).with_client_op(client_op.clone());
        let is_fill = matches!(op, Op::Fill(_));
        let restored = match &op {
            Op::Restore(r) => r.tiles.clone(),
            _ => Vec::new(),
        };
        let applied = self.doc.commit(&key, op);
        if let Some(op) = client_op {
            self.client_ops.remember(op, applied.seq);
        }
        if is_fill {
            if let Some(m) = self.members.get_mut(&author) {
                m.paint.charge(now, cost::tiles(applied.tiles.len()));
            }
        }
        self.persist(key, &applied, record, restored);
        self.announce(author, applied, kind, stroke, client_id, now);
    }

    /// Hands an op to the store (with how far back it re-rendered, for an undo, redo or
    /// revert, and a restore's pixels), then asks for a keyframe if one is due.
    pub(super) fn persist(
        &mut self,
        author: String,
        applied: &Applied,
        record: Record,
        tiles: Vec<TileSlot>,
    ) {
        let reach = self
            .reaching_back
            .last()
            .filter(|&&(event, _)| event == applied.seq)
            .map(|&(_, target)| target);
        self.effects.push(Effect::Persist {
            seq: applied.seq,
            author,
            record,
            reach,
            tiles,
        });
        self.keyframe_if_due(applied, reach);
    }

    /// Queues the commit until it is durable and marks its tiles dirty. Clients render strokes
    /// themselves; everything else they learn from tiles, sent at once.
    pub(super) fn announce(
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
        self.pending.push_back(Pending {
            seq: applied.seq,
            commit: commit.into(),
            author,
            stroke,
            client_id,
            echoes: Vec::new(),
        });
        for tile in applied.tiles {
            self.dirty.entry(tile).or_insert((now, now)).1 = now;
        }
        if op != OpKind::Stroke {
            self.urgent = true;
            self.start_round(now);
        }
    }
}

impl RoomState {
    /// Answers a stroke sent again whose op was committed at `seq`: the same commit, to its
    /// sender alone, once that op is durable (at once if it already is).
    fn answer_duplicate(&mut self, member: MemberId, stroke: StrokeId, seq: u64) {
        let commit = ServerMsg::Commit {
            seq,
            author: member,
            stroke: Some(stroke),
            op: OpKind::Stroke,
            id: None,
            target: None,
        };
        if seq <= self.durable_seq {
            self.log.push(&commit, Audience::Only(member));
        } else if let Some(p) = self.pending.iter_mut().find(|p| p.seq == seq) {
            p.echoes.push((member, stroke, encode(&commit).into()));
        } else {
            // Neither durable nor waiting: it was taken back. Sent again later, it is drawn.
            self.client_ops.forget_seq(seq);
            self.not_saved(member, stroke, seq);
        }
    }
}

fn unknown(stroke: StrokeId) -> ProtoError {
    ProtoError::new(
        ErrorCode::UnknownStroke,
        format!("stroke {stroke} is not open; send stroke_begin first"),
    )
}
