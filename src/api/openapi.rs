//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the API, generated at build time
//! from the handlers' own request, response and error types (utoipa), so it cannot
//! drift from what the routes take and answer.
//!
//! The document is also the one list of the API's routes: each resource module routes
//! its handlers through [`DocumentedRoutes`], which finds a handler's path and method in
//! the document by its operation id. A handler without `#[utoipa::path]` (or left out of
//! [`ApiDoc`]) cannot be routed, and the daemon refuses to build its API at start.
//! The demo simulator's routes are the exception: they exist only beside the embedded
//! simulator and are not part of the API the core uses.
//!
//! It is served behind the same guards as every other route (bearer token, limits): the
//! document names nothing secret, but an unauthenticated route would be the one
//! exception an operator has to remember when exposing the API. It declares the
//! security actually configured: the bearer scheme on every operation when a token is
//! set; with `[api] auth = "none"`, no scheme and no 401 answers.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::routing::{MethodFilter, MethodRouter, on};
use axum::{Extension, Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{
    ErrorBody, ErrorDetail, conversations, events, media, messages, numbers, optouts, segments,
};
use crate::flow::mt_media::MediaItem;
use crate::number::{NumberCheck, NumberClass, Reason};
use crate::reason::ReasonCode;
use crate::store::model::{Direction, SegmentView};
use crate::store::{Conversation, MediaRef, MessageMedia, MessageView, MtReceipt};

/// The document's source: the annotated handlers and the types they use.
#[derive(OpenApi)]
#[openapi(
    info(title = "smsbridge API", description = "SMS to and from the contact-center core."),
    paths(
        messages::send,
        messages::show,
        media::upload,
        segments::preview,
        numbers::check_number,
        conversations::list,
        conversations::close,
        conversations::transcript,
        optouts::list,
        optouts::add,
        optouts::get_one,
        optouts::remove,
        optouts::csv::export,
        optouts::csv::import,
        events::list,
        events::replay,
        document_route,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        messages::SendBody,
        MediaItem,
        MediaRef,
        media::UploadedMedia,
        segments::PreviewBody,
        segments::Preview,
        MtReceipt,
        MessageView,
        ReasonCode,
        MessageMedia,
        conversations::Transcript,
        SegmentView,
        Direction,
        Conversation,
        NumberCheck,
        NumberClass,
        Reason,
        optouts::NewOptOut,
        optouts::OptOutView,
        optouts::OptOutPage,
        optouts::csv::Imported,
        events::DeadLetterView,
        events::DeadLetterPage,
        events::Replayed,
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

/// The document, generated once.
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(document);

/// Every documented operation: its id → (path, method).
static OPERATIONS: LazyLock<HashMap<String, (String, MethodFilter)>> = LazyLock::new(|| {
    let mut operations = HashMap::new();
    for (path, item) in DOCUMENT.paths.paths.clone() {
        let methods = [
            (MethodFilter::GET, item.get),
            (MethodFilter::PUT, item.put),
            (MethodFilter::POST, item.post),
            (MethodFilter::DELETE, item.delete),
            (MethodFilter::PATCH, item.patch),
        ];
        for (method, operation) in methods {
            if let Some(id) = operation.and_then(|o| o.operation_id) {
                operations.insert(id, (path.clone(), method));
            }
        }
    }
    operations
});

/// Where the document places operation `id`: its path and method.
pub fn operation(id: &str) -> Option<(&'static str, MethodFilter)> {
    let (path, method) = OPERATIONS.get(id)?;
    Some((path.as_str(), *method))
}

/// A resource module's routes, each at the path and method the document gives its
/// operation.
pub struct DocumentedRoutes<S> {
    router: Router<S>,
}

impl<S: Clone + Send + Sync + 'static> Default for DocumentedRoutes<S> {
    fn default() -> Self {
        DocumentedRoutes {
            router: Router::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> DocumentedRoutes<S> {
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes operation `id`: `handler` receives the documented method and gives the
    /// method router (`|m| on(m, send)`, with any layer of its own).
    ///
    /// # Panics
    ///
    /// When the document has no operation `id`: a handler routed without its
    /// documentation is a programming error, and every test that starts the API fails
    /// on it.
    pub fn route(self, id: &str, handler: impl FnOnce(MethodFilter) -> MethodRouter<S>) -> Self {
        let Some((path, method)) = operation(id) else {
            panic!(
                "operation {id:?} is not in the OpenAPI document: annotate its handler with \
                 #[utoipa::path(operation_id = {id:?}, ...)] and list it in ApiDoc"
            );
        };
        DocumentedRoutes {
            router: self.router.route(path, handler(method)),
        }
    }

    /// The routes with their state.
    pub fn with_state<S2>(self, state: S) -> Router<S2> {
        self.router.with_state(state)
    }
}

/// Whether the API asks for a bearer token, as the served document declares it. The
/// API's router hands it to the document's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Every operation needs the bearer token.
    Bearer,
    /// `auth = "none"`: no operation needs one.
    None,
}

impl Security {
    /// What `config` asks of clients.
    pub fn of(config: &crate::config::Api) -> Self {
        match config.token {
            Some(_) => Security::Bearer,
            None => Security::None,
        }
    }
}

/// The document as served under `security`.
pub fn served(security: Security) -> utoipa::openapi::OpenApi {
    let mut doc = DOCUMENT.clone();
    if security == Security::None {
        doc.security = None;
        if let Some(components) = doc.components.as_mut() {
            components.security_schemes.remove("bearer");
        }
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                operation.responses.responses.remove("401");
            }
        }
    }
    doc
}

/// This document, as JSON.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "openapi_document",
    tag = "api",
    responses(
        (status = 200, description = "the OpenAPI document of this API", body = Object),
        (status = 401, description = "unauthorized", body = ErrorBody),
    ),
)]
async fn document_route(security: Option<Extension<Security>>) -> Json<utoipa::openapi::OpenApi> {
    // Outside the API's router (unit tests) the document says what it was built with.
    let security = security.map_or(Security::Bearer, |Extension(s)| s);
    Json(served(security))
}

/// The route serving the document.
pub fn routes() -> Router {
    DocumentedRoutes::new()
        .route("openapi_document", |m| on(m, document_route))
        .with_state(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_unique_id() {
        let doc = document();
        let mut ids = Vec::new();
        for item in doc.paths.paths.values() {
            let operations = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
            for operation in operations.into_iter().flatten() {
                ids.push(operation.operation_id.clone().expect("an operation id"));
            }
        }
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "{ids:?}");
        assert_eq!(OPERATIONS.len(), ids.len());
    }

    #[test]
    #[should_panic(expected = "not in the OpenAPI document")]
    fn an_undocumented_operation_cannot_be_routed() {
        let _ = DocumentedRoutes::<()>::new().route("undocumented", |m| on(m, || async {}));
    }
}
