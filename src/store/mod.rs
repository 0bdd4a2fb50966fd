//! Persistence: rooms, their op logs and history bases, in SQLite (the embedded default store).
//!
//! Writes go through one writer thread that commits whatever has queued up in a single
//! transaction (group commit), so the rooms never wait on the disk and throughput holds with many
//! editors; each write reports back when it is durable. Reads (room lookups and loads) use a
//! separate connection and run on the blocking pool.
//!
//! A room on disk is its metadata, every op it ever committed (with its commit time), and
//! keyframes: the canvas at some seqs (see `history.rs`). Loading starts at the room's *base*,
//! a keyframe no later op reaches behind, and replays the ops after it through the same
//! [`Document`](crate::canvas::Document) code that applied them live, so the canvas and every
//! person's undo history come back exactly. The canvas at any earlier seq is a keyframe plus
//! the ops after it ([`crate::history`]).

mod backend;
pub mod backup;
mod facts;
pub mod history;
mod images;
pub(crate) mod reader;
mod record;
mod retention;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

pub use backend::{Backend, Claim, Lost, Store};
pub use facts::{FactUpdate, RoomFacts};
pub use history::{encode_keyframe, Bounds, EncodedTile, StoredOp, TileSlot};
pub use images::{ImageDone, ImageSaved, NewImage};
pub use reader::HistoryRead;
pub(crate) use record::client_op_of;
pub use record::Record;
pub use retention::{unix_now, whole_secs};

use crate::canvas::{Canvas, Rgba};
use crate::meta::{parse_background, RoomMeta};
use crate::metrics::StoreMetrics;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory or database cannot be used.
    #[error("{0}")]
    Unusable(String),
    /// A stored row makes no sense (corruption).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The writer thread has stopped.
    #[error("the store writer has stopped")]
    Closed,
    /// An earlier write of this room failed; its writes wait for the room to recover.
    #[error("an earlier write of room {0} failed; its writes wait until it recovers")]
    Held(Uuid),
    /// PostgreSQL (cluster mode) failed or could not be reached in time.
    #[error("database error: {0}")]
    Postgres(String),
    /// This node does not (or no longer) own the room: another node writes it (cluster mode).
    #[error("this node does not own room {0}")]
    NotOwner(Uuid),
}

/// Called when a write is durable (or failed).
pub type Done = Box<dyn FnOnce(Result<(), Arc<StoreError>>) + Send>;

enum Job {
    CreateRoom(RoomMeta, Done),
    Append {
        room: Uuid,
        seq: u64,
        author: String,
        data: String,
        /// Commit time, unix milliseconds.
        at: i64,
        /// For an undo, redo or revert: the oldest seq it re-rendered from.
        reach: Option<u64>,
        /// A restore's pixels.
        tiles: Vec<TileSlot>,
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
    Flush(Done),
    DeleteRoom(Uuid, Done),
    Probe {
        room: Uuid,
        after: u64,
        done: Done,
    },
    /// Operator facts: touch, retention, lock (`facts.rs`).
    Facts(FactUpdate, Done),
    /// An uploaded image, under its room's quota (`images.rs`).
    SaveImage(images::ImageJob),
}

/// How to open a [`Store`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreOptions {
    /// Wait for the disk before reporting a write done (`synchronous=FULL`).
    pub durable: bool,
    /// Largest the database may grow, in bytes (`max_page_count`); writes past it fail like on
    /// a full disk.
    pub max_bytes: Option<u64>,
}

/// A room as stored: metadata, the keyframe a load starts from and the ops after it.
pub struct StoredRoom {
    /// The room.
    pub meta: RoomMeta,
    /// Seq of the base.
    pub base_seq: u64,
    /// The canvas at the base.
    pub base: Canvas,
    /// Ops after the base, in seq order.
    pub ops: Vec<StoredOp>,
    /// The bytes of the images those ops draw, by id.
    pub images: std::collections::HashMap<String, Vec<u8>>,
}

/// One op to append to a room's log.
#[derive(Debug, Clone)]
pub struct NewOp<'a> {
    /// Its seq.
    pub seq: u64,
    /// The key of the undo stack it went on.
    pub author: &'a str,
    /// The op.
    pub record: &'a Record,
    /// When it was committed, unix milliseconds.
    pub at: i64,
    /// For an undo, redo or revert: the oldest seq it re-rendered from.
    pub reach: Option<u64>,
    /// A restore's pixels: the tiles it changed.
    pub tiles: Vec<TileSlot>,
}

