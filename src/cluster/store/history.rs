//! A room's history in PostgreSQL: the same reads as the SQLite store's `store/history.rs`
//! (bounds, keyframes, the ops after one, commit times), for loads and for time travel
//! ([`PgHistory`], the cluster store's [`HistoryRead`]).

use std::future::Future;

use tokio_postgres::Row;
use uuid::Uuid;

use super::read::one;
use crate::canvas::{Canvas, TileId};
use crate::cluster::pg::{seq_from_sql, seq_to_sql, Pg, PgError};
use crate::meta::RoomMeta;
use crate::store::history::{blank, decode_tile, mark_seqs, Bounds};
use crate::store::reader::{image_missing, images_wanted};
use crate::store::{HistoryRead, Record, StoreError, StoredOp};

/// Runs one query with a pooled connection, bounded in time.
pub(super) async fn query(
    pg: &Pg,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    Ok(pg
        .bounded(async {
            let client = pg.client().await?;
            Ok::<_, PgError>(client.query(sql, params).await?)
        })
        .await?)
}

/// A seq as a query parameter (`upto` may be `u64::MAX`: clamped).
fn sql_seq(seq: u64) -> Result<i64, StoreError> {
    Ok(seq_to_sql(seq.min(i64::MAX as u64))?)
}

/// Where the room's kept history starts and ends, if the room exists.
pub(super) async fn bounds(pg: &Pg, room: Uuid) -> Result<Option<Bounds>, StoreError> {
    let rows = query(
        pg,
        "SELECT history_from, extract(epoch FROM created_at)::bigint,
                GREATEST(history_from, COALESCE((SELECT max(seq) FROM ops WHERE room = $1), 0))
           FROM rooms WHERE id = $1",
        &[&room],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(Bounds {
        from: seq_from_sql(row.try_get(0).map_err(PgError::from)?)?,
        created_at: row.try_get(1).map_err(PgError::from)?,
        seq: seq_from_sql(row.try_get(2).map_err(PgError::from)?)?,
    }))
}

/// The latest keyframe from `from` to `at_most` that no op after it, up to `upto`, reaches
/// behind; `None` when no stored keyframe will do.
pub(super) async fn latest_keyframe(
    pg: &Pg,
    room: Uuid,
    from: u64,
    at_most: u64,
    upto: u64,
) -> Result<Option<u64>, StoreError> {
    let upto = sql_seq(upto)?;
    let candidates = query(
        pg,
        "SELECT seq FROM keyframes WHERE room = $1 AND seq <= $2 AND seq >= $3
          ORDER BY seq DESC",
        &[&room, &sql_seq(at_most)?.min(upto), &sql_seq(from)?],
    )
    .await?;
    // The oldest seq any op after the candidate (up to `upto`) reaches back to.
    let mut oldest = i64::MAX;
    let mut above = upto;
    for row in candidates {
        let k: i64 = row.try_get(0).map_err(PgError::from)?;
        let min: Option<i64> = one(
            pg,
            "SELECT min(reach) FROM ops WHERE room = $1 AND seq > $2 AND seq <= $3",
            &[&room, &k, &above],
        )
        .await?;
        oldest = oldest.min(min.unwrap_or(i64::MAX));
        above = k;
        if oldest > k {
            return Ok(Some(seq_from_sql(k)?));
        }
    }
    Ok(None)
}

/// The canvas at keyframe `seq`: each tile's latest row at or before it (one primary-key seek
/// per tile, in one round trip).
pub(super) async fn keyframe(pg: &Pg, meta: &RoomMeta, seq: u64) -> Result<Canvas, StoreError> {
    let mut canvas = blank(meta)?;
    let tiles: Vec<TileId> = canvas.all_tiles();
    let rows: Vec<i32> = tiles.iter().map(|t| i32::from(t.row)).collect();
    let cols: Vec<i32> = tiles.iter().map(|t| i32::from(t.col)).collect();
    let pngs = query(
        pg,
        "SELECT u.row, u.col,
                (SELECT k.png FROM keyframe_tiles k
                  WHERE k.room = $1 AND k.row = u.row AND k.col = u.col AND k.seq <= $2
                  ORDER BY k.seq DESC LIMIT 1)
           FROM unnest($3::integer[], $4::integer[]) AS u(row, col)",
        &[&meta.id, &sql_seq(seq)?, &rows, &cols],
    )
    .await?;
    let stored = tile_rows(&pngs)?;
    let room = meta.id;
    off_thread(move || {
        for (row, col, png) in stored {
            if let Some(png) = png {
                let (tile, pixels) = decode_tile(&canvas, room, col, row, &png)?;
                canvas.set_tile(tile, pixels);
            }
        }
        Ok(canvas)
    })
    .await
}

