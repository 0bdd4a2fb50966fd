//! The Room actor: a thin shell around [`RoomState`] that owns it, feeds it sessions' input and
//! the clock, and carries out its [`Effect`]s (store writes, tile encoding on the blocking pool).
//!
//! Sessions reach it two ways: actix messages for what needs an answer ([`Join`], [`Status`],
//! [`TakeSnapshot`]) or concerns the whole room ([`Shutdown`], [`Delete`], [`UnloadIfEmpty`]),
//! and a bounded channel of [`Input`] (commands and leaves) that sessions send into without
//! waiting for the room to handle them. The room never waits on a member: it pushes into each
//! member's bounded outbox at most once a tick.

use std::sync::Arc;
use std::time::Instant;

use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, Message, StreamHandler,
    WrapFuture,
};
use tokio::sync::mpsc;

use super::load::rebuild;
use super::state::{Effect, Joining, RoomState, RoomStatus};
use super::tiles::encode_frames;
use crate::canvas::{Document, Snapshot, TileId};
use crate::cluster::fanout::{Fanout, Publisher};
use crate::config::Config;
use crate::history::{HistoryJobs, JobKind};
use crate::meta::RoomMeta;
use crate::metrics::Metrics;
use crate::protocol::{close, Command, ErrorCode, MemberId, ProtoError};
use crate::store::{encode_keyframe, NewOp, Store, StoreError};

/// A session's input for the room, through the room's bounded input channel.
#[derive(Debug)]
pub enum Input {
    /// A validated command from a member.
    Command {
        /// The sender.
        member: MemberId,
        /// What it asks.
        command: Command,
    },
    /// A member's connection ended.
    Leave {
        /// Who left.
        member: MemberId,
    },
}

/// The actor owning one room.
pub struct Room {
    pub(super) state: RoomState,
    config: Arc<Config>,
    /// Where ops are made durable.
    pub(super) store: Arc<Store>,
    /// Sessions' input, until the actor starts and takes it as a stream.
    input: Option<mpsc::Receiver<Input>>,
    /// A delivery of the tick log is scheduled.
    delivery_scheduled: bool,
    /// Where commit latency and tile rounds are recorded.
    metrics: Arc<Metrics>,
    /// When the input being handled arrived (commit latency counts from it).
    arrived: Option<Instant>,
    /// Slots for rendering earlier canvases (restores).
    history: HistoryJobs,
    /// Keyframes waiting to be encoded, oldest first: one is encoded at a time, so they reach
    /// the store in seq order (each holds only the tiles changed since the one before).
    keyframes: std::collections::VecDeque<(u64, Vec<crate::store::TileSlot>, u64)>,
    /// A keyframe is being encoded.
    encoding_keyframe: bool,
    /// Cluster mode: the claim this node runs the room under (see `Store::claim`).
    pub(super) claim: u64,
    /// Cluster mode with a bus: the node's fan-out, and the room's publisher on it (made
    /// once the actor has an address to report failures to).
    fanout: Option<Arc<Fanout>>,
    publisher: Option<Publisher>,
}

impl Room {
    /// A room over a document (new or rebuilt from the store), and the sender of its input
    /// channel (bounded by `Config::room_input_queue`).
    pub fn new(
        meta: Arc<RoomMeta>,
        config: Arc<Config>,
        doc: Document,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        history: HistoryJobs,
    ) -> (Room, mpsc::Sender<Input>) {
        let (tx, rx) = mpsc::channel(config.room_input_queue.max(1));
        let state = RoomState::new(
            meta,
            Arc::clone(&config),
            doc,
            Instant::now(),
            Arc::clone(&metrics),
        );
        let room = Room {
            state,
            config,
            store,
            input: Some(rx),
            delivery_scheduled: false,
            metrics,
            arrived: None,
            history,
            keyframes: std::collections::VecDeque::new(),
            encoding_keyframe: false,
            claim: 0,
            fanout: None,
            publisher: None,
        };
        (room, tx)
    }

