//! The operators' listener: `/healthz` (the process answers), `/readyz` (the store is
//! open and, per required carrier, at least one bind is up), `/status` (JSON) and
//! `/metrics` (Prometheus text format).
//!
//! With `[admin] token` set, `/status` and `/metrics` ask for it as a bearer token (a
//! Prometheus scrape sets `authorization`); `/healthz` and `/readyz` stay open, as load
//! balancers and systemd probes carry no credentials and they tell only up or down.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{Value, json};

use crate::config::Secret;

/// One condition `/readyz` requires.
pub trait ReadinessCheck: Send + Sync {
    /// A short stable name shown in the `/readyz` body (`store`, `carrier:sim`).
    fn name(&self) -> String;
    /// `Ok` when ready, or why not. Must be quick: it runs on every probe.
    fn check(&self) -> Result<(), String>;
}

/// A part of the daemon that adds a section to `/status` (e.g. the carriers' binds).
pub trait StatusSource: Send + Sync {
    /// The key under which the section appears.
    fn key(&self) -> &'static str;
    /// The section; never contains secrets.
    fn status(&self) -> Value;
}

/// What the admin endpoints read.
pub struct AdminState {
    pub instance: String,
    pub config_source: String,
    pub started: Instant,
    pub generation: AtomicU64,
    /// The keys changed in the file since start that take effect only after a restart
    /// (empty at start).
    pub restart_pending: Mutex<Vec<&'static str>>,
    /// False while starting and from the moment a drain begins.
    pub accepting: AtomicBool,
    pub checks: Vec<Arc<dyn ReadinessCheck>>,
    pub sources: Vec<Arc<dyn StatusSource>>,
    pub prometheus: PrometheusHandle,
}

impl AdminState {
    /// Records which changed keys await a restart, as of the last reload applied.
    pub fn set_restart_pending(&self, keys: Vec<&'static str>) {
        *self
            .restart_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = keys;
    }

    fn restart_pending(&self) -> Vec<&'static str> {
        self.restart_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The admin router; `token`, when set, guards `/status` and `/metrics`.
pub fn router(state: Arc<AdminState>, token: Option<Secret>) -> Router {
    let mut guarded = Router::new()
        .route("/status", get(status))
        .route("/metrics", get(metrics));
    if let Some(token) = token {
        guarded = guarded.layer(middleware::from_fn_with_state(
            Arc::new(token),
            require_token,
        ));
    }
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(guarded)
        .with_state(state)
}

async fn require_token(State(token): State<Arc<Secret>>, req: Request, next: Next) -> Response {
    if crate::api::bearer_matches(&req, &token) {
        next.run(req).await
    } else {
        crate::api::unauthorized()
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<Arc<AdminState>>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ready = s.accepting.load(Ordering::Relaxed);
    if !ready {
        checks.insert("lifecycle".into(), json!("starting or draining"));
    }
    for c in &s.checks {
        match c.check() {
            Ok(()) => {
                checks.insert(c.name(), json!("ok"));
            }
            Err(why) => {
                ready = false;
                checks.insert(c.name(), json!(why));
            }
        }
    }
    metrics::gauge!(crate::telemetry::READY).set(if ready { 1.0 } else { 0.0 });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(json!({ "ready": ready, "checks": checks }))).into_response()
}

async fn status(State(s): State<Arc<AdminState>>) -> Json<Value> {
    let mut body = json!({
        "version": crate::VERSION,
        "instance": s.instance,
        "config": s.config_source,
        "config_generation": s.generation.load(Ordering::Relaxed),
        "config_restart_pending": s.restart_pending(),
        "uptime_seconds": s.started.elapsed().as_secs(),
        "accepting": s.accepting.load(Ordering::Relaxed),
    });
    for src in &s.sources {
        body[src.key()] = src.status();
    }
    Json(body)
}

async fn metrics(State(s): State<Arc<AdminState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.prometheus.render(),
    )
        .into_response()
}
