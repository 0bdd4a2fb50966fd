//! Loading a stored room: its document rebuilt by replaying the ops after its base keyframe
//! ([`Replay`]).

use crate::canvas::Document;
use crate::config::Config;
use crate::history::Replay;
use crate::meta::RoomMeta;
use crate::store::{StoreError, StoredRoom};

/// Rebuilds a stored room's document; `Corrupt` if an op does not replay to its seq.
/// CPU-heavy (images are decoded): call from the blocking pool.
pub fn rebuild(stored: StoredRoom, config: &Config) -> Result<(RoomMeta, Document), StoreError> {
    let StoredRoom {
        meta,
        base_seq,
        base,
        ops,
        images,
    } = stored;
    let mut replay = Replay::new(meta.id, base, base_seq, config);
    replay.add_images(images);
    for op in ops {
        replay.apply(op)?;
    }
    Ok((meta, replay.into_doc()))
}
