//! Liveness and readiness, for load balancers and orchestrators.
//!
//! `GET /healthz` answers while the process serves at all; `GET /readyz` answers 200 only while
//! the server can do its job (the store takes writes and it is not shutting down), and 503 with
//! the reason otherwise, so traffic moves elsewhere without the process being restarted.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::room::Registry;

/// Why the server is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// Shutdown has begun: sockets are closing and the store is being flushed.
    ShuttingDown,
    /// The last store write failed (or the store writer stopped): drawing is refused.
    StoreUnavailable,
}

impl NotReady {
    /// The reason as it appears in the `/readyz` body.
    pub fn as_str(self) -> &'static str {
        match self {
            NotReady::ShuttingDown => "shutting_down",
            NotReady::StoreUnavailable => "store_unavailable",
        }
    }
}

/// Whether the server is ready, and why not.
pub fn readiness(registry: &Registry) -> Result<(), NotReady> {
    if registry.shutting_down() {
        Err(NotReady::ShuttingDown)
    } else if !registry.store().writable() {
        Err(NotReady::StoreUnavailable)
    } else {
        Ok(())
    }
}

/// `GET /healthz`: `200 {"status":"ok"}` while the process serves.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: `200 {"status":"ok"}` while the store takes writes and the server is not
/// shutting down; otherwise `503 {"status":"unavailable","reason":...}`.
pub async fn readyz(registry: web::Data<Registry>) -> HttpResponse {
    match readiness(&registry) {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok"})),
        Err(why) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "unavailable", "reason": why.as_str()})),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::metrics::Metrics;
    use crate::store::Store;

    /// Once shutdown has begun, `/readyz` says so (and `/healthz` still answers).
    #[actix_web::test]
    async fn readyz_turns_unavailable_on_shutdown() {
        let dir = std::env::temp_dir().join(format!("inkroom-ready-{}", uuid::Uuid::new_v4()));
        let store = Arc::new(Store::open(&dir, false).expect("store opens"));
        let metrics = Arc::new(Metrics::new(store.metrics()).expect("metrics"));
        let registry = web::Data::new(Registry::new(
            Arc::new(Config::default()),
            Arc::clone(&store),
            metrics,
        ));
        let body = |res: HttpResponse| async move {
            let status = res.status().as_u16();
            let bytes = actix_web::body::to_bytes(res.into_body())
                .await
                .expect("body");
            let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            (status, json)
        };
        assert_eq!(
            body(readyz(registry.clone()).await).await,
            (200, json!({"status": "ok"}))
        );
        registry.shutdown().await;
        assert_eq!(
            body(readyz(registry.clone()).await).await,
            (
                503,
                json!({"status": "unavailable", "reason": "shutting_down"})
            )
        );
        assert_eq!(body(healthz().await).await, (200, json!({"status": "ok"})));
        drop(registry);
        store.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