    /// Cluster mode: delivers the common traffic of members relayed by other nodes over the
    /// bus, numbering this run's frames after `base`.
    pub(super) fn use_bus(&mut self, fanout: &Arc<Fanout>, base: u64) {
        self.fanout = Some(Arc::clone(fanout));
        self.state.set_bus_base(base);
    }

    /// Hands the frames the state made for the bus to the publisher, in order.
    fn publish(&mut self) {
        let frames = self.state.take_bus();
        if let Some(publisher) = &self.publisher {
            for frame in frames {
                publisher.send(frame);
            }
        }
    }

    /// Carries out the state's effects, then delivers what was said, at once if a tick has
    /// passed since the last delivery, else when one has.
    pub(super) fn run_effects(&mut self, ctx: &mut Context<Self>) {
        self.carry_out(ctx);
        if !self.delivery_scheduled {
            if let Some(wait) = self.state.deliver_due(Instant::now()) {
                self.delivery_scheduled = true;
                ctx.run_later(wait, |room, ctx| {
                    room.delivery_scheduled = false;
                    room.run_effects(ctx);
                });
            }
        }
        self.publish();
    }

    /// Encodes the oldest waiting keyframe off the loop and the writer thread, then hands it to
    /// the store (if no write failed meanwhile) and goes on with the next.
    fn next_keyframe(&mut self, ctx: &mut Context<Self>) {
        if self.encoding_keyframe {
            return;
        }
        let Some((seq, tiles, generation)) = self.keyframes.pop_front() else {
            return;
        };
        self.encoding_keyframe = true;
        let job = tokio::task::spawn_blocking(move || encode_keyframe(&tiles));
        ctx.spawn(job.into_actor(self).map(move |encoded, room, ctx| {
            room.encoding_keyframe = false;
            match encoded {
                Err(e) => {
                    tracing::error!(room = %room.state.meta().id, seq, "keyframe encoding failed: {e}");
                    room.keyframes.clear();
                    room.state.keyframe_failed();
                }
                Ok(encoded) if room.state.keyframe_current(seq, generation) => {
                    let addr = ctx.address();
                    room.store.save_keyframe(
                        room.state.meta().id,
                        seq,
                        encoded,
                        Box::new(move |result| match result {
                            Ok(()) => addr.do_send(KeyframeStored { seq, generation }),
                            Err(e) => addr.do_send(Durable {
                                seq,
                                failed: Some(format!("keyframe not stored: {e}")),
                            }),
                        }),
                    );
                }
                Ok(_) => {}
            }
            room.next_keyframe(ctx);
            room.run_effects(ctx);
        }));
    }

