//! Tile frames: encoding tiles for the wire, and the room's cache of encoded tiles so that a
//! tile is encoded once however many members receive it (tile rounds and joins alike).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tiny_skia::Pixmap;

use super::outbox::TileSource;
use crate::canvas::{Document, TileId, TILE_SIZE};
use crate::protocol::frame;

/// Encodes tiles as binary tile frames tagged with `seq` (an absent tile becomes an "empty"
/// frame). CPU-heavy: run it off the room's loop.
pub fn encode_frames(tiles: Vec<(TileId, Option<Arc<Pixmap>>)>, seq: u64) -> Vec<(TileId, Bytes)> {
    tiles
        .into_iter()
        .map(|(id, tile)| (id, encode_frame(id, tile.as_deref(), seq)))
        .collect()
}

/// Encodes one tile as a binary tile frame tagged with `seq`.
fn encode_frame(id: TileId, tile: Option<&Pixmap>, seq: u64) -> Bytes {
    let png = tile.map(crate::canvas::encode_tile);
    Bytes::from(frame::tile(
        id.col,
        id.row,
        TILE_SIZE as u16,
        seq,
        png.as_deref(),
    ))
}

/// Turns what a joining member needs into frames, encoding only the tiles not yet encoded.
pub fn encode_sources(tiles: Vec<TileSource>, seq: u64) -> Vec<Bytes> {
    tiles
        .into_iter()
        .map(|t| match t {
            TileSource::Encoded(bytes) => bytes,
            TileSource::Raw(id, tile) => encode_frame(id, tile.as_deref(), seq),
        })
        .collect()
}

/// Encoded frames of tiles, each valid while its tile has not changed since the frame's seq.
#[derive(Debug, Default)]
pub struct TileCache {
    /// Tile -> (seq the frame shows, the frame).
    frames: HashMap<TileId, (u64, Bytes)>,
}

impl TileCache {
    /// Forgets frames showing a seq after `seq` (their ops were taken back).
    pub fn forget_after(&mut self, seq: u64) {
        self.frames.retain(|_, (shown, _)| *shown <= seq);
    }

    /// Remembers frames encoded at `seq`, keeping only those whose tile is still unchanged.
    pub fn insert(&mut self, doc: &Document, frames: &[(TileId, Bytes)], seq: u64) {
        for (id, bytes) in frames {
            if doc.tile_version(*id) <= seq {
                self.frames.insert(*id, (seq, bytes.clone()));
            }
        }
    }

    /// The frame of a tile if it still shows the tile's current pixels.
    pub fn get(&self, doc: &Document, id: TileId) -> Option<Bytes> {
        let (seq, bytes) = self.frames.get(&id)?;
        (doc.tile_version(id) <= *seq).then(|| bytes.clone())
    }

    /// Turns tiles of the canvas into sources: cached frames where valid, pixels otherwise.
    pub fn sources(
        &self,
        doc: &Document,
        tiles: Vec<(TileId, Option<Arc<Pixmap>>)>,
    ) -> Vec<TileSource> {
        tiles
            .into_iter()
            .map(|(id, tile)| match self.get(doc, id) {
                Some(bytes) => TileSource::Encoded(bytes),
                None => TileSource::Raw(id, tile),
            })
            .collect()
    }
}
