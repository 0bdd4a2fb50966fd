//! An image op's pixels: the upload read from the store, decoded and scaled into its place.
//! Blocking and CPU-heavy: the room runs it on the blocking pool and commits the result.

use crate::canvas::{decode, Picture, Placement};
use crate::meta::RoomMeta;
use crate::protocol::{ErrorCode, ProtoError};
use crate::store::Store;

/// The picture of image `image` of the room placed at `at`, or why it cannot be drawn:
/// `unknown_image` when the room has no such upload.
pub fn picture(
    store: &Store,
    meta: &RoomMeta,
    image: String,
    at: Placement,
    max_pixels: u64,
) -> Result<Picture, ProtoError> {
    let bytes = store
        .image(meta.id, &image)
        .map_err(|e| {
            tracing::error!(room = %meta.id, "reading image {image}: {e}");
            ProtoError::new(
                ErrorCode::StoreUnavailable,
                "the image cannot be read right now; try again in a moment",
            )
        })?
        .ok_or_else(|| {
            ProtoError::new(
                ErrorCode::UnknownImage,
                format!("this board has no image {image}; upload it first"),
            )
        })?;
    let source = decode(&bytes, max_pixels).map_err(|e| {
        tracing::error!(room = %meta.id, "decoding stored image {image}: {e}");
        ProtoError::new(
            ErrorCode::Internal,
            format!("the image cannot be drawn: {e}"),
        )
    })?;
    Ok(Picture::new(image, &source, at, meta.width, meta.height))
}
