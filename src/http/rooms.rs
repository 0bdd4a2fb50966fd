//! The rooms API: create, describe, export as PNG, and the WebSocket upgrade.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::history::Moment;
use super::{forward, ApiError};
use crate::canvas::Rgba;
use crate::meta::NewRoom;
use crate::protocol::ErrorCode;
use crate::room::{Located, Registry, Status, TakeSnapshot};
use crate::session;

/// The `201` body of `POST /api/rooms`: the only response that carries the edit key and the
/// owner key.
#[derive(Serialize)]
struct Created {
    id: String,
    edit_key: String,
    owner_key: Option<String>,
    owner_url: Option<String>,
    name: String,
    width: u32,
    height: u32,
    background: String,
    edit_url: String,
    view_url: String,
}

/// The body of `GET /api/rooms/{id}`: public facts and live counts, no secrets.
#[derive(Debug, Serialize)]
struct Info {
    id: String,
    name: String,
    width: u32,
    height: u32,
    background: String,
    seq: u64,
    editors: usize,
    viewers: usize,
    lagging: usize,
}

/// `POST /api/rooms`: creates a room from an optional JSON body.
pub async fn create(
    registry: web::Data<Registry>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let req: NewRoom = if body.iter().all(u8::is_ascii_whitespace) {
        NewRoom::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid room request: {e}")))?
    };
    let meta = registry.create(req).await?;
    tracing::info!(room = %meta.id, width = meta.width, height = meta.height, "room created");
    let id = meta.id.to_string();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/rooms/{id}")))
        .json(Created {
            edit_url: format!("/r/{id}#key={}", meta.edit_key),
            view_url: format!("/r/{id}"),
            edit_key: meta.edit_key.clone(),
            owner_url: meta
                .owner_key
                .as_ref()
                .map(|k| format!("/r/{id}#owner={k}")),
            owner_key: meta.owner_key.clone(),
            name: meta.name.clone(),
            width: meta.width,
            height: meta.height,
            background: meta.background.to_hex(),
            id,
        }))
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::room_not_found())
}

/// `GET /api/rooms/{id}`: public facts and live member counts.
pub async fn info(
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let (meta, addr) = match located(&registry, id, &req).await? {
        Located::Here(meta, addr) => (meta, addr),
        Located::Elsewhere(_, node) => {
            return forward::forward_http(&req, Bytes::new(), &node).await
        }
    };
    let status = addr
        .addr
        .send(Status)
        .await
        .map_err(|_| ApiError::internal("the room is not available"))?;
    Ok(HttpResponse::Ok().json(Info {
        id: meta.id.to_string(),
        name: meta.name.clone(),
        width: meta.width,
        height: meta.height,
        background: meta.background.to_hex(),
        seq: status.seq,
        editors: status.editors,
        viewers: status.viewers,
        lagging: status.lagging,
    }))
}

/// Query of the PNG export.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// Scale factor, 0.1 to 4 (default 1).
    scale: Option<String>,
    /// `transparent` to leave out the background color.
    background: Option<String>,
    /// The canvas as it was at this seq (see `http::history`).
    seq: Option<String>,
    /// The canvas as it was at this RFC 3339 time: the last op at or before it.
    at: Option<String>,
}

/// `GET /api/rooms/{id}/canvas.png[?scale=0.5][&background=transparent]`: the committed canvas.
pub async fn canvas_png(
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let scale = match query.scale.as_deref() {
        None => 1.0,
        Some(text) => text
            .parse::<f32>()
            .ok()
            .filter(|s| (0.1..=4.0).contains(s))
            .ok_or_else(|| ApiError::bad_request("scale must be a number from 0.1 to 4"))?,
    };
    let transparent = transparent(query.background.as_deref())?;
    let moment = match (query.seq.as_deref(), query.at.as_deref()) {
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give seq or at, not both")),
        (Some(seq), None) => Some(Moment::Seq(seq)),
        (None, Some(at)) => Some(Moment::At(at)),
        (None, None) => None,
    };
    if let Some(moment) = moment {
        return super::history::canvas_png(&registry, &path, moment, scale, transparent).await;
    }
    let (meta, addr) = match located(&registry, id, &req).await? {
        Located::Here(meta, addr) => (meta, addr),
        Located::Elsewhere(_, node) => {
            return forward::forward_http(&req, Bytes::new(), &node).await
        }
    };
    let (snapshot, seq) = addr
        .addr
        .send(TakeSnapshot)
        .await
        .map_err(|_| ApiError::internal("the room is not available"))?;
    let (w, h) = export_size(
        (meta.width, meta.height),
        scale,
        registry.config().max_export_pixels,
        "an export",
    )?;
    let background = (!transparent).then_some(meta.background);
    let file_name = export_file_name(&meta.name, (w, h), background.map(Rgba::to_hex).as_deref());
    let png = web::block(move || snapshot.export_png(background, scale))
        .await
        .map_err(|_| ApiError::internal("encoding the canvas failed"))?
        .ok_or_else(|| ApiError::internal("not enough memory for this export"))?;
    Ok(png_response(png, seq, &file_name))
}

/// Whether an export's `background` parameter leaves out the background: only `transparent`
/// is allowed.
pub(super) fn transparent(background: Option<&str>) -> Result<bool, ApiError> {
    match background {
        None => Ok(false),
        Some("transparent") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "background may only be \"transparent\"",
        )),
    }
}

