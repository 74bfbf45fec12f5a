//! `POST /v1/media`: upload an attachment for a later MT. The body is the file, its
//! `Content-Type` header its type; it is read up to the largest attachment any route
//! may send (a longer body is refused as it streams in), checked like a fetched
//! attachment (an allowed type, bytes that are that type) and kept in the media store.
//! The answer's `id` then names it in `POST /v1/messages` `media`
//! (`{"id": …, "content_type": …}`), and its `url` is a signed link to it.
//!
//! The API's body limit (`[api] max_body_bytes`) does not apply here: the raw body is
//! read with this route's own limit.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::on;
use bytes::BytesMut;
use futures_util::StreamExt;
use serde::Serialize;

use super::openapi::DocumentedRoutes;
use super::{ApiError, ErrorBody};
use crate::flow::mt_media::{MediaKeeper, UploadRefusal};

/// The answer to an upload.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadedMedia {
    /// Names the upload in `POST /v1/messages` `media[].id` (the SHA-256 of its bytes).
    pub id: String,
    /// A signed link to the file, valid for `[mms] url_ttl`.
    pub url: String,
    /// Its media type, without parameters.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The upload route; without a keeper (MMS not enabled) it refuses every upload.
pub fn routes(keeper: Option<Arc<dyn MediaKeeper>>) -> Router {
    DocumentedRoutes::new()
        .route("upload_media", |m| on(m, upload))
        .with_state(keeper)
}

/// Uploads an attachment: checked and kept; `media[].id` in a later MT names it.
#[utoipa::path(
    post,
    path = "/v1/media",
    operation_id = "upload_media",
    tag = "media",
    request_body(content = Vec<u8>, content_type = "*/*",
        description = "the file; its type in the Content-Type header (one of `[mms] \
            allowed_content_types`)"),
    responses(
        (status = 201, description = "kept", body = UploadedMedia),
        (status = 400, description = "bad_request (field `Content-Type`): no media type given", body = ErrorBody),
        (status = 413, description = "media_rejected, reason too_large: larger than any \
            route takes", body = ErrorBody),
        (status = 422, description = "media_rejected (reason type_not_allowed, \
            content_type_mismatch or corrupt); media_not_supported: MMS is not enabled", body = ErrorBody),
        (status = 503, description = "overloaded: the media store cannot write now", body = ErrorBody),
    ),
)]
pub(crate) async fn upload(
    State(keeper): State<Option<Arc<dyn MediaKeeper>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<UploadedMedia>), ApiError> {
    let Some(keeper) = keeper else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "media_not_supported",
            "attachments cannot be uploaded: MMS is not enabled ([mms] enabled = false)",
        ));
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| v.contains('/'))
        .ok_or_else(|| {
            ApiError::bad_request("give the file's media type in the Content-Type header")
                .at("Content-Type")
        })?;
    let limit = keeper.upload_limit();
    let body = read_limited(headers, body, limit).await?;
    let uploaded = keeper
        .upload(&content_type, body)
        .await
        .map_err(|refusal| match refusal {
            UploadRefusal::Rejected { reason, message } => {
                let status = match reason {
                    "too_large" => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                ApiError::new(status, "media_rejected", message).because(reason)
            }
            UploadRefusal::Store(why) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", why)
            }
        })?;
    let media = uploaded.media;
    let answer = UploadedMedia {
        id: media.id.unwrap_or_default(),
        url: uploaded.url,
        content_type: media.content_type.unwrap_or_default(),
        size: media.size.unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The body, refused past `limit` bytes: at once when `Content-Length` says so, else at
/// the first chunk past it.
async fn read_limited(
    headers: HeaderMap,
    body: Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "media_rejected",
            format!(
                "the file is larger than the {} KB any route takes",
                limit / 1024
            ),
        )
        .because("too_large")
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut out = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    if out.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "media_rejected",
            "the file is empty",
        )
        .because("corrupt"));
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body streamed in 1 KiB chunks, without a Content-Length.
    fn streamed(len: usize) -> Body {
        let chunks = (0..len / 1024).map(|_| Ok::<_, std::io::Error>(vec![1u8; 1024]));
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_body_without_a_length_is_cut_off_past_the_limit() {
        let whole = read_limited(HeaderMap::new(), streamed(8 * 1024), 8 * 1024)
            .await
            .unwrap();
        assert_eq!(whole.len(), 8 * 1024);
        let refused = read_limited(HeaderMap::new(), streamed(9 * 1024), 8 * 1024)
            .await
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refused.reason, Some("too_large"));
    }

    #[tokio::test]
    async fn an_announced_length_past_the_limit_is_refused_unread() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, "8193".parse().unwrap());
        // The body would be small; the announcement alone decides.
        let refused = read_limited(headers, Body::from("x"), 8 * 1024)
            .await
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
