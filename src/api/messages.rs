//! `POST /v1/messages` (send an MT) and `GET /v1/messages/{id}` (its state, per segment).
//!
//! The checks run in the order of the design — body, text length, sender, destination
//! and capability, consent, route — and the first that fails answers with its stable
//! code. `202` comes only once the message is durable. The same `Idempotency-Key` with
//! the same request answers the first `202` again and sends nothing new; with another
//! request it is refused (`422 idempotency_key_reused`, field `Idempotency-Key`). The
//! request is compared by the SHA-256 of its canonical form (the body's fields as
//! parsed, re-serialised in a fixed order), so spacing and key order do not matter.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::on;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ErrorBody;
use super::media_links::MediaLinks;
use super::openapi::DocumentedRoutes;
use super::{ApiError, input};
use crate::consent::SuppressionList;
use crate::flow::accept::{MtIntake, MtRefused, MtRequest};
use crate::flow::metrics;
use crate::flow::mt_media::{MediaItem, MediaRefusal};
use crate::store::{MessageView, MtAccepted, MtReceipt, Store};

/// The longest `Idempotency-Key` taken.
const MAX_KEY_CHARS: usize = 200;

/// The body of `POST /v1/messages`: `from` + `to`, or `conversation_id`, and `text`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendBody {
    /// The business sender (E.164, short code or alphanumeric).
    from: Option<String>,
    /// The contact (E.164).
    to: Option<String>,
    /// Reply in this conversation instead of giving `from` and `to`.
    conversation_id: Option<String>,
    /// At most 1000 characters; may be left out when `media` is given.
    text: Option<String>,
    /// Attachments: URLs the core serves, or uploads (`POST /v1/media`) by `id`. Each is
    /// fetched, checked and kept before the answer. An MMS from an MMS-capable sender on
    /// a route with an MMSC; otherwise the sender's fallback (SMS with links to our
    /// signed copies, or `media_not_supported`).
    #[serde(default)]
    media: Vec<MediaItem>,
}

/// The message routes; `links` signs the media links of `GET /v1/messages/{id}`.
pub fn routes<S: Store + SuppressionList>(intake: MtIntake<S>, links: MediaLinks) -> Router {
    DocumentedRoutes::new()
        .route("send_message", |m| on(m, send::<S>))
        .route("get_message", |m| on(m, show::<S>))
        .with_state(intake)
        .layer(Extension(links))
}

