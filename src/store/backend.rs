//! The store as the rooms see it: one interface, [`Backend`], over two engines. SQLite
//! ([`Sqlite`]) is the embedded single-node default; PostgreSQL
//! ([`crate::cluster::PgStore`]) is the cluster mode's, where rooms are also *claimed*: only the
//! node holding a room's lease loads and writes it.
//!
//! [`Store`] wraps whichever engine the server runs on, so rooms, the registry and the HTTP
//! handlers hold one type and never ask which engine it is.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use uuid::Uuid;

use super::{
    Done, FactUpdate, HistoryRead, ImageDone, NewImage, NewOp, RoomFacts, Sqlite, StoreError,
    StoreOptions, StoredRoom,
};
use crate::meta::RoomMeta;
use crate::metrics::StoreMetrics;

/// Whether this node may load and write a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This node owns the room until [`Backend::lost`] says otherwise; `claim` names this
    /// hold on it (for [`Backend::lost`] and [`Backend::release`]; 0 for a single node).
    Owned {
        /// The claim.
        claim: u64,
        /// The lease's epoch (0 for a single node): later owners of the room have higher ones.
        epoch: u64,
    },
    /// Another node owns it; it is reached at this base URL (`http://host:port`).
    Elsewhere {
        /// The owner's advertised URL.
        node: String,
    },
}

