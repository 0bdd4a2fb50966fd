//! `GET /metrics`: the server's [`Metrics`](crate::metrics::Metrics) as Prometheus text.
//!
//! Counters and histograms are kept as things happen; the gauges of what the rooms hold now
//! (rooms loaded, members by role, lagging members) are counted at scrape time by asking each
//! loaded room, so keeping them costs the rooms nothing between scrapes.

use actix_web::{web, HttpResponse};

use crate::http::ApiError;
use crate::metrics::CONTENT_TYPE;
use crate::room::Registry;

/// `GET /metrics`: every metric in the Prometheus text format.
pub async fn metrics(registry: web::Data<Registry>) -> Result<HttpResponse, ApiError> {
    let metrics = registry.metrics();
    metrics.set_live(registry.live().await);
    let text = metrics.render().map_err(|e| {
        tracing::error!("cannot render metrics: {e}");
        ApiError::internal("the metrics could not be rendered")
    })?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}
