//! The owner's HTTP request: `POST /api/rooms/{id}/edit_key` replaces the edit key.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use uuid::Uuid;

use super::ApiError;
use crate::room::Registry;

/// The `201` body: the new edit key and link.
#[derive(Serialize)]
struct Replaced {
    edit_key: String,
    edit_url: String,
}

/// `POST /api/rooms/{id}/edit_key` with `Authorization: Bearer <owner key>`: a new edit key.
/// Editors who joined with the old key become viewers; the old key gets `bad_key` from then on.
pub async fn edit_key(
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path).map_err(|_| ApiError::room_not_found())?;
    let key = super::rooms::bearer(&req, "owner key")?;
    // Cluster mode: the owner replaces it, so that its editors on the old key are told.
    if let crate::room::Located::Elsewhere(_, node) =
        super::rooms::located(&registry, id, &req).await?
    {
        return super::forward::forward_http(&req, bytes::Bytes::new(), &node).await;
    }
    let meta = registry
        .replace_edit_key(id, key)
        .await?
        .ok_or_else(ApiError::room_not_found)?;
    Ok(HttpResponse::Created().json(Replaced {
        edit_url: format!("/r/{id}#key={}", meta.edit_key),
        edit_key: meta.edit_key.clone(),
    }))
}
