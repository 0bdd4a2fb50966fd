//! The registry: which rooms exist, and the running actor of each loaded room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix::{Actor, Addr};

use crate::store::{Store, StoreError};
use serde::Deserialize;
use uuid::Uuid;

use super::room::Room;
use crate::canvas::Rgba;
use crate::config::Config;
use crate::protocol::{parse_opaque_color, ErrorCode, ProtoError, RoomView};

/// What a room is, fixed at creation.
#[derive(Debug, Clone)]
pub struct RoomMeta {
    /// Room id, UUID v4.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Opaque background color.
    pub background: Rgba,
    /// Secret that makes a member an editor; 128 random bits as 32 hex digits. Never logged.
    pub edit_key: String,
}

impl RoomMeta {
    /// The public view of the room (no key).
    pub fn view(&self) -> RoomView {
        RoomView {
            id: self.id.to_string(),
            name: self.name.clone(),
            width: self.width,
            height: self.height,
            background: self.background.to_hex(),
        }
    }

    /// Whether `key` is the edit key, compared in constant time.
    pub fn is_edit_key(&self, key: &str) -> bool {
        constant_time_eq(key.as_bytes(), self.edit_key.as_bytes())
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The body of `POST /api/rooms`; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// Room name; default "Untitled board".
    #[serde(default)]
    pub name: Option<String>,
    /// Canvas width; default [`Config::default_width`].
    #[serde(default)]
    pub width: Option<u32>,
    /// Canvas height; default [`Config::default_height`].
    #[serde(default)]
    pub height: Option<u32>,
    /// Background `#rrggbb`; default white.
    #[serde(default)]
    pub background: Option<String>,
}

/// A room in memory: its facts and, when loaded, its actor.
struct Slot {
    meta: Arc<RoomMeta>,
    addr: Option<Addr<Room>>,
}

/// Maps room ids to rooms. Rooms live in the store; the registry caches the facts of rooms seen
/// and starts a room's actor (loading it from the store) the first time it is needed.
pub struct Registry {
    config: Arc<Config>,
    store: Arc<Store>,
    rooms: Mutex<HashMap<Uuid, Slot>>,
    /// Serializes loads, so a room is never loaded twice at once.
    loading: tokio::sync::Mutex<()>,
}

impl Registry {
    /// A registry over a store.
    pub fn new(config: Arc<Config>, store: Arc<Store>) -> Registry {
        Registry {
            config,
            store,
            rooms: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The configuration rooms run with.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
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

    /// The actor of a room if it is running now (does not load it).
    pub fn loaded(&self, id: Uuid) -> Option<Addr<Room>> {
        self.lock()
            .get(&id)
            .and_then(|s| s.addr.clone())
            .filter(Addr::connected)
    }

    /// A room's facts and actor, loading the room from the store and starting its actor on the
    /// current arbiter when needed. `None` when no such room exists; `server_busy` when as many
    /// rooms as allowed are loaded and none of them is idle.
    pub async fn open(&self, id: Uuid) -> Result<Option<(Arc<RoomMeta>, Addr<Room>)>, ProtoError> {
        if let Some(found) = self.running(id) {
            return Ok(Some(found));
        }
        let _one_at_a_time = self.loading.lock().await;
        if let Some(found) = self.running(id) {
            return Ok(Some(found));
        }
        self.make_room_for_one().await?;
        self.open_loaded(id).await.map_err(|e| {
            tracing::error!(room = %id, "loading failed: {e}");
            ProtoError::new(
                ErrorCode::Internal,
                "the room could not be loaded; try again",
            )
        })
    }

    /// At the loaded-rooms limit, unloads rooms nobody is in (they stay in the store), or says
    /// the server is busy. Also forgets the facts of unloaded rooms once many are cached.
    async fn make_room_for_one(&self) -> Result<(), ProtoError> {
        let max = self.config.max_loaded_rooms;
        let loaded: Vec<(Uuid, Addr<Room>)> = {
            let mut rooms = self.lock();
            if rooms.len() > max.saturating_mul(4) {
                rooms.retain(|_, s| s.addr.as_ref().is_some_and(Addr::connected));
            }
            rooms
                .iter()
                .filter_map(|(id, s)| Some((*id, s.addr.clone().filter(Addr::connected)?)))
                .collect()
        };
        if loaded.len() < max {
            return Ok(());
        }
        let mut freed = 0;
        for (id, addr) in loaded {
            if addr.send(super::room::UnloadIfEmpty).await.unwrap_or(false) {
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

    async fn open_loaded(
        &self,
        id: Uuid,
    ) -> Result<Option<(Arc<RoomMeta>, Addr<Room>)>, StoreError> {
        let store = Arc::clone(&self.store);
        let config = Arc::clone(&self.config);
        let loaded = actix_web::web::block(move || -> Result<_, StoreError> {
            let Some(stored) = store.load_room(id)? else {
                return Ok(None);
            };
            let started = std::time::Instant::now();
            let ops = stored.ops.len();
            let (meta, doc) = super::room::rebuild(stored, &config)?;
            tracing::info!(room = %id, ops, ms = started.elapsed().as_millis() as u64, "room loaded");
            Ok(Some((meta, doc)))
        })
        .await
        .map_err(|_| StoreError::Closed)??;
        let Some((meta, doc)) = loaded else {
            return Ok(None);
        };
        let meta = Arc::new(meta);
        let addr = Room::new(
            Arc::clone(&meta),
            Arc::clone(&self.config),
            doc,
            Arc::clone(&self.store),
        )
        .start();
        self.lock().insert(
            id,
            Slot {
                meta: Arc::clone(&meta),
                addr: Some(addr.clone()),
            },
        );
        Ok(Some((meta, addr)))
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
        let _one_at_a_time = self.loading.lock().await;
        // Take the slot out first: the registry lock must not be held across the await.
        let slot = self.lock().remove(&id);
        if let Some(slot) = slot {
            if let Some(addr) = slot.addr.filter(Addr::connected) {
                let _ = addr.send(super::Delete).await;
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
            Ok(Ok(())) => Ok(true),
            Ok(Err(e)) => Err(internal(format!("could not delete the room: {e}"))),
            Err(_) => Err(internal("the store stopped".into())),
        }
    }

    /// Number of rooms whose actor runs now (rooms loaded in memory).
    pub fn loaded_count(&self) -> usize {
        self.lock()
            .values()
            .filter(|s| s.addr.as_ref().is_some_and(Addr::connected))
            .count()
    }

    /// Closes every member of every loaded room with 1001 and waits until the store has written
    /// everything queued.
    pub async fn shutdown(&self) {
        let rooms: Vec<Addr<Room>> = self
            .lock()
            .values()
            .filter_map(|s| s.addr.clone())
            .collect();
        for room in rooms {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                room.send(super::Shutdown),
            )
            .await;
        }
        let store = Arc::clone(&self.store);
        match actix_web::web::block(move || store.flush()).await {
            Ok(Ok(())) => tracing::info!("store flushed"),
            Ok(Err(e)) => tracing::error!("store flush failed: {e}"),
            Err(_) => tracing::error!("store flush did not run"),
        }
    }

    fn running(&self, id: Uuid) -> Option<(Arc<RoomMeta>, Addr<Room>)> {
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

/// Checks a room request and builds the room's facts with a fresh id and key.
fn validate(req: NewRoom, c: &Config) -> Result<RoomMeta, ProtoError> {
    let bad = |m: String| ProtoError::new(ErrorCode::BadRequest, m);
    let name = req.name.as_deref().unwrap_or("").trim();
    let name = if name.is_empty() {
        "Untitled board".to_owned()
    } else {
        name.to_owned()
    };
    if name.chars().count() > c.max_room_name_chars || name.chars().any(char::is_control) {
        return Err(bad(format!(
            "name must be at most {} characters, without control characters",
            c.max_room_name_chars
        )));
    }
    let width = req.width.unwrap_or(c.default_width);
    let height = req.height.unwrap_or(c.default_height);
    let max = c.max_canvas_side;
    if !(1..=max).contains(&width) || !(1..=max).contains(&height) {
        return Err(bad(format!(
            "width and height must be between 1 and {max} pixels"
        )));
    }
    let background = match req.background.as_deref() {
        None => Rgba {
            r: 255,
            g: 255,
            b: 255,
            a: 255,
        },
        Some(text) => parse_opaque_color(text)
            .ok_or_else(|| bad("background must be a color like #ffffff".to_owned()))?,
    };
    Ok(RoomMeta {
        id: Uuid::new_v4(),
        name,
        width,
        height,
        background,
        edit_key: new_key(),
    })
}

/// 128 random bits from the OS, as 32 lowercase hex digits.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_and_distinct() {
        let (a, b) = (new_key(), new_key());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn create_validates() {
        let c = Config::default();
        let m = validate(NewRoom::default(), &c).expect("defaults are valid");
        assert_eq!(
            (m.width, m.height, m.name.as_str()),
            (1920, 1080, "Untitled board")
        );
        for bad in [
            NewRoom {
                width: Some(0),
                ..NewRoom::default()
            },
            NewRoom {
                height: Some(9000),
                ..NewRoom::default()
            },
            NewRoom {
                background: Some("red".into()),
                ..NewRoom::default()
            },
        ] {
            assert_eq!(
                validate(bad, &c).map(|_| ()).map_err(|e| e.code),
                Err(ErrorCode::BadRequest)
            );
        }
    }
}
