//! Group commit: one writer thread owns the only writing connection and runs many
//! requests in one transaction, so durability costs one fsync per batch, not one per
//! message. One failing request does not undo the others in its batch (see
//! [`run_batch`]); every reply is sent only after the commit. Whether the last commit
//! went through is kept in [`WriteHealth`], which readiness reads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};
use tokio::sync::{mpsc, oneshot};

use crate::store::{StoreError, WriteRefusal};

/// Metric: histogram of group-commit durations (transaction + fsync).
pub const COMMIT_SECONDS: &str = "smsbridge_store_commit_seconds";
/// Metric: histogram of requests per committed batch.
pub const BATCH_SIZE: &str = "smsbridge_store_batch_size";
/// Metric: counter of batches by `result` (`ok` | `error`).
pub const COMMITS_TOTAL: &str = "smsbridge_store_commits_total";

/// Describes this module's metrics.
pub fn describe() {
    metrics::describe_histogram!(
        COMMIT_SECONDS,
        metrics::Unit::Seconds,
        "Duration of one group commit (transaction and fsync)."
    );
    metrics::describe_histogram!(BATCH_SIZE, "Write requests per group commit.");
    metrics::describe_counter!(COMMITS_TOTAL, "Group commits by result (ok, error).");
}

/// One write request, type-erased so different requests share a batch.
pub trait Job: Send {
    /// Runs inside the batch's transaction; false when the request failed (its
    /// changes are then rolled back). May run a second time, after the first run was
    /// rolled back, when another request of the batch failed.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Called once the batch is committed (`Ok`) or could not be (`Err`).
    fn finish(self: Box<Self>, committed: Result<(), String>);
    /// Why its last run failed, when the store's file system refused it (a full disk
    /// met while spilling pages) rather than the request being wrong.
    fn refused(&self) -> Option<WriteRefusal> {
        None
    }
}

/// A write closure and where its result goes.
pub struct WriteJob<T, F> {
    work: F,
    out: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob<T, F> {
    pub fn new(work: F, reply: oneshot::Sender<Result<T, StoreError>>) -> Self {
        WriteJob {
            work,
            out: None,
            reply,
        }
    }
}

impl<T, F> Job for WriteJob<T, F>
where
    T: Send,
    F: Fn(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        // A request that panics fails alone, like one that returns an error: the
        // writer thread carries every request, and its end would stop the store.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.work)(conn)))
            .unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(panic = %why, "a store request panicked; it is undone");
                Err(StoreError::Invalid(format!("the request panicked: {why}")))
            });
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let result = match (committed, self.out) {
            (Ok(()), Some(out)) => out,
            (Ok(()), None) => Err(StoreError::Unavailable("request was not run".into())),
            (Err(why), Some(Err(e))) => Err(StoreError::Unavailable(format!("{e}; then {why}"))),
            (Err(why), _) => Err(StoreError::Unavailable(why)),
        };
        // The caller may have given up waiting; the write stands either way.
        let _ = self.reply.send(result);
    }

    fn refused(&self) -> Option<WriteRefusal> {
        match &self.out {
            Some(Err(StoreError::Sqlite(e))) => refusal_of(e),
            _ => None,
        }
    }
}

/// Whether the store takes writes, as the last group commit found: `/readyz` turns
/// 503 while commits fail (a full disk) and 200 again once one goes through.
#[derive(Debug, Default)]
pub struct WriteHealth {
    state: Mutex<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    refused: Option<Refused>,
    last_probe: Option<Instant>,
}

#[derive(Debug)]
struct Refused {
    cause: WriteRefusal,
    since: Instant,
    commits: u64,
}

impl WriteHealth {
    /// Why writes are refused; `None` when the last commit went through.
    pub fn refusal(&self) -> Option<WriteRefusal> {
        self.lock().refused.as_ref().map(|r| r.cause.clone())
    }

    /// Whether a probe write is due: writes are refused and none was probed for
    /// `every`. Answering true counts as probing.
    pub fn probe_due(&self, every: Duration) -> bool {
        let mut state = self.lock();
        if state.refused.is_none() {
            return false;
        }
        let now = Instant::now();
        if state
            .last_probe
            .is_some_and(|t| now.duration_since(t) < every)
        {
            return false;
        }
        state.last_probe = Some(now);
        true
    }

