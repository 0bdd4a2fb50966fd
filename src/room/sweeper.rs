//! Room retention: rooms nobody has loaded for longer than their retention (their own, set
//! through the admin API, or `Config::room_retention`) are deleted with everything they hold.
//!
//! A room is touched in the store when it loads and when it unloads (and when the server shuts
//! down), never per op; while it is loaded it is in use and never expires. The sweeper runs
//! every quarter of the shortest retention in force, within [`MIN_INTERVAL`] and
//! [`MAX_INTERVAL`], and at once when an operator changes a retention. Each run also touches
//! the loaded rooms, so that after a crash (no unload) a room that was in use is at most one
//! interval, a quarter of its retention, behind: it does not expire when the server restarts.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::Registry;
use crate::store::{unix_now, FactUpdate, StoreError};

/// Shortest time between two sweeps.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Longest time between two sweeps (also when no room can expire).
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Most rooms one sweep deletes; more wait for the next sweep.
pub const SWEEP_BATCH: usize = 100;

/// Time between sweeps for the shortest retention in force.
pub fn interval(shortest: Option<Duration>) -> Duration {
    shortest.map_or(MAX_INTERVAL, |r| (r / 4).clamp(MIN_INTERVAL, MAX_INTERVAL))
}

impl Registry {
    /// Records that every loaded room is in use now (one write for all, not waited for).
    fn touch_loaded(&self) {
        let at = unix_now();
        for room in self.loaded_ids() {
            self.store().update_facts(
                FactUpdate::Touch { room, at },
                Box::new(move |result| {
                    if let Err(e) = result {
                        tracing::warn!(%room, "could not record that the room is in use: {e}");
                    }
                }),
            );
        }
    }

    /// Deletes up to [`SWEEP_BATCH`] expired rooms that are not loaded; returns how many.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        let default = self.config().room_retention;
        let now = unix_now();
        let store = Arc::clone(self.store());
        let found =
            super::on_blocking_pool(move || store.expired_rooms(now, default, SWEEP_BATCH)).await?;
        if found.is_empty() {
            return Ok(0);
        }
        // No room loads from here on. A room that unloaded before this point has queued its
        // touch already: after the flush the store knows it, and the second look leaves it out.
        let one_at_a_time = self.loading.lock().await;
        let idle: HashSet<Uuid> = found
            .into_iter()
            .filter(|id| self.loaded(*id).is_none())
            .collect();
        let store = Arc::clone(self.store());
        let expired = super::on_blocking_pool(move || {
            store.flush()?;
            store.expired_rooms(now, default, SWEEP_BATCH)
        })
        .await?;
        let mut deleted = 0;
        for id in expired.into_iter().filter(|id| idle.contains(id)) {
            self.remove(id, &one_at_a_time)
                .await
                .map_err(|e| StoreError::Unusable(e.message))?;
            tracing::info!(room = %id, "room expired: deleted");
            deleted += 1;
        }
        Ok(deleted)
    }
}

/// Sweeps expired rooms for as long as the server runs.
pub async fn run(registry: Arc<Registry>) {
    loop {
        registry.touch_loaded();
        match registry.sweep_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rooms = n, "deleted expired rooms"),
            Err(e) => tracing::error!("retention sweep failed: {e}"),
        }
        let default = registry.config().room_retention;
        let store = Arc::clone(registry.store());
        let wait = match super::on_blocking_pool(move || store.shortest_retention(default)).await {
            Ok(shortest) => interval(shortest),
            Err(e) => {
                tracing::error!("retention sweep: {e}");
                interval(default)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = registry.retention_changed.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::meta::NewRoom;
    use crate::metrics::Metrics;
    use crate::room::admin::Live;
    use crate::room::UnloadIfEmpty;
    use crate::store::Store;

    /// Writes a fact and waits until it is durable.
    async fn write(registry: &Registry, update: FactUpdate) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        registry.store().update_facts(
            update,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.await.expect("the writer answers").expect("written");
    }

    /// A loaded room is never deleted, however long ago it was touched; unloading touches it;
    /// once unloaded and expired, it is deleted.
    #[test]
    fn loaded_rooms_are_kept_and_unloaded_ones_expire() {
        let dir = std::env::temp_dir().join(format!("inkroom-sweep-{}", Uuid::new_v4()));
        actix_web::rt::System::new().block_on(async {
            let store = Arc::new(Store::open(&dir, false).expect("store"));
            let metrics = Metrics::new(store.metrics()).expect("metrics");
            let registry = Registry::new(Arc::new(Config::default()), store, Arc::new(metrics));
            let id = registry.create(NewRoom::default()).await.expect("room").id;
            let (_, handle) = registry.open(id).await.expect("opens").expect("exists");
            // Answering means it has started, and queued its touch on loading.
            handle.addr.send(Live).await.expect("answers");
            write(&registry, FactUpdate::Touch { room: id, at: 1 }).await;
            let secs = Some(1);
            write(&registry, FactUpdate::Retention { room: id, secs }).await;

            assert_eq!(registry.sweep_expired().await.expect("sweeps"), 0);
            assert!(registry.store().room_facts(id).expect("reads").is_some());

            assert!(handle.addr.send(UnloadIfEmpty).await.expect("answers"));
            let until = tokio::time::Instant::now() + Duration::from_secs(10);
            while registry.loaded(id).is_some() {
                assert!(tokio::time::Instant::now() < until, "the room did not stop");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            registry.store().flush().expect("flushes");
            let facts = registry.store().room_facts(id).expect("reads");
            assert!(facts.expect("kept").touched_at > 1, "unloading touched it");

            write(&registry, FactUpdate::Touch { room: id, at: 1 }).await;
            assert_eq!(registry.sweep_expired().await.expect("sweeps"), 1);
            assert!(registry.store().room_facts(id).expect("reads").is_none());
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_interval_follows_the_shortest_retention_within_bounds() {
        assert_eq!(interval(None), MAX_INTERVAL);
        assert_eq!(interval(Some(Duration::from_secs(1))), MIN_INTERVAL);
        assert_eq!(
            interval(Some(Duration::from_secs(400))),
            Duration::from_secs(100)
        );
        assert_eq!(
            interval(Some(Duration::from_secs(86_400 * 30))),
            MAX_INTERVAL
        );
    }
}
