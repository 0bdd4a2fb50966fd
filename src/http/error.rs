//! The JSON error body every API endpoint uses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::protocol::{ErrorCode, ProtoError};

/// An API failure: an HTTP status, a stable code and a human message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
}

impl ApiError {
    /// 404 for a room that does not exist.
    pub fn room_not_found() -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: ErrorCode::NotFound,
            message: "no board with this id".to_owned(),
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: ErrorCode::BadRequest,
            message: message.into(),
        }
    }

    /// 401 `bad_key`: no key was sent.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::BadKey,
            message: message.into(),
        }
    }

    /// 403 `bad_key`: the key is wrong.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: ErrorCode::BadKey,
            message: message.into(),
        }
    }

    /// 401 `unauthorized`: the admin API needs `Authorization: Bearer <admin token>`.
    pub fn admin_unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::Unauthorized,
            message: "the admin API needs Authorization: Bearer <admin token>".to_owned(),
        }
    }

    /// 404 `not_found` with a message (a member, a page).
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: ErrorCode::NotFound,
            message: message.into(),
        }
    }

    /// 403 `forbidden_origin`: a page from another site.
    pub fn forbidden_origin(origin: &str) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: ErrorCode::ForbiddenOrigin,
            message: format!("pages from {origin} may not open this board"),
        }
    }

    /// Any status with a code and a message (image uploads: 413, 415, 422).
    pub fn with_status(
        status: StatusCode,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 500 with a message.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: ErrorCode::Internal,
            message: message.into(),
        }
    }
}

impl From<ProtoError> for ApiError {
    fn from(e: ProtoError) -> ApiError {
        let status = match e.code {
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerBusy | ErrorCode::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            code: e.code,
            message: e.message,
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// 503 `store_unavailable`: the store failed (a full disk, say); the request may be retried.
    fn from(e: crate::store::StoreError) -> ApiError {
        tracing::error!("store: {e}");
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: ErrorCode::StoreUnavailable,
            message: "the server cannot save right now; try again in a moment".to_owned(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.code == ErrorCode::Unauthorized {
            res.insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"));
        }
        if self.code == ErrorCode::Busy {
            res.insert_header((actix_web::http::header::RETRY_AFTER, "2"));
        }
        res.json(json!({
            "error": { "code": self.code.as_str(), "message": self.message }
        }))
    }
}
