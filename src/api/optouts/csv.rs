//! The suppression list as CSV over HTTP: export streamed page by page, import all or
//! nothing. The format is the consent module's (`contact,sender,keyword,source,at`).

use std::io;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{error, info};

use super::{
    MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, OptOutsApi, filter, inventory, is_configured, list_failed,
};
use crate::api::{ApiError, ErrorBody, input};
use crate::consent::csv::{CsvError, RowError, read_csv_checked, write_csv, write_csv_rows};
use crate::consent::metrics::{AdminChange, admin_changed};
use crate::consent::{ListQuery, MAX_LIST_PAGE, SuppressionList};
use crate::store::sqlite::SqliteStore;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportParams {
    /// Only this contact's opt-outs.
    contact: Option<String>,
    /// Only this sender's (or `brand:NAME`'s).
    sender: Option<String>,
}

/// What an import did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Imported {
    /// Rows in the file.
    rows: usize,
    /// Opt-outs recorded.
    imported: usize,
    /// Rows whose pair was already opted out (the standing record is kept).
    already_opted_out: usize,
}

/// `GET /v1/optouts/export`: one page of the list in memory at a time, whatever its size.
/// Entries added or lifted while the export runs may or may not be in it. A store failure
/// part-way ends the response early, so the client sees a broken transfer rather than a
/// short file that looks complete.
#[utoipa::path(
    get,
    path = "/v1/optouts/export",
    operation_id = "export_optouts",
    tag = "optouts",
    params(ExportParams),
    responses(
        (status = 200, description = "`contact,sender,keyword,source,at` with a header line",
            content_type = "text/csv", body = String),
        (status = 400, description = "bad_request", body = ErrorBody),
    ),
)]
pub(crate) async fn export(
    State(api): State<OptOutsApi>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = input::query(params)?;
    let (contact, scope) = filter(
        &api.config(),
        params.contact.as_deref(),
        params.sender.as_deref(),
    )?;
    let pages = ExportPages {
        store: api.store.clone(),
        query: ListQuery {
            contact,
            scope,
            after: None,
            limit: MAX_LIST_PAGE,
        },
        header_sent: false,
        done: false,
    };
    let chunks = futures_util::stream::unfold(pages, |mut pages| async move {
        let chunk = pages.next_chunk().await?;
        Some((chunk, pages))
    });
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"optouts.csv\"",
        ),
    ];
    Ok((headers, Body::from_stream(chunks)).into_response())
}

/// Where an export stands.
struct ExportPages {
    store: SqliteStore,
    query: ListQuery,
    header_sent: bool,
    done: bool,
}

impl ExportPages {
    /// The next page as CSV (the first with the header line), or `None` at the end.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, io::Error>> {
        if self.done {
            return None;
        }
        let page = match self.store.list(self.query.clone()).await {
            Ok(page) => page,
            Err(e) => {
                error!(error = %e, "opt-out export failed part-way");
                self.done = true;
                return Some(Err(io::Error::other(e)));
            }
        };
        self.done = page.len() < self.query.limit;
        if page.is_empty() && self.header_sent {
            return None;
        }
        self.query.after = page.last().map(|r| (r.contact.clone(), r.scope.clone()));
        let mut out = Vec::new();
        let written = match self.header_sent {
            false => write_csv(&mut out, &page),
            true => write_csv_rows(&mut out, &page),
        };
        self.header_sent = true;
        Some(written.map(|_| Bytes::from(out)).map_err(io::Error::other))
    }
}

/// `POST /v1/optouts/import`: a CSV body in the export's format. Every row is checked
/// first (its fields, and that its sender or brand is configured); one bad row and
/// nothing is imported. Rows whose pair is already opted out keep the standing record.
#[utoipa::path(
    post,
    path = "/v1/optouts/import",
    operation_id = "import_optouts",
    tag = "optouts",
    request_body(content = String, content_type = "text/csv",
        description = "the export's format; at most 50000 rows and 8 MiB"),
    responses(
        (status = 200, description = "imported", body = Imported),
        (status = 400, description = "bad_request: the bad rows by line (`error.rows`, \
            `error.more`); nothing was imported", body = ErrorBody),
        (status = 503, description = "overloaded", body = ErrorBody),
    ),
)]
pub(crate) async fn import(
    State(api): State<OptOutsApi>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| match input::body_rejected(rejection) {
        // This route's own limit, not `[api] max_body_bytes`.
        e if e.code == "body_too_large" => ApiError {
            message: format!("the CSV is over the import limit of {MAX_IMPORT_BYTES} bytes"),
            ..e
        },
        e => e,
    })?;
    let inventory = inventory(&api.config())?;
    let ours =
        |record: &crate::consent::SuppressionRecord| match is_configured(&inventory, &record.scope)
        {
            true => Ok(()),
            false => Err((
                "sender",
                format!("{} is not one of our senders or brands", record.scope),
            )),
        };
    let records = match read_csv_checked(&body[..], MAX_IMPORT_ROWS, ours) {
        Ok(records) => records,
        Err(CsvError::Rows { errors, more }) => return Ok(rows_refused(errors, more)),
        Err(e) => return Err(ApiError::bad_request(e.to_string())),
    };
    let rows = records.len();
    let imported = api.store.import(records).await.map_err(list_failed)?;
    admin_changed(AdminChange::Imported, imported);
    info!(rows, imported, "opt-outs imported through the API");
    let body = Imported {
        rows,
        imported,
        already_opted_out: rows - imported,
    };
    Ok(Json(body).into_response())
}

/// `400 bad_request` listing the bad rows by line, beside the usual error fields.
fn rows_refused(errors: Vec<RowError>, more: usize) -> Response {
    let message = CsvError::Rows {
        errors: errors.clone(),
        more,
    }
    .to_string();
    let rows: Vec<_> = errors
        .iter()
        .map(|e| json!({ "line": e.line, "column": e.column, "problem": e.problem }))
        .collect();
    let body = json!({
        "error": {
            "code": "bad_request",
            "message": message,
            "field": null,
            "rows": rows,
            "more": more,
        }
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}
