//! Reassembly of multi-part MO messages.
//!
//! Parts are keyed by (carrier, source, destination, reference, total, reference width);
//! they may come out of order, twice (carrier redelivery), or over different binds of the
//! carrier. They wait in a [`PendingParts`] store — in memory here, durable in the store
//! module — until the last one arrives, or until the timeout, after which what arrived is
//! delivered with `incomplete: true` and the missing part numbers.
//!
//! Timeouts run from the first part of a message. After a restart, [`Reassembler::restore`]
//! re-arms every pending message with a fresh timeout.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::decode::{Decoded, MoPart, decode_parts};
use super::metrics;
use super::udh::{ConcatInfo, ReferenceWidth};

/// Which message a part belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartKey {
    /// The carrier's configured name.
    pub carrier: String,
    /// The sender (the customer's number).
    pub source: String,
    /// The recipient (the business number).
    pub destination: String,
    /// The concatenation reference.
    pub reference: u16,
    /// Number of parts.
    pub total: u8,
    /// Which header carried the reference.
    pub width: ReferenceWidth,
}

/// What storing a part did. `C` is what a completed message is handed out as: its
/// parts by default, or what a store that finishes the message in the same step
/// (`store::FinishParts`) made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome<C = Vec<MoPart>> {
    /// The part is stored; `held` distinct parts are now held for its message, fewer
    /// than it has.
    Stored {
        /// Distinct part numbers held for the key after this one.
        held: usize,
    },
    /// The part completed its message: every part held for the key, handed out as
    /// [`PendingParts::take`] would in the same step.
    Complete(C),
    /// A part with this number was already held, or belongs to a message stored since
    /// the time given; nothing changed.
    Duplicate,
}

/// A failure of a [`PendingParts`] store.
#[derive(Debug, thiserror::Error)]
#[error("pending-parts store: {0}")]
pub struct PendingError(#[from] pub Box<dyn std::error::Error + Send + Sync>);

/// Where parts wait for the rest of their message. Each call must be atomic for its key:
/// two binds may deliver parts of one message at the same moment.
pub trait PendingParts: Send + Sync {
    /// Stores `part` under `key` unless a part with the same number is held or, when
    /// `stored_since` is given, a message stored since then (milliseconds since 1970)
    /// had this part. When it is the last part missing (`key.total` held), the parts
    /// are handed out at once ([`PutOutcome::Complete`]).
    fn put(
        &self,
        key: &PartKey,
        part: MoPart,
        stored_since: Option<i64>,
    ) -> impl Future<Output = Result<PutOutcome, PendingError>> + Send;
    /// Removes and returns every part held under `key` (empty if none).
    fn take(&self, key: &PartKey)
    -> impl Future<Output = Result<Vec<MoPart>, PendingError>> + Send;
    /// Every key with parts held, to re-arm timeouts after a restart.
    fn keys(&self) -> impl Future<Output = Result<Vec<PartKey>, PendingError>> + Send;
}

/// [`PendingParts`] in memory: lost on restart. Bounded by the reassembler's
/// `max_pending` and by 255 parts per message.
#[derive(Debug, Default)]
pub struct MemoryPendingParts {
    parts: Mutex<HashMap<PartKey, Vec<MoPart>>>,
}

impl MemoryPendingParts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PartKey, Vec<MoPart>>> {
        // A panic while holding this lock cannot leave the map half-updated.
        self.parts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PendingParts for MemoryPendingParts {
    /// Keeps no record of stored messages: `stored_since` is not looked at.
    async fn put(
        &self,
        key: &PartKey,
        part: MoPart,
        _stored_since: Option<i64>,
    ) -> Result<PutOutcome, PendingError> {
        let mut map = self.lock();
        let held = map.entry(key.clone()).or_default();
        let seq = part.concat.map(|c| c.seqnum);
        if held.iter().any(|p| p.concat.map(|c| c.seqnum) == seq) {
            return Ok(PutOutcome::Duplicate);
        }
        held.push(part);
        if held.len() >= usize::from(key.total) {
            return Ok(PutOutcome::Complete(map.remove(key).unwrap_or_default()));
        }
        Ok(PutOutcome::Stored { held: held.len() })
    }

    async fn take(&self, key: &PartKey) -> Result<Vec<MoPart>, PendingError> {
        Ok(self.lock().remove(key).unwrap_or_default())
    }

    async fn keys(&self) -> Result<Vec<PartKey>, PendingError> {
        Ok(self.lock().keys().cloned().collect())
    }
}

/// Limits of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// How long after its first part a message is delivered incomplete.
    pub timeout: Duration,
    /// Messages that may be pending at once.
    pub max_pending: usize,
    /// A part of a message stored less than this long ago is a redelivery, checked by
    /// the store as it puts the part; `None`: not checked.
    pub stored_window: Option<Duration>,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            timeout: Duration::from_secs(300),
            max_pending: 10_000,
            stored_window: None,
        }
    }
}

