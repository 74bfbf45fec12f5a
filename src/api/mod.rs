//! The HTTP API for the core (`/v1/...`): messages, numbers, conversations, segments
//! and opt-out administration. Errors are JSON `{"error": {"code", "message", "field"}}`
//! with the stable codes of the design.
//!
//! The guards every route shares live here: bearer-token authentication, a body limit, a
//! bound on concurrent requests (beyond it: `503 overloaded`) and a per-request timeout.
//! The routes live in one module per resource; `app` builds them and hands them to
//! [`router`]:
//!
//! | module | routes |
//! |---|---|
//! | [`messages`] | `POST /v1/messages` (send an MT), `GET /v1/messages/{id}` |
//! | [`media`] | `POST /v1/media`: upload an attachment for a later MT |
//! | [`media_links`] | media links in message views, signed when the answer is made |
//! | [`conversations`] | `/v1/conversations…`: close, transcript, a contact's conversations |
//! | [`numbers`] | `GET /v1/numbers/{number}`: can it receive SMS, and why |
//! | [`optouts`] | `/v1/optouts…`: the suppression list (list, add, remove, CSV export and import) |
//! | [`events`] | `/v1/events/dead-letters…`: chat events the core never took (list, replay) |
//! | [`segments`] | `POST /v1/segments`: the compose box's preview (encoding, segments, what is left) |
//! | [`openapi`] | `GET /v1/openapi.json`: the OpenAPI 3.1 document of these routes |
//! | [`simulator`] | demo only, with the embedded simulator: `POST /v1/simulator/mo`, stats |
//!
//! [`media`] signs the links to media-store files in the message views.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::config::{Api, Secret};

pub mod conversations;
pub mod events;
mod input;
pub mod media;
pub mod media_links;
pub mod messages;
pub mod numbers;
pub mod openapi;
pub mod optouts;
mod refusals;

pub(crate) use refusals::method_not_allowed;
pub mod segments;
pub mod simulator;

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
    /// Why, within the code, when the code has reasons (`media_rejected`: `too_large`, …).
    pub reason: Option<&'static str>,
}

impl ApiError {
    /// An error with no field.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            reason: None,
        }
    }

    /// `400 bad_request`: the request is malformed or a value is not acceptable.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `404 not_found`: the thing asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// This error, naming the request field at fault.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// This error, with the reason within its code.
    pub fn because(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }
}

/// The body of every error answer: `{"error": {"code", "message", "field"}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code (`text_too_long`, `unknown_sender`, `overloaded`, …).
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, if one is.
    pub field: Option<String>,
    /// Why, within the code, for codes that have reasons (`media_rejected`:
    /// `too_large`, `type_not_allowed`, `content_type_mismatch`, `corrupt`).
    pub reason: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let refused = refusals::Refused {
            code: self.code,
            message: self.message.clone(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
                reason: self.reason.map(str::to_owned),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(refused);
        response
    }
}

/// What the shared guards need.
struct Guard {
    token: Option<Secret>,
    slots: Semaphore,
    timeout: std::time::Duration,
}

/// Wraps `routes` in the guards every API route shares. Without a token (`auth =
/// "none"`, loopback only) it warns: every local process can then send SMS and edit
/// the opt-out list.
pub fn router(config: &Api, routes: Router) -> Router {
    if config.token.is_none() {
        tracing::warn!(
            listen = %config.listen,
            "the API accepts requests without a token ([api] auth = \"none\")"
        );
    }
    let security = openapi::Security::of(config);
    let guard = Arc::new(Guard {
        token: config.token.clone(),
        slots: Semaphore::new(config.max_concurrent_requests),
        timeout: config.request_timeout,
    });
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(refusals::method_not_allowed)
        .layer(middleware::from_fn_with_state(guard, guard_request))
        .layer(axum::Extension(security))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            config.max_body_bytes,
            refusals::json_refusals,
        ))
}

async fn guard_request(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if let Some(token) = &g.token
        && !bearer_matches(&req, token)
    {
        return unauthorized();
    }
    // Shed load instead of queueing without bound.
    let Ok(_slot) = g.slots.try_acquire() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many requests in progress; retry shortly",
        )
        .into_response();
    };
    match tokio::time::timeout(g.timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the request took too long; retry with the same Idempotency-Key",
        )
        .into_response(),
    }
}

/// Whether `req` carries `Authorization: Bearer <token>`.
pub(crate) fn bearer_matches(req: &Request, token: &Secret) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|p| constant_time_eq(p.as_bytes(), token.expose().as_bytes()))
}

/// `401 unauthorized` with the challenge RFC 6750 asks for, so a client knows to send a
/// bearer token.
pub(crate) fn unauthorized() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or wrong bearer token: send `Authorization: Bearer <token>`",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Compares without an early exit, so the time taken says nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}
