//! The reader task: one per [`Bus`](super::Bus), owning the node's subscriber connection.
//!
//! It subscribes Redis to a room's channel while the room has local subscriptions, routes each
//! channel message to them through their [`Cursor`]s, and fills holes from the room's stream.
//! When the connection is lost it keeps taking subscribe and unsubscribe requests, reconnects
//! with backoff, subscribes every room again, and reads each stream after where each
//! subscription stands, so that what was published meanwhile is filled, or reported as a gap
//! when the next message shows the hole.
//!
//! A room is subscribed on Redis before its stream is read, so every message is in one or the
//! other (or both: the cursor drops the second copy).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink, PubSubStream};
use redis::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::chain::{Cursor, Push};
use super::{decode, BusConfig, Event, Kind, Message, Names};

/// A request from a [`Bus`](super::Bus) or a [`Subscription`](super::Subscription).
#[derive(Debug)]
pub(super) enum Control {
    /// Start a subscription to `room` after seq `from`, delivering into `tx`.
    Subscribe {
        room: Uuid,
        from: u64,
        id: u64,
        tx: mpsc::Sender<Event>,
    },
    /// End the subscription `id` (its receiver was dropped).
    Unsubscribe { room: Uuid, id: u64 },
}

/// A fresh subscription id, unique in the process.
pub(super) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One local subscription.
struct Sub {
    id: u64,
    /// The subscriber's bounded receiver; never awaited.
    tx: mpsc::Sender<Event>,
    cursor: Cursor,
}

/// Why a connection ended.
enum Stop {
    /// Every handle and subscription is gone: the task ends.
    Shutdown,
    /// The connection failed: reconnect.
    Lost(String),
}

/// The task's state; see the module doc.
pub(super) struct Reader {
    client: redis::Client,
    /// For `XRANGE` (the subscriber connection can run only subscription commands).
    conn: ConnectionManager,
    names: Names,
    config: BusConfig,
    control_rx: mpsc::UnboundedReceiver<Control>,
    /// Local subscriptions by room; a room is subscribed on Redis while it is here.
    rooms: HashMap<Uuid, Vec<Sub>>,
}

impl Reader {
    pub(super) fn new(
        client: redis::Client,
        conn: ConnectionManager,
        names: Names,
        config: BusConfig,
        control_rx: mpsc::UnboundedReceiver<Control>,
    ) -> Reader {
        Reader {
            client,
            conn,
            names,
            config,
            control_rx,
            rooms: HashMap::new(),
        }
    }

    /// Connects, serves, and reconnects with backoff until shut down.
    pub(super) async fn run(mut self) {
        let mut backoff = self.config.backoff_min;
        loop {
            match self.connect().await {
                Ok((sink, stream)) => {
                    backoff = self.config.backoff_min;
                    match self.serve(sink, stream).await {
                        Stop::Shutdown => return,
                        Stop::Lost(why) => tracing::warn!("bus subscriber connection lost: {why}"),
                    }
                }
                Err(why) => tracing::warn!("bus subscriber cannot connect: {why}"),
            }
            if !self.wait(backoff).await {
                return;
            }
            backoff = (backoff * 2).min(self.config.backoff_max);
        }
    }

    /// Opens the subscriber connection, subscribes every room and reads what each
    /// subscription missed from the streams.
    async fn connect(&mut self) -> Result<(PubSubSink, PubSubStream), String> {
        let limit = self.config.publish_timeout;
        let pubsub = tokio::time::timeout(limit, self.client.get_async_pubsub())
            .await
            .map_err(|_| format!("no answer within {limit:?}"))?
            .map_err(|e| e.to_string())?;
        let (mut sink, stream) = pubsub.split();
        let rooms: Vec<Uuid> = self.rooms.keys().copied().collect();
        if !rooms.is_empty() {
            let channels: Vec<String> = rooms.iter().map(|r| self.names.channel(*r)).collect();
            within(limit, sink.subscribe(channels)).await?;
        }
        for room in rooms {
            self.fill_room(room).await?;
        }
        Ok((sink, stream))
    }