/// The SQLite store.
pub struct Sqlite {
    /// Jobs for the writer thread.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Connection for reads (the writer replaces it if it recreates the database file).
    read: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// The last write succeeded (set by the writer thread).
    writable: Arc<AtomicBool>,
    /// Write latency and failures, recorded by the writer thread.
    metrics: StoreMetrics,
}

/// Queues a job with `queue` and waits (blocking) for its outcome.
pub(crate) fn wait_done(queue: impl FnOnce(Done)) -> Result<(), StoreError> {
    let (tx, rx) = mpsc::channel();
    queue(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    match rx.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StoreError::Unusable(e.to_string())),
        Err(_) => Err(StoreError::Closed),
    }
}

/// The writer's connection: [`connect`], bounded by `max_bytes`.
fn connect_writer(path: &Path, options: StoreOptions) -> Result<Connection, StoreError> {
    let conn = connect(path, options.durable)?;
    if let Some(bytes) = options.max_bytes {
        let page_size: u64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = (bytes / page_size.max(1)).max(1);
        // SQLite never goes below the pages the database already has.
        conn.pragma_update(None, "max_page_count", pages)?;
    }
    Ok(conn)
}

/// Whether the room exists (jobs for a room deleted meanwhile are skipped, not failed).
fn room_exists(conn: &Connection, room: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM rooms WHERE id = ?1)",
        params![room],
        |r| r.get(0),
    )?)
}

