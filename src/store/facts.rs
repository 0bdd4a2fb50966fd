//! What operators see of a stored room and may change: when it was created and last touched
//! (loaded or unloaded), its own retention, the operator lock and its seq. Never the edit key.
//! Changes go through the writer thread as [`FactUpdate`]s, like every other write.

use rusqlite::{params, OptionalExtension, Row, Transaction};
use uuid::Uuid;

use super::{Done, Job, Sqlite, StoreError};

/// A change to a room's operator facts.
#[derive(Clone, PartialEq, Eq)]
pub enum FactUpdate {
    /// The room was loaded or unloaded at `at` (unix seconds): its retention starts again.
    Touch {
        /// The room.
        room: Uuid,
        /// When, in unix seconds.
        at: i64,
    },
    /// The room's own retention, in seconds; `None` follows the server's
    /// (`Config::room_retention`).
    Retention {
        /// The room.
        room: Uuid,
        /// Seconds untouched after which the room is deleted (a `u32`, over a century, so the
        /// deadline never overflows).
        secs: Option<u32>,
    },
    /// The operator lock: while set, nobody may draw in the room.
    Locked {
        /// The room.
        room: Uuid,
        /// Locked or not.
        locked: bool,
    },
    /// The owner's lock (moderation): while set, nobody may draw; apart from the operator's.
    OwnerLocked {
        /// The room.
        room: Uuid,
        /// Locked or not.
        locked: bool,
    },
    /// The owner replaced the edit key.
    EditKey {
        /// The room.
        room: Uuid,
        /// The new key (never logged: see the `Debug` impl).
        key: String,
    },
}

impl std::fmt::Debug for FactUpdate {
    /// Like a derived `Debug`, without the edit key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FactUpdate::Touch { room, at } => write!(f, "Touch {{ room: {room}, at: {at} }}"),
            FactUpdate::Retention { room, secs } => {
                write!(f, "Retention {{ room: {room}, secs: {secs:?} }}")
            }
            FactUpdate::Locked { room, locked } => {
                write!(f, "Locked {{ room: {room}, locked: {locked} }}")
            }
            FactUpdate::OwnerLocked { room, locked } => {
                write!(f, "OwnerLocked {{ room: {room}, locked: {locked} }}")
            }
            FactUpdate::EditKey { room, .. } => write!(f, "EditKey {{ room: {room} }}"),
        }
    }
}

/// A stored room as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomFacts {
    /// The room's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// When it was created, in unix seconds.
    pub created_at: i64,
    /// When it was last loaded or unloaded (its creation if never), in unix seconds.
    pub touched_at: i64,
    /// Its own retention in seconds, if an operator set one.
    pub retention_secs: Option<u32>,
    /// An operator locked it.
    pub locked: bool,
    /// The latest seq in the store (ops still queued for the writer are not counted).
    pub seq: u64,
}

/// Columns of [`RoomFacts`], in the order [`facts_of`] reads them; `r` is the rooms table.
const COLUMNS: &str = "r.id, r.name, r.width, r.height, r.created_at, \
     COALESCE(r.touched_at, r.created_at), r.retention_secs, r.locked, \
     MAX(COALESCE((SELECT MAX(seq) FROM ops WHERE room = r.id), 0), \
         COALESCE((SELECT seq FROM bases WHERE room = r.id), 0))";

fn facts_of(r: &Row<'_>) -> rusqlite::Result<(String, RoomFacts)> {
    Ok((
        r.get(0)?,
        RoomFacts {
            id: Uuid::nil(),
            name: r.get(1)?,
            width: r.get(2)?,
            height: r.get(3)?,
            created_at: r.get(4)?,
            touched_at: r.get(5)?,
            retention_secs: r.get(6)?,
            locked: r.get(7)?,
            seq: r.get(8)?,
        },
    ))
}

/// Parses the id column, which the store always writes as a UUID.
fn with_id((id, facts): (String, RoomFacts)) -> Result<RoomFacts, StoreError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| StoreError::Corrupt(format!("a room has the id {id:?}")))?;
    Ok(RoomFacts { id, ..facts })
}

impl Sqlite {
    /// Whether the room's owner locked it (false for a room that does not exist). Blocking:
    /// call from the blocking pool.
    pub fn owner_locked(&self, id: Uuid) -> Result<bool, StoreError> {
        let locked = self
            .reader()
            .query_row(
                "SELECT owner_locked FROM rooms WHERE id = ?1",
                params![id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(locked.unwrap_or(false))
    }

    /// Queues a change to a room's facts; `done` runs once it is durable. A room that does not
    /// exist (any more) is left alone.
    pub fn update_facts(&self, update: FactUpdate, done: Done) {
        self.send(Job::Facts(update, done));
    }

    /// One room's facts, if it exists. Blocking: call from the blocking pool.
    pub fn room_facts(&self, id: Uuid) -> Result<Option<RoomFacts>, StoreError> {
        let row = self
            .reader()
            .query_row(
                &format!("SELECT {COLUMNS} FROM rooms r WHERE r.id = ?1"),
                params![id.to_string()],
                facts_of,
            )
            .optional()?;
        row.map(with_id).transpose()
    }

    /// Up to `limit` rooms' facts in id order, starting after `after`. Blocking: call from the
    /// blocking pool.
    pub fn list_room_facts(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<RoomFacts>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM rooms r WHERE r.id > ?1 ORDER BY r.id LIMIT ?2"
        ))?;
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![after, limit], facts_of)?;
        rows.map(|row| with_id(row?)).collect()
    }
}

/// Writes one change inside the writer's transaction.
pub(super) fn write(tx: &Transaction<'_>, update: &FactUpdate) -> Result<(), StoreError> {
    match update {
        FactUpdate::Touch { room, at } => tx
            .prepare_cached("UPDATE rooms SET touched_at = ?2 WHERE id = ?1")?
            .execute(params![room.to_string(), at])?,
        FactUpdate::Retention { room, secs } => tx
            .prepare_cached("UPDATE rooms SET retention_secs = ?2 WHERE id = ?1")?
            .execute(params![room.to_string(), secs])?,
        FactUpdate::Locked { room, locked } => tx
            .prepare_cached("UPDATE rooms SET locked = ?2 WHERE id = ?1")?
            .execute(params![room.to_string(), locked])?,
        FactUpdate::OwnerLocked { room, locked } => tx
            .prepare_cached("UPDATE rooms SET owner_locked = ?2 WHERE id = ?1")?
            .execute(params![room.to_string(), locked])?,
        FactUpdate::EditKey { room, key } => tx
            .prepare_cached("UPDATE rooms SET edit_key = ?2 WHERE id = ?1")?
            .execute(params![room.to_string(), key])?,
    };
    Ok(())
}