    /// Records a commit's outcome; says in the log when writes go through again.
    fn record(&self, outcome: Option<WriteRefusal>) {
        let mut state = self.lock();
        match (outcome, state.refused.as_mut()) {
            (Some(cause), Some(refused)) => {
                refused.cause = cause;
                refused.commits += 1;
            }
            (Some(cause), None) => {
                state.refused = Some(Refused {
                    cause,
                    since: Instant::now(),
                    commits: 1,
                });
            }
            (None, _) => {
                if let Some(r) = state.refused.take() {
                    // Rate-limited too: a disk at its last pages lets some commits through.
                    crate::rate_limited!(info!(
                        refused_for = ?r.since.elapsed(),
                        failed_commits = r.commits,
                        "store writes go through again"
                    ));
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The refusal a storage error means, if it is one: the file system, not the request.
fn refusal_of(e: &rusqlite::Error) -> Option<WriteRefusal> {
    match e.sqlite_error_code()? {
        ErrorCode::DiskFull => Some(WriteRefusal::DiskFull),
        ErrorCode::SystemIoFailure => Some(WriteRefusal::Io),
        ErrorCode::ReadOnly => Some(WriteRefusal::ReadOnly),
        _ => None,
    }
}

/// A batch smaller than this waits `commit_delay` for more requests; a larger one is
/// committed at once (requests are coming in quickly, and they already share a commit).
pub const SMALL_BATCH: usize = 8;

/// How often a small batch looks for more requests while it waits.
const WAIT_STEP: Duration = Duration::from_micros(100);

/// Runs batches until every sender is gone; returns how many batches it committed or
/// tried to. A batch of fewer than [`SMALL_BATCH`] requests first waits up to
/// `commit_delay_us` microseconds for more (until it has that many): at a few hundred
/// messages a second each request was otherwise a commit of its own, with its own WAL
/// append and fsync. Blocking: runs on its own thread.
pub fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    batch_max: usize,
    commit_delay_us: &AtomicU64,
    health: &WriteHealth,
) -> usize {
    let mut batches = 0;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = Vec::with_capacity(batch_max.min(64));
        batch.push(first);
        take_waiting(&mut rx, &mut batch, batch_max);
        let small = SMALL_BATCH.min(batch_max);
        let delay = Duration::from_micros(commit_delay_us.load(Ordering::Relaxed));
        if !delay.is_zero() && batch.len() < small {
            // In steps, so a batch that fills up quickly (a busy moment) stops waiting.
            let until = Instant::now() + delay;
            while batch.len() < small {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(WAIT_STEP));
                take_waiting(&mut rx, &mut batch, batch_max);
            }
        }
        commit(&mut conn, batch, health);
        batches += 1;
    }
    batches
}

/// Moves the requests already waiting into `batch`, up to `batch_max` in all.
fn take_waiting(rx: &mut mpsc::Receiver<Box<dyn Job>>, batch: &mut Vec<Box<dyn Job>>, max: usize) {
    while batch.len() < max {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

fn commit(conn: &mut Connection, mut batch: Vec<Box<dyn Job>>, health: &WriteHealth) {
    let started = Instant::now();
    let size = batch.len();
    let committed = run_batch(conn, &mut batch);
    let result = if committed.is_ok() { "ok" } else { "error" };
    metrics::histogram!(COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
    metrics::histogram!(BATCH_SIZE).record(size as f64);
    metrics::counter!(COMMITS_TOTAL, "result" => result).increment(1);
    // A request that met the full disk says why first: SQLite may then have rolled the
    // transaction back itself, and the commit's own error only says that.
    let refused = batch.iter().find_map(|job| job.refused()).or_else(|| {
        let e = committed.as_ref().err()?;
        Some(refusal_of(e).unwrap_or_else(|| WriteRefusal::Other(e.to_string())))
    });
    let refused = match refused {
        Some(WriteRefusal::DiskFull) if at_size_limit(conn) => Some(WriteRefusal::SizeLimit),
        other => other,
    };
    // Before the replies: a caller told its write failed finds `/readyz` saying so.
    health.record(refused);
    let committed = committed.map_err(|e| e.to_string());
    // After the count, so the failure it announces is already in /metrics. A full disk
    // fails every commit: one line per interval says so, with the count.
    if let Err(why) = &committed {
        crate::rate_limited!(error!(error = %why, requests = size, "store commit failed"));
    }
    for job in batch {
        job.finish(committed.clone());
    }
}

/// Whether the database is at (or within a sixteenth of) the size limit set on it:
/// SQLite answers SQLITE_FULL both there and on a full disk.
fn at_size_limit(conn: &Connection) -> bool {
    let pages = |pragma: &str| conn.query_row(pragma, [], |r| r.get::<_, i64>(0)).ok();
    match (pages("PRAGMA page_count"), pages("PRAGMA max_page_count")) {
        (Some(count), Some(max)) => max < i64::from(u32::MAX - 1) && count >= max - max / 16,
        _ => false,
    }
}

/// Runs the batch in one transaction and commits it. First without savepoints: each
/// request in its own savepoint copied every page it touched into the sub-journal
/// (13 % of the writer's time in a long MO run), and requests hardly ever fail. When one
/// does, that transaction is rolled back and the batch runs again with a savepoint per
/// request, so the failed request's changes alone are undone.
fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Result<(), rusqlite::Error> {
    let tx = conn.transaction()?;
    if batch.iter_mut().all(|job| job.run(&tx)) {
        return tx.commit();
    }
    tx.rollback()?;
    tracing::debug!(
        requests = batch.len(),
        "a request failed; its batch runs again, each request in a savepoint"
    );
    run_isolated(conn, batch)
}

/// Runs the batch with each request in its own savepoint, rolled back when it fails.
fn run_isolated(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Result<(), rusqlite::Error> {
    let tx = conn.transaction()?;
    // Cached statements: parsing three savepoint statements per request cost more than
    // many of the requests themselves.
    let step = |sql: &str| tx.prepare_cached(sql).and_then(|mut s| s.execute([]));
    for job in batch.iter_mut() {
        step("SAVEPOINT job")?;
        if !job.run(&tx) {
            step("ROLLBACK TO job")?;
        }
        step("RELEASE job")?;
    }
    tx.commit()
}
