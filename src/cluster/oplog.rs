//! The fenced op-log append: a room's ops go into PostgreSQL only while the writer holds the
//! room's lease at the epoch it claims, and only as the next seqs of the log.
//!
//! # How the fence holds
//!
//! One transaction, at PostgreSQL's default isolation (READ COMMITTED), does everything:
//!
//! 1. `SELECT 1 FROM leases WHERE room = $1 AND owner = $2 AND epoch = $3
//!    AND expires_at > clock_timestamp() FOR UPDATE`: no row means another epoch owns the room
//!    (or ours expired): [`AppendError::Fenced`], nothing written.
//! 2. The log's last seq (the room's `history_from` for an empty log), then the ops must be
//!    exactly `last + 1, last + 2, ...`, else [`AppendError::Seq`].
//! 3. The ops (and a restore's tiles) in one `INSERT ... SELECT FROM unnest(...)` each; the
//!    primary key `(room, seq)` backs the seq check.
//! 4. `COMMIT`.
//!
//! The row lock of step 1 is what serializes a stale owner against a takeover.
//! [`Leases::acquire`](super::lease::Leases::acquire)'s upsert locks the same row, and the two
//! locks conflict, so either the append locked first, and the takeover waits until the append
//! has committed (the old epoch's ops come before the new owner's), or the takeover locked
//! first, and the append waits, then re-reads the row as the takeover committed it (READ
//! COMMITTED re-checks a locked row's new version), finds another epoch and is fenced. No
//! interleaving lets an old epoch's op commit after a takeover. `clock_timestamp()` rather
//! than `now()` makes the expiry check happen after any wait for the lock, not at the start of
//! the transaction.
//!
//! `FOR UPDATE` rather than `FOR SHARE` because it also serializes two appends of the same
//! room: the second waits for the first, then reads its last seq, so step 2 is exact and a
//! racing duplicate is refused as [`AppendError::Seq`] rather than as a key violation. Only
//! one node writes a room, so nothing useful waits. SERIALIZABLE isolation would give the same
//! safety but fail racing transactions with serialization errors that every caller must retry;
//! the row lock gives exactly the order needed without retries.
//!
//! A stalled owner cannot keep the row locked to stop a takeover: every connection sets
//! `idle_in_transaction_session_timeout` and `lock_timeout` ([`Pg`]), after which the server
//! ends its transaction. A [`PgError::Timeout`] or a broken connection during the commit
//! leaves the outcome unknown: read [`OpLog::last_seq`] before writing again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::lease::Lease;
use super::pg::{seq_from_sql, seq_to_sql, Pg, PgError};
use crate::canvas::{encode_png, TileId};
use crate::store::NewOp;

/// Step 1: the lease row, locked, if it is still this owner's at this epoch and unexpired.
const CHECK_LEASE: &str = "SELECT 1 FROM leases
     WHERE room = $1 AND owner = $2 AND epoch = $3 AND expires_at > clock_timestamp()
     FOR UPDATE";

/// Step 2: where the room's log starts and its last seq (NULL for an empty log).
const LAST_SEQ: &str = "SELECT r.history_from, (SELECT max(seq) FROM ops WHERE room = r.id)
     FROM rooms r WHERE r.id = $1";

/// Step 3: the ops.
const INSERT_OPS: &str = "INSERT INTO ops (room, seq, author, data, at, reach, epoch)
     SELECT $1, u.seq, u.author, u.data, u.at, u.reach, $7
     FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[])
          AS u(seq, author, data, at, reach)";

/// Step 3: a restore's tiles.
const INSERT_TILES: &str = "INSERT INTO restore_tiles (room, seq, row, col, png)
     SELECT $1, u.seq, u.row, u.col, u.png
     FROM unnest($2::bigint[], $3::integer[], $4::integer[], $5::bytea[])
          AS u(seq, row, col, png)";

