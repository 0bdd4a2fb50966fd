//! A room's whole history in the store: every op with its commit time, keyframes, and the
//! pixels of restores.
//!
//! A *keyframe* is the canvas at one seq, stored as only the tiles that changed since the
//! keyframe before it (each tile row carries a hash of its pixels, so a tile that did not change
//! is never stored twice). The canvas at keyframe `K` is, for every tile, its latest row at or
//! before `K`; no row means transparent.
//!
//! Replaying from a keyframe repeats history exactly as long as no op after it re-renders from
//! at or before it: an undo, redo or revert records the oldest seq it re-rendered from
//! (`reach`), and [`start_for`] walks back to the latest keyframe that no op up to the wanted
//! seq reaches behind. The room's *base* (`bases.seq`) is the keyframe a load starts from: one
//! that no later op can reach behind, so the undo history rebuilt from it is complete.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tiny_skia::Pixmap;
use uuid::Uuid;

use super::{Record, StoreError};
use crate::canvas::{encode_png, Canvas, TileId};
use crate::meta::RoomMeta;

/// A tile as a keyframe or restore holds it: `None` is transparent.
pub type TileSlot = (TileId, Option<Arc<Pixmap>>);

/// One op as stored.
#[derive(Debug, Clone)]
pub struct StoredOp {
    /// Its seq.
    pub seq: u64,
    /// The key of the undo stack it went on.
    pub author: String,
    /// The op.
    pub record: Record,
    /// When it was committed, in unix milliseconds (`None` for ops stored before times were
    /// kept).
    pub at: Option<i64>,
    /// A restore's pixels: the tiles it changed (empty for every other op).
    pub tiles: Vec<TileSlot>,
}

/// Where a room's kept history starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The first seq whose canvas is kept (0 unless the room's early history was dropped by an
    /// earlier version).
    pub from: u64,
    /// The latest stored seq.
    pub seq: u64,
    /// When the room was created (unix seconds).
    pub created_at: i64,
}

/// A 64-bit hash of a tile's pixels (0 for a transparent one), to skip storing a tile a
/// keyframe already holds.
fn tile_hash(tile: Option<&Arc<Pixmap>>) -> i64 {
    match tile {
        Some(p) if p.data().iter().any(|&b| b != 0) => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            p.data().hash(&mut h);
            // Never 0, which means transparent.
            (h.finish() | 1) as i64
        }
        _ => 0,
    }
}

/// A keyframe tile ready to store: its pixels' hash and PNG (`None`: transparent).
#[derive(Debug, Clone)]
pub struct EncodedTile {
    pub(crate) id: TileId,
    pub(crate) hash: i64,
    pub(crate) png: Option<Vec<u8>>,
}

/// Hashes and encodes a keyframe's tiles. CPU-heavy: the room runs it on the blocking pool, so
/// the writer thread (and the commits queued behind it) never waits for PNG encoding.
pub fn encode_keyframe(tiles: &[TileSlot]) -> Vec<EncodedTile> {
    tiles
        .iter()
        .map(|(id, tile)| {
            let hash = tile_hash(tile.as_ref());
            let png = tile.as_ref().filter(|_| hash != 0).map(|p| encode_tile(p));
            EncodedTile { id: *id, hash, png }
        })
        .collect()
}

/// Writes keyframe `seq` of `room`: the given tiles that differ from the room's latest stored
/// keyframe. Nothing happens for a room that no longer exists.
pub(super) fn write_keyframe(
    tx: &Transaction<'_>,
    room: Uuid,
    seq: u64,
    tiles: &[EncodedTile],
) -> Result<(), StoreError> {
    let room = room.to_string();
    if !super::room_exists(tx, &room)? {
        return Ok(());
    }
    let mut latest = tx.prepare_cached(
        "SELECT hash FROM keyframe_tiles WHERE room = ?1 AND row = ?2 AND col = ?3 \
         ORDER BY seq DESC LIMIT 1",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO keyframe_tiles (room, row, col, seq, hash, png) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for tile in tiles {
        let (row, col) = (tile.id.row, tile.id.col);
        let stored: Option<i64> = latest
            .query_row(params![room, row, col], |r| r.get(0))
            .optional()?;
        if stored.unwrap_or(0) == tile.hash {
            continue;
        }
        insert.execute(params![room, row, col, seq, tile.hash, tile.png])?;
    }
    tx.prepare_cached("INSERT OR IGNORE INTO keyframes (room, seq) VALUES (?1, ?2)")?
        .execute(params![room, seq])?;
    Ok(())
}

/// Makes keyframe `seq` the one `room` loads from, if it is stored.
pub(super) fn write_base(tx: &Transaction<'_>, room: Uuid, seq: u64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO bases (room, seq) SELECT ?1, ?2 \
         WHERE EXISTS (SELECT 1 FROM keyframes WHERE room = ?1 AND seq = ?2) \
         ON CONFLICT(room) DO UPDATE SET seq = excluded.seq",
    )?
    .execute(params![room.to_string(), seq])?;
    Ok(())
}

