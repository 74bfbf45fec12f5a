//! Opt-out administration: the suppression list over HTTP, behind the API's bearer token.
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /v1/optouts?contact=&sender=&after=&limit=` | one page in (contact, sender) order; `next` is the `after` of the following page, `null` on the last |
//! | `POST /v1/optouts` | records an opt-out `{contact, sender, keyword?, who, source?, at?}`: `201` with the record, or `200` with the one already standing |
//! | `GET /v1/optouts/{contact}/{sender}` | the opt-out of that pair, or `404 not_found` |
//! | `DELETE /v1/optouts/{contact}/{sender}` | lifts it: `204`, or `404 not_found` |
//! | `GET /v1/optouts/export?contact=&sender=` | the list as CSV (`text/csv`), streamed page by page |
//! | `POST /v1/optouts/import` | CSV in the export's format; every row or none; bad rows → `400` with their line numbers |
//!
//! `sender` is one of our senders in any form callers use (`+1 800 555 0100`, `72404`,
//! `ACME`) or `brand:NAME`. Adding and importing accept only configured senders and
//! brands (a typo would otherwise record an opt-out that protects no one); listing and
//! removing also accept the canonical address of a sender no longer configured.
//! An opt-out added here is recorded with source `<source>:<who>` (`admin:jane`), so the
//! list says on whose word each entry stands.

pub(crate) mod csv;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::on;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{error, info};

use super::openapi::DocumentedRoutes;
use super::{ApiError, ErrorBody, input};
use crate::config::Config;
use crate::consent::csv::parse_rfc3339;
use crate::consent::metrics::{AdminChange, admin_changed};
use crate::consent::{
    ConsentError, ListQuery, MAX_LIST_PAGE, Scope, SuppressionList, SuppressionRecord,
};
use crate::number::{E164, SenderInventory};
use crate::store::sqlite::SqliteStore;

/// Records per page when the caller gives no `limit`.
pub const DEFAULT_PAGE: usize = 100;
/// The largest CSV body `POST /v1/optouts/import` takes.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// The most rows one import takes; larger lists are imported in several files.
pub const MAX_IMPORT_ROWS: usize = 50_000;
/// The source of an opt-out added through the API when the body names none.
pub const ADMIN_SOURCE: &str = "admin";
/// The longest `after` cursor accepted (a cursor encodes one contact and one scope).
const MAX_CURSOR_CHARS: usize = 512;

/// What the opt-out routes need.
#[derive(Clone)]
pub struct OptOutsApi {
    store: SqliteStore,
    config: watch::Receiver<Arc<Config>>,
}

impl OptOutsApi {
    /// Routes over the suppression list in `store`, checking senders against the
    /// configuration in force.
    pub fn new(store: SqliteStore, config: watch::Receiver<Arc<Config>>) -> Self {
        OptOutsApi { store, config }
    }

    fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }
}

/// The opt-out routes.
pub fn routes(api: OptOutsApi) -> Router {
    DocumentedRoutes::new()
        .route("list_optouts", |m| on(m, list))
        .route("add_optout", |m| on(m, add))
        .route("export_optouts", |m| on(m, csv::export))
        .route("import_optouts", |m| {
            on(m, csv::import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES))
        })
        .route("get_optout", |m| on(m, get_one))
        .route("remove_optout", |m| on(m, remove))
        .with_state(api)
}

/// An opt-out as the API shows it; the same fields as a CSV row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OptOutView {
    /// The customer (E.164).
    contact: String,
    /// The sender address, or `brand:NAME`.
    sender: String,
    /// The keyword the customer used, if any.
    keyword: Option<String>,
    /// On whose word it stands (`sms`, `mms`, `admin:jane`, …).
    source: String,
    /// When the customer asked (RFC 3339).
    at: String,
}

/// One page of opt-outs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OptOutPage {
    optouts: Vec<OptOutView>,
    /// The `after` of the following page; `null` on the last.
    next: Option<String>,
}

fn view(record: &SuppressionRecord) -> OptOutView {
    OptOutView {
        contact: record.contact.as_str().to_owned(),
        sender: record.scope.to_string(),
        keyword: record.keyword.clone(),
        source: record.source.clone(),
        at: humantime::format_rfc3339(record.at).to_string(),
    }
}

/// A failure of the list as the caller sees it. Store failures are logged here and
/// answered without their details.
fn list_failed(error: ConsentError) -> ApiError {
    match error {
        ConsentError::Store(_) | ConsentError::ListFull { .. } => {
            error!(error = %error, "suppression list unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the suppression list cannot be reached; retry shortly",
            )
        }
        ConsentError::BadSource(_) => ApiError::bad_request(error.to_string()).at("who"),
        ConsentError::BadKeyword { .. } => ApiError::bad_request(error.to_string()).at("keyword"),
        ConsentError::TimeOutOfRange => ApiError::bad_request(error.to_string()).at("at"),
        other => ApiError::bad_request(other.to_string()),
    }
}

fn inventory(config: &Config) -> Result<std::sync::Arc<SenderInventory>, ApiError> {
    config.sender_inventory().map_err(|e| {
        error!(error = %e, "the configured senders do not make an inventory");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the sender configuration cannot be read",
        )
    })
}

/// Whether `scope` is a configured sender or the brand of one.
fn is_configured(inventory: &SenderInventory, scope: &Scope) -> bool {
    match scope {
        Scope::Sender(address) => inventory.lookup(address.as_str()).is_some(),
        Scope::Brand(brand) => inventory.iter().any(|s| s.brand() == Some(brand.as_str())),
    }
}

/// A configured sender or brand, in its canonical form; else `unknown_sender`.
fn configured_scope(inventory: &SenderInventory, text: &str) -> Result<Scope, ApiError> {
    let unknown = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_sender",
            format!("{text:?} is not one of our senders or brands"),
        )
        .at("sender")
    };
    let text = input::restore_plus(text);
    if text.starts_with("brand:") {
        let scope: Scope = text.parse().map_err(|_| unknown())?;
        return match is_configured(inventory, &scope) {
            true => Ok(scope),
            false => Err(unknown()),
        };
    }
    let sender = inventory.lookup(&text).ok_or_else(unknown)?;
    Ok(Scope::Sender(sender.address().clone()))
}

/// A configured sender or brand, or the canonical text of one no longer configured.
fn any_scope(inventory: &SenderInventory, text: &str) -> Result<Scope, ApiError> {
    configured_scope(inventory, text).or_else(|_| {
        input::restore_plus(text).parse::<Scope>().map_err(|e| {
            ApiError::bad_request(format!("{e}; name a sender or brand:NAME")).at("sender")
        })
    })
}

/// The filters of a list or an export.
fn filter(
    config: &Config,
    contact: Option<&str>,
    sender: Option<&str>,
) -> Result<(Option<E164>, Option<Scope>), ApiError> {
    let contact = contact
        .map(|c| input::contact(&config.numbers.policy, c, "contact"))
        .transpose()?;
    let scope = match sender {
        Some(text) => Some(any_scope(&*inventory(config)?, text)?),
        None => None,
    };
    Ok((contact, scope))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only this contact's opt-outs.
    contact: Option<String>,
    /// Only this sender's (or `brand:NAME`'s).
    sender: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// Entries per page, 1 to 1000; default 100.
    limit: Option<usize>,
}

/// The suppression list, one page in (contact, sender) order.
#[utoipa::path(
    get,
    path = "/v1/optouts",
    operation_id = "list_optouts",
    tag = "optouts",
    params(ListParams),
    responses(
        (status = 200, description = "one page", body = OptOutPage),
        (status = 400, description = "bad_request", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(api): State<OptOutsApi>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<OptOutPage>, ApiError> {
    let params = input::query(params)?;
    let (contact, scope) = filter(
        &api.config(),
        params.contact.as_deref(),
        params.sender.as_deref(),
    )?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_LIST_PAGE).contains(&limit) {
        let message = format!("must be between 1 and {MAX_LIST_PAGE}");
        return Err(ApiError::bad_request(message).at("limit"));
    }
    let after = params.after.as_deref().map(decode_cursor).transpose()?;
    let query = ListQuery {
        contact,
        scope,
        after,
        limit,
    };
    let page = api.store.list(query).await.map_err(list_failed)?;
    let next = match page.last() {
        Some(last) if page.len() == limit => Some(encode_cursor(last)),
        _ => None,
    };
    let optouts = page.iter().map(view).collect();
    Ok(Json(OptOutPage { optouts, next }))
}

/// The cursor of the page after `last`: its (contact, scope), hex-encoded so that it
/// passes through a query string untouched.
fn encode_cursor(last: &SuppressionRecord) -> String {
    let key = format!("{} {}", last.contact, last.scope);
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(text: &str) -> Result<(E164, Scope), ApiError> {
    let bad = || ApiError::bad_request("not the `next` of a previous page").at("after");
    if text.len() > MAX_CURSOR_CHARS || text.len() % 2 == 1 {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    let key = String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())?;
    let (contact, scope) = key.split_once(' ').ok_or_else(bad)?;
    Ok((
        contact.parse().map_err(|_| bad())?,
        scope.parse().map_err(|_| bad())?,
    ))
}

/// `POST /v1/optouts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewOptOut {
    /// The customer's number.
    contact: String,
    /// A configured sender, or `brand:NAME`.
    sender: String,
    /// The keyword the customer used, if any.
    keyword: Option<String>,
    /// Who records it: an operator, an agent, a system.
    who: String,
    /// How the customer asked (`admin`, `phone`, `email`, …); default `admin`.
    source: Option<String>,
    /// When the customer asked (RFC 3339); default now.
    at: Option<String>,
}

