//! The fan-out bus over Redis: a room's owner publishes each already-encoded frame once; every
//! node with local members of the room receives it, in seq order, with no gaps and no
//! duplicates, or is told exactly what it missed.
//!
//! A [`Message`] is `(room, after, seq, kind, payload)`: the owner's frame for everything after
//! `after` up to `seq`, encoded once and relayed as is. [`Bus::publish`] runs one Lua script that
//! appends the message to the room's Redis stream (its id is `<seq>-0`, capped with
//! `MAXLEN ~`) and then `PUBLISH`es it on the room's channel. A script runs atomically, so a
//! subscriber that sees a message on the channel finds everything before it in the stream, and
//! the payload crosses the network to Redis once rather than twice (as `MULTI` with an `XADD`
//! and a `PUBLISH` would send it).
//!
//! [`Bus::subscribe`] asks for a room's messages after a seq; a node does so only for rooms with
//! local members, and Redis is told to stop sending a room when its last [`Subscription`] is
//! dropped. One reader task per [`Bus`] owns the subscriber connection (`reader.rs`): it fills
//! a hole in the chain from the stream (`XRANGE` by seq), and reports an [`Event::Gap`] when the
//! stream no longer holds it (trimmed, or Redis restarted empty), so that the caller catches up
//! from the database. It reconnects with backoff, resubscribes every room and re-reads the
//! stream after whatever it had. The chain rule itself is `chain.rs`.
//!
//! Redis holds nothing that cannot be rebuilt: a publish that fails (Redis down, or slower than
//! [`BusConfig::publish_timeout`]) returns an error and loses nothing durable; the next one
//! that succeeds lets every subscriber see the hole.

mod chain;
mod reader;

use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use tokio::sync::mpsc;
use uuid::Uuid;

use reader::{Control, Reader};

/// What a message carries, so that a receiving node knows what to do with the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A tick batch of the room's durable traffic, encoded as members receive it.
    Batch,
    /// A tile round: which tiles changed as of `seq`, for the receiving node's tile mirror.
    Tiles,
}

impl Kind {
    /// The byte that stands for it on the wire.
    fn code(self) -> u8 {
        match self {
            Kind::Batch => 1,
            Kind::Tiles => 2,
        }
    }

    fn from_code(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::Batch),
            2 => Some(Kind::Tiles),
            _ => None,
        }
    }
}

/// One message on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The room it belongs to.
    pub room: Uuid,
    /// The seq of the room's previous message: a subscriber that has everything up to `after`
    /// takes this one next. For one message per seq it is `seq - 1`.
    pub after: u64,
    /// The seq this message brings the room to; greater than `after`.
    pub seq: u64,
    /// What the payload is.
    pub kind: Kind,
    /// The owner's encoded frame, relayed untouched (cloning it is cheap).
    pub payload: Bytes,
}

/// What a [`Subscription`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The next message of the room's chain.
    Message(Message),
    /// Messages the bus cannot deliver: everything with a seq in `after + 1 ..= next`. The
    /// stream no longer holds them (trimmed, or Redis restarted empty), or the receiver was
    /// full when they came. Catch up from the database; the next message follows `next`.
    Gap {
        /// The last seq delivered before the hole.
        after: u64,
        /// The last seq of the hole.
        next: u64,
    },
}

/// The bus's limits, with defaults suited to one room's traffic.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Prefix of every key and channel, so that deployments (or tests) can share a Redis.
    /// Default `inkroom`.
    pub prefix: String,
    /// Entries each room's stream keeps at least (`XADD ... MAXLEN ~`: Redis trims whole
    /// blocks, so a little more). Default 1,000.
    pub stream_len: u64,
    /// A room's stream expires this long after its last message, so idle rooms cost Redis
    /// nothing. Default 1 hour.
    pub stream_ttl: Duration,
    /// How long a publish (or a connection attempt) may take before it fails. Default 2 s.
    pub publish_timeout: Duration,
    /// Messages a subscription's receiver holds before the bus skips to a gap. Default 256.
    pub queue: usize,
    /// First wait before the subscriber reconnects; doubled per failure. Default 100 ms.
    pub backoff_min: Duration,
    /// Longest wait between reconnection attempts. Default 5 s.
    pub backoff_max: Duration,
    /// How often the subscriber connection is pinged to find a dead link. Default 5 s.
    pub ping_interval: Duration,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            prefix: "inkroom".to_owned(),
            stream_len: 1000,
            stream_ttl: Duration::from_secs(3600),
            publish_timeout: Duration::from_secs(2),
            queue: 256,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            ping_interval: Duration::from_secs(5),
        }
    }
}

