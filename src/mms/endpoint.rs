//! The MM7 endpoint carriers' MMSCs post to: `DeliverReq` (an MO MMS) and
//! `DeliveryReportReq` (the fate of an MT MMS), on its own listener.
//!
//! A request is handled in this order, each step able to end it:
//! 1. the carrier is identified ([`auth`](super::auth)) — `401`/`403`, body unread;
//! 2. a slot is taken (`[mms] max_concurrent_requests`) — none in time: a `4006` fault;
//! 3. the body is read within `[mms]` limits and `request_timeout` — a broken or
//!    hostile body is a SOAP fault with its status (2007 format corrupt, 2004 too
//!    large, 4002 unknown schema);
//! 4. the operation is read and carried out, and answered in its own response.
//!
//! For a DeliverReq the answer comes only after the message is durable: each content
//! part is validated, accepted media are written to the media store, then the message
//! and its events are committed by the MO MMS flow. `1000` when every part was taken,
//! `1100` (partial success) when some were refused (each refusal is a
//! `chat.media.rejected` for the agent), `4006` when the media store or the message
//! store cannot take it now, so the relay delivers it again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode as HttpStatus, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tracing::debug;

use super::auth::{AuthError, identify};
use super::media::{MediaPolicy, MediaStore, UrlSigner};
use super::metrics;
use super::mm7::{
    BodyPart, DeliverReq, Mm7Error, Mm7Request, Mm7Version, MultipartLimits, Status, StatusCode,
    XmlLimits, parse_deliver, parse_delivery_report, read_request, write_deliver_rsp,
    write_delivery_report_rsp, write_fault,
};
use super::report_sink::Mm7ReportSink;
use crate::config::Config;
use crate::flow::mms_inbound::{MmsDelivery, MmsMoFlow, MmsVerdict};
use crate::store::{Store, StoredMedia};

/// Longest file name kept from a part's headers.
const MAX_FILENAME: usize = 255;

/// What the endpoint needs.
pub struct Endpoint<S> {
    pub config: watch::Receiver<Arc<Config>>,
    pub flow: Arc<MmsMoFlow<S>>,
    pub media: MediaStore,
    pub signer: UrlSigner,
    pub reports: Arc<dyn Mm7ReportSink>,
    pub slots: Semaphore,
}

/// The endpoint's routes: any path takes a POST (carriers are configured with a URL
/// each; the path carries no meaning in MM7). The body is taken raw, without axum's
/// default size cap: the codec bounds it while reading, by `[mms]` limits.
pub fn router<S: Store>(endpoint: Arc<Endpoint<S>>) -> Router {
    Router::new().fallback(handle::<S>).with_state(endpoint)
}

async fn handle<S: Store>(
    State(e): State<Arc<Endpoint<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method != axum::http::Method::POST {
        return (HttpStatus::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response();
    }
    let started = Instant::now();
    let config = e.config.borrow().clone();
    let carrier = match carrier_of(&config, peer, &headers) {
        Ok(carrier) => carrier,
        Err(error) => return refusal(error),
    };
    let Ok(Ok(_slot)) = tokio::time::timeout(config.mms.request_timeout, e.slots.acquire()).await
    else {
        metrics::refused("busy");
        return fault(None, None, Status::new(StatusCode::SERVICE_UNAVAILABLE));
    };
    let limits = limits_of(&config);
    let request = match read(&config, &headers, body, limits).await {
        Some(Ok(request)) => request,
        Some(Err(error)) => {
            debug!(carrier, %error, "unreadable MM7 request");
            metrics::refused(error.label());
            let status = Status::new(error.status()).with_details(error.to_string());
            return fault(None, None, status);
        }
        None => {
            metrics::refused("timeout");
            return HttpStatus::REQUEST_TIMEOUT.into_response();
        }
    };
    let env = &request.envelope;
    let (operation, (status, response)) = match env.operation_name() {
        "DeliverReq" => ("DeliverReq", e.deliver(&carrier, &request, limits).await),
        "DeliveryReportReq" => ("DeliveryReportReq", e.report(&carrier, &request).await),
        other => {
            let error = Mm7Error::UnsupportedOperation(other.to_owned());
            metrics::refused(error.label());
            let status = Status::new(error.status()).with_details(error.to_string());
            return fault(Some(env.version), Some(&env.transaction_id), status);
        }
    };
    metrics::request(&carrier, operation, status, started.elapsed().as_secs_f64());
    response
}

/// The carrier posting, by its credentials and address.
fn carrier_of(config: &Config, peer: SocketAddr, headers: &HeaderMap) -> Result<String, AuthError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    identify(&config.mms.carriers, peer.ip(), authorization).map(|c| c.carrier.clone())
}

