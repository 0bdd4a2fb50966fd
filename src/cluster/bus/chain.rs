//! The ordering rule of one subscription, with no I/O: messages in, events out.
//!
//! Every bus message names the seq it follows (`after`) and the seq it reaches (`seq`), so the
//! messages of a room form a chain. A [`Cursor`] keeps a subscription on that chain: a message
//! that continues it is delivered, one it has already passed is dropped as a duplicate, and one
//! that starts past its end first delivers a [`Event::Gap`] for what is missing. The reader fills
//! a gap from the stream before it comes to this (see `reader.rs`); what reaches a cursor still
//! out of line is what Redis no longer holds.
//!
//! The receiver is bounded and the cursor never waits on it: a message that finds it full is
//! skipped, and the hole it leaves is reported as a gap once there is room again. A slow consumer
//! thus costs one pending gap, never memory.

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::Sender;

use super::{Event, Message};

/// Where a subscription stands on its room's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cursor {
    /// The end of the chain as far as this subscription has followed it: everything up to here
    /// was delivered, skipped as lag, or declared missing.
    seen: u64,
    /// Everything up to here reached the receiver, as messages or as a gap. Below `seen` when
    /// a full receiver made the subscription skip messages it has not yet reported.
    delivered: u64,
}

/// What became of one message pushed into a [`Cursor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Push {
    /// Delivered (after a gap event, if it did not continue the chain).
    Delivered,
    /// Already passed: dropped.
    Duplicate,
    /// The receiver was full: skipped, to be reported as a gap.
    Lagged,
    /// The receiver is gone.
    Closed,
}

impl Cursor {
    /// A cursor for a subscriber that already has everything up to `from`.
    pub(super) fn new(from: u64) -> Cursor {
        Cursor {
            seen: from,
            delivered: from,
        }
    }

    /// The last seq this subscription has followed the chain to.
    pub(super) fn seen(&self) -> u64 {
        self.seen
    }

    /// Whether `msg` starts past the end of the chain, so that the stream should be asked for
    /// what lies between first.
    pub(super) fn needs_fill(&self, msg: &Message) -> bool {
        msg.seq > self.seen && msg.after > self.seen
    }

    /// Takes the next message of the chain (in seq order) and delivers what it owes into `tx`.
    pub(super) fn push(&mut self, msg: Message, tx: &Sender<Event>) -> Push {
        if msg.seq <= self.seen {
            return Push::Duplicate;
        }
        if msg.after > self.seen {
            // Nothing between here and `msg.after` will come: it becomes a gap to report.
            self.seen = msg.after;
        }
        if self.delivered < self.seen {
            let gap = Event::Gap {
                after: self.delivered,
                next: self.seen,
            };
            match tx.try_send(gap) {
                Ok(()) => self.delivered = self.seen,
                Err(TrySendError::Full(_)) => {
                    self.seen = msg.seq;
                    return Push::Lagged;
                }
                Err(TrySendError::Closed(_)) => return Push::Closed,
            }
        }
        let seq = msg.seq;
        match tx.try_send(Event::Message(msg)) {
            Ok(()) => {
                self.seen = seq;
                self.delivered = seq;
                Push::Delivered
            }
            Err(TrySendError::Full(_)) => {
                self.seen = seq;
                Push::Lagged
            }
            Err(TrySendError::Closed(_)) => Push::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::sync::mpsc;
    use uuid::Uuid;

    use super::super::Kind;
    use super::*;

    fn msg(after: u64, seq: u64) -> Message {
        Message {
            room: Uuid::nil(),
            after,
            seq,
            kind: Kind::Batch,
            payload: Bytes::from(format!("{seq}")),
        }
    }

    fn drain(rx: &mut mpsc::Receiver<Event>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            out.push(match ev {
                Event::Message(m) => format!("{}..{}", m.after, m.seq),
                Event::Gap { after, next } => format!("gap {after}..{next}"),
            });
        }
        out
    }

    #[test]
    fn delivers_the_chain_in_order_and_drops_duplicates() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut c = Cursor::new(0);
        assert_eq!(c.push(msg(0, 1), &tx), Push::Delivered);
        assert_eq!(c.push(msg(1, 3), &tx), Push::Delivered);
        assert_eq!(c.push(msg(1, 3), &tx), Push::Duplicate);
        assert_eq!(c.push(msg(0, 1), &tx), Push::Duplicate);
        assert_eq!(c.push(msg(3, 4), &tx), Push::Delivered);
        assert_eq!(drain(&mut rx), ["0..1", "1..3", "3..4"]);
        assert_eq!(c.seen(), 4);
    }

    #[test]
    fn a_message_past_the_end_reports_the_hole_first() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut c = Cursor::new(2);
        assert!(c.needs_fill(&msg(6, 7)));
        assert!(!c.needs_fill(&msg(2, 3)));
        assert_eq!(c.push(msg(6, 7), &tx), Push::Delivered);
        assert_eq!(c.push(msg(7, 8), &tx), Push::Delivered);
        assert_eq!(drain(&mut rx), ["gap 2..6", "6..7", "7..8"]);
    }

    #[test]
    fn a_full_receiver_turns_skipped_messages_into_one_gap() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut c = Cursor::new(0);
        assert_eq!(c.push(msg(0, 1), &tx), Push::Delivered);
        assert_eq!(c.push(msg(1, 2), &tx), Push::Delivered);
        assert_eq!(c.push(msg(2, 3), &tx), Push::Lagged);
        assert_eq!(c.push(msg(3, 4), &tx), Push::Lagged);
        assert_eq!(drain(&mut rx), ["0..1", "1..2"]);
        assert_eq!(c.push(msg(4, 5), &tx), Push::Delivered);
        assert_eq!(drain(&mut rx), ["gap 2..4", "4..5"]);
    }

    #[test]
    fn a_dropped_receiver_is_noticed() {
        let (tx, rx) = mpsc::channel(2);
        drop(rx);
        assert_eq!(Cursor::new(0).push(msg(0, 1), &tx), Push::Closed);
    }
}
