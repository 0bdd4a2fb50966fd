//! The registry: which rooms exist, and the running actor of each loaded room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Actor, Addr};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::actor::{Input, Room};
use crate::cluster::fanout::Fanout;
use crate::config::Config;
use crate::history::HistoryJobs;
use crate::meta::{validate, NewRoom, RoomMeta};
use crate::metrics::{Live, Metrics};
use crate::protocol::{ErrorCode, ProtoError};
use crate::store::{Claim, Store, StoreError};

/// How to reach a running room.
#[derive(Clone)]
pub struct RoomHandle {
    /// The actor, for requests that need an answer and room-wide orders.
    pub addr: Addr<Room>,
    /// The room's bounded input channel, for members' commands and leaves.
    pub input: mpsc::Sender<Input>,
}

impl RoomHandle {
    fn connected(&self) -> bool {
        self.addr.connected()
    }
}

/// Where a room runs.
pub enum Located {
    /// On this node: its facts and its actor.
    Here(Arc<RoomMeta>, RoomHandle),
    /// Cluster mode: on another node, reached at this base URL (`http://host:port`).
    Elsewhere(Arc<RoomMeta>, String),
}

/// A room in memory: its facts and, when loaded, its actor.
struct Slot {
    meta: Arc<RoomMeta>,
    addr: Option<RoomHandle>,
}

/// Maps room ids to rooms. Rooms live in the store; the registry caches the facts of rooms seen
/// and starts a room's actor (loading it from the store) the first time it is needed.
pub struct Registry {
    config: Arc<Config>,
    store: Arc<Store>,
    /// Slots for history renders and timelapses, shared by rooms and the HTTP handlers.
    history: HistoryJobs,
    rooms: Mutex<HashMap<Uuid, Slot>>,
    /// Serializes loads, so a room is never loaded twice at once (and deletes and lock changes
    /// with them, see `admin.rs` and `sweeper.rs`).
    pub(super) loading: tokio::sync::Mutex<()>,
    /// Wakes the retention sweeper when a room's retention changed (see `sweeper.rs`).
    pub(super) retention_changed: tokio::sync::Notify,
    /// Where rooms and sessions record what they do.
    metrics: Arc<Metrics>,
    /// [`Registry::shutdown`] has begun: the server is going away.
    shutting_down: AtomicBool,
    /// Cluster mode with a bus: the node's fan-out.
    fanout: Option<Arc<Fanout>>,
}

impl Registry {
    /// A registry over a store; its rooms record into `metrics`.
    pub fn new(config: Arc<Config>, store: Arc<Store>, metrics: Arc<Metrics>) -> Registry {
        Registry {
            history: HistoryJobs::new(config.history_renders, config.timelapse_jobs),
            config,
            store,
            rooms: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
            metrics,
            shutting_down: AtomicBool::new(false),
            retention_changed: tokio::sync::Notify::new(),
            fanout: None,
        }
    }

    /// Cluster mode: delivers rooms' common traffic over the bus through `fanout`.
    pub fn with_fanout(mut self, fanout: Option<Arc<Fanout>>) -> Registry {
        self.fanout = fanout;
        self
    }

    /// Cluster mode with a bus: the node's fan-out.
    pub fn fanout(&self) -> Option<&Arc<Fanout>> {
        self.fanout.as_ref()
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether [`Registry::shutdown`] has begun.
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// The configuration rooms run with.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Slots for history renders and timelapses.
    pub fn history_jobs(&self) -> &HistoryJobs {
        &self.history
    }

    /// The store rooms persist to.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Validates a request, stores the new room and returns it once it is durable.
    pub async fn create(&self, req: NewRoom) -> Result<Arc<RoomMeta>, ProtoError> {
        let meta = Arc::new(validate(req, &self.config)?);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.store.create_room(
            (*meta).clone(),
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        match rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(ProtoError::new(
                    ErrorCode::Internal,
                    format!("could not store the room: {e}"),
                ))
            }
            Err(_) => return Err(ProtoError::new(ErrorCode::Internal, "the store stopped")),
        }
        self.lock().insert(
            meta.id,
            Slot {
                meta: Arc::clone(&meta),
                addr: None,
            },
        );
        Ok(meta)
    }

