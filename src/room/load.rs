//! Loading a stored room: its document rebuilt by replaying the ops after its history base
//! through the same code that applied them live.

use crate::canvas::Document;
use crate::config::Config;
use crate::meta::RoomMeta;
use crate::store::{Record, StoreError, StoredRoom};

/// Rebuilds a stored room's document; `Corrupt` if an op does not replay to its seq.
pub fn rebuild(stored: StoredRoom, config: &Config) -> Result<(RoomMeta, Document), StoreError> {
    let StoredRoom {
        meta,
        base_seq,
        base,
        ops,
    } = stored;
    let mut doc = Document::new(base, base_seq, config.undo_depth, config.checkpoint_every)
        .with_history_window(config.history_window);
    for (seq, author, record) in ops {
        let applied = match &record {
            Record::Undo => doc.undo(&author).map(|a| a.seq),
            Record::Redo => doc.redo(&author).map(|a| a.seq),
            other => other.to_op().map(|op| doc.commit(&author, op).seq),
        };
        if applied != Some(seq) {
            return Err(StoreError::Corrupt(format!(
                "room {}: op {seq} does not replay (got {applied:?})",
                meta.id
            )));
        }
    }
    Ok((meta, doc))
}
