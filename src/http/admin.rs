//! The admin API under `/api/admin`: list rooms with their stats, lock and unlock them, kick a
//! member, delete a room, set a room's retention. Documented in `docs/admin.md`.
//!
//! Every request needs `Authorization: Bearer <Config::admin_token>` (401 `unauthorized`
//! otherwise). Without a configured token the whole API is off and answers 404 `not_found`, as
//! if it did not exist, so a server without a token does not advertise an admin surface.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::ApiError;
use crate::room::operator::AdminRoom;
use crate::room::Registry;

/// Rooms per page of `GET /api/admin/rooms` unless `limit` says otherwise.
pub const DEFAULT_PAGE: usize = 100;
/// Longest kick reason, in bytes (a WebSocket close reason holds at most 123).
pub const MAX_REASON_BYTES: usize = 123;
/// The close reason of a kick without one.
const DEFAULT_REASON: &str = "an operator removed you from this board";

/// Registers the admin routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/admin")
            .route("/rooms", web::get().to(list))
            .route("/rooms/{id}", web::get().to(one))
            .route("/rooms/{id}", web::delete().to(delete))
            .route("/rooms/{id}/lock", web::post().to(lock))
            .route("/rooms/{id}/unlock", web::post().to(unlock))
            .route("/rooms/{id}/kick", web::post().to(kick))
            .route("/rooms/{id}/retention", web::put().to(retention))
            .default_service(web::to(unknown)),
    );
}

/// Proof that a request carries the admin token. Every admin handler takes it first, so no
/// handler runs for a request without it.
#[derive(Debug)]
pub struct Admin(());

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Admin, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorize(req))
    }
}

fn authorize(req: &HttpRequest) -> Result<Admin, ApiError> {
    let token = req
        .app_data::<web::Data<Registry>>()
        .and_then(|r| r.config().admin_token.clone())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::not_found("no such page"))?;
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(ApiError::admin_unauthorized)?;
    if same_secret(sent.as_bytes(), token.as_bytes()) {
        Ok(Admin(()))
    } else {
        tracing::warn!("admin API: wrong token");
        Err(ApiError::admin_unauthorized())
    }
}

/// Compares a sent token with the secret in time that does not depend on where they differ
/// (only on their lengths), so the secret cannot be guessed byte by byte from response times.
fn same_secret(sent: &[u8], secret: &[u8]) -> bool {
    sent.ct_eq(secret).into()
}

/// A room in admin responses. Never the edit key.
#[derive(Debug, Serialize)]
struct Entry {
    id: String,
    name: String,
    width: u32,
    height: u32,
    /// Unix seconds.
    created_at: i64,
    /// When it last loaded or unloaded, unix seconds.
    touched_at: i64,
    /// Its own retention; null follows the server's.
    retention_secs: Option<u32>,
    /// When it will be deleted if nobody visits it; null if never, or while it is loaded.
    expires_at: Option<i64>,
    locked: bool,
    loaded: bool,
    seq: u64,
    editors: usize,
    viewers: usize,
    lagging: usize,
}

fn entry(room: AdminRoom, registry: &Registry) -> Entry {
    let AdminRoom { facts, live } = room;
    let retention = facts.retention_secs.map(i64::from).or_else(|| {
        registry
            .config()
            .room_retention
            .map(crate::store::whole_secs)
    });
    let status = live.map(|l| l.status);
    Entry {
        id: facts.id.to_string(),
        name: facts.name,
        width: facts.width,
        height: facts.height,
        created_at: facts.created_at,
        touched_at: facts.touched_at,
        retention_secs: facts.retention_secs,
        expires_at: retention
            .filter(|_| live.is_none())
            .map(|r| facts.touched_at.saturating_add(r)),
        locked: live.map_or(facts.locked, |l| l.locked),
        loaded: live.is_some(),
        seq: status.map_or(facts.seq, |s| s.seq),
        editors: status.map_or(0, |s| s.editors),
        viewers: status.map_or(0, |s| s.viewers),
        lagging: status.map_or(0, |s| s.lagging),
    }
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::room_not_found())
}

/// Query of `GET /api/admin/rooms`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// List rooms whose id sorts after this one (the `next` of the previous page).
    after: Option<String>,
    /// Rooms per page, 1 to `Config::admin_page_max` (default [`DEFAULT_PAGE`]).
    limit: Option<String>,
}

/// `GET /api/admin/rooms[?after=<id>][&limit=<n>]`: a page of rooms in id order, and the
/// `next` page's `after` (null on the last page).
async fn list(
    _: Admin,
    registry: web::Data<Registry>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let after = query
        .after
        .as_deref()
        .map(|a| Uuid::parse_str(a).map_err(|_| ApiError::bad_request("after must be a room id")))
        .transpose()?;
    let max = registry.config().admin_page_max.max(1);
    let limit = match query.limit.as_deref() {
        None => DEFAULT_PAGE.min(max),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit must be a number from 1 to {max}"))
            })?,
    };
    let mut rooms = registry.admin_rooms(after, limit + 1).await?;
    let next = (rooms.len() > limit).then(|| {
        rooms.truncate(limit);
        rooms.last().map(|r| r.facts.id.to_string())
    });
    let rooms: Vec<Entry> = rooms.into_iter().map(|r| entry(r, &registry)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "rooms": rooms, "next": next.flatten() })))
}

