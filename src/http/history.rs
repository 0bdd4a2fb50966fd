//! The history API: a board's kept history (`/history`), its canvas at an earlier seq or time
//! (`canvas.png?seq=` / `?at=`) and its timelapse (`timelapse.png`). Renders run on the
//! blocking pool, each in a slot of [`HistoryJobs`](crate::history::HistoryJobs): a request
//! that finds none free gets `429 busy`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rooms::{export_size, file_stem, png_response, transparent};
use super::ApiError;
use crate::history::time::{format_rfc3339, parse_rfc3339};
use crate::history::timelapse::{self, Timelapse};
use crate::history::{canvas_at, HistoryError, JobKind};
use crate::meta::RoomMeta;
use crate::protocol::ErrorCode;
use crate::room::Registry;
use crate::store::{HistoryRead, Store};

/// Marks in a `/history` answer.
const MARKS: u64 = 200;

/// One point of a board's timeline.
#[derive(Debug, Serialize)]
struct Mark {
    seq: u64,
    /// RFC 3339, or null for ops stored before times were kept.
    at: Option<String>,
}

/// The body of `GET /api/rooms/{id}/history`.
#[derive(Debug, Serialize)]
struct HistoryInfo {
    id: String,
    /// The first seq whose canvas is kept.
    from: u64,
    /// The latest stored seq.
    seq: u64,
    /// Who may restore: `owner` or `editor`.
    restore: &'static str,
    /// When the board was created (RFC 3339).
    created_at: String,
    marks: Vec<Mark>,
}

/// Runs blocking history work with a fresh read connection on the blocking pool.
async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    work: impl FnOnce(&dyn HistoryRead) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(store);
    web::block(move || work(&*store.history_reader()?))
        .await
        .map_err(|_| ApiError::internal("the history job failed"))?
}

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> ApiError {
        match e {
            HistoryError::NotFound => ApiError::room_not_found(),
            HistoryError::OutOfRange { .. } => ApiError::bad_request(e.to_string()),
            HistoryError::Store(e) => e.into(),
            HistoryError::Render(e) => ApiError::internal(e),
        }
    }
}

fn busy(what: &str) -> ApiError {
    ApiError::with_status(
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Busy,
        format!("the server is rendering as many {what} as it may at once; try again in a moment"),
    )
}

/// The room's metadata from the store (history needs no loaded room).
async fn meta_of(registry: &Registry, raw: &str) -> Result<RoomMeta, ApiError> {
    let id = Uuid::parse_str(raw).map_err(|_| ApiError::room_not_found())?;
    let store = Arc::clone(registry.store());
    web::block(move || store.room_meta(id))
        .await
        .map_err(|_| ApiError::internal("reading the board failed"))??
        .ok_or_else(ApiError::room_not_found)
}

/// `GET /api/rooms/{id}/history`: where the kept history starts and ends, who may restore,
/// and up to 200 (seq, time) marks spread over it.
pub async fn info(
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let meta = meta_of(&registry, &path).await?;
    let id = meta.id;
    let (bounds, marks) = blocking(registry.store(), move |conn| {
        let bounds = conn.bounds(id)?.ok_or_else(ApiError::room_not_found)?;
        let marks = conn.marks(id, bounds.from, bounds.seq, MARKS)?;
        Ok((bounds, marks))
    })
    .await?;
    let created = bounds.created_at.saturating_mul(1000);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(HistoryInfo {
            id: id.to_string(),
            from: bounds.from,
            seq: bounds.seq,
            restore: if meta.owner_key.is_some() {
                "owner"
            } else {
                "editor"
            },
            created_at: format_rfc3339(created),
            marks: marks
                .into_iter()
                .map(|(seq, at)| Mark {
                    seq,
                    // Seq 0 is the blank board, as it was created.
                    at: at.or((seq == 0).then_some(created)).map(format_rfc3339),
                })
                .collect(),
        }))
}