/// What can go wrong on the bus.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL is not a Redis URL.
    #[error("bad Redis URL: {0}")]
    Url(#[source] redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis refused, or the connection failed.
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A message whose `seq` does not come after its `after`.
    #[error("message seq {seq} does not follow its after {after}")]
    Order {
        /// The message's `after`.
        after: u64,
        /// The message's `seq`.
        seq: u64,
    },
    /// The room's stream already reaches `seq` or beyond: this message was published before
    /// (a retry of a publish that did go through), and was not sent again.
    #[error("room {room}: seq {seq} is already on the bus")]
    Stale {
        /// The room.
        room: Uuid,
        /// The message's seq.
        seq: u64,
    },
}

/// Appends to the stream (`KEYS[1]`), renews its expiry, then publishes header .. payload on
/// the channel. ARGV: maxlen, entry id, after, kind, payload, channel, header, ttl in milliseconds.
/// Returns how many subscribers received it, or -1 if the stream already holds that seq.
const PUBLISH_LUA: &str = r"
local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[2],
    'a', ARGV[3], 'k', ARGV[4], 'd', ARGV[5])
if type(added) == 'table' and added.err then
    if string.find(added.err, 'equal or smaller', 1, true) then
        return -1
    end
    return added
end
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return redis.call('PUBLISH', ARGV[6], ARGV[7] .. ARGV[5])
";

/// Length of the header before the payload in a channel message.
const HEADER_LEN: usize = 1 + 8 + 8 + 1;
/// Version byte of the channel message format.
const WIRE_VERSION: u8 = 1;

/// Key and channel names of one deployment.
#[derive(Debug, Clone)]
struct Names {
    prefix: String,
}

impl Names {
    /// The room's channel: `<prefix>:room:<uuid>`.
    fn channel(&self, room: Uuid) -> String {
        format!("{}:room:{room}", self.prefix)
    }

    /// The room's stream: `<prefix>:room:<uuid>:log`.
    fn stream(&self, room: Uuid) -> String {
        format!("{}:room:{room}:log", self.prefix)
    }

    /// The room a channel name stands for.
    fn room_of(&self, channel: &str) -> Option<Uuid> {
        let rest = channel.strip_prefix(&self.prefix)?.strip_prefix(":room:")?;
        Uuid::parse_str(rest).ok()
    }
}

/// The channel header: version, after and seq (big-endian), kind.
fn header(msg: &Message) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = WIRE_VERSION;
    h[1..9].copy_from_slice(&msg.after.to_be_bytes());
    h[9..17].copy_from_slice(&msg.seq.to_be_bytes());
    h[17] = msg.kind.code();
    h
}

/// Reads a channel message back; `None` for a malformed one or an unknown version or kind.
fn decode(room: Uuid, bytes: &[u8]) -> Option<Message> {
    let (h, payload) = bytes.split_at_checked(HEADER_LEN)?;
    if h[0] != WIRE_VERSION {
        return None;
    }
    let after = u64::from_be_bytes(h[1..9].try_into().ok()?);
    let seq = u64::from_be_bytes(h[9..17].try_into().ok()?);
    let kind = Kind::from_code(h[17])?;
    (seq > after).then(|| Message {
        room,
        after,
        seq,
        kind,
        payload: Bytes::copy_from_slice(payload),
    })
}

/// A node's handle on the bus: publishes, and subscribes for local members. Cheap to clone;
/// the reader task stops when the last handle and the last subscription are gone.
#[derive(Clone)]
pub struct Bus {
    /// Commands (`EVALSHA`, `XRANGE`); reconnects by itself after a failure.
    conn: ConnectionManager,
    /// Subscribe and unsubscribe requests to the reader task, which owns the subscriber
    /// connection. Unbounded: one entry per subscribe or drop, never per message.
    control: mpsc::UnboundedSender<Control>,
    names: Names,
    script: std::sync::Arc<Script>,
    config: BusConfig,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("config", &self.config).finish()
    }
}

