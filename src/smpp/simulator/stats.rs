//! The simulator's counters: read by tests, printed once per interval, written as JSON.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;
use tokio::sync::Notify;

/// Live counters, shared by every connection.
#[derive(Debug, Default)]
pub struct Stats {
    changed: Notify,
    /// Tasks in `wait_for`; changes are signalled only when someone waits, so the hot
    /// path does not take the notifier's lock for nothing.
    waiters: AtomicUsize,
    connections: AtomicU64,
    binds_accepted: AtomicU64,
    binds_refused: AtomicU64,
    bound: AtomicU64,
    submits: AtomicU64,
    submits_throttled: AtomicU64,
    receipts_sent: AtomicU64,
    receipts_acked: AtomicU64,
    receipts_dropped: AtomicU64,
    receipts_held: AtomicU64,
    mo_sent: AtomicU64,
    mo_acked: AtomicU64,
    deliveries_failed: AtomicU64,
    connections_dropped: AtomicU64,
}

/// Counts a waiter out when its `wait_for` ends or is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Connections accepted.
    pub connections: u64,
    /// Binds accepted.
    pub binds_accepted: u64,
    /// Binds refused (credentials or injected fault).
    pub binds_refused: u64,
    /// Sessions bound right now.
    pub bound: u64,
    /// submit_sm and data_sm received.
    pub submits: u64,
    /// Of those, answered ESME_RTHROTTLED.
    pub submits_throttled: u64,
    /// Receipts sent as deliver_sm.
    pub receipts_sent: u64,
    /// Receipts the ESME answered with ESME_ROK.
    pub receipts_acked: u64,
    /// Receipts dropped because too many were pending.
    pub receipts_dropped: u64,
    /// Receipts held right now, waiting to be released (`[receipts] hold`).
    pub receipts_held: u64,
    /// MO parts sent as deliver_sm.
    pub mo_sent: u64,
    /// MO parts the ESME answered with ESME_ROK.
    pub mo_acked: u64,
    /// deliver_sm answered with an error status, or not answered.
    pub deliveries_failed: u64,
    /// Connections dropped by the drop_every fault.
    pub connections_dropped: u64,
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A connection was accepted.
    Connection,
    /// A bind was accepted.
    BindAccepted,
    /// A bind was refused.
    BindRefused,
    /// A submit arrived.
    Submit,
    /// A submit was throttled.
    SubmitThrottled,
    /// A receipt went out.
    ReceiptSent,
    /// A receipt was acknowledged.
    ReceiptAcked,
    /// A receipt was dropped.
    ReceiptDropped,
    /// An MO part went out.
    MoSent,
    /// An MO part was acknowledged.
    MoAcked,
    /// A delivery failed.
    DeliveryFailed,
    /// A connection was dropped on purpose.
    ConnectionDropped,
}

impl Stats {
    fn counter(&self, counter: Counter) -> &AtomicU64 {
        match counter {
            Counter::Connection => &self.connections,
            Counter::BindAccepted => &self.binds_accepted,
            Counter::BindRefused => &self.binds_refused,
            Counter::Submit => &self.submits,
            Counter::SubmitThrottled => &self.submits_throttled,
            Counter::ReceiptSent => &self.receipts_sent,
            Counter::ReceiptAcked => &self.receipts_acked,
            Counter::ReceiptDropped => &self.receipts_dropped,
            Counter::MoSent => &self.mo_sent,
            Counter::MoAcked => &self.mo_acked,
            Counter::DeliveryFailed => &self.deliveries_failed,
            Counter::ConnectionDropped => &self.connections_dropped,
        }
    }

    /// Adds one to `counter`.
    pub fn bump(&self, counter: Counter) {
        self.counter(counter).fetch_add(1, Ordering::Relaxed);
        self.signal();
    }

    fn signal(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.changed.notify_waiters();
        }
    }

    /// Sets the number of bound sessions.
    pub fn set_bound(&self, bound: usize) {
        self.bound.store(bound as u64, Ordering::Relaxed);
        self.signal();
    }

    /// Sets the number of receipts held.
    pub fn set_held(&self, held: usize) {
        self.receipts_held.store(held as u64, Ordering::Relaxed);
        self.signal();
    }

    /// Waits until the counters satisfy `done`, re-checking after every change.
    pub async fn wait_for(&self, done: impl Fn(&StatsSnapshot) -> bool) -> StatsSnapshot {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiters);
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the check, so a change between check and wait is seen.
            changed.as_mut().enable();
            let now = self.snapshot();
            if done(&now) {
                return now;
            }
            changed.await;
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            connections: get(&self.connections),
            binds_accepted: get(&self.binds_accepted),
            binds_refused: get(&self.binds_refused),
            bound: get(&self.bound),
            submits: get(&self.submits),
            submits_throttled: get(&self.submits_throttled),
            receipts_sent: get(&self.receipts_sent),
            receipts_acked: get(&self.receipts_acked),
            receipts_dropped: get(&self.receipts_dropped),
            receipts_held: get(&self.receipts_held),
            mo_sent: get(&self.mo_sent),
            mo_acked: get(&self.mo_acked),
            deliveries_failed: get(&self.deliveries_failed),
            connections_dropped: get(&self.connections_dropped),
        }
    }
}

impl StatsSnapshot {
    /// One line for the console: totals with the per-second rates since `previous`.
    pub fn line(&self, previous: &StatsSnapshot, seconds: f64) -> String {
        let rate = |now: u64, before: u64| (now.saturating_sub(before)) as f64 / seconds.max(1e-9);
        format!(
            "bound={} submits={} ({:.0}/s) throttled={} receipts={} ({:.0}/s) mo={} ({:.0}/s) failed={} dropped_conns={}",
            self.bound,
            self.submits,
            rate(self.submits, previous.submits),
            self.submits_throttled,
            self.receipts_sent,
            rate(self.receipts_sent, previous.receipts_sent),
            self.mo_sent,
            rate(self.mo_sent, previous.mo_sent),
            self.deliveries_failed,
            self.connections_dropped,
        )
    }

    /// Writes the snapshot as JSON, atomically (temporary file, then rename).
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(tmp, path)
    }
}
