//! A restore: the canvas set back to how it was at an earlier seq, as one op.
//!
//! The op carries the target pixels of just the tiles that differ from the canvas it is
//! committed onto (computed by the room when it commits, from a render of the earlier seq), so it
//! replays, undoes and redoes like any op without looking anything up: each of its tiles is
//! replaced by the target, sharing the target's pixels.

use std::sync::Arc;

use tiny_skia::Pixmap;

use super::{Canvas, TileId};

/// The canvas brought back to seq `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct Restore {
    /// The seq whose canvas it brings back.
    pub seq: u64,
    /// Sorted by tile: the pixels each changed tile gets (`None`: transparent).
    pub tiles: Vec<(TileId, Option<Arc<Pixmap>>)>,
}

impl Restore {
    /// The restore of `target` (the whole canvas as it was at `seq`) onto `current`: only the
    /// tiles whose pixels differ.
    pub fn between(seq: u64, current: &Canvas, target: &Canvas) -> Restore {
        let tiles = current
            .all_tiles()
            .into_iter()
            .filter_map(|id| {
                let (now, then) = (current.tile(id), target.tile(id));
                (!same_pixels(now, then)).then(|| (id, then.cloned()))
            })
            .collect();
        Restore { seq, tiles }
    }

    /// The tiles it changes.
    pub fn tile_ids(&self) -> Vec<TileId> {
        self.tiles.iter().map(|(id, _)| *id).collect()
    }

    /// The pixels tile `id` gets, if the restore changes it (`Some(None)`: transparent).
    pub fn target(&self, id: TileId) -> Option<Option<Arc<Pixmap>>> {
        self.tiles
            .binary_search_by_key(&id, |(t, _)| *t)
            .ok()
            .map(|i| self.tiles[i].1.clone())
    }
}

/// Whether two tile slots hold the same pixels (an absent tile is transparent).
pub fn same_pixels(a: Option<&Arc<Pixmap>>, b: Option<&Arc<Pixmap>>) -> bool {
    let clear = |p: &Pixmap| p.data().iter().all(|&byte| byte == 0);
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a.data() == b.data(),
        (Some(p), None) | (None, Some(p)) => clear(p),
        (None, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::{Op, Rgba, Stroke, Tool};

    fn line(y: f32) -> Op {
        Op::Stroke(Stroke {
            tool: Tool::Pen,
            color: Rgba {
                r: 10,
                g: 20,
                b: 30,
                a: 255,
            },
            width: 6.0,
            points: vec![10.0, y, 0.5, 590.0, y, 0.5],
        })
    }

    /// A restore computed between two canvases turns the first into the second, changing only
    /// the tiles that differ, and committed through a document it undoes back exactly.
    #[test]
    fn restore_brings_back_the_earlier_canvas() {
        let mut doc =
            crate::canvas::Document::new(Canvas::new(600, 600).expect("valid size"), 0, 10, 4);
        doc.commit("ann", line(20.0));
        let earlier = doc.canvas().clone();
        doc.commit("ann", line(400.0));
        doc.commit("bob", Op::Clear);
        doc.commit("bob", line(500.0));
        let before = doc.canvas().clone();
        let restore = Restore::between(1, doc.canvas(), &earlier);
        // Rows 0 (the first line, cleared since) and 1 (the last line) differ; three columns.
        assert_eq!(restore.tiles.len(), 6);
        let applied = doc.commit("cy", Op::Restore(restore));
        assert_eq!(applied.tiles.len(), 6);
        for id in doc.canvas().all_tiles() {
            assert!(
                same_pixels(doc.canvas().tile(id), earlier.tile(id)),
                "{id:?}"
            );
        }
        doc.undo("cy").expect("the restore is undoable");
        for id in doc.canvas().all_tiles() {
            assert!(
                same_pixels(doc.canvas().tile(id), before.tile(id)),
                "{id:?}"
            );
        }
        doc.redo("cy").expect("and redoable");
        for id in doc.canvas().all_tiles() {
            assert!(
                same_pixels(doc.canvas().tile(id), earlier.tile(id)),
                "{id:?}"
            );
        }
    }
}