/// A stored tile: its row, its column and its PNG (`None`: transparent).
type TileRow = (u16, u16, Option<Vec<u8>>);

/// Rows of (row, col, png) as tile indices and bytes.
fn tile_rows(rows: &[Row]) -> Result<Vec<TileRow>, StoreError> {
    rows.iter()
        .map(|row| {
            let (r, c, png): (i32, i32, Option<Vec<u8>>) = (
                row.try_get(0).map_err(PgError::from)?,
                row.try_get(1).map_err(PgError::from)?,
                row.try_get(2).map_err(PgError::from)?,
            );
            Ok((tile_index(r)?, tile_index(c)?, png))
        })
        .collect()
}

/// Runs CPU work (decoding tiles, parsing ops) on the blocking pool, so that the store's one
/// PostgreSQL thread (its writer and lease renewals) never waits for it.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Corrupt(format!("decoding stored data failed: {e}")))?
}

/// The oldest seq any op after `after`, up to `upto`, re-rendered from.
pub(super) async fn oldest_reach(
    pg: &Pg,
    room: Uuid,
    after: u64,
    upto: u64,
) -> Result<Option<u64>, StoreError> {
    let min: Option<i64> = one(
        pg,
        "SELECT min(reach) FROM ops WHERE room = $1 AND seq > $2 AND seq <= $3",
        &[&room, &sql_seq(after)?, &sql_seq(upto)?],
    )
    .await?;
    min.map(|m| Ok(seq_from_sql(m)?)).transpose()
}

