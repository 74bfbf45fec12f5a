//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the API, generated at build time
//! from the handlers' own request, response and error types (utoipa), so it cannot
//! drift from what the routes take and answer.
//!
//! It is served behind the same guards as every other route (bearer token, limits): the
//! document names nothing secret, but an unauthenticated route would be the one
//! exception an operator has to remember when exposing the API.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{ErrorBody, ErrorDetail, conversations, messages, segments};
use crate::store::model::{Direction, SegmentView};
use crate::store::{Conversation, MediaRef, MessageView, MtReceipt};

/// The document's source: the annotated handlers and the types they use.
#[derive(OpenApi)]
#[openapi(
    info(title = "smsbridge API", description = "SMS to and from the contact-center core."),
    paths(
        messages::send,
        messages::show,
        segments::preview,
        conversations::list,
        conversations::close,
        conversations::transcript,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        messages::SendBody,
        MediaRef,
        segments::PreviewBody,
        segments::Preview,
        MtReceipt,
        MessageView,
        SegmentView,
        Direction,
        Conversation,
    )),
    modifiers(&BearerToken),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// Declares the bearer token every route asks for.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The route serving the document.
pub fn routes() -> Router {
    let doc = document();
    Router::new().route("/v1/openapi.json", get(move || async move { Json(doc) }))
}
