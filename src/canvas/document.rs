//! A canvas with its history: the seq, the op log, checkpoints, and per-author undo and redo.
//!
//! Undo never repaints the whole canvas. Each log entry knows the tiles it touched; undoing (or
//! redoing) an entry re-renders only those tiles, starting from the latest checkpoint before it and
//! replaying the later entries that touch them. Checkpoints share unchanged tiles with the canvas
//! (copy on write), so one costs only the tiles changed since the previous one.
//!
//! The owner's revert takes back every op of one author still in the history window as one
//! step: the entries are marked undone together, their tiles re-rendered once from the
//! checkpoint before the oldest of them, and the group goes on the owner's undo stack under the
//! revert's own seq, so the owner's undo and redo flip the whole group.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tiny_skia::Pixmap;

use super::{Canvas, Op, TileId};

/// One committed op.
#[derive(Debug, Clone)]
struct Entry {
    seq: u64,
    /// Whose op it is (the key of the undo stack it went on), so a revert can find it.
    author: String,
    op: Op,
    /// Sorted tiles the op touched.
    tiles: Vec<TileId>,
    undone: bool,
}

/// Every tile slot of the canvas after the entry with `seq` (and all before it).
#[derive(Debug, Clone)]
struct Checkpoint {
    seq: u64,
    /// How many checkpoints were made before this one (thinning keeps every `SPARSE`th).
    ordinal: u64,
    slots: Vec<Option<Arc<Pixmap>>>,
}

/// Checkpoints kept at full density, newest first; older ones are thinned to every `SPARSE`th,
/// so a busy room holds about `DENSE + history_window / (checkpoint_every * SPARSE)` canvases
/// instead of `history_window / checkpoint_every`. Undoing a recent op (the usual case) replays
/// at most `checkpoint_every` ops; an old one at most `checkpoint_every * SPARSE`.
const DENSE: usize = 4;
/// See [`DENSE`].
const SPARSE: u64 = 8;

/// An author's undo and redo stacks, newest last: seqs of log entries, or the seq of a revert
/// whose group (see `Document::groups`) is undone and redone as one step.
#[derive(Debug, Clone, Default)]
struct Stacks {
    undo: Vec<u64>,
    redo: Vec<u64>,
}

/// What a commit, undo or redo did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The new seq.
    pub seq: u64,
    /// Tiles whose pixels changed.
    pub tiles: Vec<TileId>,
    /// For undo and redo: the seq of the op undone or redone.
    pub target: Option<u64>,
}

/// A canvas, its seq and its history.
#[derive(Debug)]
pub struct Document {
    canvas: Canvas,
    seq: u64,
    log: VecDeque<Entry>,
    /// Ascending by seq; the first is the oldest state history can return to.
    checkpoints: Vec<Checkpoint>,
    stacks: HashMap<String, Stacks>,
    /// Reverts still on a stack: the revert's seq -> the ascending seqs of the entries it took
    /// back. Undoing the revert brings them back; redoing it takes them back again.
    groups: HashMap<u64, Vec<u64>>,
    undo_depth: usize,
    checkpoint_every: u64,
    since_checkpoint: u64,
    /// Ops older than this many seqs can no longer be undone (bounds history and load time).
    history_window: u64,
    /// Row-major: the seq at which each tile last changed (known from `versions_from` on).
    versions: Vec<u64>,
    /// The seq this document started at; tile changes before it are not known.
    versions_from: u64,
}

impl Document {
    /// A document over `canvas` at `seq` (0 for a new room). Each author can undo their last
    /// `undo_depth` ops; a checkpoint is kept every `checkpoint_every` ops.
    pub fn new(canvas: Canvas, seq: u64, undo_depth: usize, checkpoint_every: u64) -> Document {
        let base = Checkpoint {
            seq,
            ordinal: 0,
            slots: canvas.slots(),
        };
        let (cols, rows) = canvas.grid();
        Document {
            canvas,
            seq,
            log: VecDeque::new(),
            checkpoints: vec![base],
            stacks: HashMap::new(),
            groups: HashMap::new(),
            undo_depth: undo_depth.max(1),
            checkpoint_every: checkpoint_every.max(1),
            since_checkpoint: 0,
            history_window: u64::MAX,
            versions: vec![seq; (cols * rows) as usize],
            versions_from: seq,
        }
    }

