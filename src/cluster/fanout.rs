//! The fan-out of a cluster node over the Redis bus ([`super::bus`]): the owner of a room
//! publishes the frame every bus-delivered member shares once a tick, and each node writes it
//! to its own members of the room, so a room's audience is no longer bounded by its owner.
//!
//! [`Fanout`] is the node's service. All its Redis work runs on a runtime thread of its own
//! (`inkroom-bus`), as the PostgreSQL store's does, so it never waits for an actix worker.
//!
//! - Owner side: a room gets a [`Publisher`], a bounded queue into one task that publishes the
//!   room's messages in order. A publish that fails (Redis down, slow, or the queue full) calls
//!   the room back: the frame is lost for every node, so the room closes the bus-delivered
//!   members who needed it with 1012 and they resync. [`Fanout::healthy`] turns false on a
//!   failed publish and true again once a probe (`PING`, every second) answers; rooms switch
//!   members to the bus only while it is true.
//! - Node side: a relay whose member the owner switched to the bus ([`BusStart`]) attaches to
//!   the room's feed (`fanout/feed.rs`): one subscription per room with local members, whose
//!   messages are handed to each attached member's bounded queue. A member that cannot keep up
//!   is dropped (its relay closes the client with 4008, and it reconnects); a hole the stream
//!   cannot fill closes the members who needed it with 1012.

mod feed;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::bus::{Bus, BusConfig, Kind, Message};
pub use feed::{Attached, FeedItem};

/// Messages a room's publisher holds before a publish counts as failed.
const PUBLISH_QUEUE: usize = 256;

/// How often an unhealthy bus is probed.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The prefix of the text frame an owner sends through a relay to switch its member to the
/// bus. It never reaches a client: the relaying node takes it out.
pub const BUS_START_PREFIX: &str = "{\"type\":\"_bus\",";

/// The request header a relaying node sends when it can deliver the room's traffic from the
/// bus (it runs a [`Fanout`]).
pub const BUS_HEADER: &str = "x-inkroom-bus";

/// The owner's word to a relaying node: from now on, this member's share of the room's common
/// traffic comes from the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BusStart {
    /// The last bus message the member already has the contents of: it takes every message
    /// after it.
    pub from: u64,
    /// The seq of the canvas the member was sent: tile rounds of earlier seqs are not for it.
    pub seq: u64,
}

impl BusStart {
    /// The text frame carrying it.
    pub fn encode(&self) -> String {
        format!(
            "{BUS_START_PREFIX}\"from\":{},\"seq\":{}}}",
            self.from, self.seq
        )
    }

    /// Reads the frame back; `None` if it is not one.
    pub fn decode(text: &[u8]) -> Option<BusStart> {
        if !text.starts_with(BUS_START_PREFIX.as_bytes()) {
            return None;
        }
        #[derive(serde::Deserialize)]
        struct Wire {
            from: u64,
            seq: u64,
        }
        let w: Wire = serde_json::from_slice(text).ok()?;
        Some(BusStart {
            from: w.from,
            seq: w.seq,
        })
    }
}

/// One frame of a room for the bus, numbered on the room's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusFrame {
    /// The chain number of the frame before it.
    pub after: u64,
    /// This frame's chain number.
    pub seq: u64,
    /// What it carries.
    pub body: BusBody,
}

/// What a bus frame carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusBody {
    /// The tick's common frame, as members receive it.
    Text(ByteString),
    /// A tile round of the canvas at `seq`: one binary frame per tile.
    Tiles {
        /// The seq the tiles show.
        seq: u64,
        /// The encoded tile frames.
        frames: Vec<Bytes>,
    },
}

/// The first chain number of a room's run on a node: runs are ordered by the lease's epoch,
/// then by the node's claim, so a later run's messages always come after an earlier one's on
/// the room's stream.
pub fn chain_base(epoch: u64, claim: u64) -> u64 {
    (epoch.min((1 << 24) - 1) << 40) | ((claim & 0xFFFF) << 24)
}

/// The node's fan-out service; see the module doc.
pub struct Fanout {
    bus: Bus,
    rt: tokio::runtime::Handle,
    /// No publish failed since the last probe that answered.
    healthy: Arc<AtomicBool>,
    feeds: Mutex<feed::Feeds>,
    /// Frames an attached member's queue holds before it counts as too slow.
    member_queue: usize,
    next_sink: AtomicU64,
    /// Members attached on this node now (a metric).
    attached: prometheus::IntGauge,
    /// Messages published, and publishes that failed (metrics).
    published: prometheus::IntCounter,
    failed: prometheus::IntCounter,
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout")
            .field("healthy", &self.healthy())
            .finish_non_exhaustive()
    }
}

/// The fan-out's metrics, registered by the server.
#[derive(Debug, Clone)]
pub struct FanoutMetrics {
    /// `inkroom_bus_members`: members on this node delivered from the bus.
    pub attached: prometheus::IntGauge,
    /// `inkroom_bus_published_total`: messages this node published.
    pub published: prometheus::IntCounter,
    /// `inkroom_bus_publish_failures_total`: publishes that failed.
    pub failed: prometheus::IntCounter,
}

