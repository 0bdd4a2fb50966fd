//! The tick log: everything the room says during one tick, encoded once, then delivered as one
//! frame per member per tick.
//!
//! Each entry is one server message, already encoded, and its audience. At the end of a tick
//! [`TickLog::deliver`] sends every member what is for it: members that asked for batches get one
//! `batch` frame (one message alone goes out bare), others one frame per message. Every member
//! whose view of the tick is the common one (all viewers, and editors who neither drew nor were
//! told something of their own) shares the same frame; only authors (who do not get their own
//! stroke echo), members told something alone, and members who joined mid-tick get frames of
//! their own.

use std::collections::{BTreeMap, BTreeSet};

use bytestring::ByteString;

use super::member::Member;
use super::outbox::Outgoing;
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

/// Messages of the current tick, in order.
#[derive(Debug, Default)]
pub struct TickLog {
    entries: Vec<Entry>,
    /// Members named by an `Except` or `Only` entry: their view differs from the common one.
    special: BTreeSet<MemberId>,
}

impl TickLog {
    /// Adds a message for an audience.
    pub fn push(&mut self, msg: &ServerMsg<'_>, to: Audience) {
        self.push_text(ByteString::from(encode(msg)), to, None);
    }

    /// Adds a message already encoded; `commit_of` marks a commit and its author.
    pub fn push_text(&mut self, text: ByteString, to: Audience, commit_of: Option<MemberId>) {
        if let Audience::Except(id) | Audience::Only(id) = to {
            self.special.insert(id);
        }
        self.entries.push(Entry {
            text,
            to,
            commit_of,
        });
    }

    /// Number of entries so far (a joining member's `log_from`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was said this tick.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sends every member what is for it and empties the log. Members that overflow become
    /// lagging; their own commits of the tick are kept in `missed_own`.
    pub fn deliver(&mut self, members: &mut BTreeMap<MemberId, Member>) {
        if self.entries.is_empty() {
            return;
        }
        let mut common: Option<Outgoing> = None;
        for (&id, m) in members.iter_mut() {
            if m.lagging {
                m.log_from = 0;
                continue;
            }
            let from = std::mem::take(&mut m.log_from).min(self.entries.len());
            let own: Vec<&Entry> = if from == 0 && !self.special.contains(&id) {
                // The common view: every entry but those for one member alone.
                if m.batch {
                    let frame = common.get_or_insert_with(|| {
                        frame_of(self.entries.iter().filter(|e| !is_only(e.to)))
                    });
                    if let Outgoing::Text(t) = frame {
                        if !t.is_empty() && !m.push(Outgoing::Text(t.clone())) {
                            keep_missed(m, self.entries.iter());
                        }
                    }
                    continue;
                }
                self.entries.iter().filter(|e| !is_only(e.to)).collect()
            } else {
                self.entries[from..]
                    .iter()
                    .filter(|e| e.to.includes(id))
                    .collect()
            };
            if m.batch {
                if let Outgoing::Text(t) = frame_of(own.iter().copied()) {
                    if !t.is_empty() && !m.push(Outgoing::Text(t)) {
                        keep_missed(m, own.iter().copied());
                    }
                }
            } else {
                for (i, e) in own.iter().enumerate() {
                    if !m.push(Outgoing::Text(e.text.clone())) {
                        keep_missed(m, own[i..].iter().copied());
                        break;
                    }
                }
            }
        }
        self.entries.clear();
        self.special.clear();
    }
}

fn is_only(to: Audience) -> bool {
    matches!(to, Audience::Only(_))
}

/// One frame for entries: nothing, the message alone, or a `batch`.
fn frame_of<'e>(entries: impl Iterator<Item = &'e Entry> + Clone) -> Outgoing {
    let count = entries.clone().count();
    let text = match count {
        0 => ByteString::new(),
        1 => entries.map(|e| e.text.clone()).next().unwrap_or_default(),
        _ => {
            let size: usize = entries.clone().map(|e| e.text.len() + 1).sum();
            ByteString::from(encode_batch(entries.map(|e| &*e.text), size))
        }
    };
    Outgoing::Text(text)
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