    /// The tiles that changed after `since` (an absent tile is transparent), or `None` when that
    /// cannot be told: `since` is before this document started or after its seq.
    pub fn changed_since(&self, since: u64) -> Option<Vec<(TileId, Option<Arc<Pixmap>>)>> {
        if since < self.versions_from || since > self.seq {
            return None;
        }
        Some(
            self.versions
                .iter()
                .enumerate()
                .filter(|(_, &v)| v > since)
                .map(|(i, _)| {
                    let id = self.canvas.tile_id(i);
                    (id, self.canvas.tile(id).cloned())
                })
                .collect(),
        )
    }

    /// Seq of the last op that changed a tile's pixels (0 if none since the document began).
    pub fn tile_version(&self, id: TileId) -> u64 {
        self.versions
            .get(self.canvas.index(id))
            .copied()
            .unwrap_or(0)
    }

    fn touch(&mut self, tiles: &[TileId]) {
        for &id in tiles {
            let i = self.canvas.index(id);
            if let Some(v) = self.versions.get_mut(i) {
                *v = self.seq;
            }
        }
    }

    /// Limits undo to ops among the last `window` seqs, so history (and a room's load from the
    /// store) stays bounded however long ago someone last drew.
    pub fn with_history_window(mut self, window: u64) -> Document {
        self.history_window = window.max(1);
        self
    }

    /// Seq of the oldest state history can return to (the store keeps it as the room's base).
    pub fn base_seq(&self) -> u64 {
        self.checkpoints[0].seq
    }

    /// The non-empty tiles of that oldest state.
    pub fn base_tiles(&self) -> Vec<(TileId, Arc<Pixmap>)> {
        self.canvas.non_empty(&self.checkpoints[0].slots)
    }

    /// The current canvas.
    pub fn canvas(&self) -> &Canvas {
        &self.canvas
    }

    /// The seq of the latest commit, undo or redo.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether `author` has something to undo and something to redo.
    pub fn can_undo_redo(&self, author: &str) -> (bool, bool) {
        self.stacks
            .get(author)
            .map_or((false, false), |s| (!s.undo.is_empty(), !s.redo.is_empty()))
    }

    /// Commits an op by `author`; clears that author's redo stack.
    pub fn commit(&mut self, author: &str, mut op: Op) -> Applied {
        let mut tiles = self.canvas.apply(&mut op);
        tiles.sort_unstable();
        self.seq += 1;
        let seq = self.seq;
        self.touch(&tiles);
        self.log.push_back(Entry {
            seq,
            author: author.to_owned(),
            op,
            tiles: tiles.clone(),
            undone: false,
        });
        let depth = self.undo_depth;
        let stacks = self.stacks.entry(author.to_owned()).or_default();
        stacks.undo.push(seq);
        if stacks.undo.len() > depth {
            stacks.undo.remove(0);
        }
        stacks.redo.clear();
        self.since_checkpoint += 1;
        if self.since_checkpoint >= self.checkpoint_every {
            let ordinal = self.checkpoints.last().map_or(0, |c| c.ordinal + 1);
            self.checkpoints.push(Checkpoint {
                seq,
                ordinal,
                slots: self.canvas.slots(),
            });
            self.since_checkpoint = 0;
            self.thin_checkpoints();
        }
        self.prune();
        Applied {
            seq,
            tiles,
            target: None,
        }
    }

    /// Undoes `author`'s latest op that is not undone; `None` when there is none.
    pub fn undo(&mut self, author: &str) -> Option<Applied> {
        let target = self.stacks.get_mut(author)?.undo.pop()?;
        self.toggle(author, target, true)
    }

    /// Redoes `author`'s latest undone op; `None` when there is none.
    pub fn redo(&mut self, author: &str) -> Option<Applied> {
        let target = self.stacks.get_mut(author)?.redo.pop()?;
        self.toggle(author, target, false)
    }

    /// Undoes (`undo`) or redoes the step at `target` of `author`'s stacks: one entry, or a
    /// revert's group, whose entries come back on undo and go again on redo.
    fn toggle(&mut self, author: &str, target: u64, undo: bool) -> Option<Applied> {
        let (seqs, undone) = match self.groups.get(&target) {
            Some(group) => (group.clone(), !undo),
            None => (vec![target], undo),
        };
        let tiles = self.mark(&seqs, undone)?;
        let stacks = self.stacks.entry(author.to_owned()).or_default();
        if undo {
            stacks.redo.push(target);
        } else {
            stacks.undo.push(target);
        }
        Some(self.rerendered(seqs[0], tiles, Some(target)))
    }