    /// Routes messages and requests until the connection fails or the bus shuts down.
    async fn serve(&mut self, mut sink: PubSubSink, mut stream: PubSubStream) -> Stop {
        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            tokio::select! {
                control = self.control_rx.recv() => {
                    let Some(control) = control else { return Stop::Shutdown };
                    if let Err(why) = self.control(control, Some(&mut sink)).await {
                        return Stop::Lost(why);
                    }
                }
                msg = stream.next() => {
                    let Some(msg) = msg else { return Stop::Lost("connection closed".into()) };
                    self.route(&msg).await;
                }
                _ = ping.tick() => {
                    let pong = within(self.config.publish_timeout, sink.ping::<Value>());
                    if let Err(why) = pong.await {
                        return Stop::Lost(format!("ping: {why}"));
                    }
                }
            }
        }
    }

    /// Waits `delay` before the next attempt, taking requests meanwhile. False on shutdown.
    async fn wait(&mut self, delay: Duration) -> bool {
        let deadline = tokio::time::sleep(delay);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return true,
                control = self.control_rx.recv() => {
                    let Some(control) = control else { return false };
                    // Offline: no sink, so this cannot fail.
                    let _ = self.control(control, None).await;
                }
            }
        }
    }

    /// Carries out a request; `sink` is the live connection, if there is one.
    async fn control(
        &mut self,
        control: Control,
        sink: Option<&mut PubSubSink>,
    ) -> Result<(), String> {
        let limit = self.config.publish_timeout;
        match control {
            Control::Subscribe { room, from, id, tx } => {
                let subs = self.rooms.entry(room).or_default();
                let first = subs.is_empty();
                subs.push(Sub {
                    id,
                    tx,
                    cursor: Cursor::new(from),
                });
                let Some(sink) = sink else { return Ok(()) };
                if first {
                    within(limit, sink.subscribe(self.names.channel(room))).await?;
                }
                // The new subscription's history; unread, it would wait for the next live
                // message, so a failure here starts the connection over.
                let Some(sub) = self.rooms.get_mut(&room).and_then(|subs| subs.last_mut()) else {
                    return Ok(());
                };
                fill(&mut self.conn, &self.names, &self.config, room, sub, None).await?;
            }
            Control::Unsubscribe { room, id } => {
                let Some(subs) = self.rooms.get_mut(&room) else {
                    return Ok(());
                };
                subs.retain(|s| s.id != id);
                if !subs.is_empty() {
                    return Ok(());
                }
                self.rooms.remove(&room);
                if let Some(sink) = sink {
                    within(limit, sink.unsubscribe(self.names.channel(room))).await?;
                }
            }
        }
        Ok(())
    }

    /// Brings every subscription of `room` up to the end of its stream.
    async fn fill_room(&mut self, room: Uuid) -> Result<(), String> {
        let Some(subs) = self.rooms.get_mut(&room) else {
            return Ok(());
        };
        for sub in subs {
            fill(&mut self.conn, &self.names, &self.config, room, sub, None).await?;
        }
        Ok(())
    }

    /// Hands a channel message to the room's subscriptions, filling holes first.
    async fn route(&mut self, raw: &redis::Msg) {
        let Some(room) = self.names.room_of(raw.get_channel_name()) else {
            return;
        };
        let Some(msg) = decode(room, raw.get_payload_bytes()) else {
            tracing::warn!(%room, "bus: unreadable message skipped");
            return;
        };
        let Some(subs) = self.rooms.get_mut(&room) else {
            return;
        };
        for sub in subs {
            if sub.cursor.needs_fill(&msg) {
                let to = Some(msg.after);
                let filled = fill(&mut self.conn, &self.names, &self.config, room, sub, to).await;
                if let Err(why) = filled {
                    // The message itself shows the hole: it is reported as a gap.
                    tracing::warn!(%room, "bus: cannot read the stream: {why}");
                }
            }
            // A closed receiver is removed by the unsubscribe its drop sends.
            let _ = sub.cursor.push(msg.clone(), &sub.tx);
        }
    }
}

/// Feeds `sub` the stream's entries after where it stands, up to seq `to` (or the end). If
/// Redis fails, nothing is fed.
async fn fill(
    conn: &mut ConnectionManager,
    names: &Names,
    config: &BusConfig,
    room: Uuid,
    sub: &mut Sub,
    to: Option<u64>,
) -> Result<(), String> {
    let start = format!("{}-0", sub.cursor.seen().saturating_add(1));
    let end = to.map_or_else(|| "+".to_owned(), |to| format!("{to}-0"));
    let mut cmd = redis::cmd("XRANGE");
    cmd.arg(names.stream(room)).arg(start).arg(end);
    let reply = within(config.publish_timeout, cmd.query_async::<Value>(conn)).await?;
    let Value::Array(entries) = reply else {
        return Err(format!("XRANGE answered {reply:?}"));
    };
    for entry in &entries {
        let Some(msg) = entry_message(room, entry) else {
            tracing::warn!(%room, "bus: unreadable stream entry skipped");
            continue;
        };
        if sub.cursor.push(msg, &sub.tx) == Push::Closed {
            break;
        }
    }
    Ok(())
}

/// Reads one `XRANGE` entry: id `<seq>-0`, fields `a` (after), `k` (kind), `d` (payload).
fn entry_message(room: Uuid, entry: &Value) -> Option<Message> {
    let Value::Array(parts) = entry else {
        return None;
    };
    let [id, Value::Array(fields)] = parts.as_slice() else {
        return None;
    };
    let id = std::str::from_utf8(bytes_of(id)?).ok()?;
    let seq = id.split_once('-')?.0.parse().ok()?;
    let (mut after, mut kind, mut payload) = (None, None, None);
    for pair in fields.chunks_exact(2) {
        let value = bytes_of(&pair[1])?;
        match bytes_of(&pair[0])? {
            b"a" => after = std::str::from_utf8(value).ok()?.parse::<u64>().ok(),
            b"k" => kind = std::str::from_utf8(value).ok()?.parse::<u8>().ok(),
            b"d" => payload = Some(Bytes::copy_from_slice(value)),
            _ => {}
        }
    }
    let after = after?;
    if seq <= after {
        return None;
    }
    Some(Message {
        room,
        after,
        seq,
        kind: Kind::from_code(kind?)?,
        payload: payload?,
    })
}

fn bytes_of(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// Runs a Redis call with a time limit, folding both failures into a message.
async fn within<T>(
    limit: Duration,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {limit:?}")),
    }
}