/// `GET /api/admin/rooms/{id}`: one room.
async fn one(
    _: Admin,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let room = registry
        .admin_room(parse_id(&path)?)
        .await?
        .ok_or_else(ApiError::room_not_found)?;
    Ok(HttpResponse::Ok().json(entry(room, &registry)))
}

async fn set_locked(
    registry: &Registry,
    raw_id: &str,
    locked: bool,
) -> Result<HttpResponse, ApiError> {
    let room = registry
        .set_locked(parse_id(raw_id)?, locked)
        .await?
        .ok_or_else(ApiError::room_not_found)?;
    Ok(HttpResponse::Ok().json(entry(room, registry)))
}

/// Cluster mode: a change to a room another node runs is made there, so that its live members
/// are told (every node has the same admin token). `None`: make it here.
async fn on_owner(
    registry: &Registry,
    req: &HttpRequest,
    raw_id: &str,
    body: web::Bytes,
) -> Result<Option<HttpResponse>, ApiError> {
    if super::forward::is_forwarded(req) {
        return Ok(None);
    }
    match registry.running_elsewhere(parse_id(raw_id)?).await? {
        Some(node) => Ok(Some(super::forward::forward_http(req, body, &node).await?)),
        None => Ok(None),
    }
}

/// `POST /api/admin/rooms/{id}/lock`: nobody may draw until unlocked, across restarts.
async fn lock(
    _: Admin,
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if let Some(done) = on_owner(&registry, &req, &path, web::Bytes::new()).await? {
        return Ok(done);
    }
    set_locked(&registry, &path, true).await
}

/// `POST /api/admin/rooms/{id}/unlock`.
async fn unlock(
    _: Admin,
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if let Some(done) = on_owner(&registry, &req, &path, web::Bytes::new()).await? {
        return Ok(done);
    }
    set_locked(&registry, &path, false).await
}

/// Body of a kick.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KickRequest {
    member: u64,
    reason: Option<String>,
}

/// `POST /api/admin/rooms/{id}/kick` with `{"member": 3}` (and an optional `reason`): closes
/// the member's socket with 4003.
async fn kick(
    _: Admin,
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if let Some(done) = on_owner(&registry, &req, &path, body.clone()).await? {
        return Ok(done);
    }
    let id = parse_id(&path)?;
    let req: KickRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid kick request: {e}")))?;
    let reason = req.reason.unwrap_or_else(|| DEFAULT_REASON.to_owned());
    if reason.len() > MAX_REASON_BYTES || reason.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "reason must be at most {MAX_REASON_BYTES} bytes, without control characters"
        )));
    }
    match registry.kick(id, req.member, reason).await? {
        None => Err(ApiError::room_not_found()),
        Some(false) => Err(ApiError::not_found(format!(
            "no member {} in this board",
            req.member
        ))),
        Some(true) => Ok(HttpResponse::NoContent().finish()),
    }
}

/// `DELETE /api/admin/rooms/{id}`: deletes the room without its edit key.
async fn delete(
    _: Admin,
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if let Some(done) = on_owner(&registry, &req, &path, web::Bytes::new()).await? {
        return Ok(done);
    }
    if registry.admin_delete(parse_id(&path)?).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::room_not_found())
    }
}

/// `PUT /api/admin/rooms/{id}/retention` with `{"retention_secs": 86400}`, or `null` to follow
/// the server's retention again.
async fn retention(
    _: Admin,
    registry: web::Data<Registry>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let secs = parse_retention(&body)?;
    let room = registry
        .set_retention(id, secs)
        .await?
        .ok_or_else(ApiError::room_not_found)?;
    Ok(HttpResponse::Ok().json(entry(room, &registry)))
}

/// `{"retention_secs": N}` with N from 1 to `u32::MAX`, or `{"retention_secs": null}`. The
/// field is required, so a mistyped body never resets a retention by accident.
fn parse_retention(body: &[u8]) -> Result<Option<u32>, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "send {{\"retention_secs\": N}} with N from 1 to {}, or {{\"retention_secs\": null}}",
            u32::MAX
        ))
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let fields = value.as_object().filter(|o| o.len() == 1).ok_or_else(bad)?;
    match fields.get("retention_secs").ok_or_else(bad)? {
        Value::Null => Ok(None),
        n => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(bad),
    }
}

/// Any other path under `/api/admin`.
async fn unknown(_: Admin) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such admin endpoint"))
}

#[cfg(test)]
mod tests {
    use super::{parse_retention, same_secret};

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"s3cret-token", b"s3cret-token"));
        assert!(!same_secret(b"s3cret-tokeN", b"s3cret-token"));
        assert!(!same_secret(b"s3cret", b"s3cret-token"));
        assert!(!same_secret(b"", b"s3cret-token"));
    }

    #[test]
    fn retention_bodies() {
        assert_eq!(
            parse_retention(br#"{"retention_secs": 60}"#).ok(),
            Some(Some(60))
        );
        assert_eq!(
            parse_retention(br#"{"retention_secs": null}"#).ok(),
            Some(None)
        );
        for bad in [
            &br#"{}"#[..],
            br#"{"retention_secs": 0}"#,
            br#"{"retention_secs": -5}"#,
            br#"{"retention_secs": 1.5}"#,
            br#"{"retention_secs": 4294967296}"#,
            br#"{"retention_secs": 5, "x": 1}"#,
            br#"null"#,
        ] {
            assert!(
                parse_retention(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
