//! The cluster store's writer: one task that writes jobs in the order they were queued. A run
//! of one room's queued ops becomes one fenced append (group commit); keyframes, bases and
//! probes are fenced by the same lease check; a room whose write failed is *held* (its later
//! writes fail at once) until a probe succeeds, as in the SQLite store.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::Claims;
use crate::cluster::oplog::{AppendError, LogOp, OpLog};
use crate::cluster::pg::{seq_to_sql, Pg, PgError};
use crate::cluster::Lease;
use crate::meta::RoomMeta;
use crate::metrics::StoreMetrics;
use crate::store::{Done, EncodedTile, FactUpdate, ImageDone, ImageSaved, NewImage, StoreError};

/// Most jobs taken from the queue at once.
const MAX_BATCH: usize = 256;

/// The lease row, locked, while it is still this owner's at this epoch (see `oplog.rs`).
const CHECK_LEASE: &str = "SELECT 1 FROM leases
     WHERE room = $1 AND owner = $2 AND epoch = $3 AND expires_at > clock_timestamp()
     FOR UPDATE";

/// An op for the log: ready, or a restore whose tiles are still to be PNG-encoded (done on
/// the blocking pool by the writer, never on the room's thread or the PostgreSQL thread).
pub(super) enum ToLog {
    Ready(LogOp),
    Tiles {
        op: LogOp,
        tiles: Vec<crate::store::TileSlot>,
    },
}

impl ToLog {
    /// The op with its tiles encoded.
    async fn ready(self) -> Result<LogOp, StoreError> {
        match self {
            ToLog::Ready(op) => Ok(op),
            ToLog::Tiles { mut op, tiles } => {
                let encoded = tokio::task::spawn_blocking(move || {
                    tiles
                        .into_iter()
                        .map(|(id, tile)| {
                            let png = tile.as_ref().map(|p| {
                                crate::canvas::encode_png(p.data(), p.width(), p.height())
                            });
                            (id, png)
                        })
                        .collect()
                })
                .await
                .map_err(|e| StoreError::Unusable(format!("encoding a restore failed: {e}")))?;
                op.tiles = encoded;
                Ok(op)
            }
        }
    }
}

/// One queued write.
pub(super) enum Job {
    CreateRoom(RoomMeta, Done),
    Append {
        room: Uuid,
        op: ToLog,
        done: Done,
    },
    Keyframe {
        room: Uuid,
        seq: u64,
        tiles: Vec<EncodedTile>,
        done: Done,
    },
    SetBase {
        room: Uuid,
        seq: u64,
        done: Done,
    },
    Probe {
        room: Uuid,
        after: u64,
        done: Done,
    },
    Facts(FactUpdate, Done),
    SaveImage(NewImage, ImageDone),
    DeleteRoom(Uuid, Done),
    Flush(Done),
    /// The room was claimed anew and loaded from the store: earlier failures no longer hold
    /// its writes.
    Unhold(Uuid),
}

impl Job {
    /// Reports a failure (or a plain success) to whoever queued the job.
    pub(super) fn finish(self, result: Result<(), Arc<StoreError>>) {
        match self {
            Job::CreateRoom(_, done)
            | Job::Append { done, .. }
            | Job::Keyframe { done, .. }
            | Job::SetBase { done, .. }
            | Job::Probe { done, .. }
            | Job::Facts(_, done)
            | Job::DeleteRoom(_, done)
            | Job::Flush(done) => done(result),
            Job::SaveImage(_, done) => done(result.map(|()| ImageSaved::NoRoom)),
            Job::Unhold(_) => {}
        }
    }

    /// A job other than an append, image, probe or flush, as its work and its callback (the
    /// work is then written without holding the callback, which is not `Sync`).
    fn split(self) -> Option<(Work, Done)> {
        Some(match self {
            Job::CreateRoom(meta, done) => (Work::CreateRoom(meta), done),
            Job::Keyframe {
                room,
                seq,
                tiles,
                done,
            } => (Work::Keyframe { room, seq, tiles }, done),
            Job::SetBase { room, seq, done } => (Work::SetBase { room, seq }, done),
            Job::Facts(update, done) => (Work::Facts(update), done),
            Job::DeleteRoom(id, done) => (Work::DeleteRoom(id), done),
            Job::Append { .. }
            | Job::SaveImage(..)
            | Job::Probe { .. }
            | Job::Flush(_)
            | Job::Unhold(_) => return None,
        })
    }

    /// The room whose canvas history this job writes (what a failure holds).
    fn room_write(&self) -> Option<Uuid> {
        match self {
            Job::Append { room, .. } | Job::Keyframe { room, .. } | Job::SetBase { room, .. } => {
                Some(*room)
            }
            _ => None,
        }
    }
}