    /// Sets `undone` on the entries with these ascending seqs; the sorted union of their tiles,
    /// or `None` (nothing changed) when one is not in the log.
    fn mark(&mut self, seqs: &[u64], undone: bool) -> Option<Vec<TileId>> {
        let at: Vec<usize> = seqs
            .iter()
            .map(|&seq| self.log.binary_search_by_key(&seq, |e| e.seq).ok())
            .collect::<Option<_>>()?;
        let mut tiles = Vec::new();
        for i in at {
            let entry = &mut self.log[i];
            entry.undone = undone;
            tiles.extend_from_slice(&entry.tiles);
        }
        tiles.sort_unstable();
        tiles.dedup();
        Some(tiles)
    }

    /// Re-renders `tiles` from before `oldest`, advances the seq and prunes: the end of every
    /// undo, redo and revert.
    fn rerendered(&mut self, oldest: u64, tiles: Vec<TileId>, target: Option<u64>) -> Applied {
        self.rerender(oldest, &tiles);
        self.seq += 1;
        self.touch(&tiles);
        self.prune();
        Applied {
            seq: self.seq,
            tiles,
            target,
        }
    }

    /// Takes back, as one step on `owner`'s undo stack, every op of `victim` that is not undone,
    /// still in the history window and still held in the log (which reaches at least as far
    /// back as every author's undo stack); `None` when there is none. As the window moves on,
    /// the group forgets its ops that leave it: undoing the revert brings back only the rest. The ops leave `victim`'s own
    /// stacks (and its redo stack is cleared), so only the owner's undo brings them back.
    /// [`Applied::target`] is `None`; [`Document::reaches_back`] of the new seq is the oldest op
    /// taken back, which the store keeps to replay it with [`Document::revert_from`].
    pub fn revert(&mut self, owner: &str, victim: &str) -> Option<Applied> {
        // The window as it is after the revert's own seq.
        let horizon = (self.seq + 1).saturating_sub(self.history_window);
        let from = self
            .log
            .iter()
            .find(|e| e.seq > horizon && !e.undone && e.author == victim)?
            .seq;
        self.revert_from(owner, victim, from)
    }

    /// Like [`Document::revert`], taking back `victim`'s ops from seq `from` on (replaying a
    /// stored revert); `None` when the op at `from` is not one of them.
    pub fn revert_from(&mut self, owner: &str, victim: &str, from: u64) -> Option<Applied> {
        let seqs: Vec<u64> = self
            .log
            .iter()
            .filter(|e| e.seq >= from && !e.undone && e.author == victim)
            .map(|e| e.seq)
            .collect();
        if seqs.first() != Some(&from) {
            return None;
        }
        let tiles = self.mark(&seqs, true)?;
        if let Some(stacks) = self.stacks.get_mut(victim) {
            stacks.undo.retain(|s| seqs.binary_search(s).is_err());
            stacks.redo.clear();
        }
        let depth = self.undo_depth;
        let stacks = self.stacks.entry(owner.to_owned()).or_default();
        stacks.undo.push(self.seq + 1);
        if stacks.undo.len() > depth {
            stacks.undo.remove(0);
        }
        stacks.redo.clear();
        self.groups.insert(self.seq + 1, seqs);
        Some(self.rerendered(from, tiles, None))
    }

    /// The oldest seq undoing or redoing the step at `target` re-renders from: the oldest op a
    /// revert took back, or `target` itself.
    pub fn reaches_back(&self, target: u64) -> u64 {
        self.groups
            .get(&target)
            .and_then(|g| g.first().copied())
            .unwrap_or(target)
    }