impl Bus {
    /// Connects to Redis at `url` (`redis://host:port/db`) and starts the reader task. Fails if
    /// Redis cannot be reached now; after that, lost connections are re-made by themselves.
    /// Must be called within a tokio runtime.
    pub async fn connect(url: &str, config: BusConfig) -> Result<Bus, Error> {
        let client = redis::Client::open(url).map_err(Error::Url)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.publish_timeout))
            .set_response_timeout(Some(config.publish_timeout))
            .set_min_delay(config.backoff_min)
            .set_max_delay(config.backoff_max)
            .set_number_of_retries(2);
        let connect = ConnectionManager::new_with_config(client.clone(), manager_config);
        let conn = tokio::time::timeout(config.publish_timeout, connect)
            .await
            .map_err(|_| Error::Timeout(config.publish_timeout))??;
        let names = Names {
            prefix: config.prefix.clone(),
        };
        let (control, control_rx) = mpsc::unbounded_channel();
        let reader = Reader::new(
            client,
            conn.clone(),
            names.clone(),
            config.clone(),
            control_rx,
        );
        tokio::spawn(reader.run());
        Ok(Bus {
            conn,
            control,
            names,
            script: std::sync::Arc::new(Script::new(PUBLISH_LUA)),
            config,
        })
    }

    /// Puts a message on the bus: appends it to the room's stream and publishes it on the
    /// room's channel, in one script. Returns how many subscriber connections (nodes)
    /// received it live. Fails after [`BusConfig::publish_timeout`] at most; fails with
    /// [`Error::Stale`] if the stream already reaches `msg.seq`.
    pub async fn publish(&self, msg: &Message) -> Result<usize, Error> {
        if msg.seq <= msg.after {
            return Err(Error::Order {
                after: msg.after,
                seq: msg.seq,
            });
        }
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(self.names.stream(msg.room))
            .arg(self.config.stream_len)
            .arg(format!("{}-0", msg.seq))
            .arg(msg.after)
            .arg(u64::from(msg.kind.code()))
            .arg(msg.payload.as_ref())
            .arg(self.names.channel(msg.room))
            .arg(&header(msg)[..])
            .arg(u64::try_from(self.config.stream_ttl.as_millis()).unwrap_or(u64::MAX));
        let mut conn = self.conn.clone();
        let sent: i64 = tokio::time::timeout(
            self.config.publish_timeout,
            invocation.invoke_async(&mut conn),
        )
        .await
        .map_err(|_| Error::Timeout(self.config.publish_timeout))??;
        usize::try_from(sent).map_err(|_| Error::Stale {
            room: msg.room,
            seq: msg.seq,
        })
    }

    /// Asks Redis whether it is there (`PING` on the command connection), within
    /// [`BusConfig::publish_timeout`].
    pub async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let _: String = tokio::time::timeout(
            self.config.publish_timeout,
            redis::cmd("PING").query_async(&mut conn),
        )
        .await
        .map_err(|_| Error::Timeout(self.config.publish_timeout))??;
        Ok(())
    }

    /// Subscribes to a room's messages after `from` (the last seq the caller has). Messages
    /// still in the stream come first, then live ones, each once and in order. Dropping the
    /// returned [`Subscription`] ends it; the node stops receiving the room when its last
    /// subscription is dropped.
    pub fn subscribe(&self, room: Uuid, from: u64) -> Subscription {
        let (tx, rx) = mpsc::channel(self.config.queue.max(1));
        let id = reader::next_id();
        // If the reader is gone, `rx` reports closed at once: nothing to do here.
        let _ = self.control.send(Control::Subscribe { room, from, id, tx });
        Subscription {
            room,
            id,
            rx,
            control: self.control.clone(),
        }
    }
}

/// One subscriber's view of a room: a bounded receiver of [`Event`]s. Dropping it
/// unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    room: Uuid,
    id: u64,
    /// Filled by the reader task, which never waits on it.
    rx: mpsc::Receiver<Event>,
    control: mpsc::UnboundedSender<Control>,
}

impl Subscription {
    /// The room subscribed to.
    pub fn room(&self) -> Uuid {
        self.room
    }

    /// The next event; `None` once the bus has shut down.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // If the reader is gone there is nothing left to unsubscribe from.
        let _ = self.control.send(Control::Unsubscribe {
            room: self.room,
            id: self.id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_messages_read_back() {
        let msg = Message {
            room: Uuid::new_v4(),
            after: 41,
            seq: 42,
            kind: Kind::Tiles,
            payload: Bytes::from_static(b"frame"),
        };
        let mut wire = header(&msg).to_vec();
        wire.extend_from_slice(&msg.payload);
        assert_eq!(decode(msg.room, &wire), Some(msg.clone()));
        assert_eq!(decode(msg.room, &wire[..HEADER_LEN - 1]), None);
        wire[0] = 9;
        assert_eq!(decode(msg.room, &wire), None);
    }

    #[test]
    fn channel_names_read_back() {
        let names = Names {
            prefix: "t1".to_owned(),
        };
        let room = Uuid::new_v4();
        assert_eq!(names.room_of(&names.channel(room)), Some(room));
        assert_eq!(names.room_of(&format!("t2:room:{room}")), None);
    }
}