    /// Carries out the state's effects.
    fn carry_out(&mut self, ctx: &mut Context<Self>) {
        let arrived = self.arrived.take().unwrap_or_else(Instant::now);
        for effect in self.state.take_effects() {
            match effect {
                Effect::Persist {
                    seq,
                    author,
                    record,
                    reach,
                    tiles,
                } => {
                    let addr = ctx.address();
                    let room = self.state.meta().id;
                    let metrics = Arc::clone(&self.metrics);
                    let op = NewOp {
                        seq,
                        author: &author,
                        record: &record,
                        at: unix_millis(),
                        reach,
                        tiles,
                    };
                    self.store.append(
                        room,
                        op,
                        Box::new(move |result: Result<(), Arc<StoreError>>| {
                            if result.is_ok() {
                                metrics.committed(arrived);
                            }
                            addr.do_send(Durable {
                                seq,
                                failed: result.err().map(|e| e.to_string()),
                            })
                        }),
                    );
                }
                Effect::Keyframe {
                    seq,
                    tiles,
                    generation,
                } => {
                    self.keyframes.push_back((seq, tiles, generation));
                    self.next_keyframe(ctx);
                }
                Effect::SetBase { seq } => {
                    let addr = ctx.address();
                    self.store.set_base(
                        self.state.meta().id,
                        seq,
                        Box::new(move |result| {
                            if let Err(e) = result {
                                addr.do_send(Durable {
                                    seq,
                                    failed: Some(format!("history base not stored: {e}")),
                                });
                            }
                        }),
                    );
                }
                Effect::RenderRestore {
                    member,
                    client_id,
                    seq,
                } => {
                    let (store, config) = (Arc::clone(&self.store), Arc::clone(&self.config));
                    let meta = Arc::clone(self.state.meta());
                    let jobs = self.history.clone();
                    let job = async move {
                        let _slot = jobs.start(JobKind::Render).await;
                        tokio::task::spawn_blocking(move || {
                            render_restore(&store, &meta, &config, seq)
                        })
                        .await
                        .unwrap_or_else(|e| {
                            Err(ProtoError::new(
                                ErrorCode::Internal,
                                format!("rendering the earlier board failed: {e}"),
                            ))
                        })
                    };
                    ctx.spawn(job.into_actor(self).map(move |canvas, room, ctx| {
                        let _ = room.state.restore_ready(
                            member,
                            client_id,
                            seq,
                            canvas,
                            Instant::now(),
                        );
                        room.run_effects(ctx);
                    }));
                }
                Effect::Reload { upto } => {
                    let (store, config) = (Arc::clone(&self.store), Arc::clone(&self.config));
                    let id = self.state.meta().id;
                    let job = tokio::task::spawn_blocking(move || {
                        let stored = store
                            .load_room_upto(id, upto)
                            .map_err(|e| e.to_string())?
                            .ok_or("the room is no longer stored")?;
                        rebuild(stored, &config)
                            .map(|(_, doc)| doc)
                            .map_err(|e| e.to_string())
                    });
                    ctx.spawn(job.into_actor(self).map(|doc, room, ctx| {
                        match doc.map_err(|e| e.to_string()).and_then(|d| d) {
                            Ok(doc) => room.state.reloaded(doc, Instant::now()),
                            Err(e) => {
                                room.state.reload_failed(&e);
                                ctx.stop();
                            }
                        }
                        room.run_effects(ctx);
                    }));
                }
                Effect::Facts(update) => {
                    let room = self.state.meta().id;
                    self.store.update_facts(
                        update,
                        Box::new(move |result| {
                            if let Err(e) = result {
                                tracing::warn!(%room, "could not store the owner's lock: {e}");
                            }
                        }),
                    );
                }
                Effect::Probe { after, durable } => {
                    ctx.run_later(after, move |room, ctx| {
                        let addr = ctx.address();
                        room.store.probe(
                            room.state.meta().id,
                            durable,
                            Box::new(move |result| {
                                if let Err(e) = &result {
                                    tracing::warn!("store still failing: {e}");
                                }
                                addr.do_send(Probed { ok: result.is_ok() });
                            }),
                        );
                    });
                }
                Effect::PlaceImage {
                    member,
                    client_id,
                    image,
                    at,
                } => {
                    let store = Arc::clone(&self.store);
                    let meta = Arc::clone(self.state.meta());
                    let max_pixels = self.config.max_image_pixels;
                    let job = tokio::task::spawn_blocking(move || {
                        super::place::picture(&store, &meta, image, at, max_pixels)
                    });
                    ctx.spawn(job.into_actor(self).map(move |picture, room, ctx| {
                        let picture = picture.unwrap_or_else(|e| {
                            Err(ProtoError::new(
                                crate::protocol::ErrorCode::Internal,
                                format!("placing the image failed: {e}"),
                            ))
                        });
                        let _ = room
                            .state
                            .image_placed(member, client_id, picture, Instant::now());
                        room.run_effects(ctx);
                    }));
                }
                Effect::EncodeTiles { tiles, seq, send } => {
                    let ids: Vec<TileId> = tiles.iter().map(|(id, _)| *id).collect();
                    let metrics = Arc::clone(&self.metrics);
                    let job = tokio::task::spawn_blocking(move || {
                        let started = Instant::now();
                        let frames = encode_frames(tiles, seq);
                        if send {
                            metrics.tile_round(started, frames.iter().map(|(_, f)| f.len()).sum());
                        }
                        frames
                    });
                    ctx.spawn(job.into_actor(self).map(move |frames, room, ctx| {
                        let now = Instant::now();
                        match frames {
                            Ok(frames) => room.state.tiles_encoded(frames, seq, send, now),
                            Err(e) => {
                                tracing::error!(room = %room.state.meta().id, "tile encoding failed: {e}");
                                if send {
                                    room.state.tiles_failed(ids, now);
                                }
                            }
                        }
                        room.run_effects(ctx);
                    }));
                }
            }
        }
    }
}

