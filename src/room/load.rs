//! Loading a stored room: its document rebuilt by replaying the ops after its history base
//! through the same code that applied them live. Images are decoded and scaled again from
//! their stored uploads (each decoded once), which gives the same pixels as live.

use std::collections::HashMap;

use image::RgbaImage;

use crate::canvas::{decode, Document, Picture};
use crate::config::Config;
use crate::meta::RoomMeta;
use crate::store::{Record, StoreError, StoredRoom};

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
    let (width, height) = (base.width(), base.height());
    let mut doc = Document::new(base, base_seq, config.undo_depth, config.checkpoint_every)
        .with_history_window(config.history_window);
    let mut decoded: HashMap<String, RgbaImage> = HashMap::new();
    for (seq, author, record) in ops {
        let applied = match &record {
            Record::Undo => doc.undo(&author).map(|a| a.seq),
            Record::Redo => doc.redo(&author).map(|a| a.seq),
            Record::Image { .. } => {
                let (id, at) = record.image().expect("an image record has an image");
                if !decoded.contains_key(id) {
                    let bytes = images_bytes(&images, id, seq, &meta)?;
                    let source = decode(bytes, config.max_image_pixels).map_err(|e| {
                        StoreError::Corrupt(format!("room {} image {id}: {e}", meta.id))
                    })?;
                    decoded.insert(id.to_owned(), source);
                }
                let source = &decoded[id];
                let picture = Picture::new(id.to_owned(), source, at, width, height);
                Some(doc.commit(&author, crate::canvas::Op::Image(picture)).seq)
            }
            Record::Revert {
                author: victim,
                from,
            } => doc.revert_from(&author, victim, *from).map(|a| a.seq),
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

/// The stored bytes of an image an op draws.
fn images_bytes<'a>(
    images: &'a HashMap<String, Vec<u8>>,
    id: &str,
    seq: u64,
    meta: &RoomMeta,
) -> Result<&'a [u8], StoreError> {
    images.get(id).map(Vec::as_slice).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "room {}: op {seq} draws image {id}, which is not stored",
            meta.id
        ))
    })
}
