//! HTTP handlers: the rooms API, the PNG export, the WebSocket upgrade, the static front end and
//! the health check. JSON errors share one shape: `{"error":{"code","message"}}`.

pub mod assets;
pub mod error;
pub mod rooms;

pub use error::ApiError;
