//! Room retention in the store: which rooms have gone untouched for longer than their retention
//! (their own, or the server's), and the shortest retention in force, which paces the sweeper
//! ([`crate::room::sweeper`]). Deleting them is an ordinary [`Store::delete_room`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::params;
use uuid::Uuid;

use super::{Sqlite, StoreError};

/// Now, in unix seconds (the unit of `created_at` and `touched_at`).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A retention in whole seconds, rounded up (so a retention is never shorter than asked).
pub fn whole_secs(retention: Duration) -> i64 {
    let secs = retention.as_secs() + u64::from(retention.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl Sqlite {
    /// Up to `limit` rooms untouched since before `now - retention`, least recently touched
    /// first, where a room's retention is its own or else `default`; rooms with neither never
    /// expire. Blocking: call from the blocking pool.
    pub fn expired_rooms(
        &self,
        now: i64,
        default: Option<Duration>,
        limit: usize,
    ) -> Result<Vec<Uuid>, StoreError> {
        let conn = self.reader();
        // Arithmetic on NULL is NULL and NULL <= x is not true: rooms without any retention
        // never match. The sum cannot overflow: retention_secs is at most u32::MAX.
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM rooms \
             WHERE COALESCE(touched_at, created_at) + COALESCE(retention_secs, ?1) <= ?2 \
             ORDER BY COALESCE(touched_at, created_at) LIMIT ?3",
        )?;
        let default = default.map(whole_secs);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![default, now, limit], |r| r.get::<_, String>(0))?;
        rows.map(|id| {
            let id = id?;
            Uuid::parse_str(&id)
                .map_err(|_| StoreError::Corrupt(format!("a room has the id {id:?}")))
        })
        .collect()
    }

    /// The shortest retention any room has, or `default` if shorter; `None` when no room can
    /// expire. Blocking: call from the blocking pool.
    pub fn shortest_retention(
        &self,
        default: Option<Duration>,
    ) -> Result<Option<Duration>, StoreError> {
        let own: Option<u32> =
            self.reader()
                .query_row("SELECT MIN(retention_secs) FROM rooms", [], |r| r.get(0))?;
        let own = own.map(|s| Duration::from_secs(u64::from(s)));
        Ok(match (own, default) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::meta::{validate, NewRoom};
    use crate::store::{FactUpdate, StoreError};

    struct Dir(std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs a store write and waits until it is durable.
    fn wait(f: impl FnOnce(crate::store::Done)) {
        let (tx, rx) = std::sync::mpsc::channel();
        f(Box::new(move |r: Result<(), Arc<StoreError>>| {
            let _ = tx.send(r);
        }));
        rx.recv().expect("the writer answers").expect("write ok");
    }

    fn store() -> (Dir, Sqlite) {
        let dir = Dir(std::env::temp_dir().join(format!("inkroom-ret-{}", Uuid::new_v4())));
        let store = Sqlite::open(&dir.0, false).expect("store opens");
        (dir, store)
    }

    fn room(store: &Sqlite, touched: i64) -> Uuid {
        let meta = validate(NewRoom::default(), &crate::config::Config::default()).expect("ok");
        let id = meta.id;
        wait(|done| store.create_room(meta, done));
        wait(|done| {
            store.update_facts(
                FactUpdate::Touch {
                    room: id,
                    at: touched,
                },
                done,
            )
        });
        id
    }

    /// A room expires once untouched for its retention (its own over the server's); rooms
    /// without any retention never do.
    #[test]
    fn rooms_expire_by_their_own_retention_or_the_servers() {
        let (_dir, store) = store();
        let now = 1_000_000;
        let old = room(&store, now - 100);
        let recent = room(&store, now - 10);
        let day = Some(Duration::from_secs(86_400));

        assert!(store
            .expired_rooms(now, None, 10)
            .expect("query")
            .is_empty());
        assert_eq!(
            store
                .expired_rooms(now, Some(Duration::from_secs(50)), 10)
                .expect("query"),
            vec![old]
        );
        assert_eq!(
            store
                .expired_rooms(now, Some(Duration::from_secs(10)), 10)
                .expect("query"),
            vec![old, recent],
            "least recently touched first"
        );

        // Its own retention overrides the server's, both ways.
        let set = |room, secs| {
            wait(|done| store.update_facts(FactUpdate::Retention { room, secs }, done));
        };
        set(recent, Some(5));
        set(old, Some(1000));
        assert_eq!(
            store.expired_rooms(now, day, 10).expect("query"),
            vec![recent]
        );
        assert_eq!(
            store.shortest_retention(day).expect("query"),
            Some(Duration::from_secs(5))
        );
        // Back to the server's default.
        set(recent, None);
        set(old, None);
        assert!(store.expired_rooms(now, day, 10).expect("query").is_empty());
        assert_eq!(store.shortest_retention(None).expect("query"), None);

        // A touch starts the retention again.
        let ten = Some(Duration::from_secs(10));
        assert_eq!(store.expired_rooms(now, ten, 1).expect("query"), vec![old]);
        wait(|done| store.update_facts(FactUpdate::Touch { room: old, at: now }, done));
        assert_eq!(
            store.expired_rooms(now, ten, 10).expect("query"),
            vec![recent]
        );
    }

    /// The lock and retention are stored with the room and read back with its facts.
    #[test]
    fn facts_are_stored() {
        let (_dir, store) = store();
        let id = room(&store, 1234);
        wait(|done| {
            store.update_facts(
                FactUpdate::Locked {
                    room: id,
                    locked: true,
                },
                done,
            )
        });
        wait(|done| {
            store.update_facts(
                FactUpdate::Retention {
                    room: id,
                    secs: Some(60),
                },
                done,
            )
        });
        let facts = store.room_facts(id).expect("query").expect("exists");
        assert!(facts.locked);
        assert_eq!(facts.retention_secs, Some(60));
        assert_eq!(facts.touched_at, 1234);
        assert_eq!(facts.seq, 0);
        assert_eq!(store.list_room_facts(None, 10).expect("list"), vec![facts]);
        assert!(store
            .list_room_facts(Some(id), 10)
            .expect("list")
            .is_empty());
        assert!(store.room_facts(Uuid::new_v4()).expect("query").is_none());
    }

    #[test]
    fn retention_rounds_up_to_whole_seconds() {
        assert_eq!(whole_secs(Duration::from_millis(1500)), 2);
        assert_eq!(whole_secs(Duration::from_secs(3)), 3);
    }
}
