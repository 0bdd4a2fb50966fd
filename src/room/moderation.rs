//! The owner's request that goes through the registry rather than the room's socket: replacing
//! the edit key (`POST /api/rooms/{id}/edit_key`). The new key is stored first, then the
//! registry's cached facts and the running room take it, under the registry's `loading` lock so
//! a room loading at the same moment reads the new key.

use std::sync::Arc;

use actix::{Context, Handler, Message};
use uuid::Uuid;

use super::actor::Room;
use super::Registry;
use crate::meta::RoomMeta;
use crate::protocol::{ErrorCode, ProtoError};
use crate::store::FactUpdate;

/// The room's facts with a new edit key: the room takes them and its editors become viewers.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReplaceEditKey(pub Arc<RoomMeta>);

impl Handler<ReplaceEditKey> for Room {
    type Result = ();

    fn handle(&mut self, ReplaceEditKey(meta): ReplaceEditKey, ctx: &mut Context<Self>) {
        self.state.replace_edit_key(meta);
        self.run_effects(ctx);
    }
}

impl Registry {
    /// Replaces a room's edit key when `owner_key` is its owner key, and returns the room with
    /// the new key once it is stored. `Ok(None)` when no such room exists; `forbidden` when the
    /// key is not the owner's (or the room has no owner).
    pub async fn replace_edit_key(
        &self,
        id: Uuid,
        owner_key: &str,
    ) -> Result<Option<Arc<RoomMeta>>, ProtoError> {
        let internal = |e: String| ProtoError::new(ErrorCode::Internal, e);
        let one_at_a_time = self.loading.lock().await;
        let Some(meta) = self.meta(id).await.map_err(|e| internal(e.to_string()))? else {
            return Ok(None);
        };
        if !meta.is_owner_key(owner_key) {
            return Err(ProtoError::new(
                ErrorCode::Forbidden,
                "replacing the edit link needs the board's owner key",
            ));
        }
        let meta = Arc::new(meta.with_new_edit_key());
        self.write_facts(FactUpdate::EditKey {
            room: id,
            key: meta.edit_key.clone(),
        })
        .await
        .map_err(|e| internal(format!("could not store the new edit key: {e}")))?;
        let handle = self.set_meta(Arc::clone(&meta));
        if let Some(handle) = handle {
            let _ = handle.addr.send(ReplaceEditKey(Arc::clone(&meta))).await;
        }
        drop(one_at_a_time);
        tracing::info!(room = %id, "owner replaced the edit key");
        Ok(Some(meta))
    }
}
