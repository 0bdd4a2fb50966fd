//! The ops clients named (`op` on `stroke_begin`), so that a stroke sent again after a
//! reconnect or a failover, which the room may already have committed, is answered with its
//! commit instead of being drawn twice. Bounded: the latest `Config::remembered_ops`.

use std::collections::{HashMap, VecDeque};

/// Client op ids and the seqs they were committed at.
#[derive(Debug)]
pub(super) struct ClientOps {
    seqs: HashMap<String, u64>,
    /// Ids oldest first, for forgetting past `cap`.
    order: VecDeque<String>,
    cap: usize,
}

impl ClientOps {
    /// Remembers at most `cap` ids.
    pub(super) fn new(cap: usize) -> ClientOps {
        ClientOps {
            seqs: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// The seq the op `id` was committed at, if remembered.
    pub(super) fn seq_of(&self, id: &str) -> Option<u64> {
        self.seqs.get(id).copied()
    }

    /// Remembers that op `id` was committed at `seq`, forgetting the oldest past the bound.
    pub(super) fn remember(&mut self, id: String, seq: u64) {
        if self.cap == 0 {
            return;
        }
        if self.seqs.insert(id.clone(), seq).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.seqs.remove(&old);
            }
        }
    }

    /// Forgets the op committed at `seq` (it was taken back).
    pub(super) fn forget_seq(&mut self, seq: u64) {
        self.seqs.retain(|_, s| *s != seq);
        let seqs = &self.seqs;
        self.order.retain(|id| seqs.contains_key(id));
    }

    /// Forgets the ops committed after `seq` (the store lost them: sent again, they must be
    /// applied again).
    pub(super) fn forget_after(&mut self, seq: u64) {
        self.seqs.retain(|_, s| *s <= seq);
        let seqs = &self.seqs;
        self.order.retain(|id| seqs.contains_key(id));
    }
}

#[cfg(test)]
mod tests {
    use super::ClientOps;

    #[test]
    fn client_ops_are_bounded_and_forgotten_after_a_loss() {
        let mut ops = ClientOps::new(2);
        ops.remember("a".into(), 1);
        ops.remember("b".into(), 2);
        ops.remember("c".into(), 3);
        assert_eq!(
            ops.seq_of("a"),
            None,
            "the oldest is forgotten past the bound"
        );
        assert_eq!(ops.seq_of("b"), Some(2));
        ops.forget_after(2);
        assert_eq!(ops.seq_of("c"), None);
        assert_eq!(ops.seq_of("b"), Some(2));
        ops.remember("d".into(), 3);
        ops.remember("e".into(), 4);
        assert_eq!(ops.seq_of("b"), None);
        assert_eq!(ops.seq_of("e"), Some(4));
    }
}