/// Up to `limit` ops after `after` and up to `upto`, in order, with restores' pixels.
pub(super) async fn ops(
    pg: &Pg,
    meta: &RoomMeta,
    after: u64,
    upto: u64,
    limit: usize,
) -> Result<Vec<StoredOp>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = query(
        pg,
        "SELECT seq, author, data, (extract(epoch FROM at) * 1000)::bigint
           FROM ops WHERE room = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
        &[&meta.id, &sql_seq(after)?, &sql_seq(upto)?, &limit],
    )
    .await?;
    let owned = meta.clone();
    let mut ops = off_thread(move || {
        rows.iter()
            .map(|row| stored_op(&owned, row))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    for op in ops
        .iter_mut()
        .filter(|op| matches!(op.record, Record::Restore { .. }))
    {
        let rows = query(
            pg,
            "SELECT row, col, png FROM restore_tiles WHERE room = $1 AND seq = $2
              ORDER BY row, col",
            &[&meta.id, &sql_seq(op.seq)?],
        )
        .await?;
        let stored = tile_rows(&rows)?;
        let shape = blank(meta)?;
        let room = meta.id;
        op.tiles = off_thread(move || {
            stored
                .into_iter()
                .map(|(row, col, png)| match png {
                    Some(png) => decode_tile(&shape, room, col, row, &png),
                    None => Ok((TileId { row, col }, None)),
                })
                .collect()
        })
        .await?;
    }
    Ok(ops)
}

/// The bytes of the images `ops` draw, by id.
pub(super) async fn images_for(
    pg: &Pg,
    room: Uuid,
    ops: &[StoredOp],
) -> Result<std::collections::HashMap<String, Vec<u8>>, StoreError> {
    let mut images = std::collections::HashMap::new();
    for (id, seq) in images_wanted(ops, &std::collections::HashMap::new()) {
        let bytes = super::read::image(pg, room, id)
            .await?
            .ok_or_else(|| image_missing(room, seq, id))?;
        images.insert(id.to_owned(), bytes);
    }
    Ok(images)
}

/// The commit times of up to `count` ops spread evenly over `from..=upto`, ascending.
pub(super) async fn marks(
    pg: &Pg,
    room: Uuid,
    from: u64,
    upto: u64,
    count: u64,
) -> Result<Vec<(u64, Option<i64>)>, StoreError> {
    let seqs = mark_seqs(from, upto, count);
    let wanted = seqs
        .iter()
        .map(|&s| sql_seq(s))
        .collect::<Result<Vec<i64>, _>>()?;
    let rows = query(
        pg,
        "SELECT seq, (extract(epoch FROM at) * 1000)::bigint FROM ops
          WHERE room = $1 AND seq = ANY($2)",
        &[&room, &wanted],
    )
    .await?;
    let mut times = std::collections::HashMap::new();
    for row in rows {
        let seq: i64 = row.try_get(0).map_err(PgError::from)?;
        let at: Option<i64> = row.try_get(1).map_err(PgError::from)?;
        times.insert(seq_from_sql(seq)?, at);
    }
    Ok(seqs
        .into_iter()
        .map(|seq| (seq, times.get(&seq).copied().flatten()))
        .collect())
}

/// The latest op committed at or before `at` (unix milliseconds).
pub(super) async fn seq_at(pg: &Pg, room: Uuid, at: i64) -> Result<Option<u64>, StoreError> {
    let seq: Option<i64> = one(
        pg,
        "SELECT max(seq) FROM ops
          WHERE room = $1 AND at IS NOT NULL AND (extract(epoch FROM at) * 1000)::bigint <= $2",
        &[&room, &at],
    )
    .await?;
    seq.map(|s| Ok(seq_from_sql(s)?)).transpose()
}

/// A tile row or column as stored.
fn tile_index(v: i32) -> Result<u16, StoreError> {
    u16::try_from(v).map_err(|_| StoreError::Corrupt(format!("tile index {v}")))
}

/// One row of `ops` (seq, author, data, at in unix ms).
fn stored_op(meta: &RoomMeta, row: &Row) -> Result<StoredOp, StoreError> {
    let seq = seq_from_sql(row.try_get(0).map_err(PgError::from)?)?;
    let data: String = row.try_get(2).map_err(PgError::from)?;
    let record: Record = serde_json::from_str(&data)
        .map_err(|e| StoreError::Corrupt(format!("room {} op {seq}: {e}", meta.id)))?;
    Ok(StoredOp {
        seq,
        author: row.try_get(1).map_err(PgError::from)?,
        record,
        at: row.try_get(3).map_err(PgError::from)?,
        tiles: Vec::new(),
    })
}

/// The cluster store's reader of rooms' history: each read runs on the store's PostgreSQL
/// runtime, and the calling (blocking) thread waits for it.
pub(super) struct PgHistory {
    pub(super) pg: Pg,
    pub(super) handle: tokio::runtime::Handle,
}

impl PgHistory {
    /// Runs one read on the PostgreSQL runtime and waits for it.
    fn run<T, F>(&self, work: impl FnOnce(Pg) -> F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        super::wait(&self.handle, work(self.pg.clone())).ok_or(StoreError::Closed)?
    }
}

impl HistoryRead for PgHistory {
    fn bounds(&self, room: Uuid) -> Result<Option<Bounds>, StoreError> {
        self.run(|pg| async move { bounds(&pg, room).await })
    }

    fn latest_keyframe(
        &self,
        room: Uuid,
        from: u64,
        at_most: u64,
        upto: u64,
    ) -> Result<Option<u64>, StoreError> {
        self.run(|pg| async move { latest_keyframe(&pg, room, from, at_most, upto).await })
    }

    fn keyframe(&self, meta: &RoomMeta, seq: u64) -> Result<Canvas, StoreError> {
        let meta = meta.clone();
        self.run(|pg| async move { keyframe(&pg, &meta, seq).await })
    }

    fn oldest_reach(&self, room: Uuid, after: u64, upto: u64) -> Result<Option<u64>, StoreError> {
        self.run(|pg| async move { oldest_reach(&pg, room, after, upto).await })
    }

    fn ops(
        &self,
        meta: &RoomMeta,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<StoredOp>, StoreError> {
        let meta = meta.clone();
        self.run(|pg| async move { ops(&pg, &meta, after, upto, limit).await })
    }

    fn image(&self, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.to_owned();
        self.run(|pg| async move { super::read::image(&pg, room, &id).await })
    }

    fn marks(
        &self,
        room: Uuid,
        from: u64,
        upto: u64,
        count: u64,
    ) -> Result<Vec<(u64, Option<i64>)>, StoreError> {
        self.run(|pg| async move { marks(&pg, room, from, upto, count).await })
    }

    fn seq_at(&self, room: Uuid, at: i64) -> Result<Option<u64>, StoreError> {
        self.run(|pg| async move { seq_at(&pg, room, at).await })
    }
}
