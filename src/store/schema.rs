//! Versioned schema migrations. Each entry upgrades the database by one version; a database
//! newer than this binary is refused rather than guessed at.

use rusqlite::Connection;

/// Migrations, in order; `MIGRATIONS[i]` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: rooms, op logs and history bases.
    "CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        background TEXT NOT NULL,
        edit_key TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE ops (
        room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        author TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
    CREATE TABLE bases (
        room TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL
    );
    CREATE TABLE base_tiles (
        room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        col INTEGER NOT NULL,
        row INTEGER NOT NULL,
        png BLOB NOT NULL,
        PRIMARY KEY (room, row, col)
    ) WITHOUT ROWID;",
    // 2: a scratch table the writer fills and empties to prove the database takes a page.
    "CREATE TABLE store_probe (data BLOB NOT NULL);",
    // 3: what operators need (see `facts.rs`): when a room was last loaded or unloaded
    // (`touched_at`, unix seconds; NULL on a room not touched since it was created, read as
    // `created_at`), its own retention, and the operator lock.
    "ALTER TABLE rooms ADD COLUMN touched_at INTEGER;
    UPDATE rooms SET touched_at = created_at;
    ALTER TABLE rooms ADD COLUMN retention_secs INTEGER;
    ALTER TABLE rooms ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;",
    // 4: moderation: the owner's key (NULL for rooms created before owners existed) and the
    // owner's lock, apart from the operator's.
    "ALTER TABLE rooms ADD COLUMN owner_key TEXT;
    ALTER TABLE rooms ADD COLUMN owner_locked INTEGER NOT NULL DEFAULT 0;",
    // 5: uploaded images, as uploaded (see `images.rs`); they go with their room.
    "CREATE TABLE images (
        room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (room, id)
    );",
    // 6: time travel (see `history.rs`). Every op is kept for the life of its room, with its
    // commit time (`at`, unix milliseconds) and, for an undo, redo or revert, the oldest seq it
    // re-rendered from (`reach`). Keyframes hold the canvas at some seqs, each keyframe only
    // the tiles that changed since the one before (`png` NULL: transparent). A restore's
    // pixels are stored with it. The room's history base becomes its first keyframe and a
    // pointer (`bases.seq`) to the keyframe a load starts from. Earlier versions deleted the
    // ops before the base: that early history is gone, and `rooms.history_from` says where the
    // kept history starts. Ops stored before this version have no time (`at` NULL).
    "ALTER TABLE ops ADD COLUMN at INTEGER;
    ALTER TABLE ops ADD COLUMN reach INTEGER;
    ALTER TABLE rooms ADD COLUMN history_from INTEGER NOT NULL DEFAULT 0;
    UPDATE rooms SET history_from = COALESCE((SELECT seq FROM bases WHERE bases.room = rooms.id), 0);
    CREATE TABLE keyframes (
        room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
    CREATE TABLE keyframe_tiles (
        room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        row INTEGER NOT NULL,
        col INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        png BLOB,
        PRIMARY KEY (room, row, col, seq)
    ) WITHOUT ROWID;
    CREATE TABLE restore_tiles (
        room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        row INTEGER NOT NULL,
        col INTEGER NOT NULL,
        png BLOB,
        PRIMARY KEY (room, seq, row, col)
    ) WITHOUT ROWID;
    INSERT INTO keyframes (room, seq) SELECT room, seq FROM bases;
    INSERT INTO keyframe_tiles (room, row, col, seq, hash, png)
        SELECT t.room, t.row, t.col, b.seq, 0, t.png FROM base_tiles t JOIN bases b ON b.room = t.room;
    DROP TABLE base_tiles;",
];

/// The schema version this binary writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    let current: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if current > VERSION {
        return Err(format!(
            "its schema version {current} is newer than this inkroom ({VERSION}); upgrade inkroom"
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {}: {e}", i + 1))?;
        tx.pragma_update(None, "user_version", i as u32 + 1)
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}
