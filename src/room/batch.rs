//! The tick log: everything the room says during one tick, encoded once, then delivered as one
//! frame per member per tick.
//!
//! Each entry is one server message, already encoded, and its audience. Once a tick
//! [`TickLog::deliver`] sends the members of a slice what is for them: members that asked for batches get one
//! `batch` frame (one message alone goes out bare), others one frame per message. Every member
//! whose view of the tick is the common one (all viewers, and editors who neither drew nor were
//! told something of their own) shares the same frame; only authors (who do not get their own
//! stroke echo), members told something alone, and members who joined mid-tick get frames of
//! their own.

use std::collections::{BTreeMap, BTreeSet};

use bytestring::ByteString;

use super::member::Member;
use super::outbox::Outgoing;
use crate::cluster::fanout::{BusBody, BusFrame};
use crate::protocol::{encode, encode_batch, MemberId, ServerMsg};

/// Who an entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every member.
    All,
    /// Every member but this one (an author's own stroke traffic).
    Except(MemberId),
    /// This member alone (its errors, undo state, answers).
    Only(MemberId),
}

impl Audience {
    fn includes(self, id: MemberId) -> bool {
        match self {
            Audience::All => true,
            Audience::Except(x) => x != id,
            Audience::Only(x) => x == id,
        }
    }
}

/// One message of the tick.
#[derive(Debug)]
struct Entry {
    text: ByteString,
    to: Audience,
    /// For a `commit`: its author, who must learn of it even if it falls behind.
    commit_of: Option<MemberId>,
}

/// Messages not yet delivered to every member, in order.
///
/// A big room's members are split into slices (member id modulo the number of slices), and the
/// slices are delivered in turn rather than all at once: each member still gets a frame a tick,
/// but the writes of one delivery, and the frames the clients then read, are spread over the
/// tick instead of landing together.
#[derive(Debug)]
pub struct TickLog {
    entries: Vec<Entry>,
    /// Absolute index of `entries[0]`; indices only grow.
    base: usize,
    /// Per slice: the absolute index up to which its members have been sent everything.
    cursors: Vec<usize>,
    /// Cluster mode, while the room has bus-delivered members: the absolute index up to which
    /// the common frame went on the bus.
    bus: Option<usize>,
    /// The last chain number given to a bus frame.
    bus_seq: u64,
    /// Bus frames not yet taken by the runner, in order.
    bus_out: Vec<BusFrame>,
}

impl Default for TickLog {
    fn default() -> Self {
        TickLog {
            entries: Vec::new(),
            base: 0,
            cursors: vec![0],
            bus: None,
            bus_seq: 0,
            bus_out: Vec::new(),
        }
    }
}

impl TickLog {
    /// Adds a message for an audience.
    pub fn push(&mut self, msg: &ServerMsg<'_>, to: Audience) {
        self.push_text(ByteString::from(encode(msg)), to, None);
    }

    /// Adds a message already encoded; `commit_of` marks a commit and its author.
    pub fn push_text(&mut self, text: ByteString, to: Audience, commit_of: Option<MemberId>) {
        self.entries.push(Entry {
            text,
            to,
            commit_of,
        });
    }

    /// Absolute index of the next entry: a member that joins or is resynced now sets its
    /// `log_from` to it (what was said before is in what it was sent).
    pub fn end(&self) -> usize {
        self.base + self.entries.len()
    }

    /// Whether a slice has something not yet delivered.
    pub fn pending(&self, slice: usize) -> bool {
        self.cursors.get(slice).is_some_and(|c| *c < self.end())
    }

    /// Starts numbering bus frames after `base` (a new run of the room).
    pub fn set_bus_base(&mut self, base: u64) {
        self.bus_seq = self.bus_seq.max(base);
    }

    /// Whether the common frame goes on the bus.
    pub fn bus_on(&self) -> bool {
        self.bus.is_some()
    }

    /// The last chain number given to a bus frame: a member switched to the bus now has
    /// everything up to it.
    pub fn bus_seq(&self) -> u64 {
        self.bus_seq
    }

    /// Puts the common frame on the bus from now on (call right after delivering everything,
    /// so that nothing said before is owed to the members switched).
    pub fn start_bus(&mut self) {
        if self.bus.is_none() {
            self.bus = Some(self.end());
        }
    }

    /// Stops putting frames on the bus (no member is delivered from it any more).
    pub fn stop_bus(&mut self) {
        self.bus = None;
    }

    /// Adds a frame to the bus, numbered on the room's chain.
    pub fn push_bus(&mut self, body: BusBody) {
        let after = self.bus_seq;
        self.bus_seq += 1;
        self.bus_out.push(BusFrame {
            after,
            seq: self.bus_seq,
            body,
        });
    }

    /// Bus frames made since the last call, in order.
    pub fn take_bus(&mut self) -> Vec<BusFrame> {
        std::mem::take(&mut self.bus_out)
    }