/// One op ready for the log: its record already JSON and a restore's tiles already PNG (do
/// that off the room's loop: see [`LogOp::encode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOp {
    /// Its seq: the log's last plus one.
    pub seq: u64,
    /// The key of the undo stack it went on.
    pub author: String,
    /// The op's [`Record`](crate::store::Record) as JSON.
    pub data: String,
    /// When it was committed, unix milliseconds.
    pub at: i64,
    /// For an undo, redo or revert: the oldest seq it re-rendered from.
    pub reach: Option<u64>,
    /// A restore's pixels: the tiles it changed, as PNG (`None`: transparent).
    pub tiles: Vec<(TileId, Option<Vec<u8>>)>,
}

impl LogOp {
    /// The store's [`NewOp`] ready for the log: the record serialized, a restore's tiles
    /// encoded. CPU work: run it on the blocking pool for ops with tiles.
    pub fn encode(op: &NewOp<'_>) -> LogOp {
        LogOp {
            seq: op.seq,
            author: op.author.to_owned(),
            data: serde_json::to_string(op.record).expect("records always serialize"),
            at: op.at,
            reach: op.reach,
            tiles: op
                .tiles
                .iter()
                .map(|(id, tile)| {
                    let png = tile
                        .as_ref()
                        .map(|p| encode_png(p.data(), p.width(), p.height()));
                    (*id, png)
                })
                .collect(),
        }
    }
}

/// Why an append wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The lease is no longer this owner's at this epoch (taken over, released or expired):
    /// stop acting as the room's owner.
    #[error("room {room} is no longer held at epoch {epoch}: its ops are fenced off")]
    Fenced {
        /// The room.
        room: Uuid,
        /// The epoch the append claimed.
        epoch: i64,
    },
    /// The ops are not the next seqs of the log (a gap or a repeat).
    #[error("room {room}'s log takes seq {expected} next, not {got}")]
    Seq {
        /// The room.
        room: Uuid,
        /// The seq the log takes next.
        expected: u64,
        /// The seq offered.
        got: u64,
    },
    /// The room does not exist (deleted meanwhile).
    #[error("room {0} does not exist")]
    NoRoom(Uuid),
    /// The database failed; after a timeout or a broken connection the outcome is unknown.
    #[error("the op log could not be written: {0}")]
    Store(#[from] PgError),
}

impl From<tokio_postgres::Error> for AppendError {
    fn from(e: tokio_postgres::Error) -> Self {
        AppendError::Store(PgError::Db(e))
    }
}

/// A unix-milliseconds time as a `timestamptz`.
fn time_from_millis(ms: i64) -> Option<SystemTime> {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// The ops as the columns [`INSERT_OPS`] and [`INSERT_TILES`] unnest.
struct Columns<'a> {
    seq: Vec<i64>,
    author: Vec<&'a str>,
    data: Vec<&'a str>,
    at: Vec<SystemTime>,
    reach: Vec<Option<i64>>,
    tile_seq: Vec<i64>,
    tile_row: Vec<i32>,
    tile_col: Vec<i32>,
    tile_png: Vec<Option<&'a [u8]>>,
}

impl<'a> Columns<'a> {
    fn of(ops: &'a [LogOp]) -> Result<Columns<'a>, PgError> {
        let mut c = Columns {
            seq: Vec::with_capacity(ops.len()),
            author: Vec::with_capacity(ops.len()),
            data: Vec::with_capacity(ops.len()),
            at: Vec::with_capacity(ops.len()),
            reach: Vec::with_capacity(ops.len()),
            tile_seq: Vec::new(),
            tile_row: Vec::new(),
            tile_col: Vec::new(),
            tile_png: Vec::new(),
        };
        for op in ops {
            let seq = seq_to_sql(op.seq)?;
            c.seq.push(seq);
            c.author.push(&op.author);
            c.data.push(&op.data);
            c.at.push(time_from_millis(op.at).ok_or_else(|| {
                PgError::Corrupt(format!("op {} has time {} out of range", op.seq, op.at))
            })?);
            c.reach.push(op.reach.map(seq_to_sql).transpose()?);
            for (id, png) in &op.tiles {
                c.tile_seq.push(seq);
                c.tile_row.push(i32::from(id.row));
                c.tile_col.push(i32::from(id.col));
                c.tile_png.push(png.as_deref());
            }
        }
        Ok(c)
    }
}

/// Rooms' op logs in PostgreSQL, written only under a lease.
#[derive(Debug, Clone)]
pub struct OpLog {
    /// The database.
    pg: Pg,
}

impl OpLog {
    /// The op logs in `pg`.
    pub fn new(pg: Pg) -> OpLog {
        OpLog { pg }
    }

