//! Versioned migrations of the PostgreSQL schema, in the spirit of the SQLite store's
//! (`store/schema.rs`): each entry upgrades the database by one version, and a database newer
//! than this binary is refused rather than guessed at.
//!
//! The applied versions are rows of `schema_migrations`. All of a run happens in one
//! transaction (PostgreSQL's DDL is transactional) under an advisory lock, so nodes starting
//! together migrate once and a failed migration leaves nothing half done.
//!
//! Types are PostgreSQL's own: `uuid` ids, `bigint` seqs and epochs, `bytea` pixels,
//! `timestamptz` times. An op's data is `text`, the JSON of its [`Record`](crate::store::Record)
//! exactly as the SQLite store keeps it: the server never queries inside an op, `text` keeps
//! the bytes identical across both stores, and it spares the append the parse `jsonb` costs.

use deadpool_postgres::Object;

use super::pg::PgError;

/// Key of the advisory lock held while migrating (any constant no one else uses).
const MIGRATION_LOCK: i64 = 0x696e_6b72_6f6f_6d01;

/// Migrations, in order; `MIGRATIONS[i]` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: what the SQLite store holds at its version 6 (rooms, the op log with commit times
    // and reach, keyframes, restores, images, bases), plus room leases. Each op also keeps
    // the lease epoch that wrote it, so a room's log shows which owner wrote what.
    "CREATE TABLE rooms (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        background text NOT NULL,
        edit_key text NOT NULL,
        owner_key text,
        created_at timestamptz NOT NULL DEFAULT now(),
        touched_at timestamptz,
        retention_secs bigint,
        locked boolean NOT NULL DEFAULT false,
        owner_locked boolean NOT NULL DEFAULT false,
        history_from bigint NOT NULL DEFAULT 0
    );
    CREATE TABLE ops (
        room uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq bigint NOT NULL CHECK (seq > 0),
        author text NOT NULL,
        data text NOT NULL,
        at timestamptz,
        reach bigint,
        epoch bigint NOT NULL,
        PRIMARY KEY (room, seq)
    );
    CREATE TABLE bases (
        room uuid PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
        seq bigint NOT NULL
    );
    CREATE TABLE keyframes (
        room uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        PRIMARY KEY (room, seq)
    );
    CREATE TABLE keyframe_tiles (
        room uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        row integer NOT NULL,
        col integer NOT NULL,
        seq bigint NOT NULL,
        hash bigint NOT NULL,
        png bytea,
        PRIMARY KEY (room, row, col, seq)
    );
    CREATE TABLE restore_tiles (
        room uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        row integer NOT NULL,
        col integer NOT NULL,
        png bytea,
        PRIMARY KEY (room, seq, row, col)
    );
    CREATE TABLE images (
        room uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        id text NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (room, id)
    );
    CREATE TABLE leases (
        room uuid PRIMARY KEY,
        owner text NOT NULL,
        epoch bigint NOT NULL,
        expires_at timestamptz NOT NULL
    );",
];

/// The schema version this binary writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the database up to [`VERSION`], in one transaction under an advisory lock.
pub(super) async fn migrate(client: &mut Object) -> Result<(), PgError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    if current > VERSION {
        return Err(PgError::Schema(format!(
            "its schema version {current} is newer than this inkroom ({VERSION}); upgrade inkroom"
        )));
    }
    for (version, sql) in (1..).zip(MIGRATIONS).skip(current.max(0) as usize) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| PgError::Schema(format!("migration {version}: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
