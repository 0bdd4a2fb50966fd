//! The store's writer thread: commits whatever has queued up in one transaction (group commit)
//! and reports each write's outcome.
//!
//! A write that fails never leaves a hole in a room's log: the room is *held* from then on (its
//! later appends, keyframes and bases fail without being tried), until the room has rolled back to what is
//! stored and a [`Job::Probe`] succeeds. The probe deletes anything the room wrote after its
//! last durable seq (a commit whose outcome was unknown) and proves the database takes a page
//! again.
//!
//! Before every transaction the writer checks that the database file is still the one it opened,
//! so no op is acknowledged into a file nobody will open again. A file removed under the running
//! server (or its whole data dir) is written anew from the open connection, which still holds
//! everything, and writing goes on. A file replaced by another fails every write until the
//! original is back (or the server restarts on the new one): which one is right is the
//! operator's call.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use std::sync::Mutex;

use rusqlite::{params, Connection};
use uuid::Uuid;

use super::{connect, connect_writer, history, Done, Job, StoreError, StoreOptions};
use crate::metrics::StoreMetrics;

/// Most jobs written in one transaction.
const MAX_BATCH: usize = 1024;

/// Which file the writer opened: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the file at `path` now.
    pub(super) fn of(path: &Path) -> std::io::Result<FileId> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// The writer thread's state.
pub(super) struct Writer {
    conn: Connection,
    /// The store's read connection, replaced along with `conn` when the file is recreated.
    read: Arc<Mutex<Connection>>,
    path: PathBuf,
    options: StoreOptions,
    file: FileId,
    /// Recreating a removed file failed half-way: the connections are gone, nothing is written
    /// until a restart.
    broken: bool,
    /// Rooms whose last write failed: their appends, keyframes and bases fail until a probe
    /// succeeds.
    held: HashSet<Uuid>,
    /// Shared with [`Store::writable`](super::Sqlite::writable).
    writable: Arc<AtomicBool>,
    /// Where transaction latency and failures are recorded.
    metrics: StoreMetrics,
}

impl Writer {
    /// A writer over an open connection to the database at `path`.
    pub(super) fn new(
        conn: Connection,
        read: Arc<Mutex<Connection>>,
        path: PathBuf,
        options: StoreOptions,
        writable: Arc<AtomicBool>,
        metrics: StoreMetrics,
    ) -> std::io::Result<Writer> {
        let file = FileId::of(&path)?;
        Ok(Writer {
            conn,
            read,
            path,
            options,
            file,
            broken: false,
            held: HashSet::new(),
            writable,
            metrics,
        })
    }