fn connect(path: &Path, durable: bool) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl Sqlite {
    /// Opens (creating if needed) the store in `dir`. `durable` makes every commit wait for the
    /// disk (`synchronous=FULL`); without it a crash of the machine may lose recent ops.
    pub fn open(dir: &Path, durable: bool) -> Result<Sqlite, StoreError> {
        Sqlite::open_with(
            dir,
            StoreOptions {
                durable,
                max_bytes: None,
            },
        )
    }

    /// Opens (creating if needed) the store in `dir` with these options.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Sqlite, StoreError> {
        let durable = options.durable;
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unusable(format!("cannot create data dir {}: {e}", dir.display()))
        })?;
        let path = dir.join("inkroom.db");
        let mut write = connect_writer(&path, options).map_err(|e| {
            StoreError::Unusable(format!("cannot open database {}: {e}", path.display()))
        })?;
        schema::migrate(&mut write).map_err(|e| {
            StoreError::Unusable(format!(
                "database {} is not a usable inkroom store: {e}",
                path.display()
            ))
        })?;
        let check: String = write.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Unusable(format!(
                "database {} failed its integrity check: {check}",
                path.display()
            )));
        }
        let read = Arc::new(Mutex::new(connect(&path, durable)?));
        let (tx, rx) = mpsc::channel();
        let writable = Arc::new(AtomicBool::new(true));
        let metrics = StoreMetrics::new()
            .map_err(|e| StoreError::Unusable(format!("cannot set up store metrics: {e}")))?;
        let writer = writer::Writer::new(
            write,
            Arc::clone(&read),
            path.clone(),
            options,
            Arc::clone(&writable),
            metrics.clone(),
        )
        .map_err(|e| StoreError::Unusable(format!("cannot read {}: {e}", path.display())))?;
        let writer = std::thread::Builder::new()
            .name("inkroom-store".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Unusable(format!("cannot start the store writer: {e}")))?;
        Ok(Sqlite {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            read,
            path,
            writable,
            metrics,
        })
    }

    /// The store's collectors (the server's [`Metrics`](crate::metrics::Metrics) registers them).
    pub fn metrics(&self) -> &StoreMetrics {
        &self.metrics
    }

    /// Whether the store takes writes: false from a failed write until one succeeds again, and
    /// once the writer has stopped.
    pub fn writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
            && self
                .jobs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, job: Job) {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let failed = match jobs.as_ref() {
            Some(tx) => tx.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(job) = failed {
            job.finish(Err(Arc::new(StoreError::Closed)));
        }
    }

    /// Queues a new room; `done` runs once it is durable.
    pub fn create_room(&self, meta: RoomMeta, done: Done) {
        self.send(Job::CreateRoom(meta, done));
    }

    /// Queues one op of a room's log; `done` runs once it is durable. Appends complete in the
    /// order they were queued.
    pub fn append(&self, room: Uuid, op: NewOp<'_>, done: Done) {
        let data = serde_json::to_string(op.record).expect("records always serialize");
        self.send(Job::Append {
            room,
            seq: op.seq,
            author: op.author.to_owned(),
            data,
            at: op.at,
            reach: op.reach,
            tiles: op.tiles,
            done,
        });
    }

    /// Queues keyframe `seq` of a room: its canvas's tiles then, encoded with
    /// [`encode_keyframe`] (only those that differ from the room's latest keyframe are
    /// written). `done` runs once it is durable.
    pub fn save_keyframe(&self, room: Uuid, seq: u64, tiles: Vec<EncodedTile>, done: Done) {
        self.send(Job::Keyframe {
            room,
            seq,
            tiles,
            done,
        });
    }

    /// Queues a new base for a room: the stored keyframe `seq`, which no later op reaches
    /// behind, becomes where its loads start. `done` runs once it is durable.
    pub fn set_base(&self, room: Uuid, seq: u64, done: Done) {
        self.send(Job::SetBase { room, seq, done });
    }

    /// After a failed write, asks whether a room may write again: drops whatever the room
    /// stored after `after` (its last op known durable) and proves the database takes a page.
    /// On success the room's writes are accepted again.
    pub fn probe(&self, room: Uuid, after: u64, done: Done) {
        self.send(Job::Probe { room, after, done });
    }

    /// Queues an uploaded image; `done` runs once it is durable or refused (over its room's
    /// quota, or the room is gone).
    pub fn save_image(&self, image: NewImage, done: ImageDone) {
        self.send(Job::SaveImage(images::ImageJob {
            image,
            outcome: std::cell::Cell::new(ImageSaved::NoRoom),
            done,
        }));
    }

    /// One uploaded image's bytes, if the room has it. Blocking: call from the blocking pool.
    pub fn image(&self, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        images::read(&self.reader(), room, id)
    }

    /// Queues the deletion of a room and everything it holds; `done` runs once it is durable.
    pub fn delete_room(&self, id: Uuid, done: Done) {
        self.send(Job::DeleteRoom(id, done));
    }

    /// Waits until everything queued so far is durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        wait_done(|done| self.send(Job::Flush(done)))
    }

    /// Stops the writer after it has written everything queued.
    pub fn close(&self) {
        drop(self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(w) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = w.join();
        }
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.read.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A room's metadata, if it exists. Blocking: call from the blocking pool.
    pub fn room_meta(&self, id: Uuid) -> Result<Option<RoomMeta>, StoreError> {
        let conn = self.reader();
        let row = conn
            .query_row(
                "SELECT name, width, height, background, edit_key, owner_key FROM rooms \
                 WHERE id = ?1",
                params![id.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((name, width, height, background, edit_key, owner_key)) = row else {
            return Ok(None);
        };
        let background: Rgba = parse_background(&background).ok_or_else(|| {
            StoreError::Corrupt(format!("room {id} has background {background:?}"))
        })?;
        Ok(Some(RoomMeta {
            id,
            name,
            width,
            height,
            background,
            edit_key,
            owner_key,
        }))
    }

    /// A room with its base and ops, if it exists. Blocking: call from the blocking pool.
    pub fn load_room(&self, id: Uuid) -> Result<Option<StoredRoom>, StoreError> {
        self.load_room_upto(id, u64::MAX)
    }

    /// A room with its base and its ops up to `upto`, if it exists. Blocking.
    pub fn load_room_upto(&self, id: Uuid, upto: u64) -> Result<Option<StoredRoom>, StoreError> {
        let Some(meta) = self.room_meta(id)? else {
            return Ok(None);
        };
        let conn = self.reader();
        let from = history::bounds(&conn, id)?.map_or(0, |b| b.from);
        let base = history::base_seq(&conn, id)?.min(upto);
        let base_seq = history::start_for(&conn, id, from, base, upto)?;
        let base = history::keyframe(&conn, &meta, base_seq)?;
        let ops = history::ops(&conn, &meta, base_seq, upto, usize::MAX >> 1)?;
        let images = history::images_for(&conn, id, &ops, &Default::default())?;
        Ok(Some(StoredRoom {
            meta,
            base_seq,
            base,
            ops,
            images,
        }))
    }

    /// The client op ids among a room's latest `limit` ops, oldest first. Blocking.
    pub fn client_ops(&self, room: Uuid, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, data FROM (SELECT seq, data FROM ops WHERE room = ?1 \
             ORDER BY seq DESC LIMIT ?2) WHERE instr(data, '\"op\":') > 0 ORDER BY seq",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![room.to_string(), limit], |r| {
            Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, data) = row?;
            out.extend(record::client_op_of(&data).map(|op| (op, seq)));
        }
        Ok(out)
    }

    /// A connection of its own for reading a room's history (long reads that should not hold
    /// up room loads). Blocking.
    pub fn history_reader(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(conn)
    }

    /// Number of rooms stored.
    pub fn room_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .reader()
            .query_row("SELECT COUNT(*) FROM rooms", [], |r| r.get(0))?)
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        self.close();
    }
}