/// The answer to a request that matches no carrier.
fn refusal(error: AuthError) -> Response {
    match error {
        AuthError::Unauthorized => {
            metrics::refused("unauthorized");
            (
                HttpStatus::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"smsbridge MM7\"")],
            )
                .into_response()
        }
        AuthError::AddressNotAllowed => {
            metrics::refused("address_not_allowed");
            HttpStatus::FORBIDDEN.into_response()
        }
    }
}

/// Reads the body within the limits and the request timeout (`None` when the timeout
/// passed first).
async fn read(
    config: &Config,
    headers: &HeaderMap,
    body: Body,
    limits: MultipartLimits,
) -> Option<Result<Mm7Request, Mm7Error>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let read = read_request(
        content_type,
        body.into_data_stream(),
        limits,
        XmlLimits::default(),
    );
    tokio::time::timeout(config.mms.request_timeout, read)
        .await
        .ok()
}

impl<S: Store> Endpoint<S> {
    /// A DeliverReq: validate, keep the media, store the message, answer.
    async fn deliver(
        &self,
        carrier: &str,
        request: &Mm7Request,
        limits: MultipartLimits,
    ) -> (StatusCode, Response) {
        let env = &request.envelope;
        let answer = |status: Status| {
            let code = status.code;
            (
                code,
                soap(write_deliver_rsp(env.version, &env.transaction_id, &status)),
            )
        };
        let req = match parse_deliver(env) {
            Ok(req) => req,
            Err(error) => {
                return answer(Status::new(error.status()).with_details(error.to_string()));
            }
        };
        let content = match request.content(req.content_href.as_deref(), limits) {
            Ok(content) => content,
            Err(error) => {
                return answer(Status::new(error.status()).with_details(error.to_string()));
            }
        };
        let config = self.config.borrow().clone();
        let policy = MediaPolicy {
            allowed: config.mms.allowed_content_types.clone(),
            max_part_bytes: config.mms.max_part_bytes as u64,
        };
        let parts = match self.sort_parts(carrier, &policy, content).await {
            Ok(parts) => parts,
            Err(error) => {
                crate::rate_limited!(warn!(carrier, %error, "cannot write MMS media"));
                return answer(Status::new(StatusCode::SERVICE_UNAVAILABLE));
            }
        };
        let refused = parts.rejected.len();
        let verdict = self.flow.deliver(delivery(carrier, &req, parts)).await;
        match verdict {
            MmsVerdict::Stored | MmsVerdict::Duplicate if refused == 0 => {
                answer(Status::new(StatusCode::SUCCESS))
            }
            MmsVerdict::Stored | MmsVerdict::Duplicate => answer(
                Status::new(StatusCode::PARTIAL_SUCCESS)
                    .with_details(format!("{refused} content part(s) refused")),
            ),
            MmsVerdict::RetryLater => answer(Status::new(StatusCode::SERVICE_UNAVAILABLE)),
        }
    }

