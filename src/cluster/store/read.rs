//! The cluster store's reads: a room's facts, and a room loaded from its base keyframe and the
//! ops after it, the same way the SQLite store loads one (`store/history.rs`).

use std::collections::HashMap;
use std::time::Duration;

use tokio_postgres::Row;
use uuid::Uuid;

use crate::canvas::TileId;
use crate::cluster::pg::{seq_from_sql, seq_to_sql, Pg, PgError};
use crate::meta::{parse_background, RoomMeta};
use crate::store::history::{blank, decode_tile};
use crate::store::{whole_secs, Record, RoomFacts, StoreError, StoredOp, StoredRoom};

/// A room's metadata, if it exists.
pub(super) async fn room_meta(pg: &Pg, id: Uuid) -> Result<Option<RoomMeta>, StoreError> {
    let row = pg
        .bounded(async {
            let client = pg.client().await?;
            Ok::<_, PgError>(
                client
                    .query_opt(
                        "SELECT name, width, height, background, edit_key, owner_key
                           FROM rooms WHERE id = $1",
                        &[&id],
                    )
                    .await?,
            )
        })
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let background: String = row.try_get(3).map_err(PgError::from)?;
    let size = |i: usize| -> Result<u32, StoreError> {
        let v: i32 = row.try_get(i).map_err(PgError::from)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("room {id} has size {v}")))
    };
    Ok(Some(RoomMeta {
        id,
        name: row.try_get(0).map_err(PgError::from)?,
        width: size(1)?,
        height: size(2)?,
        background: parse_background(&background).ok_or_else(|| {
            StoreError::Corrupt(format!("room {id} has background {background:?}"))
        })?,
        edit_key: row.try_get(4).map_err(PgError::from)?,
        owner_key: row.try_get(5).map_err(PgError::from)?,
    }))
}

