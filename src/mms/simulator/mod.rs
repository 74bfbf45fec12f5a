//! The carrier simulator's MMSC side, for demos and tests: an HTTP server that takes
//! the gateway's SubmitReq at `/mm7` (HTTP basic auth when configured), answers
//! SubmitRsp 1000 with a MessageID, and then sends the gateway a DeliveryReportReq —
//! `Rejected` or `Expired` for destinations with the configured prefixes, `Retrieved`
//! otherwise. [`MmscHandle::inject_mo`] sends the gateway a DeliverReq with files from
//! the fixtures directory (broken ones included), as a customer's MMS would arrive.
//!
//! Reports are retried when the gateway does not answer 1000 — it may be down or
//! restarting, or its store briefly unavailable (4006) — `report_attempts` times with
//! a doubling pause, as a real MMSC keeps a report until the VASP takes it. With
//! `hold_reports` they wait until [`MmscHandle::release_reports`]. Everything stops
//! with the cancel token; reports in flight are bounded.

pub mod requests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode as Http, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::mm7::{
    Element, Mm7Version, MultipartLimits, Status, StatusCode, parse_document, parse_request,
    response_status, write_fault,
};
use crate::config::mmsc_sim::MmscConfig;
pub use requests::{BuildError, MmsMo, ReportStatus};

/// Reports waiting or in flight at most; beyond this they are dropped and counted.
const MAX_PENDING_REPORTS: usize = 10_000;
/// The longest answer read from the gateway.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why the MMSC simulator could not start or send.
#[derive(Debug, thiserror::Error)]
pub enum MmscError {
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// No gateway URL is known to send requests to.
    #[error("no gateway_url is configured for the MMSC simulator")]
    NoGateway,
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The MO MMS cannot be built from the request.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The gateway did not answer, or not with an MM7 status.
    #[error("the gateway did not answer the DeliverReq: {0}")]
    Gateway(String),
}

/// What the MMSC has seen and sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MmscStats {
    pub submits_received: u64,
    pub submits_refused: u64,
    pub reports_sent: u64,
    /// Report attempts the gateway did not take (each retried or, at the last, failed).
    pub report_retries: u64,
    /// Reports given up after every attempt.
    pub reports_failed: u64,
    pub reports_dropped: u64,
    /// Reports waiting to be released (`hold_reports`).
    pub reports_held: u64,
    pub delivers_sent: u64,
}

#[derive(Default)]
struct Counters {
    submits_received: AtomicU64,
    submits_refused: AtomicU64,
    reports_sent: AtomicU64,
    report_retries: AtomicU64,
    reports_failed: AtomicU64,
    reports_dropped: AtomicU64,
    reports_held: AtomicU64,
    delivers_sent: AtomicU64,
}

struct Inner {
    config: MmscConfig,
    version: Mm7Version,
    gateway: Option<String>,
    http: reqwest::Client,
    next_id: AtomicU64,
    counters: Counters,
    reports: Arc<Semaphore>,
    /// True while reports are held.
    hold: watch::Sender<bool>,
    tasks: TaskTracker,
    cancel: CancellationToken,
}

/// A running MMSC simulator; cheap to clone.
#[derive(Clone)]
pub struct MmscHandle {
    inner: Arc<Inner>,
    local_addr: SocketAddr,
}

/// The MO MMS the gateway was sent, and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliverOutcome {
    /// The DeliverRsp (or fault) StatusCode.
    pub status: u16,
    pub status_text: String,
    /// The HTTP status of the answer.
    pub http_status: u16,
}

/// Starts the MMSC on `config.listen`; requests go to `config.gateway_url`, else to
/// `default_gateway` (the embedding gateway's own endpoint). Runs until `cancel`.
pub async fn start(
    config: MmscConfig,
    default_gateway: Option<String>,
    cancel: CancellationToken,
) -> Result<MmscHandle, MmscError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| MmscError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| MmscError::Bind {
        addr: config.listen,
        source,
    })?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| MmscError::Client(e.to_string()))?;
    let inner = Arc::new(Inner {
        version: if config.rel5 {
            Mm7Version::Rel5
        } else {
            Mm7Version::Rel6
        },
        gateway: config.gateway_url.clone().or(default_gateway),
        http,
        next_id: AtomicU64::new(1),
        counters: Counters::default(),
        reports: Arc::new(Semaphore::new(MAX_PENDING_REPORTS)),
        hold: watch::Sender::new(config.hold_reports),
        tasks: TaskTracker::new(),
        cancel: cancel.clone(),
        config,
    });
    let router = Router::new()
        .route("/mm7", post(submit))
        .layer(DefaultBodyLimit::max(inner.config.max_request_bytes))
        .with_state(inner.clone());
    let server_tasks = inner.tasks.clone();
    server_tasks.spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await;
        if let Err(e) = served {
            warn!(error = %e, "MMSC simulator listener failed");
        }
    });
    Ok(MmscHandle { inner, local_addr })
}