/// A write without its callback.
enum Work {
    CreateRoom(RoomMeta),
    Keyframe {
        room: Uuid,
        seq: u64,
        tiles: Vec<EncodedTile>,
    },
    SetBase {
        room: Uuid,
        seq: u64,
    },
    Facts(FactUpdate),
    DeleteRoom(Uuid),
}

/// The writer task's state.
pub(super) struct Writer {
    pub(super) pg: Pg,
    pub(super) oplog: OpLog,
    pub(super) claims: Arc<Claims>,
    pub(super) writable: Arc<AtomicBool>,
    pub(super) metrics: StoreMetrics,
    /// Rooms whose last write failed: their writes fail until a probe succeeds.
    pub(super) held: HashSet<Uuid>,
}

impl Writer {
    /// Writes jobs until the queue closes.
    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let mut jobs = jobs.into_iter().peekable();
            while let Some(job) = jobs.next() {
                if let Some(room) = job.room_write().filter(|r| self.held.contains(r)) {
                    job.finish(Err(Arc::new(StoreError::Held(room))));
                    continue;
                }
                match job {
                    Job::Append { room, op, done } => {
                        // The run of this room's ops queued after it: one append.
                        let mut ops = vec![op];
                        let mut dones = vec![done];
                        while let Some(Job::Append { room: next, .. }) = jobs.peek() {
                            if *next != room {
                                break;
                            }
                            if let Some(Job::Append { op, done, .. }) = jobs.next() {
                                ops.push(op);
                                dones.push(done);
                            }
                        }
                        let result = self
                            .timed(async {
                                let mut ready = Vec::with_capacity(ops.len());
                                for op in ops {
                                    ready.push(op.ready().await?);
                                }
                                self.append(room, &ready).await
                            })
                            .await;
                        self.settle(Some(room), &result);
                        for done in dones {
                            done(result.clone());
                        }
                    }
                    Job::SaveImage(image, done) => {
                        let result = self.timed(save_image(&self.pg, &image)).await;
                        self.settle(None, &result.as_ref().map(|_| ()).map_err(Arc::clone));
                        done(result);
                    }
                    Job::Probe { room, after, done } => {
                        let result = self.probe(room, after).await.map_err(Arc::new);
                        if result.is_ok() {
                            self.held.remove(&room);
                        }
                        self.settle(None, &result);
                        done(result);
                    }
                    Job::Flush(done) => done(Ok(())),
                    Job::Unhold(room) => {
                        self.held.remove(&room);
                    }
                    job => {
                        let room = job.room_write();
                        let Some((work, done)) = job.split() else {
                            continue;
                        };
                        let result = self.timed(self.write_one(&work)).await;
                        self.settle(room, &result);
                        if let (Work::DeleteRoom(id), Ok(())) = (&work, &result) {
                            self.held.remove(id);
                        }
                        done(result);
                    }
                }
            }
        }
    }

    /// Runs one write, recording its time.
    async fn timed<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, Arc<StoreError>> {
        let started = Instant::now();
        let result = work.await.map_err(Arc::new);
        self.metrics
            .write_seconds
            .observe(started.elapsed().as_secs_f64());
        result
    }

    /// Records an outcome: a failure is logged and holds the room it wrote.
    fn settle(&mut self, room: Option<Uuid>, result: &Result<(), Arc<StoreError>>) {
        if let Err(e) = result {
            self.metrics.write_failures.inc();
            tracing::error!(room = ?room, "store write failed: {e}");
            if let Some(room) = room {
                self.held.insert(room);
            }
        }
        // Only the database's own failures say it is down (not a lost lease, a held room or a
        // refused seq); any write it took says it is up.
        match result {
            Ok(()) => self.writable.store(true, Ordering::Release),
            Err(e) if matches!(**e, StoreError::Postgres(_)) => {
                self.writable.store(false, Ordering::Release)
            }
            Err(_) => {}
        }
    }

    /// The room's lease while this node owns it.
    fn lease(&self, room: Uuid) -> Result<Lease, StoreError> {
        self.claims.lease(room).ok_or(StoreError::NotOwner(room))
    }

    async fn append(&self, room: Uuid, ops: &[LogOp]) -> Result<(), StoreError> {
        let lease = self.lease(room)?;
        self.oplog.append(&lease, ops).await.map_err(|e| match e {
            AppendError::Fenced { room, .. } => StoreError::NotOwner(room),
            AppendError::NoRoom(_) => StoreError::Unusable(format!("room {room} was deleted")),
            AppendError::Seq { .. } => StoreError::Corrupt(e.to_string()),
            AppendError::Store(e) => e.into(),
        })
    }

    /// One job that is neither an append, an image, a probe nor a flush.
    async fn write_one(&self, work: &Work) -> Result<(), StoreError> {
        match work {
            Work::CreateRoom(meta) => create_room(&self.pg, meta).await,
            Work::Keyframe { room, seq, tiles } => {
                let lease = self.lease(*room)?;
                fenced(&self.pg, &lease, Fenced::Keyframe(*seq, tiles)).await
            }
            Work::SetBase { room, seq } => {
                let lease = self.lease(*room)?;
                fenced(&self.pg, &lease, Fenced::Base(seq_to_sql(*seq)?)).await
            }
            Work::Facts(update) => write_facts(&self.pg, update).await,
            Work::DeleteRoom(id) => {
                self.pg
                    .bounded(async {
                        let client = self.pg.client().await?;
                        client
                            .execute("DELETE FROM rooms WHERE id = $1", &[id])
                            .await?;
                        Ok::<_, PgError>(())
                    })
                    .await?;
                Ok(())
            }
        }
    }

    /// After a failed write: drops what the room stored after `after` (an append whose commit
    /// outcome was unknown may have landed), under the lease.
    async fn probe(&self, room: Uuid, after: u64) -> Result<(), StoreError> {
        let lease = self.lease(room)?;
        fenced(&self.pg, &lease, Fenced::DropAfter(seq_to_sql(after)?)).await
    }
}