    /// Text parts become the message's text, SMIL (layout only) is dropped, every other
    /// part is validated and kept in the media store or described as rejected.
    async fn sort_parts(
        &self,
        carrier: &str,
        policy: &MediaPolicy,
        content: Vec<BodyPart>,
    ) -> std::io::Result<Parts> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut parts = Parts::default();
        for part in content {
            let filename = part
                .filename
                .as_deref()
                .map(|f| f.chars().take(MAX_FILENAME).collect::<String>());
            match policy.check(&part) {
                Ok(essence) if essence == "application/smil" => {}
                Ok(essence) if essence == "text/plain" => parts.text.push(text_of(&part)),
                Ok(essence) => {
                    let size = part.body.len();
                    let hash = self.media.put(part.body).await?;
                    metrics::media_accepted(carrier, size as u64);
                    parts.media.push(json!({
                        "url": self.signer.url(&hash, &essence, now),
                        "content_type": essence,
                        "size": size,
                        "filename": filename,
                    }));
                    parts.files.push(StoredMedia {
                        hash,
                        content_type: essence,
                        size: size as u64,
                        filename,
                    });
                }
                Err(rejection) => {
                    metrics::media_rejected(carrier, rejection.as_str());
                    parts.rejected.push(json!({
                        "reason": rejection.as_str(),
                        "message": rejection.sentence(),
                        "content_type": part.essence(),
                        "size": part.size,
                        "filename": filename,
                    }));
                }
            }
        }
        Ok(parts)
    }

    /// A DeliveryReportReq: read it and hand it to the report sink.
    async fn report(&self, carrier: &str, request: &Mm7Request) -> (StatusCode, Response) {
        let env = &request.envelope;
        let status = match parse_delivery_report(env) {
            Ok(report) => match self.reports.deliver_report(carrier, report).await {
                Ok(()) => Status::new(StatusCode::SUCCESS),
                Err(error) => Status::new(error.status()).with_details(error.to_string()),
            },
            Err(error) => Status::new(error.status()).with_details(error.to_string()),
        };
        (
            status.code,
            soap(write_delivery_report_rsp(
                env.version,
                &env.transaction_id,
                &status,
            )),
        )
    }
}

/// A DeliverReq's content, sorted.
#[derive(Debug, Default)]
struct Parts {
    text: Vec<String>,
    media: Vec<serde_json::Value>,
    rejected: Vec<serde_json::Value>,
    files: Vec<StoredMedia>,
}

fn delivery(carrier: &str, req: &DeliverReq, parts: Parts) -> MmsDelivery {
    MmsDelivery {
        carrier: carrier.to_owned(),
        relay_id: req
            .linked_id
            .clone()
            .unwrap_or_else(|| req.transaction_id.clone()),
        sender: req.sender.value().to_owned(),
        recipients: req
            .recipients
            .iter()
            .map(|r| r.value().to_owned())
            .collect(),
        subject: req.subject.clone(),
        text: parts.text.join("\n"),
        media: parts.media,
        rejected: parts.rejected,
        files: parts.files,
    }
}

/// A text part's text: UTF-8 (and US-ASCII) as is, ISO-8859-1 mapped byte for byte;
/// anything undecodable becomes U+FFFD rather than losing the message.
fn text_of(part: &BodyPart) -> String {
    let charset = part
        .content_type
        .as_deref()
        .and_then(|ct| ct.parse::<mime::Mime>().ok())
        .and_then(|m| {
            m.get_param(mime::CHARSET)
                .map(|c| c.as_str().to_ascii_lowercase())
        });
    match charset.as_deref() {
        Some("iso-8859-1") | Some("latin1") => part.body.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(&part.body).into_owned(),
    }
}

/// The limits of `[mms]`.
pub fn limits_of(config: &Config) -> MultipartLimits {
    MultipartLimits {
        max_message_bytes: config.mms.max_message_bytes as u64,
        max_part_bytes: config.mms.max_part_bytes as u64,
        max_root_bytes: MultipartLimits::default().max_root_bytes,
        max_parts: config.mms.max_parts,
    }
}

fn soap(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}

/// A SOAP 1.1 fault: HTTP 500, as SOAP 1.1 over HTTP requires for faults.
fn fault(version: Option<Mm7Version>, transaction_id: Option<&str>, status: Status) -> Response {
    let xml = write_fault(version.unwrap_or(Mm7Version::Rel6), transaction_id, &status);
    (
        HttpStatus::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}
