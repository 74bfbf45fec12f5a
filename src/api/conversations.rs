//! Conversations: `POST /v1/conversations/{id}/close` (the core ends it, and
//! `chat.conversation.closed` follows; the contact's next MO opens a new one linked to
//! it), `GET /v1/conversations/{id}/messages` (the
//! transcript, both directions with statuses and media, paged by `after` + `limit`) and
//! `GET /v1/conversations?contact=…` (a contact's conversations, newest first).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::on;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::media_links::MediaLinks;
use super::openapi::DocumentedRoutes;
use super::{ApiError, ErrorBody, input};
use crate::store::{Conversation, MessageView, Store, StoreError};

/// Largest page of a transcript or a conversation list.
const MAX_PAGE: usize = 500;
/// Page size when none is asked for.
const DEFAULT_PAGE: usize = 100;

/// The conversation routes; `links` signs the transcript's media links.
pub fn routes<S: Store>(store: S, links: MediaLinks) -> Router {
    DocumentedRoutes::new()
        .route("list_conversations", |m| on(m, list::<S>))
        .route("close_conversation", |m| on(m, close::<S>))
        .route("get_transcript", |m| on(m, transcript::<S>))
        .with_state(store)
        .layer(Extension(links))
}

fn unavailable(e: StoreError) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", e.to_string())
}

fn page(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(ApiError::bad_request(format!("limit must be 1 to {MAX_PAGE}")).at("limit")),
    }
}

/// Closes a conversation; the contact's next MO opens a new one linked to it. Closing
/// an open conversation emits `chat.conversation.closed` after its other events; closing
/// a closed one answers it unchanged and emits nothing.
#[utoipa::path(
    post,
    path = "/v1/conversations/{id}/close",
    operation_id = "close_conversation",
    tag = "conversations",
    params(("id" = String, Path, description = "the conversation id")),
    responses(
        (status = 200, description = "the closed conversation", body = Conversation),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn close<S: Store>(
    State(store): State<S>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Conversation>, ApiError> {
    let Path(id) = id.map_err(input::path_rejected)?;
    store
        .close_conversation(id.clone())
        .await
        .map_err(unavailable)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no conversation {id}")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TranscriptParams {
    /// The last message id of the previous page.
    after: Option<String>,
    /// Messages per page, 1 to 500; default 100.
    limit: Option<usize>,
}

/// The transcript: both directions with statuses, oldest first, paged.
#[utoipa::path(
    get,
    path = "/v1/conversations/{id}/messages",
    operation_id = "get_transcript",
    tag = "conversations",
    params(("id" = String, Path, description = "the conversation id"), TranscriptParams),
    responses(
        (status = 200, description = "a page of the transcript", body = Transcript),
        (status = 400, description = "bad_request", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn transcript<S: Store>(
    State(store): State<S>,
    Extension(links): Extension<MediaLinks>,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<TranscriptParams>, QueryRejection>,
) -> Result<Json<Transcript>, ApiError> {
    let Path(id) = id.map_err(input::path_rejected)?;
    let params = input::query(params)?;
    let limit = page(params.limit)?;
    let Some(conversation) = store.conversation(id.clone()).await.map_err(unavailable)? else {
        return Err(ApiError::not_found(format!("no conversation {id}")));
    };
    let mut messages = store
        .transcript(id, params.after, limit)
        .await
        .map_err(unavailable)?;
    for message in &mut messages {
        links.sign(message);
    }
    let next_after = (messages.len() == limit)
        .then(|| messages.last().map(|m| m.message_id.clone()))
        .flatten();
    Ok(Json(Transcript {
        conversation,
        messages,
        next_after,
    }))
}

/// A page of a transcript.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Transcript {
    conversation: Conversation,
    /// Both directions, oldest first; media with freshly signed links.
    messages: Vec<MessageView>,
    /// The `after` of the next page; null on the last.
    next_after: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// The contact (E.164).
    contact: String,
    /// Conversations at most, 1 to 500; default 100.
    limit: Option<usize>,
}

/// A contact's conversations, newest first: `{conversations: [...]}`.
#[utoipa::path(
    get,
    path = "/v1/conversations",
    operation_id = "list_conversations",
    tag = "conversations",
    params(ListParams),
    responses(
        (status = 200, description = "`{conversations: [Conversation]}`", body = Object),
        (status = 400, description = "bad_request", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn list<S: Store>(
    State(store): State<S>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = input::query(params)?;
    let limit = page(params.limit)?;
    let contact = input::restore_plus(&params.contact).into_owned();
    let conversations = store
        .conversations_of(contact, limit)
        .await
        .map_err(unavailable)?;
    Ok(Json(json!({ "conversations": conversations })))
}
