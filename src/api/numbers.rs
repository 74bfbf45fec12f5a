//! `GET /v1/numbers/{number}[?region=GB]`: can this number receive SMS, and why.
//!
//! The answer is the numbers module's [`NumberCheck`] as JSON (`input`, `e164`,
//! `country`, `class`, `sms_capable`, `reason`, `message`), decided by the configured
//! policy in force (a reload applies at once) and the numbers receipts proved unreachable.
//! An invalid number is an answer (`sms_capable: false`, reason `invalid_number`), not an
//! error: the agent's screen shows the sentence either way.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::on;
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::watch;

use super::openapi::DocumentedRoutes;
use super::{ApiError, ErrorBody, input};
use crate::config::Config;
use crate::number::{NumberCheck, Region, UnreachableMemory};

/// What the number routes need.
#[derive(Clone)]
pub struct NumbersApi {
    config: watch::Receiver<Arc<Config>>,
    unreachable: Arc<dyn UnreachableMemory>,
}

impl NumbersApi {
    /// Routes that follow the configuration in `config` and recall marks from
    /// `unreachable` (shared with the receipts flow, which fills it).
    pub fn new(
        config: watch::Receiver<Arc<Config>>,
        unreachable: Arc<dyn UnreachableMemory>,
    ) -> Self {
        NumbersApi {
            config,
            unreachable,
        }
    }
}

/// The number routes.
pub fn routes(api: NumbersApi) -> Router {
    DocumentedRoutes::new()
        .route("check_number", |m| on(m, check_number))
        .with_state(api)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CheckParams {
    /// Reads national formats and short codes (ISO code); default `[numbers]
    /// default_region`.
    region: Option<String>,
}

/// Whether the number can receive SMS, and why (an invalid number is an answer too).
#[utoipa::path(
    get,
    path = "/v1/numbers/{number}",
    operation_id = "check_number",
    tag = "numbers",
    params(
        ("number" = String, Path, description = "the number as typed: E.164, national \
            (with `region`) or a short code"),
        CheckParams,
    ),
    responses(
        (status = 200, description = "the verdict, with a stable `reason` and a sentence",
            body = NumberCheck),
        (status = 400, description = "bad_request: `region` is not a region code",
            body = ErrorBody),
    ),
)]
pub(crate) async fn check_number(
    State(api): State<NumbersApi>,
    number: Result<Path<String>, PathRejection>,
    params: Result<Query<CheckParams>, QueryRejection>,
) -> Result<Json<NumberCheck>, ApiError> {
    let Path(number) = number.map_err(input::path_rejected)?;
    let params = input::query(params)?;
    let region = params
        .region
        .map(|code| code.parse::<Region>())
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()).at("region"))?;
    let config = api.config.borrow().clone();
    let check =
        config
            .numbers
            .policy
            .check(&number, region, api.unreachable.as_ref(), SystemTime::now());
    Ok(Json(check))
}