/// Sends an MT: validated, stored, then submitted to the sender's carrier.
#[utoipa::path(
    post,
    path = "/v1/messages",
    operation_id = "send_message",
    tag = "messages",
    request_body = SendBody,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "a retry with the same key and the same body gets the first answer and \
            sends nothing new; the same key with another body is refused with \
            `idempotency_key_reused`")),
    responses(
        (status = 202, description = "stored, its attachments fetched and kept; it will be \
            submitted", body = MtReceipt),
        (status = 400, description = "bad_request", body = ErrorBody),
        (status = 404, description = "not_found: no such conversation", body = ErrorBody),
        (status = 413, description = "body_too_large: over `[api] max_body_bytes`", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: the body is not sent as \
            `application/json`", body = ErrorBody),
        (status = 422, description = "text_too_long, unknown_sender, invalid_destination, \
            destination_not_sms_capable, opted_out, no_route, media_not_supported, \
            media_unavailable (field `media[i]`: the URL's server has no such file for us; \
            field `media[i].id`: no such upload), media_rejected (field `media[i]`, `reason` \
            too_large, type_not_allowed, content_type_mismatch or corrupt), \
            media_url_forbidden (field `media[i]`: the URL, or a redirect from it, leads to an \
            address that is not public and not in `[mms] fetch_allow`; nothing was sent there), \
            idempotency_key_reused (field `Idempotency-Key`: the key was used for another \
            request; nothing was sent)", body = ErrorBody),
        (status = 502, description = "media_unreachable (field `media[i]`): the URL's server \
            could not be reached, failed, or was too slow; retry with the same \
            Idempotency-Key", body = ErrorBody),
        (status = 503, description = "overloaded: retry with the same Idempotency-Key", body = ErrorBody),
    ),
)]
pub(crate) async fn send<S: Store + SuppressionList>(
    State(intake): State<MtIntake<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match accept(&intake, &headers, body).await {
        Ok(body) => (StatusCode::ACCEPTED, Json(body)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn accept<S: Store + SuppressionList>(
    intake: &MtIntake<S>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<serde_json::Value, ApiError> {
    let body: SendBody = input::json_request(headers, body)?;
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.chars().count() <= MAX_KEY_CHARS)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
                    ))
                })
        })
        .transpose()?;
    let request_sha256 = idempotency_key.as_ref().map(|_| canonical_sha256(&body));
    let text = match body.text {
        Some(text) => text,
        None if !body.media.is_empty() => String::new(),
        None => return Err(ApiError::bad_request("missing field `text`").at("text")),
    };
    let request = MtRequest {
        request_sha256,
        from: body.from,
        to: body.to,
        conversation_id: body.conversation_id,
        text,
        idempotency_key,
        media: body.media,
    };
    match intake.accept(request).await {
        Ok(MtAccepted::Stored(receipt)) => {
            metrics::mt_request("accepted");
            Ok(serde_json::to_value(receipt).unwrap_or_default())
        }
        Ok(MtAccepted::Replayed(first)) => {
            metrics::mt_request("replayed");
            Ok(first)
        }
        Ok(MtAccepted::KeyReused) => {
            metrics::mt_request("refused");
            Err(refused_error(&MtRefused::IdempotencyKeyReused))
        }
        Err(refused) => {
            metrics::mt_request(match refused {
                MtRefused::Store(_) => "overloaded",
                _ => "refused",
            });
            Err(refused_error(&refused))
        }
    }
}

/// The SHA-256 (hex) of the request's canonical form: its fields as parsed, serialised
/// in declaration order with no spacing.
fn canonical_sha256(body: &SendBody) -> String {
    let canonical = serde_json::to_vec(body).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))
}

/// A refusal as the API answers it.
fn refused_error(refused: &MtRefused) -> ApiError {
    let status = match refused {
        MtRefused::Incomplete(_) | MtRefused::Unplannable(_) | MtRefused::BadMedia(..) => {
            StatusCode::BAD_REQUEST
        }
        MtRefused::UnknownConversation(_) => StatusCode::NOT_FOUND,
        MtRefused::Store(_) | MtRefused::Media(MediaRefusal::Store(_)) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        MtRefused::Media(MediaRefusal::Unreachable { .. }) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let message = match refused {
        MtRefused::Store(_) => {
            "the message store cannot take messages now; retry with the same Idempotency-Key"
                .to_owned()
        }
        other => other.to_string(),
    };
    let mut error = ApiError::new(status, refused.code(), message);
    if let MtRefused::Media(media) = refused
        && let Some(reason) = media.reason()
    {
        error = error.because(reason);
    }
    match refused.field() {
        Some(field) => error.at(field),
        None => error,
    }
}

/// A message's state, per-segment detail and media (with freshly signed links).
#[utoipa::path(
    get,
    path = "/v1/messages/{id}",
    operation_id = "get_message",
    tag = "messages",
    params(("id" = String, Path, description = "the message id")),
    responses(
        (status = 200, description = "the message", body = MessageView),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn show<S: Store + SuppressionList>(
    State(intake): State<MtIntake<S>>,
    Extension(links): Extension<MediaLinks>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<MessageView>, ApiError> {
    let Path(id) = id.map_err(input::path_rejected)?;
    let mut message = intake
        .store
        .message(id.clone())
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", e.to_string()))?
        .ok_or_else(|| ApiError::not_found(format!("no message {id}")))?;
    links.sign(&mut message);
    Ok(Json(message))
}