/// Stores a restore's pixels with its op.
pub(super) fn write_restore(
    tx: &Transaction<'_>,
    room: &str,
    seq: u64,
    tiles: &[TileSlot],
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO restore_tiles (room, seq, row, col, png) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = ?1)",
    )?;
    for (id, tile) in tiles {
        let png = tile.as_ref().map(|p| encode_tile(p));
        insert.execute(params![room, seq, id.row, id.col, png])?;
    }
    Ok(())
}

/// Drops what `room` stored after seq `after` (a probe after a failed write).
pub(super) fn drop_after(tx: &Transaction<'_>, room: Uuid, after: u64) -> Result<(), StoreError> {
    let room = room.to_string();
    for sql in [
        "DELETE FROM ops WHERE room = ?1 AND seq > ?2",
        "DELETE FROM keyframes WHERE room = ?1 AND seq > ?2",
        "DELETE FROM keyframe_tiles WHERE room = ?1 AND seq > ?2",
        "DELETE FROM restore_tiles WHERE room = ?1 AND seq > ?2",
    ] {
        tx.execute(sql, params![room, after])?;
    }
    Ok(())
}

/// A tile's premultiplied bytes as they are: exact, and PNG-compressed.
fn encode_tile(p: &Pixmap) -> Vec<u8> {
    encode_png(p.data(), p.width(), p.height())
}

/// A stored tile of `canvas` (premultiplied bytes in a PNG), checked against its grid and size.
pub(crate) fn decode_tile(
    canvas: &Canvas,
    room: Uuid,
    col: u16,
    row: u16,
    png: &[u8],
) -> Result<TileSlot, StoreError> {
    let id = TileId { row, col };
    let (gw, gh) = canvas.grid();
    if u32::from(col) >= gw || u32::from(row) >= gh {
        return Err(StoreError::Corrupt(format!(
            "room {room} has tile {col},{row} outside its grid"
        )));
    }
    let (w, h) = canvas.tile_size(id);
    let img = image::load_from_memory(png)
        .map_err(|e| StoreError::Corrupt(format!("room {room} tile {col},{row}: {e}")))?
        .to_rgba8();
    if img.dimensions() != (w, h) {
        return Err(StoreError::Corrupt(format!(
            "room {room} tile {col},{row} has the wrong size"
        )));
    }
    let size = tiny_skia::IntSize::from_wh(w, h)
        .ok_or_else(|| StoreError::Corrupt("empty tile".into()))?;
    let pixmap = Pixmap::from_vec(img.into_raw(), size).ok_or_else(|| {
        StoreError::Corrupt(format!("room {room} tile {col},{row} is not premultiplied"))
    })?;
    Ok((id, Some(Arc::new(pixmap))))
}

/// A blank canvas of the room's size.
pub(crate) fn blank(meta: &RoomMeta) -> Result<Canvas, StoreError> {
    Canvas::new(meta.width, meta.height).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "room {} has size {}x{}",
            meta.id, meta.width, meta.height
        ))
    })
}