/// Records an opt-out on someone's word (an operator, an agent, a system).
#[utoipa::path(
    post,
    path = "/v1/optouts",
    operation_id = "add_optout",
    tag = "optouts",
    request_body = NewOptOut,
    responses(
        (status = 201, description = "recorded", body = OptOutView),
        (status = 200, description = "already opted out: the standing record", body = OptOutView),
        (status = 400, description = "bad_request, unknown_sender", body = ErrorBody),
        (status = 409, description = "conflict: lifted meanwhile; retry", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn add(
    State(api): State<OptOutsApi>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let new: NewOptOut = input::json_request(&headers, body)?;
    let config = api.config();
    let record = SuppressionRecord {
        contact: input::contact(&config.numbers.policy, &new.contact, "contact")?,
        scope: configured_scope(&*inventory(&config)?, &new.sender)?,
        keyword: new.keyword.map(|k| k.trim().to_owned()),
        source: source_of(new.source.as_deref(), &new.who)?,
        at: match new.at.as_deref() {
            Some(text) => parse_rfc3339(text).map_err(|e| ApiError::bad_request(e).at("at"))?,
            None => SystemTime::now(),
        },
    };
    if api
        .store
        .opt_out(record.clone())
        .await
        .map_err(list_failed)?
    {
        admin_changed(AdminChange::Added, 1);
        info!(sender = %record.scope, source = %record.source, "opt-out added through the API");
        return Ok((StatusCode::CREATED, Json(view(&record))).into_response());
    }
    let standing = api
        .store
        .is_opted_out(&record.contact, std::slice::from_ref(&record.scope))
        .await
        .map_err(list_failed)?;
    match standing {
        Some(standing) => Ok((StatusCode::OK, Json(view(&standing))).into_response()),
        // Lifted between the two calls: the caller's intent is still unrecorded.
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the opt-out was lifted while this one was being recorded; retry",
        )),
    }
}