/// A write of a room's canvas history other than an append, made only under its lease.
enum Fenced<'a> {
    /// Keyframe `seq` with these tiles.
    Keyframe(u64, &'a [EncodedTile]),
    /// The room's base becomes this stored keyframe.
    Base(i64),
    /// A probe: drop what the room stored after this seq.
    DropAfter(i64),
}

/// Runs `work` in one transaction that first locks the lease row: nothing is written unless
/// `lease` still holds the room (another node owns it otherwise: `NotOwner`).
async fn fenced(pg: &Pg, lease: &Lease, work: Fenced<'_>) -> Result<(), StoreError> {
    let room = lease.room();
    let written = pg
        .bounded(async {
            let mut client = pg.client().await?;
            let tx = client.transaction().await?;
            if !holds(&tx, lease).await? {
                return Ok(false);
            }
            match work {
                Fenced::Keyframe(seq, tiles) => write_keyframe(&tx, room, seq, tiles).await?,
                Fenced::Base(seq) => {
                    tx.execute(
                        "INSERT INTO bases (room, seq) SELECT $1, $2
                         WHERE EXISTS (SELECT 1 FROM keyframes WHERE room = $1 AND seq = $2)
                         ON CONFLICT (room) DO UPDATE SET seq = EXCLUDED.seq",
                        &[&room, &seq],
                    )
                    .await?;
                }
                Fenced::DropAfter(after) => {
                    for sql in [
                        "DELETE FROM ops WHERE room = $1 AND seq > $2",
                        "DELETE FROM keyframes WHERE room = $1 AND seq > $2",
                        "DELETE FROM keyframe_tiles WHERE room = $1 AND seq > $2",
                        "DELETE FROM restore_tiles WHERE room = $1 AND seq > $2",
                    ] {
                        tx.execute(sql, &[&room, &after]).await?;
                    }
                }
            }
            tx.commit().await?;
            Ok::<_, PgError>(true)
        })
        .await?;
    if written {
        Ok(())
    } else {
        Err(StoreError::NotOwner(room))
    }
}

/// Locks the lease row inside `tx` if `lease` still holds its room (see `oplog.rs` for why
/// this fences a former owner): false means write nothing.
async fn holds(tx: &Transaction<'_>, lease: &Lease) -> Result<bool, PgError> {
    Ok(tx
        .query_opt(
            CHECK_LEASE,
            &[&lease.room(), &lease.owner(), &lease.epoch()],
        )
        .await?
        .is_some())
}

async fn create_room(pg: &Pg, meta: &RoomMeta) -> Result<(), StoreError> {
    let width = i32::try_from(meta.width).unwrap_or(i32::MAX);
    let height = i32::try_from(meta.height).unwrap_or(i32::MAX);
    pg.bounded(async {
        let client = pg.client().await?;
        client
            .execute(
                "INSERT INTO rooms (id, name, width, height, background, edit_key, owner_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &meta.id,
                    &meta.name,
                    &width,
                    &height,
                    &meta.background.to_hex(),
                    &meta.edit_key,
                    &meta.owner_key,
                ],
            )
            .await?;
        Ok::<_, PgError>(())
    })
    .await?;
    Ok(())
}

