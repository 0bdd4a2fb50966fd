//! A node's feeds: one bus subscription per room with members attached here, whose messages
//! are handed to each attached member's bounded queue in chain order.
//!
//! A member attaches with the chain number it already has (`from`): it takes every later
//! message. A feed keeps its last [`RECENT`] messages, so a member whose switch reached this
//! node after the feed passed its `from` still gets what it missed; one that came too late
//! for that is closed with 1012 and resyncs. A member's queue that is full drops the member
//! (its relay then closes the client with 4008); the feed never waits on one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{BusBody, BusStart, Fanout};
use crate::cluster::bus::{Event, Kind, Message, Subscription};
use crate::protocol::close;

/// Messages a feed keeps for members whose switch arrives late (a member's switch comes
/// through its relay after its canvas, so a slow client's may come seconds after the frames
/// that follow it).
const RECENT: usize = 256;

/// Bytes of those messages a feed keeps at most (tile rounds can be large): older ones go first.
const RECENT_BYTES: usize = 32 << 20;

/// What an attached member's relay writes to its client.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// A text frame (the tick's common frame).
    Text(ByteString),
    /// A tile round of the canvas at `seq`: one binary frame each.
    Tiles {
        /// The seq the tiles show: a member whose canvas is newer skips them.
        seq: u64,
        /// The tile frames.
        frames: Arc<[Bytes]>,
    },
    /// The member must reconnect (close code): the feed cannot deliver what it needs.
    End(u16),
}

/// A member's attachment to its room's feed; dropping it detaches the member.
pub struct Attached {
    rx: mpsc::Receiver<FeedItem>,
    fanout: Arc<Fanout>,
    room: Uuid,
    id: u64,
}

impl Attached {
    pub(super) fn new(
        rx: mpsc::Receiver<FeedItem>,
        fanout: Arc<Fanout>,
        room: Uuid,
        id: u64,
    ) -> Attached {
        Attached {
            rx,
            fanout,
            room,
            id,
        }
    }

    /// The next item; `None` once the feed dropped the member (it could not keep up).
    pub async fn recv(&mut self) -> Option<FeedItem> {
        self.rx.recv().await
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.fanout.detach(self.room, self.id);
    }
}

/// The payload of a frame on the bus: the text, or a tile round as its seq (8 bytes,
/// big-endian) then each frame's length (4 bytes, big-endian) and bytes.
pub(super) fn payload_of(body: BusBody) -> Bytes {
    match body {
        BusBody::Text(text) => text.into_bytes(),
        BusBody::Tiles { seq, frames } => {
            let size = 8 + frames.iter().map(|f| 4 + f.len()).sum::<usize>();
            let mut out = BytesMut::with_capacity(size);
            out.put_u64(seq);
            for f in &frames {
                out.put_u32(u32::try_from(f.len()).unwrap_or(u32::MAX));
                out.put_slice(f);
            }
            out.freeze()
        }
    }
}

/// A message read back for members.
fn item_of(msg: &Message) -> Option<FeedItem> {
    match msg.kind {
        Kind::Batch => ByteString::try_from(msg.payload.clone())
            .ok()
            .map(FeedItem::Text),
        Kind::Tiles => {
            let mut buf = msg.payload.clone();
            if buf.remaining() < 8 {
                return None;
            }
            let seq = buf.get_u64();
            let mut frames = Vec::new();
            while buf.has_remaining() {
                if buf.remaining() < 4 {
                    return None;
                }
                let len = buf.get_u32() as usize;
                if buf.remaining() < len {
                    return None;
                }
                frames.push(buf.split_to(len));
            }
            Some(FeedItem::Tiles {
                seq,
                frames: frames.into(),
            })
        }
    }
}

/// A message a feed keeps: where it sits on the chain, the item, and the bytes it came as.
struct Kept {
    after: u64,
    seq: u64,
    item: FeedItem,
    bytes: usize,
}

/// A feed's latest messages, at most [`RECENT`] of them and [`RECENT_BYTES`] bytes (oldest go
/// first; one over the byte bound alone is not kept).
#[derive(Default)]
struct Recent {
    items: VecDeque<Kept>,
    bytes: usize,
}

impl Recent {
    fn keep(&mut self, kept: Kept) {
        self.bytes += kept.bytes;
        self.items.push_back(kept);
        while self.items.len() > RECENT || self.bytes > RECENT_BYTES {
            let Some(old) = self.items.pop_front() else {
                break;
            };
            self.bytes -= old.bytes;
        }
    }

    fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }
}

/// One attached member.
struct Sink {
    id: u64,
    /// The last chain number it has.
    from: u64,
    /// The seq of its canvas: older tile rounds are not for it.
    seq: u64,
    tx: mpsc::Sender<FeedItem>,
}

impl Sink {
    /// Hands a message to the member if it is past what it has; false if the member must go
    /// (its queue is full or gone).
    fn take(&mut self, after: u64, seq: u64, item: &FeedItem) -> bool {
        if seq <= self.from {
            return true;
        }
        if after > self.from {
            // A hole the feed cannot fill for it.
            let _ = self.tx.try_send(FeedItem::End(close::MOVED));
            return false;
        }
        self.from = seq;
        if matches!(item, FeedItem::Tiles { seq, .. } if *seq < self.seq) {
            return true;
        }
        self.tx.try_send(item.clone()).is_ok()
    }
}

/// A room's feed.
struct Feed {
    /// Tells this feed's task from a later one of the same room.
    generation: u64,
    /// The last chain number seen (`None` before the first message).
    last: Option<u64>,
    /// The latest messages.
    recent: Recent,
    sinks: Vec<Sink>,
    task: JoinHandle<()>,
}

/// Every feed of the node.
#[derive(Default)]
pub(super) struct Feeds {
    rooms: HashMap<Uuid, Feed>,
    generation: u64,
}