/// Starts the MMSC of the gateway's embedded simulator (`[simulator.mmsc]`), if
/// configured; its requests go to the gateway's own MM7 endpoint unless
/// `gateway_url` says otherwise.
pub async fn start_embedded(
    config: &crate::config::Config,
    cancel: CancellationToken,
) -> Result<Option<MmscHandle>, MmscError> {
    let Some(mmsc) = config.simulator.as_ref().and_then(|s| s.mmsc.clone()) else {
        return Ok(None);
    };
    let own_endpoint = format!("http://{}/mm7", config.mms.listen);
    let handle = start(mmsc, Some(own_endpoint), cancel).await?;
    tracing::info!(listen = %handle.local_addr(), "embedded MMSC simulator listening");
    Ok(Some(handle))
}

impl MmscHandle {
    /// The address SubmitReq goes to (path `/mm7`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters so far.
    pub fn stats(&self) -> MmscStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MmscStats {
            submits_received: get(&c.submits_received),
            submits_refused: get(&c.submits_refused),
            reports_sent: get(&c.reports_sent),
            report_retries: get(&c.report_retries),
            reports_failed: get(&c.reports_failed),
            reports_dropped: get(&c.reports_dropped),
            reports_held: get(&c.reports_held),
            delivers_sent: get(&c.delivers_sent),
        }
    }

    /// Sends every held report and stops holding; how many were held.
    pub fn release_reports(&self) -> u64 {
        let held = self.inner.counters.reports_held.load(Ordering::Relaxed);
        self.inner.hold.send_replace(false);
        held
    }

    /// Sends the gateway a DeliverReq for `mo` and reads its answer.
    pub async fn inject_mo(&self, mo: &MmsMo) -> Result<DeliverOutcome, MmscError> {
        let inner = &self.inner;
        let gateway = inner.gateway.as_deref().ok_or(MmscError::NoGateway)?;
        let n = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (content_type, body) = requests::deliver_req(
            inner.version,
            &format!("sim-deliver-{n}"),
            &format!("sim-link-{n}"),
            mo,
            &inner.config.media_dir,
        )?;
        let (http_status, answer) = inner
            .post(gateway, &content_type, body)
            .await
            .map_err(MmscError::Gateway)?;
        inner.counters.delivers_sent.fetch_add(1, Ordering::Relaxed);
        let status = parse_document(&answer, Default::default())
            .ok()
            .as_ref()
            .and_then(response_status)
            .ok_or_else(|| {
                MmscError::Gateway(format!("HTTP {http_status} without an MM7 status"))
            })?;
        Ok(DeliverOutcome {
            status: status.code.0,
            status_text: status.text,
            http_status,
        })
    }

    /// Waits until the server and every report task have stopped (after the cancel).
    pub async fn wait(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }
}

