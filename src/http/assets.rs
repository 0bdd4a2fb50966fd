//! The browser app, embedded in the binary with rust-embed.
//!
//! Pages and scripts are served with a strong ETag (the file's SHA-256) and `no-cache`, so a
//! browser revalidates cheaply and never runs a stale script after an upgrade.

use std::borrow::Cow;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;
use uuid::Uuid;

use crate::room::Registry;

/// `frontend/`: HTML, ES modules and styles.
#[derive(RustEmbed)]
#[folder = "frontend/"]
struct Frontend;

/// `assets/`: icons and other static files.
#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

fn serve(req: &HttpRequest, path: &str, file: Option<rust_embed::EmbeddedFile>) -> HttpResponse {
    let Some(file) = file else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found");
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let body: Cow<'static, [u8]> = file.data;
    HttpResponse::Ok()
        .content_type(mime.essence_str().to_owned() + utf8_suffix(&mime))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body.into_owned())
}

fn utf8_suffix(mime: &mime_guess::Mime) -> &'static str {
    match mime.type_() {
        mime_guess::mime::TEXT => "; charset=utf-8",
        _ if mime.subtype() == mime_guess::mime::JAVASCRIPT => "; charset=utf-8",
        _ => "",
    }
}

/// `GET /`: the landing page.
pub async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, "index.html", Frontend::get("index.html"))
}

/// `GET /r/{id}`: the board page, or a 404 page for an unknown board.
pub async fn room_page(
    req: HttpRequest,
    registry: web::Data<Registry>,
    path: web::Path<String>,
) -> HttpResponse {
    let exists = match Uuid::parse_str(&path) {
        Ok(id) => matches!(registry.meta(id).await, Ok(Some(_))),
        Err(_) => false,
    };
    if exists {
        serve(&req, "room.html", Frontend::get("room.html"))
    } else {
        let mut res = serve(&req, "missing.html", Frontend::get("missing.html"));
        *res.status_mut() = actix_web::http::StatusCode::NOT_FOUND;
        res
    }
}

/// `GET /static/{path}`: scripts, styles and other front-end files.
pub async fn frontend_file(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    serve(&req, &path, Frontend::get(&path))
}

/// `GET /favicon.svg`.
pub async fn favicon(req: HttpRequest) -> HttpResponse {
    serve(&req, "favicon.svg", Assets::get("favicon.svg"))
}

/// `GET /fonts/{name}`: the bundled font files (the text tool's font, the same file the server
/// draws text with).
pub async fn font(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let file = path
        .ends_with(".ttf")
        .then(|| Assets::get(&format!("fonts/{path}")))
        .flatten();
    serve(&req, &path, file)
}

/// `GET /api/stats`: how many rooms are in memory and in the store.
pub async fn stats(registry: web::Data<Registry>) -> Result<HttpResponse, crate::http::ApiError> {
    let store = std::sync::Arc::clone(registry.store());
    let stored = web::block(move || store.room_count())
        .await
        .map_err(|_| crate::http::ApiError::internal("the store is not available"))??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "rooms_loaded": registry.loaded_count(),
        "rooms_stored": stored,
    })))
}
