//! Demo only, present when the embedded carrier simulator runs (`[simulator]`):
//! `POST /v1/simulator/mo` makes the simulator send an MO to the gateway as a carrier
//! would, `POST /v1/simulator/receipts/release` sends the receipts it holds
//! (`[simulator.receipts] hold = true`), and `GET /v1/simulator/stats` shows its counters
//! (submits received, MO acknowledged, receipts held, …). Production configurations have no `[simulator]` and no such routes.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, input};
use crate::config::simulator::{Concatenation, MoEncoding};
use crate::mms::simulator::{MmsMo, MmscError, MmscHandle, MmscStats};
use crate::smpp::simulator::{MoMessage, SimulatorHandle, StatsSnapshot};

/// The body of `POST /v1/simulator/mo`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoBody {
    /// The subscriber sending it (digits, with or without `+`).
    from: String,
    /// The business number it is sent to.
    to: String,
    text: String,
    /// `gsm7` (default) or `ucs2`.
    encoding: Option<String>,
    /// `udh8` (default), `udh16` or `sar`, for texts longer than one part.
    concatenation: Option<String>,
}

/// The simulator routes.
pub fn routes(simulator: SimulatorHandle) -> Router {
    Router::new()
        .route("/v1/simulator/mo", post(send_mo))
        .route("/v1/simulator/receipts/release", post(release_receipts))
        .route("/v1/simulator/stats", get(stats))
        .with_state(simulator)
}

async fn send_mo(
    State(simulator): State<SimulatorHandle>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: MoBody = input::json_request(&headers, body)?;
    let encoding = match body.encoding.as_deref() {
        None | Some("gsm7") => MoEncoding::Gsm7,
        Some("ucs2") => MoEncoding::Ucs2,
        Some(_) => return Err(ApiError::bad_request("encoding is gsm7 or ucs2").at("encoding")),
    };
    let concatenation = match body.concatenation.as_deref() {
        None | Some("udh8") => Concatenation::Udh8,
        Some("udh16") => Concatenation::Udh16,
        Some("sar") => Concatenation::Sar,
        Some(_) => {
            return Err(
                ApiError::bad_request("concatenation is udh8, udh16 or sar").at("concatenation")
            );
        }
    };
    let address = |a: &str| a.trim().trim_start_matches('+').to_owned();
    let message = MoMessage {
        source: address(&body.from),
        destination: address(&body.to),
        text: body.text,
        encoding,
        concatenation,
    };
    let parts = simulator
        .inject_mo(&message)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "parts": parts }))))
}

/// Sends the held receipts (in the configured order, each after the previous one was
/// answered) and says how many went out.
async fn release_receipts(
    State(simulator): State<SimulatorHandle>,
) -> Result<Json<Value>, ApiError> {
    let released = simulator
        .release_receipts()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", e.to_string()))?;
    Ok(Json(json!({ "released": released })))
}

async fn stats(State(simulator): State<SimulatorHandle>) -> Json<StatsSnapshot> {
    Json(simulator.stats())
}

/// The body of `POST /v1/simulator/mms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MmsBody {
    /// The subscriber sending it.
    from: String,
    /// The business number it is sent to.
    to: String,
    #[serde(default)]
    text: String,
    /// Files of the simulator's media directory (`photo.jpg`, `truncated.jpg`, …).
    #[serde(default)]
    files: Vec<String>,
}

/// The MMSC simulator's routes: `POST /v1/simulator/mms` makes it send the gateway a
/// DeliverReq, `POST /v1/simulator/mmsc/reports/release` sends the reports it holds,
/// `GET /v1/simulator/mmsc/stats` shows its counters.
pub fn mms_routes(mmsc: MmscHandle) -> Router {
    Router::new()
        .route("/v1/simulator/mms", post(send_mms))
        .route("/v1/simulator/mmsc/stats", get(mmsc_stats))
        .route(
            "/v1/simulator/mmsc/reports/release",
            post(release_reports_mms),
        )
        .with_state(mmsc)
}

async fn send_mms(
    State(mmsc): State<MmscHandle>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: MmsBody = input::json_request(&headers, body)?;
    let mo = MmsMo {
        from: body.from,
        to: body.to,
        text: body.text,
        files: body.files,
    };
    let outcome = mmsc.inject_mo(&mo).await.map_err(|e| match e {
        MmscError::Build(_) => ApiError::bad_request(e.to_string()),
        other => ApiError::new(StatusCode::BAD_GATEWAY, "bad_gateway", other.to_string()),
    })?;
    Ok((StatusCode::ACCEPTED, Json(json!(outcome))))
}

/// `POST /v1/simulator/mmsc/reports/release`: sends the held DeliveryReportReqs.
async fn release_reports_mms(State(mmsc): State<MmscHandle>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "released": mmsc.release_reports() }))
}

async fn mmsc_stats(State(mmsc): State<MmscHandle>) -> Json<MmscStats> {
    Json(mmsc.stats())
}