impl Inner {
    /// Posts an MM7 request to the gateway; its HTTP status and (bounded) body.
    async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let mut request = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, content_type)
            .header("SOAPAction", "\"\"")
            .body(body);
        if let Some((user, password)) = &self.config.gateway_credentials {
            request = request.basic_auth(user, Some(password));
        }
        let mut response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let mut out = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if out.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(format!("answer longer than {MAX_ANSWER_BYTES} bytes"));
            }
            out.extend_from_slice(&chunk);
        }
        Ok((status, Bytes::from(out)))
    }

    /// Whether the request carries the configured credentials (any when none are).
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some((user, password)) = &self.config.credentials else {
            return true;
        };
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .is_some_and(|given| given.trim() == expected)
    }

    /// The report a destination gets, by the configured prefixes.
    fn report_for(&self, recipient: &str) -> ReportStatus {
        let digits = recipient.trim_start_matches('+');
        let matches = |prefix: &Option<String>| {
            prefix
                .as_deref()
                .is_some_and(|p| digits.starts_with(p.trim_start_matches('+')))
        };
        if matches(&self.config.rejected_prefix) {
            ReportStatus::Rejected
        } else if matches(&self.config.expired_prefix) {
            ReportStatus::Expired
        } else {
            ReportStatus::Retrieved
        }
    }

    /// Sends the report of `message_id` after the configured delay, retrying a few times.
    async fn send_report(&self, message_id: String, recipient: String, sender: String) {
        let Some(gateway) = self.gateway.clone() else {
            self.counters.reports_failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        // Cancel-safe: an unsent report is simply not sent.
        tokio::select! {
            _ = self.cancel.cancelled() => return,
            _ = tokio::time::sleep(self.config.report_delay) => {}
        }
        if !self.wait_release().await {
            return;
        }
        let status = self.report_for(&recipient);
        let mut pause = self.config.report_retry;
        for attempt in 1..=self.config.report_attempts {
            let xml = requests::delivery_report_req(
                self.version,
                &format!("sim-report-{message_id}-{attempt}"),
                &message_id,
                &recipient,
                &sender,
                status,
            );
            let answer = self
                .post(&gateway, "text/xml; charset=utf-8", Bytes::from(xml))
                .await;
            let code = answer.as_ref().ok().and_then(|(_, body)| {
                let root = parse_document(body, Default::default()).ok()?;
                response_status(&root).map(|s| s.code)
            });
            if code.is_some_and(StatusCode::is_success) {
                self.counters.reports_sent.fetch_add(1, Ordering::Relaxed);
                debug!(%message_id, status = status.as_str(), "MMSC simulator sent a report");
                return;
            }
            self.counters.report_retries.fetch_add(1, Ordering::Relaxed);
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(self.config.report_retry_max);
        }
        self.counters.reports_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits while reports are held; false when cancelled first.
    async fn wait_release(&self) -> bool {
        let mut hold = self.hold.subscribe();
        if !*hold.borrow_and_update() {
            return true;
        }
        let held = &self.counters.reports_held;
        held.fetch_add(1, Ordering::Relaxed);
        // Cancel-safe: a report not yet released is simply not sent.
        let released = tokio::select! {
            _ = self.cancel.cancelled() => false,
            released = hold.wait_for(|h| !*h) => released.is_ok(),
        };
        held.fetch_sub(1, Ordering::Relaxed);
        released
    }
}

/// `POST /mm7`: a SubmitReq.
async fn submit(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    if !inner.authorized(&headers) {
        inner
            .counters
            .submits_refused
            .fetch_add(1, Ordering::Relaxed);
        return fault(
            inner.version,
            None,
            StatusCode::IMPROPER_IDENTIFICATION,
            Http::UNAUTHORIZED,
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let limits = MultipartLimits::default();
    let request = match parse_request(content_type, body, limits) {
        Ok(r) => r,
        Err(e) => {
            inner
                .counters
                .submits_refused
                .fetch_add(1, Ordering::Relaxed);
            return fault(inner.version, None, e.status(), Http::INTERNAL_SERVER_ERROR);
        }
    };
    let envelope = &request.envelope;
    let op = &envelope.operation;
    let (Some(recipient), Some(sender)) = (recipient_of(op), sender_of(op)) else {
        inner
            .counters
            .submits_refused
            .fetch_add(1, Ordering::Relaxed);
        let code = if op.name == "SubmitReq" {
            StatusCode::VALIDATION_ERROR
        } else {
            StatusCode::UNSUPPORTED_OPERATION
        };
        return fault(
            envelope.version,
            Some(&envelope.transaction_id),
            code,
            Http::INTERNAL_SERVER_ERROR,
        );
    };
    inner
        .counters
        .submits_received
        .fetch_add(1, Ordering::Relaxed);
    let message_id = format!(
        "sim-mms-{:06}",
        inner.next_id.fetch_add(1, Ordering::Relaxed)
    );
    match inner.reports.clone().try_acquire_owned() {
        Ok(permit) => {
            let task = inner.clone();
            let id = message_id.clone();
            inner.tasks.spawn(async move {
                task.send_report(id, recipient, sender).await;
                drop(permit);
            });
        }
        Err(_) => {
            inner
                .counters
                .reports_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }
    let xml = requests::submit_rsp(envelope.version, &envelope.transaction_id, &message_id);
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}

/// The first recipient of a SubmitReq.
fn recipient_of(op: &Element) -> Option<String> {
    if op.name != "SubmitReq" {
        return None;
    }
    let to = op.child("Recipients")?.children.first()?;
    to.children
        .first()
        .map(|a| a.text.trim().to_owned())
        .filter(|a| !a.is_empty())
}

/// The sender address of a SubmitReq (the business number).
fn sender_of(op: &Element) -> Option<String> {
    let address = op
        .child("SenderIdentification")?
        .child("SenderAddress")?
        .children
        .first()?;
    Some(address.text.trim().to_owned()).filter(|a| !a.is_empty())
}

fn fault(
    version: Mm7Version,
    transaction_id: Option<&str>,
    code: StatusCode,
    http: Http,
) -> Response {
    let xml = write_fault(version, transaction_id, &Status::new(code));
    (
        http,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}