/// Now, in unix milliseconds (an op's commit time).
fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The canvas at `seq` for a restore, once every op up to it is durable. Blocking.
fn render_restore(
    store: &Store,
    meta: &RoomMeta,
    config: &Config,
    seq: u64,
) -> Result<crate::canvas::Canvas, ProtoError> {
    let unavailable = |e: &dyn std::fmt::Display| {
        tracing::error!(room = %meta.id, "rendering step {seq} for a restore: {e}");
        ProtoError::new(
            ErrorCode::StoreUnavailable,
            "the board's history cannot be read right now; try again in a moment",
        )
    };
    store.flush().map_err(|e| unavailable(&e))?;
    let conn = store.history_reader().map_err(|e| unavailable(&e))?;
    crate::history::canvas_at(&*conn, meta, config, seq).map_err(|e| match e {
        crate::history::HistoryError::OutOfRange { .. } => {
            ProtoError::new(ErrorCode::BadMessage, e.to_string())
        }
        other => unavailable(&other),
    })
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(rx) = self.input.take() {
            ctx.add_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|input| (input, rx))
            }));
        }
        if let Some(fanout) = &self.fanout {
            let addr = ctx.address();
            self.publisher = Some(fanout.publisher(
                self.state.meta().id,
                Box::new(move |seq| addr.do_send(BusFailed { seq })),
            ));
        }
        ctx.run_interval(self.config.cursor_interval, |room, ctx| {
            if let Some(fanout) = &room.fanout {
                room.state.set_bus_ready(fanout.healthy());
            }
            room.state.tick(Instant::now());
            room.run_effects(ctx);
        });
        let check = (self.config.room_idle_unload / 4).max(std::time::Duration::from_millis(10));
        ctx.run_interval(check, |room, ctx| {
            if room.state.idle_for(Instant::now()) >= room.config.room_idle_unload {
                tracing::info!(room = %room.state.meta().id, seq = room.state.doc().seq(), "unloading idle room");
                ctx.stop();
            }
        });
        self.run_effects(ctx);
        self.touch();
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.touch();
        // Cluster mode: give the room up, so another node may take it at once.
        self.store.release(self.state.meta().id, self.claim);
    }
}

impl StreamHandler<Input> for Room {
    fn handle(&mut self, input: Input, ctx: &mut Context<Self>) {
        let now = Instant::now();
        self.arrived = Some(now);
        match input {
            Input::Command { member, command } => {
                let _ = self.state.handle(member, command, now);
            }
            Input::Leave { member } => self.state.leave(member, now),
        }
        self.run_effects(ctx);
    }

    /// The registry holds a sender as long as the room is known, so the stream ends only when
    /// the room is being dropped; the actor stops by its own rules, not here.
    fn finished(&mut self, _: &mut Context<Self>) {}
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
        self.state
            .stored(d.seq, d.failed.as_deref(), Instant::now());
        self.run_effects(ctx);
    }
}

/// The store holds keyframe `seq` (asked for in `generation`).
#[derive(Message)]
#[rtype(result = "()")]
struct KeyframeStored {
    seq: u64,
    generation: u64,
}