/// `<source>:<who>`; the source is a word, who is free text (checked with the record).
fn source_of(source: Option<&str>, who: &str) -> Result<String, ApiError> {
    let source = source.unwrap_or(ADMIN_SOURCE).trim();
    let word = !source.is_empty()
        && source.len() <= 32
        && source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !word {
        let message = "a word of letters, digits, _ - . (at most 32), such as admin or phone";
        return Err(ApiError::bad_request(message).at("source"));
    }
    let who = who.trim();
    if who.is_empty() {
        return Err(ApiError::bad_request("say who records this opt-out").at("who"));
    }
    Ok(format!("{source}:{who}"))
}

/// The (contact, scope) a `/v1/optouts/{contact}/{sender}` path names.
fn pair_of(
    api: &OptOutsApi,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(E164, Scope), ApiError> {
    let Path((contact, sender)) = path.map_err(input::path_rejected)?;
    let config = api.config();
    let contact = input::contact(&config.numbers.policy, &contact, "contact")?;
    let scope = any_scope(&*inventory(&config)?, &sender)?;
    Ok((contact, scope))
}

fn not_opted_out(contact: &E164, scope: &Scope) -> ApiError {
    ApiError::not_found(format!("{contact} has not opted out of {scope}"))
}

/// The opt-out of one (contact, sender).
#[utoipa::path(
    get,
    path = "/v1/optouts/{contact}/{sender}",
    operation_id = "get_optout",
    tag = "optouts",
    params(
        ("contact" = String, Path, description = "the customer (E.164)"),
        ("sender" = String, Path, description = "a sender, or `brand:NAME`"),
    ),
    responses(
        (status = 200, description = "the opt-out", body = OptOutView),
        (status = 400, description = "bad_request, unknown_sender", body = ErrorBody),
        (status = 404, description = "not_found: not opted out", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn get_one(
    State(api): State<OptOutsApi>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<OptOutView>, ApiError> {
    let (contact, scope) = pair_of(&api, path)?;
    let found = api
        .store
        .is_opted_out(&contact, std::slice::from_ref(&scope))
        .await
        .map_err(list_failed)?;
    match found {
        Some(record) => Ok(Json(view(&record))),
        None => Err(not_opted_out(&contact, &scope)),
    }
}

/// Lifts the opt-out of one (contact, sender).
#[utoipa::path(
    delete,
    path = "/v1/optouts/{contact}/{sender}",
    operation_id = "remove_optout",
    tag = "optouts",
    params(
        ("contact" = String, Path, description = "the customer (E.164)"),
        ("sender" = String, Path, description = "a sender, or `brand:NAME`"),
    ),
    responses(
        (status = 204, description = "lifted"),
        (status = 400, description = "bad_request", body = ErrorBody),
        (status = 404, description = "not_found: not opted out", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn remove(
    State(api): State<OptOutsApi>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let (contact, scope) = pair_of(&api, path)?;
    if !api
        .store
        .remove(&contact, &scope)
        .await
        .map_err(list_failed)?
    {
        return Err(not_opted_out(&contact, &scope));
    }
    admin_changed(AdminChange::Removed, 1);
    info!(sender = %scope, "opt-out removed through the API");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_the_pair_it_was_made_from_and_nothing_else() {
        let record = SuppressionRecord {
            contact: "+14155550123".parse().unwrap(),
            scope: "brand:Acme & Co".parse().unwrap(),
            keyword: None,
            source: "sms".into(),
            at: SystemTime::UNIX_EPOCH,
        };
        let cursor = encode_cursor(&record);
        assert!(cursor.bytes().all(|b| b.is_ascii_hexdigit()), "{cursor}");
        assert_eq!(
            decode_cursor(&cursor).unwrap(),
            (record.contact.clone(), record.scope.clone())
        );
        for forged in ["", "zz", "abc", &"00".repeat(300), "2b31"] {
            assert_eq!(
                decode_cursor(forged).unwrap_err().field.as_deref(),
                Some("after")
            );
        }
    }

    #[test]
    fn the_source_names_how_and_who() {
        assert_eq!(source_of(None, " jane ").unwrap(), "admin:jane");
        assert_eq!(source_of(Some("phone"), "jane").unwrap(), "phone:jane");
        for (source, who, field) in [
            (Some("by phone"), "jane", "source"),
            (Some(""), "jane", "source"),
            (None, "  ", "who"),
        ] {
            let refused = source_of(source, who).unwrap_err();
            assert_eq!(refused.field.as_deref(), Some(field), "{source:?} {who:?}");
        }
    }
}
