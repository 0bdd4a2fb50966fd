//! A member's outbox: the bounded queue between the room (producer) and the member's forwarding
//! task (consumer), bounded both in messages and in bytes.
//!
//! The room never waits on it: [`OutboxTx::push`] fails at once when the queue is full, and the
//! room then treats the member as lagging. Shared bytes ([`ByteString`], [`Bytes`]) make a
//! broadcast one allocation, however many members receive it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use bytestring::ByteString;
use tokio::sync::mpsc;

use tiny_skia::Pixmap;

use crate::canvas::TileId;

/// Something for the forwarding task to write to the socket.
#[derive(Debug)]
pub enum Outgoing {
    /// A JSON text frame, shared with every other receiver of the broadcast.
    Text(ByteString),
    /// A binary frame.
    Binary(Bytes),
    /// Tiles of the canvas at `seq`: send them (encoding those not yet encoded off the room's
    /// loop), then `synced`.
    Canvas {
        /// Tiles to send; they share pixels or encoded bytes with the room.
        tiles: Vec<TileSource>,
        /// Seq the canvas is at.
        seq: u64,
    },
}

/// One tile of a canvas sent to a joining member.
#[derive(Debug, Clone)]
pub enum TileSource {
    /// A tile frame already encoded by a tile round (shared with the room's cache).
    Encoded(Bytes),
    /// A tile still to encode (an absent tile is sent as empty); it shares pixels with the
    /// canvas.
    Raw(TileId, Option<Arc<Pixmap>>),
}

impl Outgoing {
    /// Bytes this item holds in the queue (its payload; a canvas counts as small because its
    /// pixels and frames are shared with the room).
    fn weight(&self) -> usize {
        match self {
            Outgoing::Text(t) => t.len(),
            Outgoing::Binary(b) => b.len(),
            Outgoing::Canvas { .. } => 64,
        }
    }
}

/// Why the room stopped a member; the forwarding task closes the socket with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseNote {
    /// WebSocket close code (see [`crate::protocol::close`]).
    pub code: u16,
    /// Short reason for the close frame.
    pub reason: String,
}

/// State shared by both halves.
#[derive(Debug)]
struct Shared {
    /// Bytes queued and not yet taken by the forwarder.
    queued_bytes: AtomicUsize,
    /// Byte bound.
    max_bytes: usize,
    /// Set by the room when it drops the member.
    close: OnceLock<CloseNote>,
}

/// The room's end of a member's outbox.
#[derive(Debug, Clone)]
pub struct OutboxTx {
    tx: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
}

/// A sender that does not keep the outbox open: the session holds one to queue its own errors,
/// while the room's [`OutboxTx`] decides when the member is gone.
#[derive(Debug, Clone)]
pub struct WeakOutboxTx {
    tx: mpsc::WeakSender<Outgoing>,
    shared: Arc<Shared>,
}

impl WeakOutboxTx {
    /// Queues an item like [`OutboxTx::push`]; `Err(Full)` also once the room dropped the member.
    pub fn push(&self, item: Outgoing) -> Result<(), Full> {
        let tx = self.tx.upgrade().ok_or(Full)?;
        OutboxTx {
            tx,
            shared: Arc::clone(&self.shared),
        }
        .push(item)
    }
}

/// The forwarding task's end of a member's outbox.
#[derive(Debug)]
pub struct OutboxRx {
    rx: mpsc::Receiver<Outgoing>,
    shared: Arc<Shared>,
}

/// The outbox was full (or its reader gone): the member is lagging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Creates an outbox holding at most `max_messages` items and about `max_bytes` bytes.
pub fn outbox(max_messages: usize, max_bytes: usize) -> (OutboxTx, OutboxRx) {
    let (tx, rx) = mpsc::channel(max_messages.max(1));
    let shared = Arc::new(Shared {
        queued_bytes: AtomicUsize::new(0),
        max_bytes,
        close: OnceLock::new(),
    });
    (
        OutboxTx {
            tx,
            shared: Arc::clone(&shared),
        },
        OutboxRx { rx, shared },
    )
}

impl OutboxTx {
    /// Queues an item without waiting; `Err(Full)` when over either bound.
    pub fn push(&self, item: Outgoing) -> Result<(), Full> {
        let weight = item.weight();
        let queued = self.shared.queued_bytes.load(Ordering::Acquire);
        if queued > 0 && queued + weight > self.shared.max_bytes {
            return Err(Full);
        }
        self.shared.queued_bytes.fetch_add(weight, Ordering::AcqRel);
        self.tx.try_send(item).map_err(|_| {
            self.shared.queued_bytes.fetch_sub(weight, Ordering::AcqRel);
            Full
        })
    }

    /// A sender that does not keep the outbox open.
    pub fn downgrade(&self) -> WeakOutboxTx {
        WeakOutboxTx {
            tx: self.tx.downgrade(),
            shared: Arc::clone(&self.shared),
        }
    }

    /// Whether everything queued has been taken by the forwarder.
    pub fn is_drained(&self) -> bool {
        self.shared.queued_bytes.load(Ordering::Acquire) == 0
            && self.tx.capacity() == self.tx.max_capacity()
    }

    /// Records why the member is being dropped; the forwarder closes the socket with it once
    /// every half of the sender is gone.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        let _ = self.shared.close.set(CloseNote {
            code,
            reason: reason.into(),
        });
    }
}

impl OutboxRx {
    /// The next item, or `None` once the room dropped the member.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let item = self.rx.recv().await?;
        self.shared
            .queued_bytes
            .fetch_sub(item.weight(), Ordering::AcqRel);
        Some(item)
    }

    /// The next item if one is queued now (for tests and tools that drain without waiting).
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        let item = self.rx.try_recv().ok()?;
        self.shared
            .queued_bytes
            .fetch_sub(item.weight(), Ordering::AcqRel);
        Some(item)
    }

    /// Why the room dropped the member, if it said.
    pub fn close_note(&self) -> Option<CloseNote> {
        self.shared.close.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_in_messages_and_bytes() {
        let (tx, mut rx) = outbox(3, 10);
        assert!(tx.push(Outgoing::Text("12345678".into())).is_ok());
        // Over the byte bound.
        assert_eq!(tx.push(Outgoing::Text("12345".into())), Err(Full));
        assert!(rx.recv().await.is_some());
        // An item larger than the bound still passes into an empty queue.
        assert!(tx.push(Outgoing::Text("123456789012".into())).is_ok());
        let (tx, _rx) = outbox(2, 1000);
        assert!(tx.push(Outgoing::Text("a".into())).is_ok());
        assert!(tx.push(Outgoing::Text("b".into())).is_ok());
        assert_eq!(tx.push(Outgoing::Text("c".into())), Err(Full));
    }

    #[tokio::test]
    async fn close_note_reaches_the_reader() {
        let (tx, mut rx) = outbox(2, 100);
        tx.close(4008, "lagging");
        drop(tx);
        assert!(rx.recv().await.is_none());
        assert_eq!(rx.close_note().map(|n| n.code), Some(4008));
    }
}
