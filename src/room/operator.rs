//! What operators do to rooms through the [`Registry`] (the admin API): list them with their
//! stored and live facts, lock and unlock them, set their retention, kick a member, delete.
//!
//! Locks and retentions are stored first and then applied to the running room, under the
//! registry's `loading` lock: a room loading at the same moment reads the new value, so what
//! is stored and what runs never disagree.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::admin::{Kick, Live, LiveFacts, SetLocked};
use super::Registry;
use crate::store::{FactUpdate, RoomFacts, StoreError};

/// Longest an operator's request waits for a busy room to answer.
const ROOM_ANSWER: Duration = Duration::from_secs(2);

/// A room as an operator sees it: what the store knows, and what the room says when it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRoom {
    /// Stored facts.
    pub facts: RoomFacts,
    /// Live facts, when the room is loaded (and answered in time).
    pub live: Option<LiveFacts>,
}

impl Registry {
    /// Queues a change of facts and waits until it is durable.
    pub(super) async fn write_facts(&self, update: FactUpdate) -> Result<(), StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.store().update_facts(
            update,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Unusable(e.to_string())),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Adds live facts to stored ones, asking the room if it runs.
    async fn with_live(&self, facts: RoomFacts) -> AdminRoom {
        let live = match self.loaded(facts.id) {
            Some(handle) => tokio::time::timeout(ROOM_ANSWER, handle.addr.send(Live))
                .await
                .ok()
                .and_then(Result::ok),
            None => None,
        };
        AdminRoom { facts, live }
    }

    /// Up to `limit` rooms in id order after `after`, with live facts for loaded ones.
    pub async fn admin_rooms(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<AdminRoom>, StoreError> {
        let store = Arc::clone(self.store());
        let facts = super::on_blocking_pool(move || store.list_room_facts(after, limit)).await?;
        let rooms = facts.into_iter().map(|f| self.with_live(f));
        Ok(futures_util::future::join_all(rooms).await)
    }

    /// One room, or `None` if it does not exist.
    pub async fn admin_room(&self, id: Uuid) -> Result<Option<AdminRoom>, StoreError> {
        let store = Arc::clone(self.store());
        match super::on_blocking_pool(move || store.room_facts(id)).await? {
            Some(facts) => Ok(Some(self.with_live(facts).await)),
            None => Ok(None),
        }
    }

    async fn exists(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.meta(id).await?.is_some())
    }

    /// Locks or unlocks a room, for good (until changed again): stored, then applied if the room
    /// runs. Returns the room afterwards, or `None` if it does not exist.
    pub async fn set_locked(
        &self,
        id: Uuid,
        locked: bool,
    ) -> Result<Option<AdminRoom>, StoreError> {
        if !self.exists(id).await? {
            return Ok(None);
        }
        {
            let _no_loads = self.loading.lock().await;
            self.write_facts(FactUpdate::Locked { room: id, locked })
                .await?;
            if let Some(handle) = self.loaded(id) {
                // A room that stops meanwhile reads the stored lock when it loads again.
                let _ = handle.addr.send(SetLocked(locked)).await;
            }
        }
        tracing::info!(room = %id, locked, "operator changed the lock");
        self.admin_room(id).await
    }

    /// Sets a room's own retention (`None`: the server's). Returns the room afterwards, or `None`
    /// if it does not exist.
    pub async fn set_retention(
        &self,
        id: Uuid,
        secs: Option<u32>,
    ) -> Result<Option<AdminRoom>, StoreError> {
        if !self.exists(id).await? {
            return Ok(None);
        }
        self.write_facts(FactUpdate::Retention { room: id, secs })
            .await?;
        self.retention_changed.notify_one();
        tracing::info!(room = %id, ?secs, "operator changed the retention");
        self.admin_room(id).await
    }

    /// Removes a member from a room (closed with 4003 and `reason`). `None` if the room does not
    /// exist, `Some(false)` if the member is not in it.
    pub async fn kick(
        &self,
        id: Uuid,
        member: u64,
        reason: String,
    ) -> Result<Option<bool>, StoreError> {
        if !self.exists(id).await? {
            return Ok(None);
        }
        let Some(handle) = self.loaded(id) else {
            // Nobody is in a room that is not loaded.
            return Ok(Some(false));
        };
        let found = handle
            .addr
            .send(Kick { member, reason })
            .await
            .unwrap_or(false);
        if found {
            tracing::info!(room = %id, member, "operator kicked a member");
        }
        Ok(Some(found))
    }

    /// Deletes a room without its edit key (its members are closed with 4004). False if it does
    /// not exist.
    pub async fn admin_delete(&self, id: Uuid) -> Result<bool, StoreError> {
        if !self.exists(id).await? {
            return Ok(false);
        }
        let one_at_a_time = self.loading.lock().await;
        self.remove(id, &one_at_a_time)
            .await
            .map_err(|e| StoreError::Unusable(e.message))?;
        tracing::info!(room = %id, "operator deleted the room");
        Ok(true)
    }
}