    /// Writes queued jobs until every sender is gone.
    pub(super) fn run(mut self, rx: mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.write_all(jobs);
        }
    }

    /// Writes a batch: runs of ordinary jobs in one transaction each, probes alone, in order.
    fn write_all(&mut self, jobs: Vec<Job>) {
        let mut group = Vec::new();
        for job in jobs {
            match job {
                Job::Probe { room, after, done } => {
                    self.commit_group(std::mem::take(&mut group));
                    let result = self.probe(room, after);
                    self.report(&result);
                    done(result.map_err(Arc::new));
                }
                job => {
                    if let Some(room) = job.held_room(&self.held) {
                        job.finish(Err(Arc::new(StoreError::Held(room))));
                    } else {
                        group.push(job);
                    }
                }
            }
        }
        self.commit_group(group);
    }

    /// Writes a group of jobs in one transaction and reports each; on failure every room with a
    /// write in it is held.
    fn commit_group(&mut self, group: Vec<Job>) {
        if group.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let result = self.write_group(&group).map_err(Arc::new);
        self.metrics
            .write_seconds
            .observe(started.elapsed().as_secs_f64());
        self.report(&result);
        if result.is_err() {
            self.held.extend(group.iter().filter_map(Job::room_write));
        } else {
            for job in &group {
                if let Job::DeleteRoom(id, _) = job {
                    self.held.remove(id);
                }
            }
        }
        for job in group {
            job.finish(result.clone());
        }
    }

    /// Logs a failure and keeps [`Store::writable`](super::Sqlite::writable) up to date.
    fn report<E: std::fmt::Display>(&self, result: &Result<(), E>) {
        if let Err(e) = result {
            self.metrics.write_failures.inc();
            tracing::error!("store write failed: {e}");
        }
        self.writable.store(result.is_ok(), Ordering::Release);
    }

    /// Fails when the database file at the path is not the one this writer opened; writes it
    /// anew when it is gone.
    fn check_file(&mut self) -> Result<(), StoreError> {
        if self.broken {
            return Err(StoreError::Unusable(format!(
                "the database {} could not be recreated; restart the server",
                self.path.display()
            )));
        }
        match FileId::of(&self.path) {
            Ok(id) if id == self.file => Ok(()),
            Ok(_) => Err(StoreError::Unusable(format!(
                "the database file {} was replaced under the running server; \
                 put the original back, or restart to use the new one",
                self.path.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.recreate(),
            Err(e) => Err(StoreError::Unusable(format!(
                "cannot check the database file {}: {e}",
                self.path.display()
            ))),
        }
    }

    /// The database file was removed while open: writes a copy of the open database (which
    /// still holds everything) under its name and reconnects to it.
    fn recreate(&mut self) -> Result<(), StoreError> {
        let unusable = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Unusable(format!(
                "the database file {} is gone and cannot be recreated ({what}: {e})",
                self.path.display()
            ))
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| unusable("data dir", &e))?;
        let fresh = self.path.with_extension("db.recreating");
        let _ = std::fs::remove_file(&fresh);
        self.conn
            .execute("VACUUM INTO ?1", params![fresh.to_string_lossy()])
            .map_err(|e| unusable("copy", &e))?;
        std::fs::File::open(&fresh)
            .and_then(|f| f.sync_all())
            .map_err(|e| unusable("sync", &e))?;
        // Both connections to the removed file close before the copy takes its name: closing
        // the last one removes the journal files by name.
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let placeholder = || Connection::open_in_memory().map_err(|e| unusable("close", &e));
        self.broken = true;
        drop(std::mem::replace(&mut self.conn, placeholder()?));
        drop(std::mem::replace(&mut *read, placeholder()?));
        for journal in ["db-wal", "db-shm"] {
            let _ = std::fs::remove_file(self.path.with_extension(journal));
        }
        std::fs::rename(&fresh, &self.path).map_err(|e| unusable("rename", &e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        self.conn = connect_writer(&self.path, self.options).map_err(|e| unusable("open", &e))?;
        *read = connect(&self.path, self.options.durable).map_err(|e| unusable("open", &e))?;
        self.file = FileId::of(&self.path).map_err(|e| unusable("open", &e))?;
        self.broken = false;
        tracing::warn!(
            path = %self.path.display(),
            "the database file was removed under the running server; recreated it from the open database"
        );
        Ok(())
    }

    fn write_group(&mut self, group: &[Job]) -> Result<(), StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction()?;
        for job in group {
            write_job(&tx, job)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Lets a held room write again once it proves the store takes a page: drops whatever the
    /// room wrote after `after` and writes (then deletes) a page-sized row, in one transaction.
    fn probe(&mut self, room: Uuid, after: u64) -> Result<(), StoreError> {
        self.check_file()?;
        let page_size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let tx = self.conn.transaction()?;
        history::drop_after(&tx, room, after)?;
        tx.execute(
            "INSERT INTO store_probe (data) VALUES (zeroblob(?1))",
            params![page_size],
        )?;
        tx.execute("DELETE FROM store_probe", [])?;
        tx.commit()?;
        self.held.remove(&room);
        Ok(())
    }
}

impl Job {
    /// The room this job writes ops or a base of, if any.
    fn room_write(&self) -> Option<Uuid> {
        match self {
            Job::Append { room, .. } | Job::Keyframe { room, .. } | Job::SetBase { room, .. } => {
                Some(*room)
            }
            _ => None,
        }
    }

    /// The held room this job would write to, if any.
    fn held_room(&self, held: &HashSet<Uuid>) -> Option<Uuid> {
        self.room_write().filter(|room| held.contains(room))
    }

    /// Reports the job's outcome to whoever queued it.
    pub(super) fn finish(self, result: Result<(), Arc<StoreError>>) {
        let done: Done = match self {
            Job::CreateRoom(_, done)
            | Job::Append { done, .. }
            | Job::Keyframe { done, .. }
            | Job::SetBase { done, .. }
            | Job::Flush(done)
            | Job::DeleteRoom(_, done)
            | Job::Probe { done, .. }
            | Job::Facts(_, done) => done,
            Job::SaveImage(job) => {
                let outcome = job.outcome.get();
                (job.done)(result.map(|()| outcome));
                return;
            }
        };
        done(result);
    }
}

fn write_job(tx: &rusqlite::Transaction<'_>, job: &Job) -> Result<(), StoreError> {
    match job {
        Job::CreateRoom(meta, _) => {
            tx.execute(
                "INSERT INTO rooms (id, name, width, height, background, edit_key, owner_key, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%s','now'))",
                params![
                    meta.id.to_string(),
                    meta.name,
                    meta.width,
                    meta.height,
                    meta.background.to_hex(),
                    meta.edit_key,
                    meta.owner_key
                ],
            )?;
        }
        Job::Append {
            room,
            seq,
            author,
            data,
            at,
            reach,
            tiles,
            ..
        } => {
            let room = room.to_string();
            // A room deleted meanwhile takes no more ops (and must not fail the batch).
            tx.prepare_cached(
                "INSERT INTO ops (room, seq, author, data, at, reach) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = ?1)",
            )?
            .execute(params![room, seq, author, data, at, reach])?;
            if !tiles.is_empty() {
                history::write_restore(tx, &room, *seq, tiles)?;
            }
        }
        Job::Keyframe {
            room, seq, tiles, ..
        } => history::write_keyframe(tx, *room, *seq, tiles)?,
        Job::SetBase { room, seq, .. } => history::write_base(tx, *room, *seq)?,
        Job::DeleteRoom(id, _) => {
            // Ops, keyframes and tiles go with the room (ON DELETE CASCADE).
            tx.execute("DELETE FROM rooms WHERE id = ?1", params![id.to_string()])?;
        }
        Job::Facts(update, _) => super::facts::write(tx, update)?,
        Job::SaveImage(job) => super::images::write(tx, job)?,
        Job::Flush(_) | Job::Probe { .. } => {}
    }
    Ok(())
}