/// An MO message ready for the flow: whole, single-part, or incomplete after its timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reassembled {
    /// The carrier it came from.
    pub carrier: String,
    /// The sender.
    pub source: String,
    /// The recipient.
    pub destination: String,
    /// The text (and raw octets where needed), joined from every part that arrived.
    pub decoded: Decoded,
    /// Parts the message has (1 when it was not concatenated).
    pub total: u8,
    /// Whether parts were missing when it was delivered.
    pub incomplete: bool,
    /// The missing part numbers, ascending.
    pub missing: Vec<u8>,
}

/// What [`Reassembler::accept`] did with a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The message is whole (or was never split): hand it on.
    Complete(Reassembled),
    /// Stored; the message waits for more parts.
    Pending {
        /// Distinct parts held.
        held: usize,
        /// Parts expected.
        total: u8,
    },
    /// This part was already held; nothing changed.
    Duplicate,
}

/// What [`Reassembler::accept_with`] did with a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined<C> {
    /// Not a part of a longer message: whole as it came, not stored.
    Whole(Reassembled),
    /// The part completed its message: what the put made of it.
    Finished(C),
    /// Stored; the message waits for more parts.
    Pending {
        /// Distinct parts held.
        held: usize,
        /// Parts expected.
        total: u8,
    },
    /// This part was already held, or belongs to a message stored in the window.
    Duplicate,
}

/// Why a part could not be accepted. Either way the part is not stored: answer the
/// carrier with a temporary error (ESME_RX_T_APPN) so that it delivers the part again.
#[derive(Debug, thiserror::Error)]
pub enum ReassemblyError {
    /// The first part of a new message came while `max` messages were already pending.
    #[error("{max} messages are already waiting for parts")]
    Full {
        /// The configured `max_pending`.
        max: usize,
    },
    /// The pending-parts store failed.
    #[error(transparent)]
    Store(#[from] PendingError),
}

/// Joins multi-part MO messages. Shared by every bind of every carrier (`&self` methods).
pub struct Reassembler<P> {
    store: P,
    config: ReassemblyConfig,
    deadlines: Mutex<HashMap<PartKey, Instant>>,
    wake: Notify,
}

impl<P: PendingParts> Reassembler<P> {
    /// A reassembler over `store`.
    pub fn new(store: P, config: ReassemblyConfig) -> Self {
        Reassembler {
            store,
            config,
            deadlines: Mutex::new(HashMap::new()),
            wake: Notify::new(),
        }
    }

    fn deadlines(&self) -> std::sync::MutexGuard<'_, HashMap<PartKey, Instant>> {
        // Every update of the map is a single insert or remove: a poisoned lock is consistent.
        self.deadlines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Messages waiting for parts.
    pub fn pending(&self) -> usize {
        self.deadlines().len()
    }

    /// Re-arms a timeout for every message the store holds (after a restart).
    pub async fn restore(&self) -> Result<usize, ReassemblyError> {
        let keys = self.store.keys().await?;
        let deadline = Instant::now() + self.config.timeout;
        let mut deadlines = self.deadlines();
        for key in &keys {
            deadlines.entry(key.clone()).or_insert(deadline);
        }
        metrics::set_pending(deadlines.len());
        drop(deadlines);
        self.wake.notify_one();
        Ok(keys.len())
    }

    /// Takes one part (already [parsed](super::parse)) received from `source` for
    /// `destination` on `carrier`.
    pub async fn accept(
        &self,
        carrier: &str,
        source: &str,
        destination: &str,
        part: MoPart,
    ) -> Result<Accepted, ReassemblyError> {
        let store = &self.store;
        let put = |key: PartKey, part, since| async move {
            Ok(match store.put(&key, part, since).await? {
                PutOutcome::Complete(parts) => PutOutcome::Complete(assemble(key, parts)),
                PutOutcome::Stored { held } => PutOutcome::Stored { held },
                PutOutcome::Duplicate => PutOutcome::Duplicate,
            })
        };
        Ok(
            match self
                .accept_with(carrier, source, destination, part, put)
                .await?
            {
                Joined::Whole(whole) | Joined::Finished(whole) => Accepted::Complete(whole),
                Joined::Pending { held, total } => Accepted::Pending { held, total },
                Joined::Duplicate => Accepted::Duplicate,
            },
        )
    }

