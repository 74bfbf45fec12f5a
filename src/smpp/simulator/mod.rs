//! The carrier simulator: an SMSC on the same session code as the gateway's binds.
//!
//! It accepts binds (any credentials, or the configured accounts), answers submits with
//! unique message ids, sends the delivery receipts `registered_delivery` asks for,
//! generates or accepts injected MO traffic, and injects faults on demand.
//!
//! Receipts are deterministic: an outcome rule (by destination prefix and part of a
//! concatenated message) decides a receipt's outcome and `err:` code, else the weights
//! cycle in proportion. A receipt can wait a delay, go out before its submit is answered
//! (`before_response`), or be held until [`SimulatorHandle::release_receipts`] sends the
//! held ones in submit order or reversed. Tests start it in-process with [`start`] on port 0 and use
//! the [`SimulatorHandle`]; `smsbridge sim` runs it with [`run_simulator`]; the gateway
//! can embed it from its `[simulator]` config section.
//!
//! Tasks: one accept loop (connections bounded by `max_connections`), one session per
//! connection, one delivery task that sends receipts and MO to bound receivers (bounded
//! queue, bounded concurrency), an optional MO generator and a stats task. All stop when
//! the cancellation token fires; sessions then unbind their ESMEs.

pub mod cli;
mod deliver;
pub mod mo;
pub mod receipts;
mod server;
mod smsc;
pub mod stats;
mod tasks;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusmpp::pdus::DeliverSm;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use mo::{MoError, MoMessage};
pub use stats::StatsSnapshot;

use self::receipts::OutcomePicker;
use self::stats::Stats;
use super::session::SessionHandle;
use crate::config::simulator::{ReceiptOrder, SimulatorConfig};

/// Deliveries waiting to be queued (between the sessions and the delivery task).
const DELIVERY_CHANNEL: usize = 1024;

/// deliver_sm requests in flight across all binds.
const MAX_DELIVERIES_IN_FLIGHT: usize = 4096;

/// Why the simulator could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The listen address could not be bound.
    #[error("listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// An injected MO could not be encoded.
    #[error("mo: {0}")]
    Mo(#[from] MoError),
    /// The simulator has stopped; nothing more can be injected.
    #[error("the simulator has stopped")]
    Stopped,
}

/// What the delivery task sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeliveryKind {
    Receipt,
    Mo,
}

/// One deliver_sm waiting for its time and a bound receiver.
#[derive(Debug)]
struct Delivery {
    pdu: DeliverSm,
    kind: DeliveryKind,
    due: Instant,
    /// Told once the ESME has answered it (or it could not be sent); dropped with the
    /// delivery when it never goes out.
    answered: Option<oneshot::Sender<()>>,
}

/// Bound sessions that can receive deliver_sm.
#[derive(Debug, Default)]
struct Receivers {
    sessions: Vec<(u64, SessionHandle)>,
    next: usize,
}

/// State shared by all connections and tasks of one simulator.
struct Shared {
    cfg: SimulatorConfig,
    stats: Stats,
    message_ids: AtomicU64,
    connection_ids: AtomicU64,
    submits_seen: AtomicU64,
    references: AtomicU16,
    outcomes: OutcomePicker,
    receivers: Mutex<Receivers>,
    /// Receipts kept until released (`[receipts] hold`), at most `max_pending`.
    held: Mutex<Vec<Delivery>>,
    bound: Mutex<usize>,
    receivers_changed: watch::Sender<usize>,
    deliveries: mpsc::Sender<Delivery>,
}

impl Shared {
    fn add_session(&self, connection: u64, session: SessionHandle, can_receive: bool) {
        let bound = {
            let mut bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
            *bound += 1;
            *bound
        };
        self.stats.set_bound(bound);
        if can_receive {
            let count = {
                let mut receivers = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
                receivers.sessions.push((connection, session));
                receivers.sessions.len()
            };
            self.receivers_changed.send_replace(count);
        }
    }

    fn remove_session(&self, connection: u64) {
        let bound = {
            let mut bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
            *bound = bound.saturating_sub(1);
            *bound
        };
        self.stats.set_bound(bound);
        let count = {
            let mut receivers = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
            receivers.sessions.retain(|(id, _)| *id != connection);
            receivers.sessions.len()
        };
        self.receivers_changed.send_replace(count);
    }

    /// Keeps a receipt until [`SimulatorHandle::release_receipts`].
    fn hold_receipt(&self, delivery: Delivery) {
        let held = {
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            if held.len() >= self.cfg.receipts.max_pending {
                None
            } else {
                held.push(delivery);
                Some(held.len())
            }
        };
        match held {
            Some(n) => self.stats.set_held(n),
            None => self.stats.bump(stats::Counter::ReceiptDropped),
        }
    }

    /// The next receiver, round robin.
    fn pick_receiver(&self) -> Option<SessionHandle> {
        let mut receivers = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        if receivers.sessions.is_empty() {
            return None;
        }
        let index = receivers.next % receivers.sessions.len();
        receivers.next = receivers.next.wrapping_add(1);
        Some(receivers.sessions[index].1.clone())
    }
}

/// A running simulator, for tests and the embedding gateway.
#[derive(Clone)]
pub struct SimulatorHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    receivers: watch::Receiver<usize>,
    tracker: TaskTracker,
}