/// Stores keyframe `seq`: the tiles whose hash differs from the room's latest stored one.
async fn write_keyframe(
    tx: &Transaction<'_>,
    room: Uuid,
    seq: u64,
    tiles: &[EncodedTile],
) -> Result<(), PgError> {
    let seq = seq_to_sql(seq)?;
    let rows: Vec<i32> = tiles.iter().map(|t| i32::from(t.id.row)).collect();
    let cols: Vec<i32> = tiles.iter().map(|t| i32::from(t.id.col)).collect();
    // Each tile's latest stored hash, one primary-key seek per tile in one round trip.
    let latest = tx
        .query(
            "SELECT (SELECT k.hash FROM keyframe_tiles k
                      WHERE k.room = $1 AND k.row = u.row AND k.col = u.col
                      ORDER BY k.seq DESC LIMIT 1)
               FROM unnest($2::integer[], $3::integer[]) WITH ORDINALITY AS u(row, col, i)
              ORDER BY u.i",
            &[&room, &rows, &cols],
        )
        .await?;
    let mut new_rows = Vec::new();
    let mut new_cols = Vec::new();
    let mut hashes = Vec::new();
    let mut pngs: Vec<Option<&[u8]>> = Vec::new();
    for (tile, row) in tiles.iter().zip(&latest) {
        let stored: Option<i64> = row.try_get(0)?;
        if stored.unwrap_or(0) == tile.hash {
            continue;
        }
        new_rows.push(i32::from(tile.id.row));
        new_cols.push(i32::from(tile.id.col));
        hashes.push(tile.hash);
        pngs.push(tile.png.as_deref());
    }
    if !new_rows.is_empty() {
        tx.execute(
            "INSERT INTO keyframe_tiles (room, row, col, seq, hash, png)
             SELECT $1, u.row, u.col, $2, u.hash, u.png
               FROM unnest($3::integer[], $4::integer[], $5::bigint[], $6::bytea[])
                    AS u(row, col, hash, png)
             ON CONFLICT (room, row, col, seq)
             DO UPDATE SET hash = EXCLUDED.hash, png = EXCLUDED.png",
            &[&room, &seq, &new_rows, &new_cols, &hashes, &pngs],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO keyframes (room, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&room, &seq],
    )
    .await?;
    Ok(())
}

async fn write_facts(pg: &Pg, update: &FactUpdate) -> Result<(), StoreError> {
    type Param<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);
    let secs;
    let (sql, room, value): (&str, &Uuid, Param<'_>) = match update {
        FactUpdate::Touch { room, at } => (
            "UPDATE rooms SET touched_at = to_timestamp($2::bigint) WHERE id = $1",
            room,
            at,
        ),
        FactUpdate::Retention { room, secs: s } => {
            secs = s.map(i64::from);
            (
                "UPDATE rooms SET retention_secs = $2 WHERE id = $1",
                room,
                &secs,
            )
        }
        FactUpdate::Locked { room, locked } => {
            ("UPDATE rooms SET locked = $2 WHERE id = $1", room, locked)
        }
        FactUpdate::OwnerLocked { room, locked } => (
            "UPDATE rooms SET owner_locked = $2 WHERE id = $1",
            room,
            locked,
        ),
        FactUpdate::EditKey { room, key } => {
            ("UPDATE rooms SET edit_key = $2 WHERE id = $1", room, key)
        }
    };
    pg.bounded(async {
        let client = pg.client().await?;
        client.execute(sql, &[room, value]).await?;
        Ok::<_, PgError>(())
    })
    .await?;
    Ok(())
}

/// Stores an image if its room exists and has room under its quota, deciding in one
/// transaction that locks the room's row (so two uploads cannot both pass the quota).
async fn save_image(pg: &Pg, image: &NewImage) -> Result<ImageSaved, StoreError> {
    let width = i32::try_from(image.width).unwrap_or(i32::MAX);
    let height = i32::try_from(image.height).unwrap_or(i32::MAX);
    let saved = pg
        .bounded(async {
            let mut client = pg.client().await?;
            let tx = client.transaction().await?;
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE",
                    &[&image.room],
                )
                .await?;
            if exists.is_none() {
                return Ok(ImageSaved::NoRoom);
            }
            let used: i64 = tx
                .query_one(
                    "SELECT COALESCE(sum(length(data)), 0)::bigint FROM images WHERE room = $1",
                    &[&image.room],
                )
                .await?
                .try_get(0)?;
            let used = u64::try_from(used).unwrap_or(0);
            if used.saturating_add(image.data.len() as u64) > image.quota {
                return Ok(ImageSaved::OverQuota { used });
            }
            tx.execute(
                "INSERT INTO images (room, id, width, height, data) VALUES ($1, $2, $3, $4, $5)",
                &[&image.room, &image.id, &width, &height, &&image.data[..]],
            )
            .await?;
            tx.commit().await?;
            Ok::<_, PgError>(ImageSaved::Stored)
        })
        .await?;
    Ok(saved)
}