    /// Re-renders `tiles` from the latest checkpoint before `target`, replaying later entries,
    /// and refreshes those tiles in every later checkpoint.
    fn rerender(&mut self, target: u64, tiles: &[TileId]) {
        let start = self
            .checkpoints
            .iter()
            .rposition(|c| c.seq < target)
            .unwrap_or(0);
        let canvas = &self.canvas;
        let slot = |id: TileId| canvas.index(id);
        let mut work: Vec<(TileId, Option<Arc<Pixmap>>)> = tiles
            .iter()
            .map(|&id| (id, self.checkpoints[start].slots[slot(id)].clone()))
            .collect();
        let base_seq = self.checkpoints[start].seq;
        let mut next_cp = start + 1;
        for entry in self.log.iter().filter(|e| e.seq > base_seq) {
            while next_cp < self.checkpoints.len() && self.checkpoints[next_cp].seq < entry.seq {
                for (id, tile) in &work {
                    self.checkpoints[next_cp].slots[slot(*id)] = tile.clone();
                }
                next_cp += 1;
            }
            if entry.undone
                || !work
                    .iter()
                    .any(|(id, _)| entry.tiles.binary_search(id).is_ok())
            {
                continue;
            }
            let painter = entry.op.painter();
            for (id, tile) in work.iter_mut() {
                if entry.tiles.binary_search(id).is_err() {
                    continue;
                }
                if let Some(replaced) = entry.op.replacement(*id) {
                    *tile = replaced;
                    continue;
                }
                let pixmap = tile.get_or_insert_with(|| {
                    let (w, h) = self.canvas.tile_size(*id);
                    Arc::new(Pixmap::new(w, h).expect("tile sides are between 1 and 256"))
                });
                painter.render_tile(*id, Arc::make_mut(pixmap));
            }
        }
        for cp in &mut self.checkpoints[next_cp..] {
            for (id, tile) in &work {
                cp.slots[slot(*id)] = tile.clone();
            }
        }
        for (id, tile) in work {
            self.canvas.set_tile(id, tile);
        }
    }

    /// Keeps the base, the `DENSE` newest checkpoints and every `SPARSE`th older one.
    fn thin_checkpoints(&mut self) {
        let n = self.checkpoints.len();
        if n <= DENSE + 1 {
            return;
        }
        let cut = n - DENSE;
        let mut i = 0;
        self.checkpoints.retain(|c| {
            let keep = i == 0 || i >= cut || c.ordinal % SPARSE == 0;
            i += 1;
            keep
        });
    }

    /// Drops history no stack can reach: entries and checkpoints before the checkpoint that
    /// precedes the oldest undoable or redoable op.
    fn prune(&mut self) {
        let horizon = self.seq.saturating_sub(self.history_window);
        // A revert keeps only its ops still in the window: older ones stay taken back for good.
        for group in self.groups.values_mut() {
            let old = group.partition_point(|&s| s <= horizon);
            group.drain(..old);
        }
        let groups = &self.groups;
        let reachable = |s: &u64| groups.get(s).map_or(*s > horizon, |g| !g.is_empty());
        for stacks in self.stacks.values_mut() {
            stacks.undo.retain(reachable);
            stacks.redo.retain(reachable);
        }
        if !self.groups.is_empty() {
            let stacks = &self.stacks;
            self.groups.retain(|seq, group| {
                !group.is_empty()
                    && stacks
                        .values()
                        .any(|s| s.undo.contains(seq) || s.redo.contains(seq))
            });
        }
        // A stack's first undo step is its oldest entry; a revert's group may reach further.
        let oldest = self
            .stacks
            .values()
            .flat_map(|s| s.undo.first().into_iter().chain(s.redo.iter()))
            .chain(self.groups.values().filter_map(|g| g.first()))
            .min()
            .copied()
            .unwrap_or(self.seq + 1);
        let Some(keep) = self.checkpoints.iter().rposition(|c| c.seq < oldest) else {
            return;
        };
        if keep > 0 {
            self.checkpoints.drain(..keep);
        }
        let base = self.checkpoints[0].seq;
        while self.log.front().is_some_and(|e| e.seq <= base) {
            self.log.pop_front();
        }
        self.stacks
            .retain(|_, s| !(s.undo.is_empty() && s.redo.is_empty()));
    }

