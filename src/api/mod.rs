//! The HTTP API for the core (`/v1/...`): messages, numbers, conversations, segments
//! and opt-out administration. Errors are JSON `{"error": {"code", "message", "field"}}`
//! with the stable codes of the design.
//!
//! The routes arrive with the pipeline issue; the listener, body limit and error shape
//! are here from the start.

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::Api;

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// A stable code (`text_too_long`, `unknown_sender`, `not_found`, …).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, if one is.
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "field": self.field }
        });
        (self.status, Json(body)).into_response()
    }
}

/// The API router with its limits applied.
pub fn router(config: &Api) -> Router {
    Router::new()
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: "no such endpoint".into(),
        field: None,
    }
}
