//! Telemetry: tracing to stderr and the metrics recorder with its Prometheus exporter.
//!
//! Metric names live here as constants with the `smsbridge_` prefix, `_total` on
//! counters and `_seconds` on histograms; each is described once in [`describe`].
//! Labels come from bounded sets (carrier, bind, command, status), never phone numbers.
//! A failure that repeats is logged at a bounded rate through [`Repeats`].

mod repeats;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::config::{Log, LogFormat};

pub use repeats::{REPEAT_LOG_INTERVAL, Repeats};

/// Gauge, always 1, labelled with `version`: which build is running.
pub const BUILD_INFO: &str = "smsbridge_build_info";
/// Gauge: Unix time at which the process started.
pub const START_TIME_SECONDS: &str = "smsbridge_start_time_seconds";
/// Counter, labelled `result` = `ok` | `error`: configuration reloads (SIGHUP).
pub const CONFIG_RELOADS_TOTAL: &str = "smsbridge_config_reloads_total";
/// Gauge: 1 when the last reload was applied, 0 when it was refused.
pub const CONFIG_LAST_RELOAD_SUCCESSFUL: &str = "smsbridge_config_last_reload_successful";
/// Gauge: the configuration generation (1 at start, +1 for each applied reload).
pub const CONFIG_GENERATION: &str = "smsbridge_config_generation";
/// Gauge: 1 while a key changed by a reload awaits a restart (`/status` names them), 0
/// from start.
pub const CONFIG_RESTART_PENDING: &str = "smsbridge_config_restart_pending";
/// Gauge: 1 while the daemon is ready (`/readyz` answers 200).
pub const READY: &str = "smsbridge_ready";

/// Describes every metric of this module and of the modules that own metrics.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge};
    describe_gauge!(BUILD_INFO, "Which smsbridge build is running (always 1).");
    describe_gauge!(
        START_TIME_SECONDS,
        Unit::Seconds,
        "Unix time at which the process started."
    );
    describe_counter!(
        CONFIG_RELOADS_TOTAL,
        "Configuration reloads by result (ok: applied, error: refused, old config kept)."
    );
    describe_gauge!(
        CONFIG_LAST_RELOAD_SUCCESSFUL,
        "1 when the last configuration reload was applied, 0 when it was refused."
    );
    describe_gauge!(CONFIG_GENERATION, "Configuration generation, 1 at start.");
    describe_gauge!(
        CONFIG_RESTART_PENDING,
        "1 while a key changed by a reload takes effect only after a restart (/status config_restart_pending names them)."
    );
    describe_gauge!(READY, "1 while the daemon is ready to take traffic.");
    crate::store::sqlite::describe();
    crate::smpp::metrics::describe();
    crate::number::metrics::describe();
    crate::consent::metrics::describe();
    crate::text::metrics::describe();
    crate::receipts::metrics::describe();
    crate::connector::metrics::describe();
    crate::flow::metrics::describe();
    crate::mms::outbound::describe();
    crate::mms::metrics::describe();
    crate::listener::describe();
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide metrics recorder (once) and returns the handle that renders
/// the Prometheus text format for `/metrics`.
pub fn metrics_handle() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0,
                ])
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (tests running several daemons in
            // one process); the handle then renders this recorder's metrics only.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            metrics::gauge!(BUILD_INFO, "version" => crate::VERSION).set(1.0);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            metrics::gauge!(START_TIME_SECONDS).set(now);
            handle
        })
        .clone()
}

/// How often histogram samples are folded into their buckets when `/metrics` is not
/// read.
pub const METRICS_UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the recorded histogram samples into their buckets every `every` until `cancel`
/// fires. The recorder keeps every sample until then: without this, a gateway whose
/// `/metrics` nobody scrapes grew by the samples of every message it handled.
pub async fn run_metrics_upkeep(
    handle: PrometheusHandle,
    every: std::time::Duration,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => handle.run_upkeep(),
        }
    }
}

/// Changes the log filter of a running process (SIGHUP).
#[derive(Clone)]
pub struct LogReload(reload::Handle<EnvFilter, Registry>);

impl LogReload {
    /// Applies a new filter; the caller validated it with the config.
    pub fn set_level(&self, level: &str) -> Result<(), String> {
        let filter = EnvFilter::try_new(level).map_err(|e| e.to_string())?;
        self.0.reload(filter).map_err(|e| e.to_string())
    }
}

/// Installs the tracing subscriber writing to stderr: text or JSON, and no timestamps
/// under journald (which stamps each line itself) unless `timestamps` says otherwise.
pub fn init_tracing(log: &Log) -> LogReload {
    let filter = EnvFilter::try_new(&log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let timestamps = log
        .timestamps
        .unwrap_or_else(|| std::env::var_os("JOURNAL_STREAM").is_none());
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match (log.format, timestamps) {
        (LogFormat::Text, true) => registry.with(fmt).try_init(),
        (LogFormat::Text, false) => registry.with(fmt.without_time()).try_init(),
        (LogFormat::Json, true) => registry.with(fmt.json().flatten_event(true)).try_init(),
        (LogFormat::Json, false) => registry
            .with(fmt.json().flatten_event(true).without_time())
            .try_init(),
    };
    // Already installed (several daemons in one test process): keep the first.
    let _ = result;
    LogReload(handle)
}

/// An error and its causes on one line, for logs and error answers (reqwest's own
/// message leaves out the cause: "error sending request" without "connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
