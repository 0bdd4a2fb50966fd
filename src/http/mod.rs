//! HTTP handlers: the rooms API, image uploads, the PNG export, history (earlier canvases,
//! timelapses), the WebSocket upgrade, the owner's
//! edit-key replacement, the admin API, the static
//! front end, liveness and readiness checks and Prometheus metrics. JSON errors share one shape:
//! `{"error":{"code","message"}}`.

pub mod admin;
pub mod assets;
pub mod error;
pub mod forward;
pub mod health;
pub mod history;
pub mod images;
pub mod metrics;
pub mod moderation;
pub mod rooms;
pub mod stream;

pub use error::ApiError;
