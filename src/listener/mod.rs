//! The front door the HTTP listeners share (the API, the admin listener, the MM7
//! endpoint): one accept loop per listener that bounds what a client can hold, so that
//! idle or half-sent connections cannot starve the clients that mean it.
//!
//! - **A cap on open connections** (`max_connections`). One more is answered at once with
//!   `503`, `Connection: close` and the API's JSON error `overloaded`, then closed (over
//!   TLS, where nothing can be read before a handshake, it is closed at once). Refusals
//!   are counted in `smsbridge_http_connections_refused_total{listener}` and logged at
//!   most once per [`LOG_EVERY`]; `smsbridge_http_connections_open{listener}` shows the
//!   connections open.
//! - **A header-read timeout** (`header_read_timeout`): a connection that has not sent a
//!   complete request head within it is closed. It counts from the connect (a TLS
//!   handshake included), or on a kept-alive connection from the first byte of the next
//!   request, so trickling a byte at a time does not extend it.
//! - **An idle timeout** (`idle_timeout`): a kept-alive connection that neither starts
//!   its next request nor takes any of its last answer for that long is closed.
//! - **Accept errors** (out of file descriptors, out of memory) pause the loop, 10 ms
//!   doubling to 1 s, instead of spinning; they are counted and logged at most once per
//!   [`LOG_EVERY`]. The connections already open go on meanwhile, and as they close the
//!   descriptors return.
//! - **Graceful shutdown**: once `stop` fires, nothing more is accepted (the socket is
//!   closed), idle connections close, a request in progress gets its answer (with
//!   `Connection: close`), and [`HttpListener::serve`] returns when every connection has
//!   closed.
//!
//! The two timeouts are kept here (`connection.rs`) rather than left to hyper: hyper times
//! the wait for the next request on a kept-alive connection with its header-read timeout,
//! which would make the two one.

mod connection;
mod refusal;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::error;

use crate::config::Connections;

/// Counter, labelled `listener`: connections refused because the listener was at its
/// `max_connections`.
pub const CONNECTIONS_REFUSED_TOTAL: &str = "smsbridge_http_connections_refused_total";
/// Gauge, labelled `listener`: connections open (TLS handshakes in progress included).
pub const CONNECTIONS_OPEN: &str = "smsbridge_http_connections_open";
/// Counter, labelled `listener`: failed accepts that paused the listener (out of file
/// descriptors, …).
pub const ACCEPT_ERRORS_TOTAL: &str = "smsbridge_http_accept_errors_total";

/// Describes the metrics of this module.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(
        CONNECTIONS_REFUSED_TOTAL,
        "HTTP connections refused because the listener was at its max_connections."
    );
    describe_gauge!(
        CONNECTIONS_OPEN,
        "HTTP connections open, TLS handshakes in progress included."
    );
    describe_counter!(
        ACCEPT_ERRORS_TOTAL,
        "Failed accepts that paused an HTTP listener (out of file descriptors, ...)."
    );
}

/// How often at most a listener logs its accept errors, and its refusals.
pub const LOG_EVERY: Duration = Duration::from_secs(10);
/// The first pause after a failed accept; it doubles with each failure in a row.
const ACCEPT_PAUSE_FIRST: Duration = Duration::from_millis(10);
/// The longest pause after a failed accept.
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// Which listener: the `listener` label of its metrics and log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerName {
    /// The core's API (`[api]`).
    Api,
    /// The operators' listener (`[admin]`).
    Admin,
    /// The MM7 endpoint carriers' MMSCs post to (`[mms]`).
    Mm7,
}

impl ListenerName {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            ListenerName::Api => "api",
            ListenerName::Admin => "admin",
            ListenerName::Mm7 => "mm7",
        }
    }
}

/// A bound listener, not yet serving.
pub struct HttpListener {
    tcp: TcpListener,
    name: ListenerName,
    limits: Connections,
    tls: Option<TlsAcceptor>,
}

impl HttpListener {
    /// A plain-HTTP listener on `tcp`, bounded by `limits`. Its metrics exist from here
    /// on, at 0, so an alert on them has a value before the first refusal.
    pub fn new(tcp: TcpListener, name: ListenerName, limits: Connections) -> HttpListener {
        let label = name.label();
        metrics::counter!(CONNECTIONS_REFUSED_TOTAL, "listener" => label).increment(0);
        metrics::counter!(ACCEPT_ERRORS_TOTAL, "listener" => label).increment(0);
        metrics::gauge!(CONNECTIONS_OPEN, "listener" => label).set(0.0);
        HttpListener {
            tcp,
            name,
            limits,
            tls: None,
        }
    }