    /// Splits members into `k` slices, delivering everything pending first if that changes.
    pub fn set_slices(&mut self, k: usize, members: &mut BTreeMap<MemberId, Member>) {
        let k = k.max(1);
        if k != self.cursors.len() {
            self.deliver_all(members);
            self.cursors = vec![self.end(); k];
        }
    }

    /// Delivers everything pending to every slice.
    pub fn deliver_all(&mut self, members: &mut BTreeMap<MemberId, Member>) {
        for s in 0..self.cursors.len() {
            self.deliver(s, members);
        }
    }

    /// Sends the members of a slice what is for them since the slice's last delivery. Members
    /// that overflow become lagging; their own commits among it are kept in `missed_own`.
    pub fn deliver(&mut self, slice: usize, members: &mut BTreeMap<MemberId, Member>) {
        let k = self.cursors.len() as u64;
        let (from, to) = (self.cursors[slice], self.end());
        if from >= to {
            return;
        }
        let range = &self.entries[from - self.base..];
        // Members named by an `Except` or `Only` entry: their view differs from the common one.
        let special: BTreeSet<MemberId> = range
            .iter()
            .filter_map(|e| match e.to {
                Audience::Except(id) | Audience::Only(id) => Some(id),
                Audience::All => None,
            })
            .collect();
        let mut common: Option<ByteString> = None;
        for (&id, m) in members.iter_mut() {
            if id % k != slice as u64 || m.lagging {
                continue;
            }
            let start = m.log_from.clamp(from, to);
            if start == to {
                continue;
            }
            if m.bus.is_some() {
                // The common frame reaches it through the bus: only what is for it alone here
                // (if anything is: most ticks, nothing).
                if !special.contains(&id) {
                    continue;
                }
                let own = range[start - from..]
                    .iter()
                    .filter(|e| e.to == Audience::Only(id));
                let frame = frame_of(own);
                if !frame.is_empty() {
                    m.push(Outgoing::Text(frame));
                }
                continue;
            }
            if start == from && !special.contains(&id) {
                // The common view: every entry but those for one member alone.
                let mine = range.iter().filter(|e| !is_only(e.to));
                if m.batch {
                    let frame = common.get_or_insert_with(|| frame_of(mine.clone()));
                    if !frame.is_empty() && !m.push(Outgoing::Text(frame.clone())) {
                        keep_missed(m, range.iter());
                    }
                } else {
                    send_each(m, mine.collect());
                }
                continue;
            }
            let own: Vec<&Entry> = range[start - from..]
                .iter()
                .filter(|e| e.to.includes(id))
                .collect();
            if m.batch {
                let frame = frame_of(own.iter().copied());
                if !frame.is_empty() && !m.push(Outgoing::Text(frame)) {
                    keep_missed(m, own.iter().copied());
                }
            } else {
                send_each(m, own);
            }
        }
        self.cursors[slice] = to;
        // The bus gets one frame a tick, with the first slice: every node writes it to each of
        // its members, as often as the room would write to a member on one node.
        if slice == 0 {
            self.deliver_bus();
        }
        let done = self
            .cursors
            .iter()
            .copied()
            .chain(self.bus)
            .min()
            .unwrap_or(to);
        self.entries.drain(..done - self.base);
        self.base = done;
    }

    /// Puts what was said since the last bus frame on the bus as one common frame.
    fn deliver_bus(&mut self) {
        let Some(from) = self.bus else {
            return;
        };
        let to = self.end();
        if from >= to {
            return;
        }
        let frame = frame_of(
            self.entries[from - self.base..]
                .iter()
                .filter(|e| !is_only(e.to)),
        );
        self.bus = Some(to);
        if !frame.is_empty() {
            self.push_bus(BusBody::Text(frame));
        }
    }
}

/// Sends entries one frame each (clients that did not ask for batches).
fn send_each(m: &mut Member, entries: Vec<&Entry>) {
    for (i, e) in entries.iter().enumerate() {
        if !m.push(Outgoing::Text(e.text.clone())) {
            keep_missed(m, entries[i..].iter().copied());
            break;
        }
    }
}

fn is_only(to: Audience) -> bool {
    matches!(to, Audience::Only(_))
}

/// One frame for entries: nothing (empty), the message alone, or a `batch`.
fn frame_of<'e>(entries: impl Iterator<Item = &'e Entry> + Clone) -> ByteString {
    match entries.clone().count() {
        0 => ByteString::new(),
        1 => entries.map(|e| e.text.clone()).next().unwrap_or_default(),
        _ => {
            let size: usize = entries.clone().map(|e| e.text.len() + 1).sum();
            ByteString::from(encode_batch(entries.map(|e| &*e.text), size))
        }
    }
}

/// A member fell behind while these entries were for it: keep its own commits among them.
fn keep_missed<'e>(m: &mut Member, entries: impl Iterator<Item = &'e Entry>) {
    let id = m.info.id;
    m.missed_own.extend(
        entries
            .filter(|e| e.commit_of == Some(id))
            .map(|e| e.text.clone()),
    );
}