impl Fanout {
    /// Connects to Redis at `url` on a runtime thread of its own. Blocking: call it outside any
    /// async runtime (at start-up). `member_queue` bounds each attached member's queue.
    pub fn start(
        url: &str,
        config: BusConfig,
        member_queue: usize,
        metrics: FanoutMetrics,
    ) -> Result<Arc<Fanout>, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the Redis runtime: {e}"))?;
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("inkroom-bus".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .map_err(|e| format!("cannot start the Redis thread: {e}"))?;
        let url = url.to_owned();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        handle.spawn(async move {
            let _ = tx.send(Bus::connect(&url, config).await);
        });
        let bus = rx
            .recv()
            .map_err(|_| "the Redis runtime stopped".to_owned())?
            .map_err(|e| format!("cannot use Redis: {e}"))?;
        let fanout = Arc::new(Fanout {
            bus,
            rt: handle,
            healthy: Arc::new(AtomicBool::new(true)),
            feeds: Mutex::new(feed::Feeds::default()),
            member_queue: member_queue.max(1),
            next_sink: AtomicU64::new(1),
            attached: metrics.attached,
            published: metrics.published,
            failed: metrics.failed,
        });
        let probe = Arc::downgrade(&fanout);
        fanout.rt.spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let Some(fanout) = probe.upgrade() else {
                    return;
                };
                if !fanout.healthy() && fanout.bus.ping().await.is_ok() {
                    tracing::info!("Redis answers again: members go back on the bus");
                    fanout.healthy.store(true, Ordering::Release);
                }
            }
        });
        Ok(fanout)
    }

    /// Whether the bus works: false from a failed publish until a probe answers. Rooms switch
    /// members to the bus only while it does.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// A publisher for `room`; `failed` is called with the number of every frame that could
    /// not be published (from the bus thread, or from [`Publisher::send`]).
    pub fn publisher(&self, room: Uuid, failed: Box<dyn Fn(u64) + Send + Sync>) -> Publisher {
        let (tx, mut rx) = mpsc::channel::<BusFrame>(PUBLISH_QUEUE);
        let failed: Arc<dyn Fn(u64) + Send + Sync> = Arc::from(failed);
        let on_fail = Arc::clone(&failed);
        let (bus, healthy) = (self.bus.clone(), Arc::clone(&self.healthy));
        let (published, failures) = (self.published.clone(), self.failed.clone());
        self.rt.spawn(async move {
            while let Some(frame) = rx.recv().await {
                let msg = Message {
                    room,
                    after: frame.after,
                    seq: frame.seq,
                    kind: match frame.body {
                        BusBody::Text(_) => Kind::Batch,
                        BusBody::Tiles { .. } => Kind::Tiles,
                    },
                    payload: feed::payload_of(frame.body),
                };
                match bus.publish(&msg).await {
                    // Only the probe says the bus works again: a room still draining its
                    // backlog does not.
                    Ok(_) => published.inc(),
                    Err(e) => {
                        tracing::warn!(%room, seq = msg.seq, "bus publish failed: {e}");
                        failures.inc();
                        healthy.store(false, Ordering::Release);
                        on_fail(msg.seq);
                    }
                }
            }
        });
        Publisher {
            tx,
            failed,
            failures: self.failed.clone(),
            healthy: Arc::clone(&self.healthy),
        }
    }

    /// Attaches a member of `room` whose owner switched it to the bus at `start`: it gets every
    /// message after `start.from`, through the returned queue, until it is detached (dropping
    /// [`Attached`]) or dropped as too slow.
    pub fn attach(self: &Arc<Self>, room: Uuid, start: BusStart) -> Attached {
        let id = self.next_sink.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.member_queue);
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        feeds.attach(self, room, id, start, tx);
        self.attached.inc();
        Attached::new(rx, Arc::clone(self), room, id)
    }

    /// Called by [`Attached`]'s drop.
    fn detach(&self, room: Uuid, id: u64) {
        self.attached.dec();
        self.feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .detach(room, id);
    }
}

/// A room's end of the bus: frames go out in the order given.
pub struct Publisher {
    tx: mpsc::Sender<BusFrame>,
    failed: Arc<dyn Fn(u64) + Send + Sync>,
    failures: prometheus::IntCounter,
    healthy: Arc<AtomicBool>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Queues a frame without waiting; a full queue counts as a failed publish (Redis is not
    /// keeping up).
    pub fn send(&self, frame: BusFrame) {
        let seq = frame.seq;
        if self.tx.try_send(frame).is_err() {
            tracing::warn!(
                seq,
                "bus publish queue full; the room's bus members reconnect"
            );
            self.failures.inc();
            self.healthy.store(false, Ordering::Release);
            (self.failed)(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_start_reads_back() {
        let start = BusStart { from: 7, seq: 42 };
        let text = start.encode();
        assert!(text.starts_with(BUS_START_PREFIX));
        assert_eq!(BusStart::decode(text.as_bytes()), Some(start));
        assert_eq!(BusStart::decode(br#"{"type":"commit","seq":1}"#), None);
        assert_eq!(BusStart::decode(br#"{"type":"_bus","from":"x"}"#), None);
    }

    #[test]
    fn later_runs_chain_after_earlier_ones() {
        let runs = [(1, 1), (1, 2), (2, 1), (2, 9), (3, 0)];
        for w in runs.windows(2) {
            let earlier = chain_base(w[0].0, w[0].1) + (1 << 20);
            assert!(chain_base(w[1].0, w[1].1) > earlier, "{w:?}");
        }
    }
}