/// Which moment of the history `canvas.png` shows.
#[derive(Debug, Clone, Copy)]
pub enum Moment<'a> {
    /// A seq.
    Seq(&'a str),
    /// An RFC 3339 time: the last op at or before it.
    At(&'a str),
}

/// `canvas.png?seq=N` or `?at=<RFC 3339>`: the canvas as it was, with the export's `scale`
/// and background options.
pub async fn canvas_png(
    registry: &Registry,
    raw_id: &str,
    moment: Moment<'_>,
    scale: f32,
    transparent: bool,
) -> Result<HttpResponse, ApiError> {
    let meta = meta_of(registry, raw_id).await?;
    enum Wanted {
        Seq(u64),
        At(i64),
    }
    let wanted = match moment {
        Moment::Seq(text) => Wanted::Seq(text.parse().map_err(|_| {
            ApiError::bad_request("seq must be a whole number (a step of the board's history)")
        })?),
        Moment::At(text) => Wanted::At(parse_rfc3339(text).ok_or_else(|| {
            ApiError::bad_request(
                "at must be an RFC 3339 time, like 2026-12-01T09:30:00Z or 2026-12-01T10:30:00+01:00",
            )
        })?),
    };
    export_size(
        (meta.width, meta.height),
        scale,
        registry.config().max_export_pixels,
        "an export",
    )?;
    let slot = registry
        .history_jobs()
        .try_start(JobKind::Render)
        .ok_or_else(|| busy("earlier canvases"))?;
    let config = Arc::clone(registry.config());
    let background = (!transparent).then_some(meta.background);
    let name = meta.name.clone();
    let (png, seq) = blocking(registry.store(), move |conn| {
        // Held by the render itself: a client that goes away does not free it early.
        let _slot = slot;
        let seq = match wanted {
            Wanted::Seq(seq) => seq,
            Wanted::At(at) => {
                let bounds = conn.bounds(meta.id)?.ok_or_else(ApiError::room_not_found)?;
                match conn.seq_at(meta.id, at)? {
                    Some(seq) => seq.max(bounds.from),
                    None if at >= bounds.created_at.saturating_mul(1000) && bounds.from == 0 => 0,
                    None => {
                        return Err(ApiError::bad_request(
                            "this board's kept history does not reach back to that time",
                        ))
                    }
                }
            }
        };
        let canvas = canvas_at(conn, &meta, &config, seq)?;
        let png = canvas
            .snapshot()
            .export_png(background, scale)
            .ok_or_else(|| ApiError::internal("not enough memory for this export"))?;
        Ok((png, seq))
    })
    .await?;
    let file_name = format!("{}-step-{seq}.png", file_stem(&name));
    Ok(png_response(png, seq, &file_name))
}

/// Query of `timelapse.png`.
#[derive(Debug, Deserialize)]
pub struct TimelapseQuery {
    frames: Option<String>,
    duration: Option<String>,
    scale: Option<String>,
    from: Option<String>,
    to: Option<String>,
    background: Option<String>,
}

fn parsed<T: std::str::FromStr>(value: Option<&str>, what: &str) -> Result<Option<T>, ApiError> {
    value
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("{what} must be a number")))
        })
        .transpose()
}

/// `GET /api/rooms/{id}/timelapse.png`: the board's history as an animated PNG, streamed as
/// its frames are rendered.
pub async fn timelapse_png(
    registry: web::Data<Registry>,
    path: web::Path<String>,
    query: web::Query<TimelapseQuery>,
) -> Result<HttpResponse, ApiError> {
    let meta = meta_of(&registry, &path).await?;
    let transparent = transparent(query.background.as_deref())?;
    let request = Timelapse {
        from: parsed(query.from.as_deref(), "from")?,
        to: parsed(query.to.as_deref(), "to")?,
        frames: parsed(query.frames.as_deref(), "frames")?.unwrap_or(timelapse::DEFAULT_FRAMES),
        duration: parsed(query.duration.as_deref(), "duration")?,
        scale: parsed(query.scale.as_deref(), "scale")?.unwrap_or(timelapse::DEFAULT_SCALE),
        background: (!transparent).then_some(meta.background),
    };
    let config = Arc::clone(registry.config());
    request.check(&config).map_err(ApiError::bad_request)?;
    export_size(
        (meta.width, meta.height),
        request.scale,
        config.max_timelapse_frame_pixels,
        "a timelapse frame",
    )?;
    let slot = registry
        .history_jobs()
        .try_start(JobKind::Timelapse)
        .ok_or_else(|| busy("timelapses"))?;
    let name = meta.name.clone();
    let plan = {
        let (meta, request) = (meta.clone(), request);
        blocking(registry.store(), move |conn| {
            Ok(timelapse::plan(conn, &meta, &request)?)
        })
        .await?
    };
    let (writer, body) = super::stream::body();
    let store = Arc::clone(registry.store());
    let headers = (plan.frames(), plan.from(), plan.to());
    // The job holds the slot until the last frame is written (or the client went away).
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let started = std::time::Instant::now();
        let result = store
            .history_reader()
            .map_err(HistoryError::from)
            .and_then(|conn| timelapse::render(&*conn, &meta, &config, &request, &plan, writer));
        match result {
            Ok(writer) => {
                if let Err(e) = writer.complete() {
                    tracing::debug!(room = %meta.id, "timelapse not delivered: {e}");
                }
                tracing::info!(
                    room = %meta.id,
                    frames = plan.frames(),
                    ms = started.elapsed().as_millis() as u64,
                    "timelapse rendered"
                );
            }
            Err(e) => tracing::warn!(room = %meta.id, "timelapse stopped: {e}"),
        }
    });
    let stem = file_stem(&name);
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Inkroom-Frames", headers.0.to_string()))
        .insert_header(("X-Inkroom-From", headers.1.to_string()))
        .insert_header(("X-Inkroom-To", headers.2.to_string()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{stem}-timelapse.png\""),
        ))
        .streaming(body))
}