/// The canvas at keyframe `seq` (a blank one for seq 0 when the room has no keyframe there):
/// for each tile, its latest row at or before `seq`, found through the primary key (one seek
/// per tile, however long the room's history).
pub fn keyframe(conn: &Connection, meta: &RoomMeta, seq: u64) -> Result<Canvas, StoreError> {
    let mut canvas = blank(meta)?;
    let room = meta.id.to_string();
    let mut latest = conn.prepare_cached(
        "SELECT png FROM keyframe_tiles WHERE room = ?1 AND row = ?2 AND col = ?3 AND seq <= ?4 \
         ORDER BY seq DESC LIMIT 1",
    )?;
    for id in canvas.all_tiles() {
        let png: Option<Option<Vec<u8>>> = latest
            .query_row(params![room, id.row, id.col, seq], |r| r.get(0))
            .optional()?;
        if let Some(Some(data)) = png {
            let (id, tile) = decode_tile(&canvas, meta.id, id.col, id.row, &data)?;
            canvas.set_tile(id, tile);
        }
    }
    Ok(canvas)
}

/// The keyframe a load of the room starts from (0: the blank canvas).
pub(super) fn base_seq(conn: &Connection, room: Uuid) -> Result<u64, StoreError> {
    Ok(conn
        .query_row(
            "SELECT seq FROM bases WHERE room = ?1",
            params![room.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// The latest keyframe from `from` to `at_most` from which replaying the ops up to `upto` gives
/// the canvas at `upto`: one that no op after it, up to `upto`, reaches behind. 0 (the blank
/// canvas) when there is none and the room's history starts at 0.
pub fn start_for(
    conn: &Connection,
    room: Uuid,
    from: u64,
    at_most: u64,
    upto: u64,
) -> Result<u64, StoreError> {
    match latest_keyframe(conn, room, from, at_most, upto)? {
        Some(k) => Ok(k),
        None if from == 0 => Ok(0),
        None => Err(StoreError::Corrupt(format!(
            "room {room} has no keyframe to replay seq {upto} from"
        ))),
    }
}

/// Like [`start_for`], `None` when no stored keyframe from `from` to `at_most` will do.
pub fn latest_keyframe(
    conn: &Connection,
    room: Uuid,
    from: u64,
    at_most: u64,
    upto: u64,
) -> Result<Option<u64>, StoreError> {
    let id = room.to_string();
    // SQLite integers are signed.
    let upto = upto.min(i64::MAX as u64);
    let mut keyframes = conn.prepare_cached(
        "SELECT seq FROM keyframes WHERE room = ?1 AND seq <= ?2 AND seq >= ?3 \
         ORDER BY seq DESC",
    )?;
    let candidates: Vec<u64> = keyframes
        .query_map(params![id, at_most.min(upto), from], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut reach = conn
        .prepare_cached("SELECT MIN(reach) FROM ops WHERE room = ?1 AND seq > ?2 AND seq <= ?3")?;
    // The oldest seq any op after the candidate (up to `upto`) reaches back to.
    let mut oldest = u64::MAX;
    let mut above = upto;
    for k in candidates {
        let min: Option<u64> = reach.query_row(params![id, k, above], |r| r.get(0))?;
        oldest = oldest.min(min.unwrap_or(u64::MAX));
        above = k;
        if oldest > k {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

/// The oldest seq any op of `room` after `after`, up to `upto`, re-rendered from (`None` when
/// none reaches back).
pub fn oldest_reach(
    conn: &Connection,
    room: Uuid,
    after: u64,
    upto: u64,
) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MIN(reach) FROM ops WHERE room = ?1 AND seq > ?2 AND seq <= ?3")?
        .query_row(
            params![room.to_string(), after, upto.min(i64::MAX as u64)],
            |r| r.get(0),
        )?)
}

/// Up to `limit` ops of `room` after `after` and up to `upto`, in order, with the pixels of
/// restores.
pub fn ops(
    conn: &Connection,
    meta: &RoomMeta,
    after: u64,
    upto: u64,
    limit: usize,
) -> Result<Vec<StoredOp>, StoreError> {
    let room = meta.id.to_string();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, author, data, at FROM ops WHERE room = ?1 AND seq > ?2 AND seq <= ?3 \
         ORDER BY seq LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![room, after, upto.min(i64::MAX as u64), limit as i64],
        |r| {
            Ok((
                r.get::<_, u64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, author, data, at) = row?;
        let record: Record = serde_json::from_str(&data)
            .map_err(|e| StoreError::Corrupt(format!("room {} op {seq}: {e}", meta.id)))?;
        out.push(StoredOp {
            seq,
            author,
            record,
            at,
            tiles: Vec::new(),
        });
    }
    let mut tiles = conn.prepare_cached(
        "SELECT row, col, png FROM restore_tiles WHERE room = ?1 AND seq = ?2 ORDER BY row, col",
    )?;
    let shape = blank(meta)?;
    for op in out
        .iter_mut()
        .filter(|op| matches!(op.record, Record::Restore { .. }))
    {
        let rows: Vec<(u16, u16, Option<Vec<u8>>)> = tiles
            .query_map(params![room, op.seq], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        for (row, col, png) in rows {
            op.tiles.push(match png {
                Some(png) => decode_tile(&shape, meta.id, col, row, &png)?,
                None => (TileId { row, col }, None),
            });
        }
    }
    Ok(out)
}

/// Where `room`'s kept history starts and ends, if the room exists.
pub fn bounds(conn: &Connection, room: Uuid) -> Result<Option<Bounds>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT history_from, created_at, \
             MAX(history_from, COALESCE((SELECT MAX(seq) FROM ops WHERE room = ?1), 0)) \
             FROM rooms WHERE id = ?1",
            params![room.to_string()],
            |r| {
                Ok(Bounds {
                    from: r.get(0)?,
                    created_at: r.get(1)?,
                    seq: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// The commit times of up to `count` ops spread evenly over `from..=upto`, ascending: (seq,
/// unix milliseconds, if known).
pub fn marks(
    conn: &Connection,
    room: Uuid,
    from: u64,
    upto: u64,
    count: u64,
) -> Result<Vec<(u64, Option<i64>)>, StoreError> {
    let seqs = mark_seqs(from, upto, count);
    let mut at = conn.prepare_cached("SELECT at FROM ops WHERE room = ?1 AND seq = ?2")?;
    let id = room.to_string();
    seqs.into_iter()
        .map(|seq| {
            let time: Option<Option<i64>> =
                at.query_row(params![id, seq], |r| r.get(0)).optional()?;
            Ok((seq, time.flatten()))
        })
        .collect()
}

/// Up to `count` seqs spread evenly over `from..=upto` (at least its two ends), ascending.
pub(crate) fn mark_seqs(from: u64, upto: u64, count: u64) -> Vec<u64> {
    let count = count.max(2);
    let span = upto.saturating_sub(from);
    let mut seqs: Vec<u64> = (0..count).map(|i| from + span * i / (count - 1)).collect();
    seqs.dedup();
    seqs
}

/// The latest op of `room` committed at or before `at` (unix milliseconds), if any op with a
/// known time is.
pub fn seq_at(conn: &Connection, room: Uuid, at: i64) -> Result<Option<u64>, StoreError> {
    Ok(conn.query_row(
        "SELECT MAX(seq) FROM ops WHERE room = ?1 AND at IS NOT NULL AND at <= ?2",
        params![room.to_string(), at],
        |r| r.get::<_, Option<u64>>(0),
    )?)
}

/// Bytes the room's history takes on disk, roughly: (ops, keyframe tiles, restore tiles).
pub fn sizes(conn: &Connection, room: Uuid) -> Result<(u64, u64, u64), StoreError> {
    let id = room.to_string();
    let sum = |sql: &str| -> Result<u64, StoreError> {
        Ok(conn
            .query_row(sql, params![id], |r| r.get::<_, Option<i64>>(0))?
            .unwrap_or(0)
            .max(0) as u64)
    };
    Ok((
        sum("SELECT SUM(LENGTH(data) + LENGTH(author) + 32) FROM ops WHERE room = ?1")?,
        sum("SELECT SUM(COALESCE(LENGTH(png), 0) + 40) FROM keyframe_tiles WHERE room = ?1")?,
        sum("SELECT SUM(COALESCE(LENGTH(png), 0) + 40) FROM restore_tiles WHERE room = ?1")?,
    ))
}

/// The bytes of the images the ops draw that `have` lacks, by id (what replaying them needs).
pub fn images_for(
    conn: &Connection,
    room: Uuid,
    ops: &[StoredOp],
    have: &HashMap<String, Vec<u8>>,
) -> Result<HashMap<String, Vec<u8>>, StoreError> {
    super::HistoryRead::images_for(conn, room, ops, have)
}
