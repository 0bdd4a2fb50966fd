//! Replaying stored ops through the same [`Document`] code that applied them live, from a
//! keyframe: how a room is loaded, and how the canvas at an earlier seq is rendered. Images are
//! decoded and scaled again from their stored uploads (each decoded once), and restores bring
//! back their stored pixels, which gives the same pixels as live.

use std::collections::HashMap;

use image::RgbaImage;
use uuid::Uuid;

use crate::canvas::{decode, Canvas, Document, Op, Picture, Restore};
use crate::config::Config;
use crate::store::{Record, StoreError, StoredOp};

/// A document being rebuilt op by op.
pub struct Replay {
    doc: Document,
    room: Uuid,
    max_image_pixels: u64,
    /// Uploads the ops may draw, as stored, by id.
    images: HashMap<String, Vec<u8>>,
    /// Those already decoded.
    decoded: HashMap<String, RgbaImage>,
}

impl Replay {
    /// A replay of `room` starting from `base`, the canvas at `base_seq`, with the room's
    /// history settings from `config` (the same as live, so undo repeats exactly).
    pub fn new(room: Uuid, base: Canvas, base_seq: u64, config: &Config) -> Replay {
        let doc = Document::new(base, base_seq, config.undo_depth, config.checkpoint_every)
            .with_history_window(config.history_window);
        Replay {
            doc,
            room,
            max_image_pixels: config.max_image_pixels,
            images: HashMap::new(),
            decoded: HashMap::new(),
        }
    }

    /// Adds uploads the coming ops draw.
    pub fn add_images(&mut self, images: HashMap<String, Vec<u8>>) {
        self.images.extend(images);
    }

    /// The uploads it holds (so a caller fetches only the missing ones).
    pub fn images(&self) -> &HashMap<String, Vec<u8>> {
        &self.images
    }

    /// Takes the uploads it holds (for a replay that goes on from a later keyframe).
    pub fn take_images(&mut self) -> HashMap<String, Vec<u8>> {
        self.decoded.clear();
        std::mem::take(&mut self.images)
    }

    /// The document so far.
    pub fn doc(&self) -> &Document {
        &self.doc
    }

    /// The document, once every op is replayed.
    pub fn into_doc(self) -> Document {
        self.doc
    }

    /// Replays the next op; `Corrupt` if it does not replay to its seq.
    pub fn apply(&mut self, op: StoredOp) -> Result<(), StoreError> {
        let StoredOp {
            seq,
            author,
            record,
            tiles,
            ..
        } = op;
        let doc = &mut self.doc;
        let applied = match &record {
            Record::Undo => doc.undo(&author).map(|a| a.seq),
            Record::Redo => doc.redo(&author).map(|a| a.seq),
            Record::Revert {
                author: victim,
                from,
            } => doc.revert_from(&author, victim, *from).map(|a| a.seq),
            Record::Restore { seq: from } => {
                let restore = Restore { seq: *from, tiles };
                Some(doc.commit(&author, Op::Restore(restore)).seq)
            }
            Record::Image { .. } => {
                let picture = self.picture(&record, seq)?;
                Some(self.doc.commit(&author, Op::Image(picture)).seq)
            }
            other => other.to_op().map(|op| doc.commit(&author, op).seq),
        };
        if applied != Some(seq) {
            return Err(StoreError::Corrupt(format!(
                "room {}: op {seq} does not replay (got {applied:?})",
                self.room
            )));
        }
        Ok(())
    }

    /// An image op's picture, decoding its upload the first time it is drawn.
    fn picture(&mut self, record: &Record, seq: u64) -> Result<Picture, StoreError> {
        let (id, at) = record.image().expect("an image record has an image");
        if !self.decoded.contains_key(id) {
            let bytes = self.images.get(id).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "room {}: op {seq} draws image {id}, which is not stored",
                    self.room
                ))
            })?;
            let source = decode(bytes, self.max_image_pixels)
                .map_err(|e| StoreError::Corrupt(format!("room {} image {id}: {e}", self.room)))?;
            self.decoded.insert(id.to_owned(), source);
        }
        let canvas = self.doc.canvas();
        let (width, height) = (canvas.width(), canvas.height());
        Ok(Picture::new(
            id.to_owned(),
            &self.decoded[id],
            at,
            width,
            height,
        ))
    }
}