    /// Number of log entries and checkpoints kept (for tests and metrics).
    pub fn history_len(&self) -> (usize, usize) {
        (self.log.len(), self.checkpoints.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::{Rgba, Shape, ShapeKind, Stroke, Tool};

    fn op(i: u32) -> Op {
        let f = i as f32;
        let color = Rgba {
            r: (i * 53 % 256) as u8,
            g: (i * 97 % 256) as u8,
            b: (i * 31 % 256) as u8,
            a: if i.is_multiple_of(3) { 128 } else { 255 },
        };
        match i % 7 {
            5 => Op::Shape(Shape {
                kind: ShapeKind::Ellipse,
                x0: 30.0 + f * 7.0 % 400.0,
                y0: 20.0 + f * 13.0 % 300.0,
                x1: 120.0 + f * 11.0 % 500.0,
                y1: 90.0 + f * 5.0 % 300.0,
                color,
                width: 5.0,
                filled: i.is_multiple_of(2),
            }),
            6 => Op::Stroke(Stroke {
                tool: Tool::Eraser,
                color,
                width: 20.0,
                points: vec![f * 17.0 % 600.0, 0.0, 0.5, f * 23.0 % 600.0, 400.0, 0.8],
            }),
            _ => Op::Stroke(Stroke {
                tool: if i.is_multiple_of(4) {
                    Tool::Highlighter
                } else {
                    Tool::Pen
                },
                color,
                width: 4.0 + (i % 5) as f32 * 3.0,
                points: (0..12)
                    .flat_map(|k| {
                        let t = k as f32;
                        [
                            (f * 29.0 + t * 40.0) % 600.0,
                            (f * 41.0 + t * t * 3.0) % 420.0,
                            0.2 + (k % 4) as f32 * 0.2,
                        ]
                    })
                    .collect(),
            }),
        }
    }

    fn scratch(ops: &[(usize, Op)], skip: &[usize]) -> Vec<Option<Rgba>> {
        let mut c = Canvas::new(600, 420).expect("valid size");
        for (i, o) in ops {
            if !skip.contains(i) {
                c.apply(&mut o.clone());
            }
        }
        pixels(&c)
    }

    fn assert_same(got: &[Option<Rgba>], want: &[Option<Rgba>]) {
        let differ = got.iter().zip(want).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ, 0,
            "{differ} sampled pixels differ from a fresh render"
        );
    }

    fn pixels(c: &Canvas) -> Vec<Option<Rgba>> {
        let s = c.snapshot();
        (0..420)
            .step_by(3)
            .flat_map(|y| (0..600).step_by(3).map(move |x| (x, y)))
            .map(|(x, y)| s.pixel(x, y))
            .collect()
    }

    /// Undoing and redoing ops of two interleaved authors always gives the same pixels as
    /// drawing the remaining ops from scratch, across many checkpoints.
    #[test]
    fn undo_matches_a_fresh_render() {
        let mut doc = Document::new(Canvas::new(600, 420).expect("valid size"), 0, 50, 4);
        let mut ops = Vec::new();
        for i in 0..40u32 {
            let author = if i % 3 == 0 { "bob" } else { "ann" };
            doc.commit(author, op(i));
            ops.push((i as usize, op(i)));
        }
        // Ann undoes her last three ops; Bob's stay.
        let mut undone = Vec::new();
        for _ in 0..3 {
            let a = doc.undo("ann").expect("ann has ops");
            undone.push((a.target.expect("target") - 1) as usize);
        }
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &undone));
        // Bob undoes one of his, buried under Ann's.
        let b = doc.undo("bob").expect("bob has ops");
        undone.push((b.target.expect("target") - 1) as usize);
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &undone));
        // Ann redoes one; then draws, which clears her redo stack.
        let r = doc.redo("ann").expect("redo");
        let redone = (r.target.expect("target") - 1) as usize;
        undone.retain(|&i| i != redone);
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &undone));
        doc.commit("ann", op(40));
        ops.push((40, op(40)));
        assert!(doc.redo("ann").is_none());
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &undone));
        assert_eq!(doc.seq(), 41 + 5);
    }

    /// Old checkpoints are thinned, and undoing an op buried under many others (replaying from
    /// a sparse checkpoint) still gives the pixels of a fresh render.
    #[test]
    fn thinned_checkpoints_still_undo_exactly() {
        let mut doc = Document::new(Canvas::new(600, 420).expect("valid size"), 0, 50, 4);
        let mut ops = Vec::new();
        doc.commit("ann", op(0));
        ops.push((0, op(0)));
        for i in 1..150u32 {
            doc.commit("bob", op(i));
            ops.push((i as usize, op(i)));
        }
        let (_, checkpoints) = doc.history_len();
        assert!(
            checkpoints <= 1 + DENSE + 150 / (4 * SPARSE as usize) + 1,
            "kept {checkpoints} checkpoints"
        );
        let a = doc.undo("ann").expect("ann's op is still undoable");
        assert_eq!(a.target, Some(1));
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &[0]));
        doc.redo("ann").expect("redo");
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &[]));
    }

    #[test]
    fn undo_depth_and_pruning_bound_history() {
        let mut doc = Document::new(Canvas::new(300, 300).expect("valid size"), 0, 5, 4);
        for i in 0..100 {
            doc.commit("ann", op(i));
        }
        let (log, checkpoints) = doc.history_len();
        assert!(log <= 5 + 4, "log kept {log} entries");
        assert!(checkpoints <= 3, "kept {checkpoints} checkpoints");
        for _ in 0..5 {
            assert!(doc.undo("ann").is_some());
        }
        assert!(doc.undo("ann").is_none(), "only the last 5 are undoable");
    }

    /// A revert takes back every op of one author in the window as one step of the owner's:
    /// the pixels are a fresh render without them, the owner's undo brings them all back and
    /// redo takes them again, the author can no longer undo or redo them, and replaying the
    /// revert from its oldest op gives the same document.
    #[test]
    fn revert_is_one_step_of_the_owner() {
        let mut doc = Document::new(Canvas::new(600, 420).expect("valid size"), 0, 50, 4);
        let mut ops = Vec::new();
        let mut bobs = Vec::new();
        for i in 0..30u32 {
            let author = if i % 3 == 0 { "bob" } else { "ann" };
            doc.commit(author, op(i));
            ops.push((i as usize, op(i)));
            if author == "bob" {
                bobs.push(i as usize);
            }
        }
        // Bob undid his last op himself: it stays undone through the revert and its undo.
        doc.undo("bob").expect("bob has ops");
        let own = bobs.pop().expect("bob drew");
        let reverted = doc.revert("owner", "bob").expect("bob has ops to revert");
        assert_eq!(reverted.seq, 32);
        assert_eq!(reverted.target, None);
        assert_eq!(
            doc.reaches_back(32),
            1,
            "bob's first op is the oldest taken back"
        );
        let mut gone = bobs.clone();
        gone.push(own);
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &gone));
        assert_eq!(doc.can_undo_redo("bob"), (false, false));
        assert!(
            doc.revert("owner", "bob").is_none(),
            "nothing left to revert"
        );
        let back = doc.undo("owner").expect("the owner can undo the revert");
        assert_eq!(back.target, Some(32));
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &[own]));
        doc.redo("owner").expect("and redo it");
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &gone));
        doc.undo("owner").expect("undo again");
        // Replaying the same events, the revert from its stored oldest op, ends the same.
        let mut replay = Document::new(Canvas::new(600, 420).expect("valid size"), 0, 50, 4);
        for i in 0..30u32 {
            replay.commit(if i % 3 == 0 { "bob" } else { "ann" }, op(i));
        }
        replay.undo("bob").expect("bob has ops");
        assert!(
            replay.revert_from("owner", "bob", 2).is_none(),
            "seq 2 is ann's"
        );
        assert_eq!(
            replay.revert_from("owner", "bob", 1).map(|a| a.seq),
            Some(32)
        );
        replay.undo("owner").expect("undo");
        replay.redo("owner").expect("redo");
        replay.undo("owner").expect("undo");
        assert_eq!(replay.seq(), doc.seq());
        assert_same(&pixels(replay.canvas()), &pixels(doc.canvas()));
    }

    /// Ops that left the history window are not reverted, and a revert's group keeps the
    /// history it reaches back to until it leaves the window itself.
    #[test]
    fn revert_stays_within_the_window() {
        let mut doc = Document::new(Canvas::new(600, 420).expect("valid size"), 0, 50, 4)
            .with_history_window(20);
        let mut ops = Vec::new();
        for i in 0..40u32 {
            let author = if i % 2 == 0 { "bob" } else { "ann" };
            doc.commit(author, op(i));
            ops.push((i as usize, op(i)));
        }
        let reverted = doc.revert("owner", "bob").expect("bob has recent ops");
        // After the revert (seq 41) the window holds seqs 22..=41: bob's ops at seqs 23..=39
        // (odd), indexes 22..=38.
        assert_eq!(doc.reaches_back(reverted.seq), 23);
        let gone: Vec<usize> = (22..40).step_by(2).collect();
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &gone));
        doc.commit("ann", op(40));
        ops.push((40, op(40)));
        doc.undo("owner").expect("in the window");
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &[]));
        // The undo (seq 43) moved the window past seq 23: that op is back for good.
        doc.redo("owner").expect("redo");
        let gone: Vec<usize> = (24..40).step_by(2).collect();
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &gone));
        // Seqs 45..=50: the window starts after 30; undoing brings back only seqs 31..=39.
        for i in 41..47u32 {
            doc.commit("ann", op(i));
            ops.push((i as usize, op(i)));
        }
        doc.undo("owner")
            .expect("part of the revert is in the window");
        let kept_gone: Vec<usize> = (24..30).step_by(2).collect();
        assert_same(&pixels(doc.canvas()), &scratch(&ops, &kept_gone));
        doc.redo("owner").expect("redo");
        for i in 50..70u32 {
            doc.commit("ann", op(i));
        }
        assert!(doc.undo("owner").is_none(), "the revert left the window");
    }
}
