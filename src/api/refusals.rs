//! Every refusal the API answers is the JSON error of the design, with a stable code,
//! also the ones axum makes itself: an unknown route (`404 not_found`), a method the
//! route does not take (`405 method_not_allowed`) and anything else that would leave
//! with an empty or plain-text body. A body over `[api] max_body_bytes` is
//! `413 body_too_large`, naming the limit so an integrator knows what to change.

use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Marks a response made from an [`ApiError`], with its code, so [`json_refusals`]
/// leaves it as it is (or names the limit in it, for [`BODY_TOO_LARGE`] with the
/// sentence [`LIMIT_UNNAMED`]).
#[derive(Debug, Clone)]
pub(crate) struct Refused {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// The code of a body over the limit; [`super::input::body_rejected`] gives it.
pub(crate) const BODY_TOO_LARGE: &str = "body_too_large";

/// The sentence of a `body_too_large` made where the limit is not known; the limit of
/// `[api] max_body_bytes` is named in its place. A route with its own limit names it.
pub(crate) const LIMIT_UNNAMED: &str = "the body is over the limit";

/// Headers of axum's own answer kept in the JSON one (`405` says what is allowed).
const KEPT_HEADERS: [HeaderName; 2] = [header::ALLOW, header::RETRY_AFTER];

/// Turns an error answer without a JSON error body into one, and names the body limit
/// in `body_too_large`. `limit` is `[api] max_body_bytes`.
pub(crate) async fn json_refusals(
    State(limit): State<usize>,
    req: Request,
    next: Next,
) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = match response.extensions().get::<Refused>() {
        Some(r) if r.code == BODY_TOO_LARGE && r.message == LIMIT_UNNAMED => body_too_large(limit),
        Some(_) => return response,
        // A JSON error made by hand (the CSV import's, with its bad rows) stays.
        None if is_json(&response) => return response,
        None => by_status(status, limit),
    };
    let mut answer = error.into_response();
    for name in KEPT_HEADERS {
        if let Some(value) = response.headers().get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// Whether the answer already carries a JSON body.
fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// `405 method_not_allowed`, for `Router::method_not_allowed_fallback`.
pub(crate) async fn method_not_allowed() -> ApiError {
    method_not_allowed_error()
}

fn method_not_allowed_error() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; the Allow header lists the ones it takes",
    )
}

fn body_too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        BODY_TOO_LARGE,
        format!("the body is over the limit of {limit} bytes (`[api] max_body_bytes`)"),
    )
}

/// The JSON error for an answer that carries none.
fn by_status(status: StatusCode, limit: usize) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::not_found("no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => method_not_allowed_error(),
        StatusCode::PAYLOAD_TOO_LARGE => body_too_large(limit),
        StatusCode::URI_TOO_LONG | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::new(
            status,
            "request_too_large",
            "the request line or headers are too long",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ),
        StatusCode::FORBIDDEN => ApiError::new(status, "forbidden", "this request is not allowed"),
        s if s.is_server_error() => ApiError::new(
            s,
            "internal",
            "the request failed inside smsbridge (logged)",
        ),
        s => ApiError::new(s, "bad_request", "the request cannot be read"),
    }
}
