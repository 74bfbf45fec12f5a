//! `POST /v1/segments`: the compose box's preview. For a text (and optionally the sender
//! it will leave from) it answers how the gateway would send it now — encoding, segment
//! count, characters and what is left — planned with the route profile of the sender's
//! first carrier (`[carriers.text]`), exactly as `POST /v1/messages` would plan it.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use axum::routing::on;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::openapi::DocumentedRoutes;
use super::{ApiError, ErrorBody, input};
use crate::config::Config;
use crate::text::{Encoding, MAX_CHARACTERS, RouteProfile, nfc, plan};

/// The body of `POST /v1/segments`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewBody {
    /// The text as typed.
    text: String,
    /// The business sender; absent: the most common carrier profile.
    from: Option<String>,
}

/// How the text would leave.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Preview {
    /// `gsm7`, `latin1`, `ia5` or `ucs2`.
    #[schema(value_type = String)]
    encoding: Encoding,
    /// SMS segments the contact receives (and the carrier bills).
    segments: usize,
    /// Unicode characters after normalisation (what the 1000 limit counts).
    characters: usize,
    /// Characters still allowed in one message.
    characters_remaining: usize,
    /// Units (septets or UTF-16 code units) one segment holds.
    units_per_segment: u32,
    /// Units still free in the last segment before another one starts.
    units_remaining: u32,
    /// Whether look-alike characters were replaced to stay in GSM7.
    smart_encoded: bool,
}

/// The preview route.
pub fn routes(config: watch::Receiver<Arc<Config>>) -> Router {
    DocumentedRoutes::new()
        .route("preview_segments", |m| on(m, preview))
        .with_state(config)
}

/// How a text would be sent: encoding, segments, characters and what is left.
#[utoipa::path(
    post,
    path = "/v1/segments",
    operation_id = "preview_segments",
    tag = "messages",
    request_body = PreviewBody,
    responses(
        (status = 200, description = "the plan summary", body = Preview),
        (status = 400, description = "bad_request", body = ErrorBody),
        (status = 422, description = "text_too_long, unknown_sender", body = ErrorBody),
    ),
)]
pub(crate) async fn preview(
    State(config): State<watch::Receiver<Arc<Config>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Preview>, ApiError> {
    let body: PreviewBody = input::json_request(&headers, body)?;
    let config = config.borrow().clone();
    let profile = match &body.from {
        Some(from) => profile_of(&config, from)?,
        None => RouteProfile::default(),
    };
    let text = nfc(&body.text);
    let unprocessable = |code, message: String, field| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).at(field)
    };
    let characters = text.chars().count();
    if characters > MAX_CHARACTERS {
        return Err(unprocessable(
            "text_too_long",
            format!("{characters} characters; at most {MAX_CHARACTERS}"),
            "text",
        ));
    }
    let p = plan(&text, &profile).map_err(|e| ApiError::bad_request(e.to_string()).at("text"))?;
    Ok(Json(Preview {
        encoding: p.encoding,
        segments: p.segments,
        characters: p.characters,
        characters_remaining: MAX_CHARACTERS - characters,
        units_per_segment: p.units_per_segment,
        units_remaining: p.units_remaining,
        smart_encoded: p.smart_encoded,
    }))
}

/// The route profile of the first configured carrier of sender `from`.
fn profile_of(config: &Config, from: &str) -> Result<RouteProfile, ApiError> {
    let unknown = |message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_sender", message).at("from")
    };
    let inventory = config
        .sender_inventory()
        .map_err(|e| unknown(e.to_string()))?;
    let sender = inventory
        .sender_for_mt(from)
        .map_err(|e| unknown(e.to_string()))?;
    let carrier = sender
        .routes()
        .in_order()
        .find_map(|r| config.carrier(r).filter(|c| c.smpp))
        .ok_or_else(|| unknown(format!("{from} has no configured carrier that sends SMS")))?;
    Ok(carrier.text.clone())
}