    /// [`Self::accept`] with the put of a part of a longer message done by `put`
    /// (given the key, the part and the `stored_since` of [`PendingParts::put`]),
    /// which may finish a completed message in the same step: the store then hands out
    /// what it made of it, and the timeout is disarmed as for a message handed out
    /// whole. A part of no longer message is handed out whole and not stored.
    pub async fn accept_with<C, Put, Fut>(
        &self,
        carrier: &str,
        source: &str,
        destination: &str,
        part: MoPart,
        put: Put,
    ) -> Result<Joined<C>, ReassemblyError>
    where
        Put: FnOnce(PartKey, MoPart, Option<i64>) -> Fut,
        Fut: Future<Output = Result<PutOutcome<C>, PendingError>>,
    {
        let Some(concat) = part.concat.filter(|c| c.total > 1) else {
            metrics::part("single");
            let decoded = decode_parts(std::slice::from_ref(&part));
            return Ok(Joined::Whole(Reassembled {
                carrier: carrier.to_owned(),
                source: source.to_owned(),
                destination: destination.to_owned(),
                decoded,
                total: 1,
                incomplete: false,
                missing: Vec::new(),
            }));
        };
        let key = key_of(carrier, source, destination, concat);
        let armed_now = self.arm(&key)?;
        let stored_since = self.config.stored_window.map(|window| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            now.saturating_sub(window).as_millis() as i64
        });
        match put(key.clone(), part, stored_since).await? {
            PutOutcome::Duplicate => {
                // A part of a message already stored leaves no timeout behind.
                if armed_now {
                    self.disarm(&key);
                }
                metrics::part("duplicate");
                Ok(Joined::Duplicate)
            }
            PutOutcome::Complete(whole) => {
                metrics::part("completing");
                self.disarm(&key);
                metrics::reassembled("complete");
                Ok(Joined::Finished(whole))
            }
            PutOutcome::Stored { held } => {
                metrics::part("pending");
                Ok(Joined::Pending {
                    held,
                    total: concat.total,
                })
            }
        }
    }

    /// Starts the timeout of a new message, refusing it when too many are pending; true
    /// when this call started it.
    fn arm(&self, key: &PartKey) -> Result<bool, ReassemblyError> {
        let mut deadlines = self.deadlines();
        if deadlines.contains_key(key) {
            return Ok(false);
        }
        if deadlines.len() >= self.config.max_pending {
            metrics::rejected("full");
            return Err(ReassemblyError::Full {
                max: self.config.max_pending,
            });
        }
        deadlines.insert(key.clone(), Instant::now() + self.config.timeout);
        metrics::set_pending(deadlines.len());
        drop(deadlines);
        self.wake.notify_one();
        Ok(true)
    }

    fn disarm(&self, key: &PartKey) {
        let mut deadlines = self.deadlines();
        deadlines.remove(key);
        metrics::set_pending(deadlines.len());
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.deadlines().values().min().copied()
    }

    /// Delivers, incomplete, every message whose timeout has passed at `now`. A message
    /// the store fails to hand back stays pending and is tried again one timeout later.
    pub async fn expire(&self, now: Instant) -> Vec<Reassembled> {
        let due: Vec<PartKey> = self
            .deadlines()
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::with_capacity(due.len());
        for key in due {
            match self.store.take(&key).await {
                Ok(parts) => {
                    self.disarm(&key);
                    if !parts.is_empty() {
                        metrics::reassembled("timed_out");
                        out.push(assemble(key, parts));
                    }
                }
                Err(error) => {
                    metrics::rejected("store");
                    crate::rate_limited!(
                        warn!(%error, "taking timed-out MO parts failed; retrying after the timeout")
                    );
                    if let Some(deadline) = self.deadlines().get_mut(&key) {
                        *deadline = now + self.config.timeout;
                    }
                }
            }
        }
        out
    }

    /// Delivers timed-out messages to `out` until `cancel` fires or `out` closes.
    ///
    /// Each wait is a `select!` over three cancel-safe futures: the token, the wake-up of
    /// a newly armed timeout (a `Notify` permit is kept if it fires while we are busy), and
    /// a sleep until the earliest deadline (recomputed on every turn).
    pub async fn run_timeouts(&self, out: mpsc::Sender<Reassembled>, cancel: CancellationToken) {
        loop {
            let next = self.next_deadline();
            let sleep = async {
                match next {
                    Some(t) => sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.wake.notified() => continue,
                _ = sleep => {}
            }
            for message in self.expire(Instant::now()).await {
                if out.send(message).await.is_err() {
                    tracing::warn!("reassembly output closed; stopping timeouts");
                    return;
                }
            }
        }
    }
}

fn key_of(carrier: &str, source: &str, destination: &str, concat: ConcatInfo) -> PartKey {
    PartKey {
        carrier: carrier.to_owned(),
        source: source.to_owned(),
        destination: destination.to_owned(),
        reference: concat.reference,
        total: concat.total,
        width: concat.width,
    }
}

/// The message `parts` of `key` make: ordered, each number once, the numbers not
/// among them noted as missing, and decoded.
pub fn assemble(key: PartKey, mut parts: Vec<MoPart>) -> Reassembled {
    parts.sort_by_key(|p| p.concat.map_or(0, |c| c.seqnum));
    parts.dedup_by_key(|p| p.concat.map_or(0, |c| c.seqnum));
    let missing: Vec<u8> = (1..=key.total)
        .filter(|n| !parts.iter().any(|p| p.concat.map(|c| c.seqnum) == Some(*n)))
        .collect();
    Reassembled {
        decoded: decode_parts(&parts),
        total: key.total,
        incomplete: !missing.is_empty(),
        missing,
        carrier: key.carrier,
        source: key.source,
        destination: key.destination,
    }
}
