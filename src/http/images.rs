//! `POST /api/rooms/{id}/images`: an editor (or the room's owner) uploads an image, which the room then draws with
//! `image` ops.
//!
//! The order of checks spends nothing on a request that will be refused: the edit key first
//! (before any of the body is read), then the body's size as it streams in (never more than
//! `Config::max_image_bytes` is held), then the image's header (its format and pixel count,
//! before any pixel is decoded), then a full decode under limits on the blocking pool (a
//! truncated or corrupt file is refused), and last the room's quota, checked by the store in the
//! same transaction that stores the image.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use uuid::Uuid;

use super::ApiError;
use crate::canvas::{decode, DecodeError};
use crate::protocol::ErrorCode;
use crate::room::Registry;
use crate::store::{ImageSaved, NewImage};

/// The `201` body: the image's id for `image` ops, and its size in pixels.
#[derive(Debug, Serialize)]
struct Uploaded {
    image: String,
    width: u32,
    height: u32,
}

/// Turns for reading and decoding uploads: `Config::max_concurrent_uploads` at once, server-wide,
/// so memory stays bounded however many people upload together.
pub struct UploadSlots(tokio::sync::Semaphore);

impl UploadSlots {
    /// `n` uploads at once (at least one).
    pub fn new(n: usize) -> UploadSlots {
        UploadSlots(tokio::sync::Semaphore::new(n.max(1)))
    }
}

/// `POST /api/rooms/{id}/images` with `Authorization: Bearer <edit key or owner key>` and the
/// image file as the body.
pub async fn upload(
    req: HttpRequest,
    registry: web::Data<Registry>,
    slots: web::Data<UploadSlots>,
    path: web::Path<String>,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let room = Uuid::parse_str(&path).map_err(|_| ApiError::room_not_found())?;
    let key = super::rooms::bearer(&req, "edit key")?.to_owned();
    let store = std::sync::Arc::clone(registry.store());
    let meta = crate::room::on_blocking_pool(move || store.room_meta(room))
        .await?
        .ok_or_else(ApiError::room_not_found)?;
    // The owner draws with the owner key (a board created in the page may have no edit link).
    if !(meta.is_edit_key(&key) || meta.is_owner_key(&key)) {
        return Err(ApiError::forbidden("this is not the board's edit key"));
    }
    // Waits for a turn before reading the body: the bytes wait in the socket meanwhile.
    let _turn = slots
        .0
        .acquire()
        .await
        .map_err(|_| ApiError::internal("the server is shutting down"))?;
    let config = registry.config();
    let limit = config.max_image_bytes;
    let too_big = || {
        ApiError::with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("an image may be at most {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut bytes = web::BytesMut::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the upload: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk);
    }
    let bytes = bytes.freeze();
    let max_pixels = config.max_image_pixels;
    let check = bytes.clone();
    let (width, height) =
        web::block(move || decode(&check, max_pixels).map(|img| img.dimensions()))
            .await
            .map_err(|_| ApiError::internal("decoding the image failed"))?
            .map_err(refusal)?;
    let id = Uuid::new_v4().simple().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    registry.store().save_image(
        NewImage {
            room,
            id: id.clone(),
            width,
            height,
            data: bytes,
            quota: config.room_image_bytes,
        },
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    );
    let saved = rx
        .await
        .map_err(|_| ApiError::from(crate::store::StoreError::Closed))?
        .map_err(|e| ApiError::from(crate::store::StoreError::Unusable(e.to_string())))?;
    match saved {
        ImageSaved::Stored => {
            tracing::info!(room = %room, image = %id, width, height, "image uploaded");
            Ok(HttpResponse::Created().json(Uploaded {
                image: id,
                width,
                height,
            }))
        }
        ImageSaved::OverQuota { used } => Err(ApiError::with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::ImageQuota,
            format!(
                "this board holds {used} bytes of images and may hold at most {}",
                config.room_image_bytes
            ),
        )),
        ImageSaved::NoRoom => Err(ApiError::room_not_found()),
    }
}

/// The HTTP error for an upload that is not a usable image.
fn refusal(e: DecodeError) -> ApiError {
    let status = match e {
        DecodeError::NotAnImage => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        DecodeError::TooManyPixels { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        DecodeError::Broken(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let code = match e {
        DecodeError::TooManyPixels { .. } => ErrorCode::TooLarge,
        _ => ErrorCode::BadImage,
    };
    ApiError::with_status(status, code, e.to_string())
}