    /// A room's facts, from memory or the store; `None` when no such room exists.
    pub async fn meta(&self, id: Uuid) -> Result<Option<Arc<RoomMeta>>, StoreError> {
        if let Some(meta) = self.lock().get(&id).map(|s| Arc::clone(&s.meta)) {
            return Ok(Some(meta));
        }
        let store = Arc::clone(&self.store);
        let meta = actix_web::web::block(move || store.room_meta(id))
            .await
            .map_err(|_| StoreError::Closed)??;
        Ok(meta.map(Arc::new))
    }

    /// Replaces the cached facts of a room (a new edit key) and returns its actor if it runs.
    pub(super) fn set_meta(&self, meta: Arc<RoomMeta>) -> Option<RoomHandle> {
        let mut rooms = self.lock();
        let slot = rooms.entry(meta.id).or_insert_with(|| Slot {
            meta: Arc::clone(&meta),
            addr: None,
        });
        slot.meta = meta;
        slot.addr.clone().filter(RoomHandle::connected)
    }

    /// The actor of a room if it is running now (does not load it).
    pub fn loaded(&self, id: Uuid) -> Option<RoomHandle> {
        self.lock()
            .get(&id)
            .and_then(|s| s.addr.clone())
            .filter(RoomHandle::connected)
    }

    /// A room's facts and actor, loading the room from the store and starting its actor on the
    /// current arbiter when needed. `None` when no such room exists; `server_busy` when as many
    /// rooms as allowed are loaded and none of them is idle.
    pub async fn open(&self, id: Uuid) -> Result<Option<(Arc<RoomMeta>, RoomHandle)>, ProtoError> {
        match self.locate(id).await? {
            None => Ok(None),
            Some(Located::Here(meta, handle)) => Ok(Some((meta, handle))),
            Some(Located::Elsewhere(..)) => Err(ProtoError::new(
                ErrorCode::Internal,
                "this board is open on another server",
            )),
        }
    }

    /// Like [`Registry::open`], but in cluster mode a room another node owns is found there
    /// rather than loaded here.
    pub async fn locate(&self, id: Uuid) -> Result<Option<Located>, ProtoError> {
        if let Some((meta, handle)) = self.running(id) {
            return Ok(Some(Located::Here(meta, handle)));
        }
        // Cluster mode: a room another node runs is found there with one read, without this
        // node's load lock and without trying to take the room's lease.
        if self.config.store.is_some() {
            if let Ok(Some(node)) = self.running_elsewhere(id).await {
                if let Ok(Some(meta)) = self.meta(id).await {
                    return Ok(Some(Located::Elsewhere(meta, node)));
                }
            }
        }
        let _one_at_a_time = self.loading.lock().await;
        if let Some((meta, handle)) = self.running(id) {
            return Ok(Some(Located::Here(meta, handle)));
        }
        if let Err(busy) = self.make_room_for_one().await {
            // A room another node runs needs no room here: it is only forwarded.
            return match self.running_elsewhere(id).await {
                Ok(Some(node)) => Ok(self
                    .meta(id)
                    .await
                    .ok()
                    .flatten()
                    .map(|meta| Located::Elsewhere(meta, node))),
                _ => Err(busy),
            };
        }
        self.open_loaded(id).await.map_err(|e| {
            tracing::error!(room = %id, "loading failed: {e}");
            let code = match e {
                StoreError::Corrupt(_) => ErrorCode::Internal,
                // The store is down or slow: worth trying again (503).
                _ => ErrorCode::StoreUnavailable,
            };
            ProtoError::new(code, "the room could not be loaded; try again")
        })
    }