/// Resolves once this node no longer owns a room (its lease was lost or ran out).
pub type Lost = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a store engine does for the rooms. Writes are queued and report through a callback
/// once durable; a room's writes complete in the order they were queued. Reads block: call
/// them from the blocking pool.
pub trait Backend: Send + Sync {
    /// The engine's write metrics.
    fn metrics(&self) -> &StoreMetrics;
    /// Whether the store takes writes now.
    fn writable(&self) -> bool;
    /// The database file, for an embedded engine.
    fn path(&self) -> Option<&Path>;
    /// Queues a new room.
    fn create_room(&self, meta: RoomMeta, done: Done);
    /// Queues one op of a room's log.
    fn append(&self, room: Uuid, op: NewOp<'_>, done: Done);
    /// Queues a keyframe (tiles from [`super::encode_keyframe`]).
    fn save_keyframe(&self, room: Uuid, seq: u64, tiles: Vec<super::EncodedTile>, done: Done);
    /// Queues a new base for a room.
    fn set_base(&self, room: Uuid, seq: u64, done: Done);
    /// After a failed write: drops what the room stored after `after` and checks the store
    /// takes writes again.
    fn probe(&self, room: Uuid, after: u64, done: Done);
    /// Queues an uploaded image under its room's quota.
    fn save_image(&self, image: NewImage, done: ImageDone);
    /// One uploaded image's bytes. Blocking.
    fn image(&self, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Queues the deletion of a room and everything it holds.
    fn delete_room(&self, id: Uuid, done: Done);
    /// Waits until everything queued so far is durable. Blocking.
    fn flush(&self) -> Result<(), StoreError>;
    /// Writes what is queued and stops taking writes. Blocking.
    fn close(&self);
    /// A room's metadata. Blocking.
    fn room_meta(&self, id: Uuid) -> Result<Option<RoomMeta>, StoreError>;
    /// A room with its base and its ops up to `upto`. Blocking.
    fn load_room_upto(&self, id: Uuid, upto: u64) -> Result<Option<StoredRoom>, StoreError>;
    /// The client op ids among a room's latest `limit` ops, with their seqs, oldest first.
    /// Blocking.
    fn client_ops(&self, room: Uuid, limit: usize) -> Result<Vec<(String, u64)>, StoreError>;
    /// A reader of rooms' history (its own connection: long reads hold up nothing else).
    /// Blocking.
    fn history_reader(&self) -> Result<Box<dyn HistoryRead + Send>, StoreError>;
    /// Number of rooms stored. Blocking.
    fn room_count(&self) -> Result<u64, StoreError>;
    /// Whether the room's owner locked it. Blocking.
    fn owner_locked(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Queues a change of a room's facts.
    fn update_facts(&self, update: FactUpdate, done: Done);
    /// One room's facts. Blocking.
    fn room_facts(&self, id: Uuid) -> Result<Option<RoomFacts>, StoreError>;
    /// Up to `limit` rooms' facts in id order after `after`. Blocking.
    fn list_room_facts(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<RoomFacts>, StoreError>;
    /// Rooms past their retention. Blocking.
    fn expired_rooms(
        &self,
        now: i64,
        default: Option<Duration>,
        limit: usize,
    ) -> Result<Vec<Uuid>, StoreError>;
    /// The shortest retention of any room (or `default`). Blocking.
    fn shortest_retention(&self, default: Option<Duration>)
        -> Result<Option<Duration>, StoreError>;
    /// Takes a room for this node before it is loaded. Blocking.
    fn claim(&self, _room: Uuid) -> Result<Claim, StoreError> {
        Ok(Claim::Owned { claim: 0, epoch: 0 })
    }
    /// Resolves when this node stops owning the room under `claim` (at once if that claim was
    /// replaced); `None` when ownership cannot be lost (a single node).
    fn lost(&self, _room: Uuid, _claim: u64) -> Option<Lost> {
        None
    }
    /// Gives up the room held under `claim` (and only it: a newer claim of the same room stays),
    /// so another node may take it at once.
    fn release(&self, _room: Uuid, _claim: u64) {}
    /// Gives up every room this node runs (the server is stopping). Blocking.
    fn release_all(&self) {}
    /// The base URL of another node that runs the room now, without claiming it. Blocking.
    fn owner_of(&self, _room: Uuid) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// The rooms' store: SQLite by default, PostgreSQL in cluster mode.
pub struct Store {
    engine: Box<dyn Backend>,
}

impl Store {
    /// Opens (creating if needed) the SQLite store in `dir`; see [`Sqlite::open`].
    pub fn open(dir: &Path, durable: bool) -> Result<Store, StoreError> {
        Ok(Store::over(Box::new(Sqlite::open(dir, durable)?)))
    }

    /// Opens the SQLite store in `dir` with these options; see [`Sqlite::open_with`].
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Ok(Store::over(Box::new(Sqlite::open_with(dir, options)?)))
    }

    /// A store over any engine.
    pub fn over(engine: Box<dyn Backend>) -> Store {
        Store { engine }
    }

    /// See [`Backend::metrics`].
    pub fn metrics(&self) -> &StoreMetrics {
        self.engine.metrics()
    }

    /// See [`Backend::writable`].
    pub fn writable(&self) -> bool {
        self.engine.writable()
    }

    /// See [`Backend::path`].
    pub fn path(&self) -> Option<&Path> {
        self.engine.path()
    }

    /// See [`Backend::create_room`].
    pub fn create_room(&self, meta: RoomMeta, done: Done) {
        self.engine.create_room(meta, done)
    }

    /// See [`Backend::append`].
    pub fn append(&self, room: Uuid, op: NewOp<'_>, done: Done) {
        self.engine.append(room, op, done)
    }

    /// See [`Backend::save_keyframe`].
    pub fn save_keyframe(&self, room: Uuid, seq: u64, tiles: Vec<super::EncodedTile>, done: Done) {
        self.engine.save_keyframe(room, seq, tiles, done)
    }

    /// See [`Backend::set_base`].
    pub fn set_base(&self, room: Uuid, seq: u64, done: Done) {
        self.engine.set_base(room, seq, done)
    }

    /// See [`Backend::probe`].
    pub fn probe(&self, room: Uuid, after: u64, done: Done) {
        self.engine.probe(room, after, done)
    }

    /// See [`Backend::save_image`].
    pub fn save_image(&self, image: NewImage, done: ImageDone) {
        self.engine.save_image(image, done)
    }

    /// See [`Backend::image`].
    pub fn image(&self, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.engine.image(room, id)
    }

    /// See [`Backend::delete_room`].
    pub fn delete_room(&self, id: Uuid, done: Done) {
        self.engine.delete_room(id, done)
    }

    /// See [`Backend::flush`].
    pub fn flush(&self) -> Result<(), StoreError> {
        self.engine.flush()
    }

    /// See [`Backend::close`].
    pub fn close(&self) {
        self.engine.close()
    }

    /// See [`Backend::room_meta`].
    pub fn room_meta(&self, id: Uuid) -> Result<Option<RoomMeta>, StoreError> {
        self.engine.room_meta(id)
    }

    /// A room with its base and all its ops, if it exists. Blocking.
    pub fn load_room(&self, id: Uuid) -> Result<Option<StoredRoom>, StoreError> {
        self.engine.load_room_upto(id, u64::MAX)
    }

    /// See [`Backend::load_room_upto`].
    pub fn load_room_upto(&self, id: Uuid, upto: u64) -> Result<Option<StoredRoom>, StoreError> {
        self.engine.load_room_upto(id, upto)
    }

    /// See [`Backend::client_ops`].
    pub fn client_ops(&self, room: Uuid, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        self.engine.client_ops(room, limit)
    }

    /// See [`Backend::history_reader`].
    pub fn history_reader(&self) -> Result<Box<dyn HistoryRead + Send>, StoreError> {
        self.engine.history_reader()
    }

    /// See [`Backend::room_count`].
    pub fn room_count(&self) -> Result<u64, StoreError> {
        self.engine.room_count()
    }

    /// See [`Backend::owner_locked`].
    pub fn owner_locked(&self, id: Uuid) -> Result<bool, StoreError> {
        self.engine.owner_locked(id)
    }

    /// See [`Backend::update_facts`].
    pub fn update_facts(&self, update: FactUpdate, done: Done) {
        self.engine.update_facts(update, done)
    }

    /// See [`Backend::room_facts`].
    pub fn room_facts(&self, id: Uuid) -> Result<Option<RoomFacts>, StoreError> {
        self.engine.room_facts(id)
    }

    /// See [`Backend::list_room_facts`].
    pub fn list_room_facts(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<RoomFacts>, StoreError> {
        self.engine.list_room_facts(after, limit)
    }

    /// See [`Backend::expired_rooms`].
    pub fn expired_rooms(
        &self,
        now: i64,
        default: Option<Duration>,
        limit: usize,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.engine.expired_rooms(now, default, limit)
    }

    /// See [`Backend::shortest_retention`].
    pub fn shortest_retention(
        &self,
        default: Option<Duration>,
    ) -> Result<Option<Duration>, StoreError> {
        self.engine.shortest_retention(default)
    }

    /// See [`Backend::claim`].
    pub fn claim(&self, room: Uuid) -> Result<Claim, StoreError> {
        self.engine.claim(room)
    }

    /// See [`Backend::lost`].
    pub fn lost(&self, room: Uuid, claim: u64) -> Option<Lost> {
        self.engine.lost(room, claim)
    }

    /// See [`Backend::release`].
    pub fn release(&self, room: Uuid, claim: u64) {
        self.engine.release(room, claim)
    }

    /// See [`Backend::release_all`].
    pub fn release_all(&self) {
        self.engine.release_all()
    }

    /// See [`Backend::owner_of`].
    pub fn owner_of(&self, room: Uuid) -> Result<Option<String>, StoreError> {
        self.engine.owner_of(room)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.engine.close();
    }
}

impl Backend for Sqlite {
    fn metrics(&self) -> &StoreMetrics {
        Sqlite::metrics(self)
    }
    fn writable(&self) -> bool {
        Sqlite::writable(self)
    }
    fn path(&self) -> Option<&Path> {
        Some(Sqlite::path(self))
    }
    fn create_room(&self, meta: RoomMeta, done: Done) {
        Sqlite::create_room(self, meta, done)
    }
    fn append(&self, room: Uuid, op: NewOp<'_>, done: Done) {
        Sqlite::append(self, room, op, done)
    }
    fn save_keyframe(&self, room: Uuid, seq: u64, tiles: Vec<super::EncodedTile>, done: Done) {
        Sqlite::save_keyframe(self, room, seq, tiles, done)
    }
    fn set_base(&self, room: Uuid, seq: u64, done: Done) {
        Sqlite::set_base(self, room, seq, done)
    }
    fn probe(&self, room: Uuid, after: u64, done: Done) {
        Sqlite::probe(self, room, after, done)
    }
    fn save_image(&self, image: NewImage, done: ImageDone) {
        Sqlite::save_image(self, image, done)
    }
    fn image(&self, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Sqlite::image(self, room, id)
    }
    fn delete_room(&self, id: Uuid, done: Done) {
        Sqlite::delete_room(self, id, done)
    }
    fn flush(&self) -> Result<(), StoreError> {
        Sqlite::flush(self)
    }
    fn close(&self) {
        Sqlite::close(self)
    }
    fn room_meta(&self, id: Uuid) -> Result<Option<RoomMeta>, StoreError> {
        Sqlite::room_meta(self, id)
    }
    fn load_room_upto(&self, id: Uuid, upto: u64) -> Result<Option<StoredRoom>, StoreError> {
        Sqlite::load_room_upto(self, id, upto)
    }
    fn client_ops(&self, room: Uuid, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        Sqlite::client_ops(self, room, limit)
    }
    fn history_reader(&self) -> Result<Box<dyn HistoryRead + Send>, StoreError> {
        Ok(Box::new(Sqlite::history_reader(self)?))
    }
    fn room_count(&self) -> Result<u64, StoreError> {
        Sqlite::room_count(self)
    }
    fn owner_locked(&self, id: Uuid) -> Result<bool, StoreError> {
        Sqlite::owner_locked(self, id)
    }
    fn update_facts(&self, update: FactUpdate, done: Done) {
        Sqlite::update_facts(self, update, done)
    }
    fn room_facts(&self, id: Uuid) -> Result<Option<RoomFacts>, StoreError> {
        Sqlite::room_facts(self, id)
    }
    fn list_room_facts(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<RoomFacts>, StoreError> {
        Sqlite::list_room_facts(self, after, limit)
    }
    fn expired_rooms(
        &self,
        now: i64,
        default: Option<Duration>,
        limit: usize,
    ) -> Result<Vec<Uuid>, StoreError> {
        Sqlite::expired_rooms(self, now, default, limit)
    }
    fn shortest_retention(
        &self,
        default: Option<Duration>,
    ) -> Result<Option<Duration>, StoreError> {
        Sqlite::shortest_retention(self, default)
    }
}