impl std::fmt::Debug for SimulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl SimulatorHandle {
    /// The address it listens on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Waits until the counters satisfy `done` (tests use it instead of sleeping).
    pub async fn wait_for_stats(&self, done: impl Fn(&StatsSnapshot) -> bool) -> StatsSnapshot {
        self.shared.stats.wait_for(done).await
    }

    /// Number of bound sessions that can receive deliver_sm, as it changes.
    pub fn watch_receivers(&self) -> watch::Receiver<usize> {
        self.receivers.clone()
    }

    /// Queues an MO (split into parts as configured); it goes out on the next bound
    /// receiver. Waits while the delivery queue is full.
    pub async fn inject_mo(&self, message: &MoMessage) -> Result<usize, SimulatorError> {
        let reference = self.shared.references.fetch_add(1, Ordering::Relaxed);
        let parts = mo::build(message, reference)?;
        let count = parts.len();
        for pdu in parts {
            let delivery = Delivery {
                pdu,
                kind: DeliveryKind::Mo,
                due: Instant::now(),
                answered: None,
            };
            self.shared
                .deliveries
                .send(delivery)
                .await
                .map_err(|_| SimulatorError::Stopped)?;
        }
        Ok(count)
    }

    /// Sends every held receipt (`[receipts] hold`) in the configured `order`, one at a
    /// time: each goes out when the previous one was answered, so the ESME sees them in
    /// that order. Returns how many were released once the last was answered (or could
    /// not be sent).
    pub async fn release_receipts(&self) -> Result<usize, SimulatorError> {
        let mut held = {
            let mut held = self.shared.held.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *held)
        };
        self.shared.stats.set_held(0);
        if self.shared.cfg.receipts.order == ReceiptOrder::Reversed {
            held.reverse();
        }
        let count = held.len();
        for mut delivery in held {
            let (tx, rx) = oneshot::channel();
            delivery.answered = Some(tx);
            delivery.due = Instant::now();
            self.shared
                .deliveries
                .send(delivery)
                .await
                .map_err(|_| SimulatorError::Stopped)?;
            // An error means the delivery was dropped (the simulator stops): go on, the
            // channel says so on the next send.
            let _ = rx.await;
        }
        Ok(count)
    }

    /// Serves a connection accepted elsewhere (a TLS stream in tests, for instance) as
    /// if it had come through the listener. It stops with `cancel`.
    pub fn serve<S>(&self, stream: S, cancel: CancellationToken)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.shared.stats.bump(stats::Counter::Connection);
        let connection = self.shared.connection_ids.fetch_add(1, Ordering::Relaxed) + 1;
        let shared = self.shared.clone();
        self.tracker.spawn(async move {
            let (reader, writer) = tokio::io::split(stream);
            server::serve(reader, writer, connection, shared, cancel).await;
        });
    }

    /// Waits until every task has stopped (after the cancellation token fired) and writes
    /// the final stats file.
    pub async fn wait(self) {
        self.tracker.wait().await;
        if let Some(path) = &self.shared.cfg.stats_file
            && let Err(err) = self.stats().write_json(path)
        {
            tracing::warn!(path = %path.display(), %err, "simulator stats file not written");
        }
    }
}

/// Binds the listener and starts the simulator's tasks.
pub async fn start(
    cfg: SimulatorConfig,
    cancel: CancellationToken,
) -> Result<SimulatorHandle, SimulatorError> {
    let listener =
        TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| SimulatorError::Listen {
                addr: cfg.listen,
                source,
            })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| SimulatorError::Listen {
            addr: cfg.listen,
            source,
        })?;
    let (deliveries_tx, deliveries_rx) = mpsc::channel(DELIVERY_CHANNEL);
    let (receivers_changed, receivers) = watch::channel(0);
    let shared = Arc::new(Shared {
        outcomes: OutcomePicker::new(cfg.receipts.mix.clone()),
        cfg,
        stats: Stats::default(),
        message_ids: AtomicU64::new(0),
        connection_ids: AtomicU64::new(0),
        submits_seen: AtomicU64::new(0),
        references: AtomicU16::new(1),
        receivers: Mutex::new(Receivers::default()),
        held: Mutex::new(Vec::new()),
        bound: Mutex::new(0),
        receivers_changed,
        deliveries: deliveries_tx,
    });
    let tracker = TaskTracker::new();
    tracker.spawn(server::accept_loop(
        listener,
        shared.clone(),
        tracker.clone(),
        cancel.clone(),
    ));
    tracker.spawn(deliver::run(
        shared.clone(),
        deliveries_rx,
        receivers.clone(),
        Arc::new(Semaphore::new(MAX_DELIVERIES_IN_FLIGHT)),
        cancel.clone(),
    ));
    if shared.cfg.mo.rate > 0.0 {
        tracker.spawn(tasks::generate_mo(shared.clone(), cancel.clone()));
    }
    if shared.cfg.print_stats || shared.cfg.stats_file.is_some() {
        tracker.spawn(tasks::report_stats(shared.clone(), cancel.clone()));
    }
    tracker.close();
    tracing::info!(%local_addr, "carrier simulator listening");
    Ok(SimulatorHandle {
        local_addr,
        shared,
        receivers,
        tracker,
    })
}

/// Runs a simulator until `cancel` fires (`smsbridge sim`).
pub async fn run_simulator(
    cfg: SimulatorConfig,
    cancel: CancellationToken,
) -> Result<(), SimulatorError> {
    let handle = start(cfg, cancel).await?;
    handle.wait().await;
    Ok(())
}
