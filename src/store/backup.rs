//! Online backup and restore of the store (`inkroom backup`, `inkroom restore`).
//!
//! A backup copies the live database with SQLite's online backup API in one step, inside one
//! read transaction: in WAL mode readers never block the server's writer, so the copy is a
//! consistent snapshot taken while the server runs. The copy is written beside its target,
//! checked (`PRAGMA integrity_check`, schema version) and only then renamed into place, so a
//! file at the target path is always a complete, verified backup.
//!
//! A restore runs with the server stopped. It checks the backup the same way, refuses while
//! any process holds the store open, moves the current database aside (with its WAL, so
//! nothing is lost) and copies the backup in, again through a checked temporary file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::retention::unix_now;
use super::{schema, StoreError};

/// The database file's name in the data directory.
pub const DB_FILE: &str = "inkroom.db";

/// Times a backup step is retried when SQLite reports the source busy, a tenth of a second
/// apart (in WAL mode a reader is not kept waiting; this only covers a checkpoint in flight).
const BUSY_RETRIES: u32 = 100;

/// What a checked store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Its schema version.
    pub schema: u32,
    /// Rooms it holds.
    pub rooms: u64,
}

/// What `restore` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// What the restored store holds.
    pub checked: Checked,
    /// Where the database it replaced was moved, if there was one.
    pub moved_aside: Option<PathBuf>,
}

fn unusable(msg: String) -> StoreError {
    StoreError::Unusable(msg)
}

/// Opens a database file read-only (never creating it).
fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(unusable(format!("{} does not exist", path.display())));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| unusable(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// Checks that `conn` holds an intact inkroom store this binary can open.
fn check(conn: &Connection, what: &Path) -> Result<Checked, StoreError> {
    let bad = |e: &dyn std::fmt::Display| {
        unusable(format!(
            "{} is not a usable inkroom store: {e}",
            what.display()
        ))
    };
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| bad(&e))?;
    if result != "ok" {
        return Err(bad(&format!("integrity check: {result}")));
    }
    let schema: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| bad(&e))?;
    if schema == 0 || schema > schema::VERSION {
        return Err(bad(&format!(
            "schema version {schema} (this inkroom reads 1 to {})",
            schema::VERSION
        )));
    }
    let rooms: u64 = conn
        .query_row("SELECT COUNT(*) FROM rooms", [], |r| r.get(0))
        .map_err(|e| bad(&e))?;
    Ok(Checked { schema, rooms })
}

/// Checks a store file without changing it: integrity, schema version, rooms.
pub fn verify(path: &Path) -> Result<Checked, StoreError> {
    check(&open_read_only(path)?, path)
}

/// Copies `src` into a new database at `dst` (which must not exist), in one step of the online
/// backup API, and leaves `dst` a single self-contained file (rollback journal, no WAL).
fn copy_database(src: &Connection, dst: &Path) -> Result<(), StoreError> {
    let mut out = Connection::open(dst)
        .map_err(|e| unusable(format!("cannot create {}: {e}", dst.display())))?;
    {
        let backup = Backup::new(src, &mut out)?;
        let mut tries = 0;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if tries < BUSY_RETRIES => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                StepResult::Busy | StepResult::Locked => {
                    return Err(unusable("the database stayed busy; try again".into()))
                }
                other => return Err(unusable(format!("backup step: {other:?}"))),
            }
        }
    }
    let mode: String = out.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(unusable(format!("the copy stayed in journal mode {mode}")));
    }
    out.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
    sync_file(dst)
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| unusable(format!("cannot flush {}: {e}", path.display())))
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes `src` to `target` through a checked temporary file beside it.
fn copy_checked(src: &Connection, target: &Path) -> Result<Checked, StoreError> {
    let partial = with_suffix(target, ".partial");
    let _ = std::fs::remove_file(&partial);
    let result = copy_database(src, &partial).and_then(|()| verify(&partial));
    let checked = match result {
        Ok(checked) => checked,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, target).map_err(|e| {
        unusable(format!(
            "cannot move {} to {}: {e}",
            partial.display(),
            target.display()
        ))
    })?;
    Ok(checked)
}

/// Backs up the store in `data_dir` to `out` (a new file) while the server may be running.
pub fn backup(data_dir: &Path, out: &Path) -> Result<Checked, StoreError> {
    if out.exists() {
        return Err(unusable(format!(
            "{} already exists; choose a new file",
            out.display()
        )));
    }
    let db = data_dir.join(DB_FILE);
    let src = open_read_only(&db)
        .map_err(|e| unusable(format!("no inkroom store in {}: {e}", data_dir.display())))?;
    copy_checked(&src, out)
}

/// Restores the backup `from` into `data_dir`, with the server stopped. The database it
/// replaces is moved to `inkroom.db.before-restore-<unix time>` (with its WAL, if any).
pub fn restore(data_dir: &Path, from: &Path) -> Result<Restored, StoreError> {
    let src = open_read_only(from)?;
    check(&src, from)?;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| unusable(format!("cannot create {}: {e}", data_dir.display())))?;
    let db = data_dir.join(DB_FILE);
    let moved_aside = if db.exists() {
        Some(move_aside(&db)?)
    } else {
        None
    };
    let checked = copy_checked(&src, &db)?;
    Ok(Restored {
        checked,
        moved_aside,
    })
}

/// Makes sure nobody holds the database, folds its WAL into it and moves it aside; returns
/// where to.
fn move_aside(db: &Path) -> Result<PathBuf, StoreError> {
    {
        let conn = Connection::open(db)?;
        // In WAL mode every open connection holds a shared lock on the database file for as
        // long as it is open, idle or not; an exclusive lock is only granted when no other
        // process has the file open. Exclusive locking mode keeps it until this connection
        // closes, so no server can start while the WAL is checkpointed.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        match conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;") {
            Ok(()) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
            {
                return Err(unusable(format!(
                    "{} is in use, probably by a running server; stop it first",
                    db.display()
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let (busy, _, _): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if busy != 0 {
            return Err(unusable(format!(
                "could not fold the WAL into {}; try again",
                db.display()
            )));
        }
    }
    let stamp = unix_now();
    let mut aside = with_suffix(db, &format!(".before-restore-{stamp}"));
    let mut n = 1;
    while aside.exists() {
        aside = with_suffix(db, &format!(".before-restore-{stamp}-{n}"));
        n += 1;
    }
    let rename = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|e| {
            unusable(format!(
                "cannot move {} to {}: {e}",
                from.display(),
                to.display()
            ))
        })
    };
    rename(db, &aside)?;
    // The WAL is empty after the checkpoint; it follows the database anyway, so the pair stays
    // whole. The shared-memory index is rebuilt by whoever opens a database next.
    let wal = with_suffix(db, "-wal");
    if wal.exists() {
        rename(&wal, &with_suffix(&aside, "-wal"))?;
    }
    let shm = with_suffix(db, "-shm");
    if shm.exists() {
        std::fs::remove_file(&shm)
            .map_err(|e| unusable(format!("cannot remove {}: {e}", shm.display())))?;
    }
    Ok(aside)
}
