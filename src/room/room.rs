//! The Room actor: the one owner of a room's canvas, members, open strokes and seq.
//!
//! Sessions talk to it only through actix messages ([`Join`], [`FromClient`], [`Leave`], ...); it
//! talks back only through each member's bounded [`OutboxTx`]. It never awaits a member: every
//! broadcast is encoded once and pushed without waiting, and a member whose outbox is full is
//! dropped as lagging (its client reconnects and catches up from tiles).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use actix::{Actor, AsyncContext, Context, Handler, Message};
use bytestring::ByteString;

use super::outbox::{OutboxTx, Outgoing};
use super::registry::RoomMeta;
use crate::canvas::{Canvas, Rgba, Snapshot, Stroke, Tool};
use crate::config::Config;
use crate::protocol::{
    close, encode, ClientMsg, CursorPos, ErrorCode, MemberId, MemberInfo, ProtoError, Role,
    ServerMsg, StrokeId,
};

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
}

/// The actor owning one room.
pub struct Room {
    meta: Arc<RoomMeta>,
    config: Arc<Config>,
    canvas: Canvas,
    /// Number of ops committed; the seq of the latest one.
    seq: u64,
    members: BTreeMap<MemberId, Member>,
    next_member: MemberId,
}

impl Room {
    /// A room with an empty canvas.
    pub fn new(meta: Arc<RoomMeta>, config: Arc<Config>) -> Room {
        let canvas = Canvas::new(meta.width, meta.height)
            .expect("room sizes are validated when the room is created");
        Room {
            meta,
            config,
            canvas,
            seq: 0,
            members: BTreeMap::new(),
            next_member: 1,
        }
    }

    /// Encodes a message once and sends it to every member but `except`.
    fn broadcast(&mut self, msg: &ServerMsg<'_>, except: Option<MemberId>) {
        self.broadcast_text(encode(msg), except);
    }

    /// Removes members whose outbox overflowed and tells the others they left.
    fn drop_lagging(&mut self, mut lagging: Vec<MemberId>) {
        while let Some(id) = lagging.pop() {
            let Some(member) = self.members.remove(&id) else {
                continue;
            };
            tracing::info!(room = %self.meta.id, member = id, "dropping lagging member");
            member
                .outbox
                .close(close::LAGGING, "too far behind; reconnect to catch up");
            let text = ByteString::from(encode(&ServerMsg::MemberLeft { id }));
            for (other, m) in &self.members {
                if m.outbox.push(Outgoing::Text(text.clone())).is_err() && !lagging.contains(other)
                {
                    lagging.push(*other);
                }
            }
        }
    }

    /// Sends shared text to every member but `except`, then drops those that could not take it.
    fn broadcast_text(&mut self, text: String, except: Option<MemberId>) {
        let text = ByteString::from(text);
        let lagging: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(id, _)| Some(**id) != except)
            .filter_map(|(id, m)| {
                m.outbox
                    .push(Outgoing::Text(text.clone()))
                    .is_err()
                    .then_some(*id)
            })
            .collect();
        self.drop_lagging(lagging);
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
    }

    fn handle_client(&mut self, id: MemberId, msg: ClientMsg) -> Result<(), ProtoError> {
        let Some(member) = self.members.get_mut(&id) else {
            // Dropped as lagging while the message was in flight; nothing to answer.
            return Ok(());
        };
        let drawing = matches!(
            msg,
            ClientMsg::StrokeBegin { .. }
                | ClientMsg::StrokePoints { .. }
                | ClientMsg::StrokeEnd { .. }
        );
        if drawing && member.info.role != Role::Editor {
            return Err(ProtoError::new(
                ErrorCode::ReadOnly,
                "this is a view-only link: you cannot draw",
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
            ClientMsg::StrokeBegin {
                stroke,
                tool,
                color,
                width,
                points,
            } => {
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
                let rgba = crate::protocol::parse_color(&color).ok_or_else(|| {
                    ProtoError::new(ErrorCode::BadMessage, "color must be #rrggbb or #rrggbbaa")
                })?;
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
                self.canvas.draw_stroke(&Stroke {
                    tool: open.tool,
                    color: open.color,
                    width: open.width,
                    points: open.points,
                });
                self.seq += 1;
                let seq = self.seq;
                self.broadcast(
                    &ServerMsg::Commit {
                        seq,
                        author: id,
                        stroke,
                    },
                    None,
                );
                Ok(())
            }
        }
    }
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
        ctx.run_interval(self.config.cursor_interval, |room, _| room.flush_cursors());
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
        let mut members = self.member_infos();
        members.push(info.clone());
        let welcome = encode(&ServerMsg::Welcome {
            you: id,
            role: info.role,
            room: self.meta.view(),
            seq: self.seq,
            members,
        });
        let mut queued = join.outbox.push(Outgoing::Text(welcome.into())).is_ok()
            && join
                .outbox
                .push(Outgoing::Canvas {
                    snapshot: self.canvas.snapshot(),
                    seq: self.seq,
                })
                .is_ok();
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
                queued = queued && join.outbox.push(Outgoing::Text(begin.into())).is_ok();
            }
        }
        if !queued {
            join.outbox
                .close(close::LAGGING, "could not queue the canvas");
            return Err(ProtoError::new(
                ErrorCode::Internal,
                "the canvas is too large for the outbox",
            ));
        }
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

    fn handle(&mut self, m: FromClient, _: &mut Context<Self>) -> Self::Result {
        self.handle_client(m.member, m.msg)
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
            seq: self.seq,
            editors,
            viewers: self.members.len() - editors,
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
        actix::MessageResult((self.canvas.snapshot(), self.seq))
    }
}