/// A room with its base keyframe and its ops after it up to `upto`, if it exists.
pub(super) async fn load_room(
    pg: &Pg,
    id: Uuid,
    upto: u64,
) -> Result<Option<StoredRoom>, StoreError> {
    let Some(meta) = room_meta(pg, id).await? else {
        return Ok(None);
    };
    let upto_sql = seq_to_sql(upto.min(i64::MAX as u64))?;
    // A long room's load may take longer than one call's bound: each query is bounded alone.
    let client = pg.bounded(pg.client()).await?;
    let head = query(
        pg,
        &client,
        "SELECT r.history_from, COALESCE((SELECT seq FROM bases WHERE room = r.id), 0)
           FROM rooms r WHERE r.id = $1",
        &[&id],
    )
    .await?;
    let Some(head) = head.first() else {
        return Ok(None);
    };
    let from = seq_from_sql(head.try_get(0).map_err(PgError::from)?)?;
    let base = seq_from_sql(head.try_get(1).map_err(PgError::from)?)?.min(upto);
    // The latest keyframe from `from` to the base that no op up to `upto` reaches behind.
    let candidates = query(
        pg,
        &client,
        "SELECT seq FROM keyframes WHERE room = $1 AND seq <= $2 AND seq >= $3 ORDER BY seq DESC",
        &[&id, &seq_to_sql(base)?, &seq_to_sql(from)?],
    )
    .await?;
    let mut start = None;
    let mut oldest = u64::MAX;
    let mut above = upto_sql;
    for row in candidates {
        let k: i64 = row.try_get(0).map_err(PgError::from)?;
        let reach = query(
            pg,
            &client,
            "SELECT min(reach) FROM ops WHERE room = $1 AND seq > $2 AND seq <= $3",
            &[&id, &k, &above],
        )
        .await?;
        let min: Option<i64> = reach
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(PgError::from)?
            .flatten();
        oldest = oldest.min(min.map_or(u64::MAX, |m| m.max(0) as u64));
        above = k;
        let k = seq_from_sql(k)?;
        if oldest > k {
            start = Some(k);
            break;
        }
    }
    let base_seq = match start {
        Some(k) => k,
        None if from == 0 => 0,
        None => {
            return Err(StoreError::Corrupt(format!(
                "room {id} has no keyframe to replay seq {upto} from"
            )))
        }
    };
    // The canvas at the base: each tile's latest row at or before it.
    let mut base = blank(&meta)?;
    let tiles: Vec<TileId> = base.all_tiles();
    let rows: Vec<i32> = tiles.iter().map(|t| i32::from(t.row)).collect();
    let cols: Vec<i32> = tiles.iter().map(|t| i32::from(t.col)).collect();
    let pngs = query(
        pg,
        &client,
        "SELECT u.row, u.col,
                (SELECT k.png FROM keyframe_tiles k
                  WHERE k.room = $1 AND k.row = u.row AND k.col = u.col AND k.seq <= $2
                  ORDER BY k.seq DESC LIMIT 1)
           FROM unnest($3::integer[], $4::integer[]) AS u(row, col)",
        &[&id, &seq_to_sql(base_seq)?, &rows, &cols],
    )
    .await?;
    for row in pngs {
        let (r, c, png): (i32, i32, Option<Vec<u8>>) = (
            row.try_get(0).map_err(PgError::from)?,
            row.try_get(1).map_err(PgError::from)?,
            row.try_get(2).map_err(PgError::from)?,
        );
        if let Some(png) = png {
            let (tile, pixels) = decode_tile(&base, id, tile_index(c)?, tile_index(r)?, &png)?;
            base.set_tile(tile, pixels);
        }
    }
    // The ops after it.
    let rows = query(
        pg,
        &client,
        "SELECT seq, author, data, (extract(epoch FROM at) * 1000)::bigint
           FROM ops WHERE room = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
        &[&id, &seq_to_sql(base_seq)?, &upto_sql],
    )
    .await?;
    let mut ops = Vec::with_capacity(rows.len());
    for row in rows {
        ops.push(stored_op(&meta, &row)?);
    }
    for op in ops
        .iter_mut()
        .filter(|op| matches!(op.record, Record::Restore { .. }))
    {
        let rows = query(
            pg,
            &client,
            "SELECT row, col, png FROM restore_tiles WHERE room = $1 AND seq = $2
              ORDER BY row, col",
            &[&id, &seq_to_sql(op.seq)?],
        )
        .await?;
        for row in rows {
            let (r, c, png): (i32, i32, Option<Vec<u8>>) = (
                row.try_get(0).map_err(PgError::from)?,
                row.try_get(1).map_err(PgError::from)?,
                row.try_get(2).map_err(PgError::from)?,
            );
            op.tiles.push(match png {
                Some(png) => decode_tile(&base, id, tile_index(c)?, tile_index(r)?, &png)?,
                None => (
                    TileId {
                        row: tile_index(r)?,
                        col: tile_index(c)?,
                    },
                    None,
                ),
            });
        }
    }
    // The images those ops draw.
    let mut images = HashMap::new();
    for op in &ops {
        if let Some((image_id, _)) = op.record.image() {
            if images.contains_key(image_id) {
                continue;
            }
            let bytes = image(pg, id, image_id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "room {id} op {} draws image {image_id}, which is not stored",
                    op.seq
                ))
            })?;
            images.insert(image_id.to_owned(), bytes);
        }
    }
    Ok(Some(StoredRoom {
        meta,
        base_seq,
        base,
        ops,
        images,
    }))
}

/// One bounded query on `client`.
async fn query(
    pg: &Pg,
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    Ok(pg
        .bounded(async { Ok::<_, PgError>(client.query(sql, params).await?) })
        .await?)
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

/// The client op ids among a room's latest `limit` ops, oldest first.
pub(super) async fn client_ops(
    pg: &Pg,
    room: Uuid,
    limit: usize,
) -> Result<Vec<(String, u64)>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = pg
        .bounded(async {
            let client = pg.client().await?;
            Ok::<_, PgError>(
                client
                    .query(
                        "SELECT seq, data FROM (SELECT seq, data FROM ops WHERE room = $1
                           ORDER BY seq DESC LIMIT $2) AS latest
                          WHERE position('\"op\":' IN data) > 0 ORDER BY seq",
                        &[&room, &limit],
                    )
                    .await?,
            )
        })
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let seq = seq_from_sql(row.try_get(0).map_err(PgError::from)?)?;
        let data: String = row.try_get(1).map_err(PgError::from)?;
        out.extend(crate::store::client_op_of(&data).map(|op| (op, seq)));
    }
    Ok(out)
}

/// One uploaded image's bytes, if the room has it.
pub(super) async fn image(pg: &Pg, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let row = pg
        .bounded(async {
            let client = pg.client().await?;
            Ok::<_, PgError>(
                client
                    .query_opt(
                        "SELECT data FROM images WHERE room = $1 AND id = $2",
                        &[&room, &id],
                    )
                    .await?,
            )
        })
        .await?;
    Ok(row
        .map(|r| r.try_get::<_, Vec<u8>>(0))
        .transpose()
        .map_err(PgError::from)?)
}

