//! The cluster store's reads: a room's facts, and a room loaded from its base keyframe and the
//! ops after it, the same way the SQLite store loads one (`store/history.rs`).

use std::time::Duration;

use uuid::Uuid;

use super::history::{self, query};
use crate::cluster::pg::{seq_from_sql, Pg, PgError};
use crate::meta::{parse_background, RoomMeta};
use crate::store::{whole_secs, RoomFacts, StoreError, StoredRoom};

/// A room's metadata, if it exists.
pub(super) async fn room_meta(pg: &Pg, id: Uuid) -> Result<Option<RoomMeta>, StoreError> {
    let row = query(
        pg,
        "SELECT name, width, height, background, edit_key, owner_key
                           FROM rooms WHERE id = $1",
        &[&id],
    )
    .await?
    .into_iter()
    .next();
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

/// A room with its base keyframe and its ops after it up to `upto`, if it exists: the same
/// start as the SQLite store's (the latest keyframe up to the base that no op up to `upto`
/// reaches behind).
pub(super) async fn load_room(
    pg: &Pg,
    id: Uuid,
    upto: u64,
) -> Result<Option<StoredRoom>, StoreError> {
    let Some(meta) = room_meta(pg, id).await? else {
        return Ok(None);
    };
    let Some(bounds) = history::bounds(pg, id).await? else {
        return Ok(None);
    };
    let base: i64 = one(
        pg,
        "SELECT COALESCE((SELECT seq FROM bases WHERE room = $1), 0)",
        &[&id],
    )
    .await?;
    let base = seq_from_sql(base)?.min(upto);
    let base_seq = match history::latest_keyframe(pg, id, bounds.from, base, upto).await? {
        Some(k) => k,
        None if bounds.from == 0 => 0,
        None => {
            return Err(StoreError::Corrupt(format!(
                "room {id} has no keyframe to replay seq {upto} from"
            )))
        }
    };
    let base = history::keyframe(pg, &meta, base_seq).await?;
    let ops = history::ops(pg, &meta, base_seq, upto, usize::MAX >> 1).await?;
    let images = history::images_for(pg, id, &ops).await?;
    Ok(Some(StoredRoom {
        meta,
        base_seq,
        base,
        ops,
        images,
    }))
}

/// The client op ids among a room's latest `limit` ops, oldest first.
pub(super) async fn client_ops(
    pg: &Pg,
    room: Uuid,
    limit: usize,
) -> Result<Vec<(String, u64)>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = query(
        pg,
        "SELECT seq, data FROM (SELECT seq, data FROM ops WHERE room = $1
                           ORDER BY seq DESC LIMIT $2) AS latest
                          WHERE position('\"op\":' IN data) > 0 ORDER BY seq",
        &[&room, &limit],
    )
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
    let row = query(
        pg,
        "SELECT data FROM images WHERE room = $1 AND id = $2",
        &[&room, &id],
    )
    .await?
    .into_iter()
    .next();
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
pub(super) async fn one<T>(
    pg: &Pg,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<T, StoreError>
where
    T: for<'r> tokio_postgres::types::FromSql<'r>,
{
    let rows = query(pg, sql, params).await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt(format!("no row from {sql}")))?;
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
    let after = after.unwrap_or(Uuid::nil());
    let rows = match only {
        Some(id) => {
            let sql = format!("SELECT {COLUMNS} FROM rooms r WHERE r.id = $1");
            query(pg, &sql, &[&id]).await?
        }
        None => {
            let sql =
                format!("SELECT {COLUMNS} FROM rooms r WHERE r.id > $1 ORDER BY r.id LIMIT $2");
            query(pg, &sql, &[&after, &limit]).await?
        }
    };
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
    let rows = query(
        pg,
        "SELECT id FROM rooms
                          WHERE extract(epoch FROM COALESCE(touched_at, created_at))::bigint
                                + COALESCE(retention_secs, $1) <= $2
                          ORDER BY COALESCE(touched_at, created_at) LIMIT $3",
        &[&default, &now, &limit],
    )
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
