//! Dead-letter administration: the chat events that could not be delivered to the core
//! within `[core] max_age`, behind the API's bearer token.
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /v1/events/dead-letters?after=&limit=` | one page in event-id (time) order: each entry is the CloudEvent as it would be delivered, with `attempts`, `last_error`, `created_at` and `dead_at`; `next` is the `after` of the following page, `null` on the last |
//! | `POST /v1/events/dead-letters/{event_id}/replay` | puts the event back in the outbox, due now, ahead of the later events of its conversation: `200 {"event_id", "replayed": true}`, or `404 not_found` |

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::on;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{error, info};

use super::openapi::DocumentedRoutes;
use super::{ApiError, ErrorBody, input};
use crate::connector::Outbox;
use crate::connector::metrics::DEAD_LETTER_REPLAYS_TOTAL;
use crate::store::StoreError;
use crate::store::sqlite::outbox::{DeadLetter, MAX_FETCH};

/// Dead letters per page when the caller gives no `limit`.
pub const DEFAULT_PAGE: usize = 100;
/// The longest event id accepted (ids are UUIDs).
const MAX_ID_CHARS: usize = 64;

#[derive(Clone)]
pub(crate) struct EventsApi {
    outbox: Outbox,
    source: String,
}

/// The dead-letter routes over `outbox`; `source` is the events' CloudEvents `source`.
pub fn routes(outbox: Outbox, source: String) -> Router {
    DocumentedRoutes::new()
        .route("list_dead_letters", |m| on(m, list))
        .route("replay_dead_letter", |m| on(m, replay))
        .with_state(EventsApi { outbox, source })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// The `next` of the previous page.
    after: Option<String>,
    /// Entries per page, 1 to 1000; default 100.
    limit: Option<usize>,
}

/// A chat event the core never took.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeadLetterView {
    /// The CloudEvent as it would be delivered.
    #[schema(value_type = Object)]
    event: Value,
    /// Delivery attempts made.
    attempts: u32,
    /// Why the last attempt failed.
    last_error: Option<String>,
    /// When the event was created (RFC 3339).
    created_at: String,
    /// When it was given up (RFC 3339).
    dead_at: String,
}

/// One page of dead letters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeadLetterPage {
    dead_letters: Vec<DeadLetterView>,
    /// The `after` of the following page; `null` on the last.
    next: Option<String>,
}

/// A dead letter put back in the outbox.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Replayed {
    event_id: String,
    replayed: bool,
}

/// The dead letters, in event-id (time) order.
#[utoipa::path(
    get,
    path = "/v1/events/dead-letters",
    operation_id = "list_dead_letters",
    tag = "events",
    params(ListParams),
    responses(
        (status = 200, description = "one page", body = DeadLetterPage),
        (status = 400, description = "bad_request", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(api): State<EventsApi>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<DeadLetterPage>, ApiError> {
    let params = input::query(params)?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_FETCH).contains(&limit) {
        let message = format!("must be between 1 and {MAX_FETCH}");
        return Err(ApiError::bad_request(message).at("limit"));
    }
    if params
        .after
        .as_ref()
        .is_some_and(|a| a.len() > MAX_ID_CHARS)
    {
        return Err(ApiError::bad_request("not an event id").at("after"));
    }
    let page = api
        .outbox
        .store()
        .dead_letters(params.after, limit)
        .await
        .map_err(store_failed)?;
    let next = match page.last() {
        Some(last) if page.len() == limit => Some(last.event.id.clone()),
        _ => None,
    };
    let dead_letters = page.iter().map(|d| entry(d, &api.source)).collect();
    Ok(Json(DeadLetterPage { dead_letters, next }))
}

/// Puts a dead letter back in the outbox, due now, ahead of the later events of its
/// conversation.
#[utoipa::path(
    post,
    path = "/v1/events/dead-letters/{event_id}/replay",
    operation_id = "replay_dead_letter",
    tag = "events",
    params(("event_id" = String, Path, description = "the event's id")),
    responses(
        (status = 200, description = "replayed", body = Replayed),
        (status = 404, description = "not_found: no dead letter with this id", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn replay(
    State(api): State<EventsApi>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Replayed>, ApiError> {
    let Path(id) = id.map_err(input::path_rejected)?;
    if id.len() > MAX_ID_CHARS {
        return Err(ApiError::bad_request("not an event id").at("event_id"));
    }
    let replayed = api
        .outbox
        .store()
        .replay_dead_letter(id.clone())
        .await
        .map_err(store_failed)?;
    if !replayed {
        return Err(ApiError::not_found(format!("no dead letter with id {id}")));
    }
    api.outbox.notify();
    metrics::counter!(DEAD_LETTER_REPLAYS_TOTAL).increment(1);
    info!(event_id = %id, "dead letter replayed");
    Ok(Json(Replayed {
        event_id: id,
        replayed: true,
    }))
}

fn entry(d: &DeadLetter, source: &str) -> DeadLetterView {
    DeadLetterView {
        event: d.event.to_cloudevent(source),
        attempts: d.attempts,
        last_error: d.last_error.clone(),
        created_at: rfc3339(d.created_unix_ms),
        dead_at: rfc3339(d.dead_unix_ms),
    }
}

fn rfc3339(unix_ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_ms.max(0) as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

fn store_failed(e: StoreError) -> ApiError {
    error!(error = %e, "dead-letter request failed in the store");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the store cannot answer now; retry shortly",
    )
}