    /// At the loaded-rooms limit, unloads rooms nobody is in (they stay in the store), or says
    /// the server is busy. Also forgets the facts of unloaded rooms once many are cached.
    async fn make_room_for_one(&self) -> Result<(), ProtoError> {
        let max = self.config.max_loaded_rooms;
        let loaded: Vec<(Uuid, Addr<Room>)> = {
            let mut rooms = self.lock();
            if rooms.len() > max.saturating_mul(4) {
                rooms.retain(|_, s| s.addr.as_ref().is_some_and(RoomHandle::connected));
            }
            rooms
                .iter()
                .filter_map(|(id, s)| {
                    Some((*id, s.addr.as_ref().filter(|h| h.connected())?.addr.clone()))
                })
                .collect()
        };
        if loaded.len() < max {
            return Ok(());
        }
        let mut freed = 0;
        for (id, addr) in loaded {
            if addr
                .send(super::actor::UnloadIfEmpty)
                .await
                .unwrap_or(false)
            {
                // The actor is stopping; forget it now rather than when its mailbox closes.
                if let Some(slot) = self.lock().get_mut(&id) {
                    slot.addr = None;
                }
                freed += 1;
            }
        }
        if freed == 0 {
            tracing::warn!(max, "every loaded room is in use; refusing to load another");
            return Err(ProtoError::new(
                ErrorCode::ServerBusy,
                format!("the server has {max} boards open, all in use; try again in a minute"),
            ));
        }
        tracing::info!(freed, "unloaded empty rooms to make room");
        Ok(())
    }

    async fn open_loaded(&self, id: Uuid) -> Result<Option<Located>, StoreError> {
        let store = Arc::clone(&self.store);
        let config = Arc::clone(&self.config);
        let loaded = actix_web::web::block(move || -> Result<_, StoreError> {
            // Cluster mode: only the node holding the room's lease loads it, and only once it
            // holds it, so that it reads every op the former owner stored.
            let claim = match store.claim(id)? {
                Claim::Owned { claim, epoch } => (claim, epoch),
                Claim::Elsewhere { node } => {
                    return Ok(store
                        .room_meta(id)?
                        .map(|meta| Err(Located::Elsewhere(Arc::new(meta), node))))
                }
            };
            let load = || -> Result<_, StoreError> {
                let Some(stored) = store.load_room(id)? else {
                    return Ok(None);
                };
                let client_ops = store.client_ops(id, config.remembered_ops)?;
                let locked = store.room_facts(id)?.is_some_and(|f| f.locked);
                let owner_locked = store.owner_locked(id)?;
                let started = std::time::Instant::now();
                let ops = stored.ops.len();
                let (meta, doc) = super::load::rebuild(stored, &config)?;
                tracing::info!(room = %id, ops, ms = started.elapsed().as_millis() as u64, "room loaded");
                Ok(Some(Ok((meta, doc, locked, owner_locked, client_ops, claim))))
            };
            let loaded = load();
            if !matches!(loaded, Ok(Some(_))) {
                // Nothing runs the room here: let another node (or a later try) have it.
                store.release(id, claim.0);
            }
            loaded
        })
        .await
        .map_err(|_| StoreError::Closed)??;
        let (meta, doc, locked, owner_locked, client_ops, claim) = match loaded {
            None => return Ok(None),
            Some(Err(elsewhere)) => return Ok(Some(elsewhere)),
            Some(Ok(loaded)) => loaded,
        };
        let meta = Arc::new(meta);
        let (mut room, input) = Room::new(
            Arc::clone(&meta),
            Arc::clone(&self.config),
            doc,
            Arc::clone(&self.store),
            Arc::clone(&self.metrics),
            self.history.clone(),
        );
        room.state.remember_client_ops(client_ops);
        room.claim = claim.0;
        if let Some(fanout) = &self.fanout {
            room.use_bus(fanout, crate::cluster::fanout::chain_base(claim.1, claim.0));
        }
        // An operator's lock outlives the room's time in memory.
        room.state.set_locked(locked, std::time::Instant::now());
        // So does the owner's (already stored: not stored again).
        room.state
            .set_owner_locked(owner_locked, false, std::time::Instant::now());
        let handle = RoomHandle {
            addr: room.start(),
            input,
        };
        // Cluster mode: once this node no longer owns the room, it unloads it.
        if let Some(lost) = self.store.lost(id, claim.0) {
            let addr = handle.addr.clone();
            actix_web::rt::spawn(async move {
                lost.await;
                addr.do_send(super::actor::Moved);
            });
        }
        self.lock().insert(
            id,
            Slot {
                meta: Arc::clone(&meta),
                addr: Some(handle.clone()),
            },
        );
        Ok(Some(Located::Here(meta, handle)))
    }

