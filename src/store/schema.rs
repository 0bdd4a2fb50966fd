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
    // kept history starts. Ops stored before this version have no time (`at` NULL). A migrated
    // tile's hash is 2, which no tile's pixels hash to (those are odd; 0 is transparent), so
    // the next keyframe that carries the tile stores it again rather than trusting it.
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
        SELECT t.room, t.row, t.col, b.seq, 2, t.png FROM base_tiles t JOIN bases b ON b.room = t.room;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rusqlite::{params, Connection};
    use tiny_skia::Pixmap;
    use uuid::Uuid;

    use super::{migrate, MIGRATIONS};
    use crate::canvas::{encode_png, TileId};
    use crate::config::Config;
    use crate::history::{canvas_at, HistoryError};
    use crate::store::{Record, Store};

    /// A store from before time travel (version 5: a base and the ops after it, the ops before
    /// it deleted) is migrated in place: the base becomes its first keyframe, its kept history
    /// starts there, the room loads as before, and the canvas at the base and after it renders
    /// while an earlier seq is out of range.
    #[test]
    fn a_version_5_store_keeps_its_base_as_the_first_keyframe() {
        let dir = std::env::temp_dir().join(format!("inkroom-mig-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let room = Uuid::new_v4();
        {
            let mut conn = Connection::open(dir.join("inkroom.db")).expect("open");
            for (i, sql) in MIGRATIONS.iter().take(5).enumerate() {
                conn.execute_batch(sql).expect("old migration");
                conn.pragma_update(None, "user_version", i + 1)
                    .expect("version");
            }
            conn.execute(
                "INSERT INTO rooms (id, name, width, height, background, edit_key, created_at) \
                 VALUES (?1, 'Old', 300, 300, '#ffffff', 'k', 1700000000)",
                params![room.to_string()],
            )
            .expect("room");
            let mut tile = Pixmap::new(256, 256).expect("tile");
            tile.fill(tiny_skia::Color::from_rgba8(200, 30, 30, 255));
            conn.execute(
                "INSERT INTO base_tiles (room, col, row, png) VALUES (?1, 0, 0, ?2)",
                params![room.to_string(), encode_png(tile.data(), 256, 256)],
            )
            .expect("tile");
            conn.execute(
                "INSERT INTO bases (room, seq) VALUES (?1, 7)",
                params![room.to_string()],
            )
            .expect("base");
            for seq in [8, 9] {
                let record = Record::Stroke {
                    op: None,
                    tool: crate::canvas::Tool::Pen,
                    color: "#000000".into(),
                    width: 6.0,
                    points: vec![10.0, 10.0 * seq as f32, 0.5, 290.0, 10.0 * seq as f32, 0.5],
                };
                conn.execute(
                    "INSERT INTO ops (room, seq, author, data) VALUES (?1, ?2, 'ann', ?3)",
                    params![
                        room.to_string(),
                        seq,
                        serde_json::to_string(&record).expect("json")
                    ],
                )
                .expect("op");
            }
            migrate(&mut conn).expect("migrates");
            let version: u32 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .expect("version");
            assert_eq!(version, super::VERSION);
        }
        let store = Store::open(&dir, false).expect("opens");
        let conn = store.history_reader().expect("reader");
        let bounds = conn.bounds(room).expect("reads").expect("room");
        assert_eq!((bounds.from, bounds.seq), (7, 9));
        let stored = store.load_room(room).expect("loads").expect("room");
        assert_eq!((stored.base_seq, stored.ops.len()), (7, 2));
        assert!(
            stored.ops.iter().all(|o| o.at.is_none()),
            "old ops have no time"
        );
        let red = stored.base.tile(TileId { row: 0, col: 0 }).map(Arc::clone);
        assert_eq!(red.and_then(|t| t.pixel(0, 0)).map(|p| p.red()), Some(200));
        let meta = store.room_meta(room).expect("meta").expect("room");
        let config = Config::default();
        for seq in 7..=9 {
            canvas_at(&*conn, &meta, &config, seq).expect("renders");
        }
        assert!(matches!(
            canvas_at(&*conn, &meta, &config, 6),
            Err(HistoryError::OutOfRange { from: 7, .. })
        ));
        drop(conn);
        store.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