/// Number of rooms.
pub(super) async fn room_count(pg: &Pg) -> Result<u64, StoreError> {
    let n: i64 = one(pg, "SELECT count(*) FROM rooms", &[]).await?;
    Ok(n.max(0) as u64)
}

/// Whether the room's owner locked it (false for no such room).
pub(super) async fn owner_locked(pg: &Pg, id: Uuid) -> Result<bool, StoreError> {
    let locked: Option<bool> = one(
        pg,
        "SELECT (SELECT owner_locked FROM rooms WHERE id = $1)",
        &[&id],
    )
    .await?;
    Ok(locked.unwrap_or(false))
}

/// The first column of a query's one row.
async fn one<T>(
    pg: &Pg,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<T, StoreError>
where
    T: for<'r> tokio_postgres::types::FromSql<'r>,
{
    let row = pg
        .bounded(async {
            let client = pg.client().await?;
            Ok::<_, PgError>(client.query_one(sql, params).await?)
        })
        .await?;
    Ok(row.try_get(0).map_err(PgError::from)?)
}

/// The facts of one room (`only`), or of up to `limit` rooms in id order after `after`.
pub(super) async fn facts(
    pg: &Pg,
    only: Option<Uuid>,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<RoomFacts>, StoreError> {
    const COLUMNS: &str = "r.id, r.name, r.width, r.height,
        extract(epoch FROM r.created_at)::bigint,
        extract(epoch FROM COALESCE(r.touched_at, r.created_at))::bigint,
        r.retention_secs, r.locked,
        GREATEST(COALESCE((SELECT max(seq) FROM ops WHERE room = r.id), 0),
                 COALESCE((SELECT seq FROM bases WHERE room = r.id), 0))";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = pg
        .bounded(async {
            let client = pg.client().await?;
            let rows = match only {
                Some(id) => {
                    client
                        .query(
                            &format!("SELECT {COLUMNS} FROM rooms r WHERE r.id = $1"),
                            &[&id],
                        )
                        .await?
                }
                None => {
                    let after = after.unwrap_or(Uuid::nil());
                    client
                        .query(
                            &format!(
                                "SELECT {COLUMNS} FROM rooms r WHERE r.id > $1
                                  ORDER BY r.id LIMIT $2"
                            ),
                            &[&after, &limit],
                        )
                        .await?
                }
            };
            Ok::<_, PgError>(rows)
        })
        .await?;
    rows.iter()
        .map(|r| -> Result<RoomFacts, StoreError> {
            let get_u32 = |i: usize| -> Result<u32, StoreError> {
                let v: i32 = r.try_get(i).map_err(PgError::from)?;
                Ok(u32::try_from(v).unwrap_or(0))
            };
            let retention: Option<i64> = r.try_get(6).map_err(PgError::from)?;
            let seq: i64 = r.try_get(8).map_err(PgError::from)?;
            Ok(RoomFacts {
                id: r.try_get(0).map_err(PgError::from)?,
                name: r.try_get(1).map_err(PgError::from)?,
                width: get_u32(2)?,
                height: get_u32(3)?,
                created_at: r.try_get(4).map_err(PgError::from)?,
                touched_at: r.try_get(5).map_err(PgError::from)?,
                retention_secs: retention.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
                locked: r.try_get(7).map_err(PgError::from)?,
                seq: seq_from_sql(seq)?,
            })
        })
        .collect()
}

/// Up to `limit` rooms untouched for longer than their retention (or `default`), least
/// recently touched first.
pub(super) async fn expired_rooms(
    pg: &Pg,
    now: i64,
    default: Option<Duration>,
    limit: usize,
) -> Result<Vec<Uuid>, StoreError> {
    let default = default.map(whole_secs);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = pg
        .bounded(async {
            let client = pg.client().await?;
            Ok::<_, PgError>(
                client
                    .query(
                        "SELECT id FROM rooms
                          WHERE extract(epoch FROM COALESCE(touched_at, created_at))::bigint
                                + COALESCE(retention_secs, $1) <= $2
                          ORDER BY COALESCE(touched_at, created_at) LIMIT $3",
                        &[&default, &now, &limit],
                    )
                    .await?,
            )
        })
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get(0).map_err(PgError::from)?))
        .collect()
}

/// The shortest retention of any room, or `default` if shorter.
pub(super) async fn shortest_retention(
    pg: &Pg,
    default: Option<Duration>,
) -> Result<Option<Duration>, StoreError> {
    let own: Option<i64> = one(pg, "SELECT min(retention_secs) FROM rooms", &[]).await?;
    let own = own.map(|s| Duration::from_secs(s.max(0) as u64));
    Ok(match (own, default) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}