    /// Cluster mode: the base URL of another node running the room now, if one does (the room
    /// is not loaded here, and nothing is claimed).
    pub async fn running_elsewhere(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        if self.running(id).is_some() {
            return Ok(None);
        }
        let store = Arc::clone(&self.store);
        actix_web::web::block(move || store.owner_of(id))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    /// Deletes a room when `key` is its edit key: its members are disconnected (4004) and it is
    /// gone from the store once this returns `Ok(true)`. `Ok(false)` when no such room exists.
    pub async fn delete(&self, id: Uuid, key: &str) -> Result<bool, ProtoError> {
        let internal = |e: String| ProtoError::new(ErrorCode::Internal, e);
        let Some(meta) = self.meta(id).await.map_err(|e| internal(e.to_string()))? else {
            return Ok(false);
        };
        if !meta.is_edit_key(key) {
            return Err(ProtoError::new(
                ErrorCode::BadKey,
                "deleting a board needs its edit key",
            ));
        }
        let one_at_a_time = self.loading.lock().await;
        self.remove(id, &one_at_a_time).await?;
        Ok(true)
    }

    /// Deletes a room, known to exist, under the `loading` lock: its members are disconnected
    /// (4004) and it is gone from the store once this returns.
    pub(super) async fn remove(
        &self,
        id: Uuid,
        _loading: &tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<(), ProtoError> {
        let internal = |e: String| ProtoError::new(ErrorCode::Internal, e);
        // Take the slot out first: the registry lock must not be held across the await.
        let slot = self.lock().remove(&id);
        if let Some(slot) = slot {
            if let Some(handle) = slot.addr.filter(RoomHandle::connected) {
                let _ = handle.addr.send(super::Delete).await;
            }
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.store.delete_room(
            id,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(internal(format!("could not delete the room: {e}"))),
            Err(_) => Err(internal("the store stopped".into())),
        }
    }

    /// Ids of the rooms whose actor runs now.
    pub(super) fn loaded_ids(&self) -> Vec<Uuid> {
        self.lock()
            .iter()
            .filter(|(_, s)| s.addr.as_ref().is_some_and(RoomHandle::connected))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Number of rooms whose actor runs now (rooms loaded in memory).
    pub fn loaded_count(&self) -> usize {
        self.lock()
            .values()
            .filter(|s| s.addr.as_ref().is_some_and(RoomHandle::connected))
            .count()
    }

    /// What the loaded rooms hold now, asking each (a room that does not answer within a second
    /// is counted as loaded but not for its members).
    pub async fn live(&self) -> Live {
        let rooms: Vec<Addr<Room>> = self
            .lock()
            .values()
            .filter_map(|s| Some(s.addr.as_ref().filter(|h| h.connected())?.addr.clone()))
            .collect();
        let asks = rooms
            .iter()
            .map(|room| tokio::time::timeout(Duration::from_secs(1), room.send(super::Status)));
        let mut live = Live {
            rooms: rooms.len(),
            ..Live::default()
        };
        for status in futures_util::future::join_all(asks).await {
            if let Ok(Ok(s)) = status {
                live.editors += s.editors;
                live.viewers += s.viewers;
                live.lagging += s.lagging;
            }
        }
        live
    }

    /// Closes every member of every loaded room with 1001 and waits until the store has written
    /// everything queued. From its start the server counts as shutting down.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        let rooms: Vec<Addr<Room>> = self
            .lock()
            .values()
            .filter_map(|s| Some(s.addr.as_ref()?.addr.clone()))
            .collect();
        for room in rooms {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                room.send(super::Shutdown),
            )
            .await;
        }
        let store = Arc::clone(&self.store);
        match actix_web::web::block(move || {
            let flushed = store.flush();
            // Cluster mode: hand the rooms over now, not when their leases run out.
            store.release_all();
            flushed
        })
        .await
        {
            Ok(Ok(())) => tracing::info!("store flushed"),
            Ok(Err(e)) => tracing::error!("store flush failed: {e}"),
            Err(_) => tracing::error!("store flush did not run"),
        }
    }

    fn running(&self, id: Uuid) -> Option<(Arc<RoomMeta>, RoomHandle)> {
        let rooms = self.lock();
        let slot = rooms.get(&id)?;
        let addr = slot.addr.as_ref().filter(|a| a.connected())?;
        Some((Arc::clone(&slot.meta), addr.clone()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Slot>> {
        // A panic while holding this lock leaves the map consistent (every write is one insert),
        // so a poisoned lock is still safe to use.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }
}