    /// This listener speaking HTTPS: every connection first completes a TLS handshake
    /// with `acceptor`, within the header-read timeout.
    pub fn with_tls(self, acceptor: TlsAcceptor) -> HttpListener {
        HttpListener {
            tls: Some(acceptor),
            ..self
        }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Serves `router` until `stop` fires, then until every connection has closed
    /// (see the module documentation).
    pub async fn serve(self, router: Router, stop: CancellationToken) {
        let HttpListener {
            tcp,
            name,
            limits,
            tls,
        } = self;
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        let mut refusals = refusal::Refusals::new(name, limits.max_connections, tls.is_none());
        let mut errors = AcceptErrors::new(name);
        let connections = TaskTracker::new();
        loop {
            // Cancel-safe: an accept not completed is simply made again by the next call.
            let accepted = tokio::select! {
                biased;
                () = stop.cancelled() => break,
                accepted = tcp.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => {
                    errors.recovered();
                    accepted
                }
                Err(e) if is_peer_gone(&e) => continue,
                Err(e) => {
                    let pause = errors.failed(&e);
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(pause) => continue,
                    }
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                refusals.refuse(stream, &connections, &stop);
                continue;
            };
            let open = connection::Open::new(name, peer, limits, slot);
            connections.spawn(connection::serve(
                stream,
                open,
                router.clone(),
                tls.clone(),
                stop.clone(),
            ));
        }
        // Closed now, so the kernel refuses new connects rather than queueing them for a
        // listener that will not accept again.
        drop(tcp);
        connections.close();
        connections.wait().await;
    }
}

/// An accept error that concerns one connection only (its client gave up before it was
/// accepted): the next accept is made at once.
fn is_peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
    )
}

/// Failed accepts in a row: how long to pause, and when to say so.
struct AcceptErrors {
    name: ListenerName,
    pause: Duration,
    log: LogGate,
}

impl AcceptErrors {
    fn new(name: ListenerName) -> AcceptErrors {
        AcceptErrors {
            name,
            pause: ACCEPT_PAUSE_FIRST,
            log: LogGate::default(),
        }
    }

    /// Counts `e`, logs it unless a line was written lately, and returns the pause
    /// before the next accept.
    fn failed(&mut self, e: &io::Error) -> Duration {
        let listener = self.name.label();
        metrics::counter!(ACCEPT_ERRORS_TOTAL, "listener" => listener).increment(1);
        let pause = self.pause;
        self.pause = (self.pause * 2).min(ACCEPT_PAUSE_MAX);
        if let Some(errors) = self.log.pass() {
            error!(
                listener,
                error = %e,
                errors,
                pause = ?pause,
                "cannot accept connections; pausing the listener"
            );
        }
        pause
    }

    /// An accept succeeded: the next failure pauses briefly again.
    fn recovered(&mut self) {
        self.pause = ACCEPT_PAUSE_FIRST;
    }
}

/// Lets a log line through at most once per [`LOG_EVERY`], with how many times the
/// thing it reports happened since the last line.
#[derive(Default)]
struct LogGate {
    last: Option<Instant>,
    unsaid: u64,
}

impl LogGate {
    /// Counts one occurrence; `Some(occurrences)` when a line may be written now.
    fn pass(&mut self) -> Option<u64> {
        self.unsaid += 1;
        let now = Instant::now();
        if self.last.is_some_and(|last| now < last + LOG_EVERY) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unsaid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_log_gate_lets_one_line_through_per_interval_and_counts_the_rest() {
        let mut gate = LogGate::default();
        assert_eq!(gate.pass(), Some(1));
        assert_eq!(gate.pass(), None);
        assert_eq!(gate.pass(), None);
        tokio::time::advance(LOG_EVERY).await;
        assert_eq!(gate.pass(), Some(3));
    }

    #[test]
    fn accept_pauses_double_to_a_ceiling_and_start_over_after_a_success() {
        let mut errors = AcceptErrors::new(ListenerName::Api);
        let emfile = io::Error::from_raw_os_error(24);
        let pauses: Vec<Duration> = (0..9).map(|_| errors.failed(&emfile)).collect();
        assert_eq!(pauses[0], ACCEPT_PAUSE_FIRST);
        assert_eq!(pauses[1], ACCEPT_PAUSE_FIRST * 2);
        assert_eq!(pauses[8], ACCEPT_PAUSE_MAX);
        errors.recovered();
        assert_eq!(errors.failed(&emfile), ACCEPT_PAUSE_FIRST);
    }
}