    /// Appends `ops` (consecutive seqs following the log's last) to `lease`'s room in one
    /// transaction, if `lease` still holds the room (see the module doc for how the fence
    /// holds). All or nothing. An empty `ops` writes nothing and checks nothing.
    pub async fn append(&self, lease: &Lease, ops: &[LogOp]) -> Result<(), AppendError> {
        let Some(first) = ops.first() else {
            return Ok(());
        };
        let room = lease.room();
        if let Some((i, op)) = ops
            .iter()
            .enumerate()
            .find(|(i, op)| op.seq != first.seq.wrapping_add(*i as u64))
        {
            return Err(AppendError::Seq {
                room,
                expected: first.seq.wrapping_add(i as u64),
                got: op.seq,
            });
        }
        let columns = Columns::of(ops)?;
        self.pg
            .bounded(async {
                let mut client = self.pg.client().await?;
                let tx = client.transaction().await?;
                let held = tx
                    .query_opt(CHECK_LEASE, &[&room, &lease.owner(), &lease.epoch()])
                    .await?;
                if held.is_none() {
                    return Err(AppendError::Fenced {
                        room,
                        epoch: lease.epoch(),
                    });
                }
                let Some(row) = tx.query_opt(LAST_SEQ, &[&room]).await? else {
                    return Err(AppendError::NoRoom(room));
                };
                let from: i64 = row.try_get(0)?;
                let last: Option<i64> = row.try_get(1)?;
                let expected = seq_from_sql(last.unwrap_or(from))?.saturating_add(1);
                if first.seq != expected {
                    return Err(AppendError::Seq {
                        room,
                        expected,
                        got: first.seq,
                    });
                }
                let inserted = tx
                    .execute(
                        INSERT_OPS,
                        &[
                            &room,
                            &columns.seq,
                            &columns.author,
                            &columns.data,
                            &columns.at,
                            &columns.reach,
                            &lease.epoch(),
                        ],
                    )
                    .await;
                match inserted {
                    Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                        return Err(AppendError::Seq {
                            room,
                            expected,
                            got: first.seq,
                        })
                    }
                    other => other?,
                };
                if !columns.tile_seq.is_empty() {
                    tx.execute(
                        INSERT_TILES,
                        &[
                            &room,
                            &columns.tile_seq,
                            &columns.tile_row,
                            &columns.tile_col,
                            &columns.tile_png,
                        ],
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            })
            .await
    }

    /// The last seq of a room's log (where its history starts, for an empty log), or `None`
    /// if the room does not exist. After an append whose outcome is unknown, this tells
    /// whether it committed.
    pub async fn last_seq(&self, room: Uuid) -> Result<Option<u64>, PgError> {
        self.pg
            .bounded(async {
                let client = self.pg.client().await?;
                let Some(row) = client.query_opt(LAST_SEQ, &[&room]).await? else {
                    return Ok(None);
                };
                let from: i64 = row.try_get(0)?;
                let last: Option<i64> = row.try_get(1)?;
                Ok(Some(seq_from_sql(last.unwrap_or(from))?))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::time_from_millis;
    use std::time::{Duration, UNIX_EPOCH};

    /// Commit times map to `timestamptz` both sides of 1970.
    #[test]
    fn cluster_times_convert_both_sides_of_the_epoch() {
        assert_eq!(
            time_from_millis(1_500),
            Some(UNIX_EPOCH + Duration::from_millis(1_500))
        );
        assert_eq!(
            time_from_millis(-1_500),
            UNIX_EPOCH.checked_sub(Duration::from_millis(1_500))
        );
    }
}
