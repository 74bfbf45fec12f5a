//! `GET /v1/media/{hash}?ct=…&expires=…&sig=…`: a stored file, to whoever holds a URL
//! signed by [`UrlSigner`]. Mounted on the API listener beside the bearer-token routes,
//! not behind them: the URL itself is the credential, so an agent's browser can show a
//! thumbnail without the API token. A wrong or expired signature is `403`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::sign::{SignError, UrlSigner};
use super::store::MediaStore;
use crate::api::ApiError;
use crate::mms::metrics;

/// What the media route needs.
#[derive(Clone)]
pub struct MediaRoute {
    pub store: MediaStore,
    pub signer: UrlSigner,
}

/// The query of a media URL.
#[derive(Debug, Deserialize)]
struct Signed {
    ct: String,
    expires: u64,
    sig: String,
}

/// The media route.
pub fn routes(route: MediaRoute) -> Router {
    Router::new()
        .route("/v1/media/{hash}", get(fetch))
        .method_not_allowed_fallback(crate::api::method_not_allowed)
        .with_state(Arc::new(route))
}

async fn fetch(
    State(route): State<Arc<MediaRoute>>,
    Path(hash): Path<String>,
    query: Result<Query<Signed>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        metrics::media_fetch("forbidden");
        return forbidden("a signed media URL is needed: ask the API for the message again")
            .into_response();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if let Err(e) = route.signer.verify(&hash, &q.ct, q.expires, &q.sig, now) {
        metrics::media_fetch("forbidden");
        let why = match e {
            SignError::BadSignature => "the media URL's signature is wrong",
            SignError::Expired => {
                "the media URL has expired: ask the API for the message again for a fresh one"
            }
        };
        return forbidden(why).into_response();
    }
    match route.store.read(&hash).await {
        Ok(Some(bytes)) => {
            metrics::media_fetch("served");
            (
                [
                    (header::CONTENT_TYPE, q.ct),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                    (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
                ],
                bytes,
            )
                .into_response()
        }
        // Gone (purged) or unreadable: nothing to serve either way.
        Ok(None) | Err(_) => {
            metrics::media_fetch("missing");
            ApiError::not_found("no such media file (it may have been purged)").into_response()
        }
    }
}

/// `403 forbidden`, as the API's other errors are written.
fn forbidden(why: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", why)
}
