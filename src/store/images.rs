//! Uploaded images: stored as uploaded, with their room (deleting the room deletes them), under
//! a per-room quota of bytes checked in the same transaction as the insert, so concurrent
//! uploads can never go past it.

use std::cell::Cell;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use uuid::Uuid;

use super::StoreError;

/// An image to store.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// The room it belongs to.
    pub room: Uuid,
    /// Its id within the room.
    pub id: String,
    /// Width in pixels (from its header).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The file as uploaded.
    pub data: bytes::Bytes,
    /// The most bytes of images the room may hold, this one included.
    pub quota: u64,
}

/// What storing an image did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSaved {
    /// Stored.
    Stored,
    /// Not stored: the room holds `used` bytes of images and this one would pass the quota.
    OverQuota {
        /// Bytes of images the room holds.
        used: u64,
    },
    /// Not stored: the room does not exist (any more).
    NoRoom,
}

/// Called once an image is durable, or refused, or the write failed.
pub type ImageDone = Box<dyn FnOnce(Result<ImageSaved, std::sync::Arc<StoreError>>) + Send>;

/// The writer's job for one image: the outcome is decided inside the transaction.
pub(super) struct ImageJob {
    pub(super) image: NewImage,
    pub(super) outcome: Cell<ImageSaved>,
    pub(super) done: ImageDone,
}

/// Stores the image if its room exists and has room for it under its quota.
pub(super) fn write(tx: &Transaction<'_>, job: &ImageJob) -> Result<(), StoreError> {
    let image = &job.image;
    let room = image.room.to_string();
    if !super::room_exists(tx, &room)? {
        job.outcome.set(ImageSaved::NoRoom);
        return Ok(());
    }
    let used = used(tx, &room)?;
    if used.saturating_add(image.data.len() as u64) > image.quota {
        job.outcome.set(ImageSaved::OverQuota { used });
        return Ok(());
    }
    tx.execute(
        "INSERT INTO images (room, id, width, height, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![room, image.id, image.width, image.height, &image.data[..]],
    )?;
    job.outcome.set(ImageSaved::Stored);
    Ok(())
}

/// Bytes of images a room holds.
fn used(conn: &Connection, room: &str) -> Result<u64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(length(data)), 0) FROM images WHERE room = ?1",
        params![room],
        |r| r.get(0),
    )?)
}

/// One image's bytes, if the room has it.
pub(super) fn read(conn: &Connection, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT data FROM images WHERE room = ?1 AND id = ?2",
            params![room.to_string(), id],
            |r| r.get(0),
        )
        .optional()?)
}