/// The size of `(width, height)` at `scale` (each side at least 1 pixel, as
/// [`Snapshot::export_size`](crate::canvas::Snapshot::export_size)); `400` when it is over `max`
/// pixels.
pub(super) fn export_size(
    (width, height): (u32, u32),
    scale: f32,
    max: u64,
    what: &str,
) -> Result<(u32, u32), ApiError> {
    let side = |v: u32| ((v as f32 * scale).round() as u32).max(1);
    let (w, h) = (side(width), side(height));
    if u64::from(w) * u64::from(h) > max {
        return Err(ApiError::bad_request(format!(
            "{what} of {w}x{h} is over the limit of {max} pixels; use a smaller scale"
        )));
    }
    Ok((w, h))
}

/// A PNG of the canvas at `seq`, shown inline under `file_name`.
pub(super) fn png_response(png: Vec<u8>, seq: u64, file_name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Inkroom-Seq", seq.to_string()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{file_name}\""),
        ))
        .body(png)
}

/// An export's file name: the room's name, the image's size and its background, so that exports
/// of one board at several sizes or backgrounds do not overwrite each other
/// (`Team-sketch-3200x2000-transparent.png`, `Team-sketch-1600x1000-white.png`).
fn export_file_name(name: &str, (w, h): (u32, u32), background: Option<&str>) -> String {
    let background = match background.map(str::to_ascii_lowercase).as_deref() {
        None => "transparent".to_owned(),
        Some("#ffffff") => "white".to_owned(),
        Some("#000000") => "black".to_owned(),
        Some(color) => format!("bg-{}", color.trim_start_matches('#')),
    };
    format!("{}-{w}x{h}-{background}.png", file_stem(name))
}

/// A safe file name from a room name.
pub(super) fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-');
    if stem.is_empty() {
        "inkroom".to_owned()
    } else {
        stem.to_owned()
    }
}

/// The key a request carries as `Authorization: Bearer <key>`; 401 naming `what` without one.
pub(super) fn bearer<'a>(req: &'a HttpRequest, what: &str) -> Result<&'a str, ApiError> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthorized(format!("send the {what} as Authorization: Bearer <key>"))
        })
}

/// `DELETE /api/rooms/{id}` with `Authorization: Bearer <edit_key>`: deletes the room.
pub async fn delete(
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let key = bearer(&req, "edit key")?;
    // Cluster mode: the owner deletes it, so that its members are told (4004).
    if let Located::Elsewhere(_, node) = located(&registry, id, &req).await? {
        return forward::forward_http(&req, Bytes::new(), &node).await;
    }
    match registry.delete(id, key).await {
        Ok(true) => {
            tracing::info!(room = %id, "room deleted");
            Ok(HttpResponse::NoContent().finish())
        }
        Ok(false) => Err(ApiError::room_not_found()),
        Err(e) if e.code == crate::protocol::ErrorCode::BadKey => {
            Err(ApiError::forbidden(e.message))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/rooms/{id}/ws`: upgrades to the room's WebSocket.
pub async fn websocket(
    req: HttpRequest,
    body: web::Payload,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = parse_id(&path)?;
    check_origin(&req, registry.config())?;
    let (meta, addr) = match located(&registry, id, &req).await? {
        Located::Here(meta, addr) => (meta, addr),
        Located::Elsewhere(_, node) => {
            return forward::relay_websocket(&req, body, &node, &registry, id).await
        }
    };
    // Another node's relay that takes the room's common traffic from the bus (so does this
    // node, or it could not publish it).
    let bus = forward::is_forwarded(&req)
        && req
            .headers()
            .contains_key(crate::cluster::fanout::BUS_HEADER)
        && registry.fanout().is_some();
    let (response, ws_session, stream) = actix_ws::handle(&req, body)?;
    let config = Arc::clone(registry.config());
    let metrics = Arc::clone(registry.metrics());
    actix_web::rt::spawn(session::run(
        ws_session, stream, meta, addr, config, metrics, bus,
    ));
    Ok(response)
}

/// Where a room runs: here, or (cluster mode) on the node that owns it. A request another node
/// already forwarded is never forwarded again: the room is between owners (503, try again).
pub(super) async fn located(
    registry: &Registry,
    id: Uuid,
    req: &HttpRequest,
) -> Result<Located, ApiError> {
    let located = registry
        .locate(id)
        .await?
        .ok_or_else(ApiError::room_not_found)?;
    if matches!(located, Located::Elsewhere(..)) && forward::is_forwarded(req) {
        return Err(ApiError::with_status(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerBusy,
            "this board is moving between servers; try again in a moment",
        ));
    }
    Ok(located)
}

/// Refuses a WebSocket opened by a page from another site: its Origin must be the server's own
/// (same host as the request's Host header) or listed in `Config::allowed_origins`. Requests
/// without an Origin (not from a browser page) pass.
fn check_origin(req: &HttpRequest, config: &crate::config::Config) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    let same = !host.is_empty() && origin_host.eq_ignore_ascii_case(host);
    if same
        || config
            .allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    {
        Ok(())
    } else {
        Err(ApiError::forbidden_origin(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_stem("My board!"), "My-board");
        assert_eq!(file_stem("../../etc"), "etc");
        assert_eq!(file_stem("…"), "inkroom");
    }
}