impl Handler<KeyframeStored> for Room {
    type Result = ();

    fn handle(&mut self, k: KeyframeStored, ctx: &mut Context<Self>) {
        self.state.keyframe_stored(k.seq, k.generation);
        self.run_effects(ctx);
    }
}

/// The store answered a probe of a room that could not write.
#[derive(Message)]
#[rtype(result = "()")]
struct Probed {
    ok: bool,
}

impl Handler<Probed> for Room {
    type Result = ();

    fn handle(&mut self, p: Probed, ctx: &mut Context<Self>) {
        self.state.probed(p.ok, Instant::now());
        self.run_effects(ctx);
    }
}

/// Cluster mode: the bus frame `seq` could not be published.
#[derive(Message)]
#[rtype(result = "()")]
struct BusFailed {
    seq: u64,
}

impl Handler<BusFailed> for Room {
    type Result = ();

    fn handle(&mut self, failed: BusFailed, ctx: &mut Context<Self>) {
        self.state.bus_failed(failed.seq, Instant::now());
        self.run_effects(ctx);
    }
}

/// A new member wants in; answers its id. See [`RoomState::join`].
#[derive(Message)]
#[rtype(result = "Result<MemberId, ProtoError>")]
pub struct Join(pub Joining);

impl Handler<Join> for Room {
    type Result = Result<MemberId, ProtoError>;

    fn handle(&mut self, join: Join, ctx: &mut Context<Self>) -> Self::Result {
        let result = self.state.join(join.0);
        self.run_effects(ctx);
        result
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
        let idle = self.state.is_idle();
        if idle {
            tracing::info!(room = %self.state.meta().id, seq = self.state.doc().seq(), "unloading empty room early");
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
        self.touch();
        self.state.flush();
        self.state.close_all(
            close::GOING_AWAY,
            "the server is restarting; reconnect in a moment",
        );
    }
}

/// Cluster mode: this node no longer owns the room (its lease was lost or ran out). Nothing
/// more can be stored: close every member with 1012 so they reconnect to the new owner, and
/// stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Moved;

impl Handler<Moved> for Room {
    type Result = ();

    fn handle(&mut self, _: Moved, ctx: &mut Context<Self>) {
        let (id, seq) = (self.state.meta().id, self.state.doc().seq());
        let status = self.state.status();
        if status.editors + status.viewers == 0 {
            // Nobody here to move (the server is shutting down, or everyone left).
            tracing::info!(room = %id, seq, "gave the room up; unloading");
        } else {
            tracing::warn!(room = %id, seq, "lost the room to another node; unloading");
        }
        self.state.close_all(
            close::MOVED,
            "this board moved to another server; reconnecting",
        );
        self.state.drop_pending();
        ctx.stop();
    }
}

/// The room is being deleted: close every member's socket with 4004 and stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Delete;

impl Handler<Delete> for Room {
    type Result = ();

    fn handle(&mut self, _: Delete, ctx: &mut Context<Self>) {
        self.state
            .close_all(close::ROOM_DELETED, "this board was deleted");
        self.state.drop_pending();
        ctx.stop();
    }
}

/// Asks for a [`RoomStatus`].
#[derive(Message)]
#[rtype(result = "RoomStatus")]
pub struct Status;

impl Handler<Status> for Room {
    type Result = actix::MessageResult<Status>;

    fn handle(&mut self, _: Status, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.state.status())
    }
}

/// Asks for the committed canvas and its seq (for exports).
#[derive(Message)]
#[rtype(result = "(Snapshot, u64)")]
pub struct TakeSnapshot;

impl Handler<TakeSnapshot> for Room {
    type Result = actix::MessageResult<TakeSnapshot>;

    fn handle(&mut self, _: TakeSnapshot, _: &mut Context<Self>) -> Self::Result {
        let doc = self.state.doc();
        actix::MessageResult((doc.canvas().snapshot(), doc.seq()))
    }
}
