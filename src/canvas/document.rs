//! A canvas with its history: the seq, the op log, checkpoints, and per-author undo and redo.
//!
//! Undo never repaints the whole canvas. Each log entry knows the tiles it touched; undoing (or
//! redoing) an entry re-renders only those tiles, starting from the latest checkpoint before it and
//! replaying the later entries that touch them. Checkpoints share unchanged tiles with the canvas
//! (copy on write), so one costs only the tiles changed since the previous one.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tiny_skia::Pixmap;

use super::{Canvas, Op, TileId};

/// One committed op.
#[derive(Debug, Clone)]
struct Entry {
    seq: u64,
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

/// An author's undo and redo stacks (seqs of log entries, newest last).
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

    fn toggle(&mut self, author: &str, target: u64, undone: bool) -> Option<Applied> {
        let entry = self.log.iter_mut().find(|e| e.seq == target)?;
        entry.undone = undone;
        let tiles = entry.tiles.clone();
        let stacks = self.stacks.entry(author.to_owned()).or_default();
        if undone {
            stacks.redo.push(target);
        } else {
            stacks.undo.push(target);
        }
        self.rerender(target, &tiles);
        self.seq += 1;
        self.touch(&tiles);
        self.prune();
        Some(Applied {
            seq: self.seq,
            tiles,
            target: Some(target),
        })
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
                if matches!(entry.op, Op::Clear) {
                    *tile = None;
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
        for stacks in self.stacks.values_mut() {
            stacks.undo.retain(|&s| s > horizon);
            stacks.redo.retain(|&s| s > horizon);
        }
        let oldest = self
            .stacks
            .values()
            .flat_map(|s| s.undo.first().into_iter().chain(s.redo.iter()))
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
}