impl Feeds {
    /// Adds a member to its room's feed, starting the feed if it is the first.
    pub(super) fn attach(
        &mut self,
        fanout: &Arc<Fanout>,
        room: Uuid,
        id: u64,
        start: BusStart,
        tx: mpsc::Sender<FeedItem>,
    ) {
        let mut sink = Sink {
            id,
            from: start.from,
            seq: start.seq,
            tx,
        };
        if let Some(feed) = self.rooms.get_mut(&room) {
            // Hand it what the feed already passed.
            for k in &feed.recent.items {
                if !sink.take(k.after, k.seq, &k.item) {
                    return;
                }
            }
            if feed.last.is_some_and(|last| last > sink.from) {
                // Older than anything the feed still has.
                let _ = sink.tx.try_send(FeedItem::End(close::MOVED));
                return;
            }
            feed.sinks.push(sink);
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        // Read back a little history, for members whose switch reaches the node late.
        let sub = fanout
            .bus
            .subscribe(room, start.from.saturating_sub(RECENT as u64));
        let task = fanout
            .rt
            .spawn(run(Arc::downgrade(fanout), room, generation, sub));
        self.rooms.insert(
            room,
            Feed {
                generation,
                last: None,
                recent: Recent::default(),
                sinks: vec![sink],
                task,
            },
        );
    }

    /// Removes a member; a feed left with none ends.
    pub(super) fn detach(&mut self, room: Uuid, id: u64) {
        let Some(feed) = self.rooms.get_mut(&room) else {
            return;
        };
        feed.sinks.retain(|s| s.id != id);
        if feed.sinks.is_empty() {
            if let Some(feed) = self.rooms.remove(&room) {
                feed.task.abort();
            }
        }
    }

    /// The feed of `room` if it is still the one of `generation`.
    fn feed(&mut self, room: Uuid, generation: u64) -> Option<&mut Feed> {
        self.rooms
            .get_mut(&room)
            .filter(|f| f.generation == generation)
    }
}

/// A feed's task: the room's bus events, handed to its members.
async fn run(fanout: Weak<Fanout>, room: Uuid, generation: u64, mut sub: Subscription) {
    loop {
        // Read a message before taking the lock the node's relays attach under.
        let event = match sub.recv().await {
            Some(Event::Message(msg)) => match item_of(&msg) {
                Some(item) => Some(Ok(Kept {
                    after: msg.after,
                    seq: msg.seq,
                    item,
                    bytes: msg.payload.len(),
                })),
                None => {
                    tracing::warn!(%room, seq = msg.seq, "unreadable bus message; skipped");
                    continue;
                }
            },
            Some(Event::Gap { after, next }) => Some(Err((after, next))),
            None => None,
        };
        let Some(fanout) = fanout.upgrade() else {
            return;
        };
        let mut feeds = fanout
            .feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(feed) = feeds.feed(room, generation) else {
            return;
        };
        match event {
            Some(Ok(msg)) => {
                feed.last = Some(msg.seq);
                feed.sinks.retain_mut(|s| {
                    let kept = s.take(msg.after, msg.seq, &msg.item);
                    if !kept {
                        tracing::info!(%room, "bus member too slow or behind; dropping it");
                    }
                    kept
                });
                feed.recent.keep(msg);
            }
            Some(Err((after, next))) => {
                feed.last = Some(next);
                feed.recent.clear();
                let before = feed.sinks.len();
                feed.sinks.retain(|s| {
                    if s.from < next {
                        let _ = s.tx.try_send(FeedItem::End(close::MOVED));
                        false
                    } else {
                        true
                    }
                });
                let lost = before - feed.sinks.len();
                if lost > 0 {
                    tracing::info!(%room, after, next, members = lost, "bus messages lost; their members resync");
                }
            }
            None => {
                // The bus shut down: nothing more will come.
                for s in &feed.sinks {
                    let _ = s.tx.try_send(FeedItem::End(close::MOVED));
                }
                if let Some(feed) = feeds.rooms.remove(&room) {
                    drop(feed.sinks);
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_rounds_read_back() {
        let frames = vec![Bytes::from_static(b"one"), Bytes::from_static(b"")];
        let payload = payload_of(BusBody::Tiles {
            seq: 9,
            frames: frames.clone(),
        });
        let msg = Message {
            room: Uuid::nil(),
            after: 1,
            seq: 2,
            kind: Kind::Tiles,
            payload,
        };
        match item_of(&msg) {
            Some(FeedItem::Tiles {
                seq: 9,
                frames: got,
            }) => assert_eq!(&got[..], &frames[..]),
            other => panic!("{other:?}"),
        }
        let cut = Message {
            payload: msg.payload.slice(..msg.payload.len() - 1),
            ..msg
        };
        assert!(item_of(&cut).is_none());
    }

    /// A sink that has everything up to `from`, its canvas at `seq`, a queue of `queue`.
    fn sink(from: u64, seq: u64, queue: usize) -> (Sink, mpsc::Receiver<FeedItem>) {
        let (tx, rx) = mpsc::channel(queue);
        (
            Sink {
                id: 1,
                from,
                seq,
                tx,
            },
            rx,
        )
    }

    #[test]
    fn a_sink_takes_what_follows_it_and_refuses_holes() {
        let (mut sink, mut rx) = sink(5, 10, 2);
        let text = FeedItem::Text("x".into());
        assert!(sink.take(4, 5, &text), "already had it");
        assert!(rx.try_recv().is_err());
        assert!(sink.take(5, 6, &text));
        assert!(matches!(rx.try_recv(), Ok(FeedItem::Text(_))));
        // A tile round older than its canvas is skipped, but moves it along.
        let old = FeedItem::Tiles {
            seq: 9,
            frames: Arc::from(vec![]),
        };
        assert!(sink.take(6, 7, &old));
        assert!(rx.try_recv().is_err());
        assert_eq!(sink.from, 7);
        // A hole: the member must go.
        assert!(!sink.take(8, 9, &text));
        assert!(matches!(rx.try_recv(), Ok(FeedItem::End(1012))));
    }

    #[test]
    fn recent_messages_are_bounded_in_count_and_bytes() {
        let kept = |seq: u64, bytes: usize| Kept {
            after: seq - 1,
            seq,
            item: FeedItem::Text("x".into()),
            bytes,
        };
        let mut recent = Recent::default();
        for seq in 1..=(RECENT as u64 + 10) {
            recent.keep(kept(seq, 100));
        }
        assert_eq!(recent.items.len(), RECENT);
        assert_eq!(
            recent.items.front().map(|k| k.seq),
            Some(11),
            "the oldest went"
        );
        assert_eq!(recent.bytes, RECENT * 100);
        // Big ones push out the old ones; one over the bound alone is not kept.
        recent.keep(kept(1000, RECENT_BYTES / 2));
        recent.keep(kept(1001, RECENT_BYTES / 2));
        assert_eq!(
            recent.items.iter().map(|k| k.seq).collect::<Vec<_>>(),
            [1000, 1001]
        );
        recent.keep(kept(1002, RECENT_BYTES + 1));
        assert!(recent.items.is_empty());
        assert_eq!(recent.bytes, 0);
        recent.keep(kept(1003, 5));
        recent.clear();
        assert_eq!((recent.items.len(), recent.bytes), (0, 0));
    }

    #[test]
    fn a_full_queue_drops_the_member() {
        let (mut sink, _rx) = sink(0, 0, 1);
        let text = FeedItem::Text("x".into());
        assert!(sink.take(0, 1, &text));
        assert!(!sink.take(1, 2, &text));
    }
}
