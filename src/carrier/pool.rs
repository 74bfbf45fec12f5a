//! A carrier's bind pool and the submit path: choose a bind, pace to the carrier's and
//! the bind's segments per second, send, and react to the answer (pause on throttling,
//! move to another bind on transient errors, report unknown outcomes).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusmpp::Pdu;
use rusmpp::pdus::SubmitSm;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::bind::{BindSlot, CarrierContext, supervise};
use super::inbound::InboundConsumer;
use super::status::{BindPhase, BindRole, BindStatus, CarrierStatus};
use super::submit::{
    SegmentOutcome, SubmitError, SubmitFailure, SubmitOutcome, SubmitPolicy, SubmitRequest,
};
use super::throttle::TokenBucket;
use crate::config::{BindMode, Carrier, UnknownOutcome};
use crate::smpp::metrics as m;
use crate::smpp::transport::{ConnectError, TlsClient, TlsFiles};
use crate::smpp::{RequestError, SessionHandle, StatusClass, classify};

/// Settings of the pools that do not come from a `[[carriers]]` entry.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// On shutdown, how long in-flight submits may take before the binds unbind.
    pub drain_timeout: Duration,
    /// Retry budgets of the submit path.
    pub policy: SubmitPolicy,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            drain_timeout: Duration::from_secs(10),
            policy: SubmitPolicy::default(),
        }
    }
}

/// Why a pool could not start.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The carrier's TLS files could not be loaded.
    #[error("carrier {carrier}: {source}")]
    Tls {
        /// The carrier.
        carrier: String,
        /// The TLS problem.
        source: ConnectError,
    },
}

/// The binds of one carrier.
pub struct CarrierPool {
    ctx: Arc<CarrierContext>,
    slots: Vec<Arc<BindSlot>>,
    bucket: Option<TokenBucket>,
    next: AtomicUsize,
    policy: SubmitPolicy,
    cancel: CancellationToken,
}

impl std::fmt::Debug for CarrierPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierPool")
            .field("carrier", &self.ctx.name)
            .finish_non_exhaustive()
    }
}

fn slots_for(carrier: &Carrier) -> Vec<Arc<BindSlot>> {
    let bucket = || carrier.bind_tps.map(TokenBucket::new);
    let mut slots = Vec::new();
    for n in 0..usize::from(carrier.binds) {
        let mut add = |name: String, role| {
            let index = slots.len();
            slots.push(Arc::new(BindSlot::new(index, name, role, bucket())));
        };
        match carrier.bind_mode {
            BindMode::Transceiver => add(n.to_string(), BindRole::Transceiver),
            BindMode::TransmitterReceiver => {
                add(format!("{n}-tx"), BindRole::Transmitter);
                add(format!("{n}-rx"), BindRole::Receiver);
            }
        }
    }
    slots
}

impl CarrierPool {
    /// Starts the bind tasks of `carrier` on `tracker`; they stop when `cancel` fires
    /// (draining, unbinding and closing each session).
    pub fn start(
        carrier: &Carrier,
        consumer: Arc<dyn InboundConsumer>,
        options: &PoolOptions,
        cancel: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<Self, PoolError> {
        let tls = carrier
            .tls
            .as_ref()
            .map(|tls| {
                TlsClient::from_files(&TlsFiles {
                    ca_file: tls.ca_file.clone(),
                    server_name: tls.server_name.clone(),
                    client_cert_file: tls.client_cert_file.clone(),
                    client_key_file: tls.client_key_file.clone(),
                })
            })
            .transpose()
            .map_err(|source| PoolError::Tls {
                carrier: carrier.name.clone(),
                source,
            })?;
        let slots = slots_for(carrier);
        let status = CarrierStatus {
            name: carrier.name.clone(),
            required: carrier.required,
            auth_alarm: false,
            binds: slots
                .iter()
                .map(|slot| BindStatus {
                    name: slot.name.to_string(),
                    role: slot.role,
                    phase: BindPhase::Idle,
                    last_error: None,
                    reconnects: 0,
                })
                .collect(),
        };
        let ctx = Arc::new(CarrierContext {
            config: carrier.clone(),
            name: Arc::from(carrier.name.as_str()),
            tls,
            consumer,
            status: watch::channel(status).0,
            drain_timeout: options.drain_timeout,
        });
        // Counters an alert watches exist from the start.
        for name in [m::UNKNOWN_OUTCOMES, m::RESENDS, m::EMPTY_MESSAGE_IDS] {
            metrics::counter!(name, "carrier" => carrier.name.clone()).increment(0);
        }
        for slot in &slots {
            tracker.spawn(supervise(ctx.clone(), slot.clone(), cancel.clone()));
        }
        Ok(Self {
            bucket: carrier.tps.map(TokenBucket::new),
            ctx,
            slots,
            next: AtomicUsize::new(0),
            policy: options.policy.clone(),
            cancel: cancel.clone(),
        })
    }

    /// The carrier's name.
    pub fn name(&self) -> &str {
        &self.ctx.name
    }

    /// The carrier's configuration.
    pub fn config(&self) -> &Carrier {
        &self.ctx.config
    }

    /// The binds' states now.
    pub fn status(&self) -> CarrierStatus {
        self.ctx.status.borrow().clone()
    }

    /// Bind state changes, for tests and `/status`.
    pub fn watch(&self) -> watch::Receiver<CarrierStatus> {
        self.ctx.status.subscribe()
    }

    /// Binds bound now (for `/readyz`).
    pub fn binds_up(&self) -> usize {
        self.ctx.status.borrow().binds_up()
    }

    /// Submits a message's segments in order. Returns the carrier's message id for each,
    /// or the first segment that failed, classified.
    pub async fn submit(&self, request: SubmitRequest) -> Result<SubmitOutcome, SubmitError> {
        let mut accepted = Vec::with_capacity(request.segments.len());
        for (index, segment) in request.segments.into_iter().enumerate() {
            match self.submit_segment(segment).await {
                Ok(outcome) => {
                    self.count(StatusClass::Ok.as_str());
                    accepted.push(outcome);
                }
                Err(failure) => {
                    self.count(failure.class().as_str());
                    return Err(SubmitError {
                        carrier: self.ctx.name.to_string(),
                        segment: index,
                        accepted,
                        failure,
                    });
                }
            }
        }
        Ok(SubmitOutcome { segments: accepted })
    }

    fn count(&self, class: &'static str) {
        metrics::counter!(m::SUBMITS, "carrier" => self.ctx.name.to_string(), "class" => class)
            .increment(1);
    }

    /// One segment, retried within the policy's budgets.
    async fn submit_segment(&self, segment: SubmitSm) -> Result<SegmentOutcome, SubmitFailure> {
        let mut attempts = 0u32;
        let mut throttled = 0u32;
        let mut transient = 0u32;
        let mut unanswered = 0u32;
        let mut avoid = None;
        loop {
            let (slot, session) = self.pick_bind(avoid).await?;
            self.pace(&slot).await;
            attempts += 1;
            let answer = session.request(Pdu::SubmitSm(segment.clone())).await;
            let retry = match answer {
                Ok(response) => match classify(response.status) {
                    StatusClass::Ok => {
                        slot.clear_pause();
                        let message_id = message_id(response.pdu.as_ref());
                        if message_id.is_empty() {
                            // Taken, but no receipt can ever name it: the message stays
                            // `sent`. The carrier's fault, counted and logged.
                            metrics::counter!(m::EMPTY_MESSAGE_IDS, "carrier" => self.ctx.name.to_string())
                                .increment(1);
                            crate::rate_limited!(warn!(
                                carrier = %self.ctx.name,
                                "submit_sm_resp ESME_ROK without a message_id: no receipt can match the segment"
                            ));
                        }
                        return Ok(SegmentOutcome {
                            message_id,
                            bind: slot.name.to_string(),
                            attempts,
                            resent_after_no_response: unanswered > 0,
                        });
                    }
                    StatusClass::Throttled => {
                        throttled += 1;
                        self.throttle(&slot);
                        (throttled <= self.policy.max_throttle_retries)
                            .then_some(None)
                            .ok_or(SubmitFailure::Throttled(response.status))
                    }
                    StatusClass::Transient => {
                        transient += 1;
                        (transient <= self.policy.max_transient_retries)
                            .then_some(Some(slot.index))
                            .ok_or(SubmitFailure::TransientStatus(response.status))
                    }
                    StatusClass::Auth | StatusClass::Permanent => {
                        Err(SubmitFailure::Refused(response.status))
                    }
                },
                Err(RequestError::NotSent | RequestError::NotAllowed { .. }) => {
                    transient += 1;
                    (transient <= self.policy.max_transient_retries)
                        .then_some(Some(slot.index))
                        .ok_or(SubmitFailure::NoBind)
                }
                Err(RequestError::Encode(err)) => Err(SubmitFailure::Invalid(err)),
                Err(RequestError::Nack(status)) => Err(SubmitFailure::Refused(status)),
                Err(RequestError::Timeout | RequestError::ConnectionLost) => {
                    metrics::counter!(m::UNKNOWN_OUTCOMES, "carrier" => self.ctx.name.to_string())
                        .increment(1);
                    unanswered += 1;
                    let resend = self.policy.resend_unanswered_once
                        && self.ctx.config.unknown_outcome == UnknownOutcome::Resend
                        && unanswered == 1;
                    if resend {
                        metrics::counter!(m::RESENDS, "carrier" => self.ctx.name.to_string())
                            .increment(1);
                        tracing::warn!(
                            carrier = %self.ctx.name,
                            bind = %slot.name,
                            "a segment went unanswered; sending it once more (the handset may get it twice)"
                        );
                    }
                    resend
                        .then_some(Some(slot.index))
                        .ok_or(SubmitFailure::UnknownOutcome)
                }
            };
            avoid = retry?;
        }
    }

    fn throttle(&self, slot: &BindSlot) {
        let timers = &self.ctx.config.timers;
        let pause = slot.pause(timers.throttle_pause, timers.reconnect_max);
        metrics::counter!(m::THROTTLE_PAUSES, "carrier" => self.ctx.name.to_string()).increment(1);
        tracing::debug!(carrier = %self.ctx.name, bind = %slot.name, ?pause, "bind throttled");
    }

    /// Waits for the carrier's and the bind's tokens.
    async fn pace(&self, slot: &BindSlot) {
        if let Some(bucket) = &self.bucket {
            bucket.acquire(1).await;
        }
        if let Some(bucket) = &slot.bucket {
            bucket.acquire(1).await;
        }
    }

    /// The next bound transmitting bind, round robin, preferring one other than `avoid`
    /// and one not paused. Waits for a pause to end, or for a bind to come up (up to the
    /// carrier's `bind_wait` timer).
    async fn pick_bind(
        &self,
        avoid: Option<usize>,
    ) -> Result<(Arc<BindSlot>, SessionHandle), SubmitFailure> {
        let give_up = Instant::now() + self.ctx.config.timers.bind_wait;
        let mut changes = self.ctx.status.subscribe();
        loop {
            let now = Instant::now();
            let bound: Vec<_> = self
                .slots
                .iter()
                .filter(|slot| slot.transmits())
                .filter_map(|slot| slot.submit_session().map(|s| (slot.clone(), s)))
                .collect();
            if !bound.is_empty() {
                let start = self.next.fetch_add(1, Ordering::Relaxed);
                let ready = |prefer_other: bool| {
                    (0..bound.len())
                        .map(|i| &bound[(start + i) % bound.len()])
                        .find(|(slot, _)| {
                            slot.paused_until(now).is_none()
                                && !(prefer_other && Some(slot.index) == avoid)
                        })
                        .cloned()
                };
                if let Some(choice) = ready(true).or_else(|| ready(false)) {
                    return Ok(choice);
                }
                // Every bound bind is paused: wait for the first pause to end. The
                // segment waits with it, so the message's order is kept.
                let resume = bound
                    .iter()
                    .filter_map(|(slot, _)| slot.paused_until(now))
                    .min()
                    .unwrap_or(now);
                tokio::select! {
                    () = self.cancel.cancelled() => return Err(SubmitFailure::ShuttingDown),
                    () = tokio::time::sleep_until(resume) => {}
                }
                continue;
            }
            // Cancel-safe: `changed()` loses nothing and the deadline is fixed.
            tokio::select! {
                () = self.cancel.cancelled() => return Err(SubmitFailure::ShuttingDown),
                () = tokio::time::sleep_until(give_up) => return Err(SubmitFailure::NoBind),
                changed = changes.changed() => if changed.is_err() {
                    return Err(SubmitFailure::NoBind);
                },
            }
        }
    }
}

fn message_id(pdu: Option<&Pdu>) -> String {
    match pdu {
        Some(Pdu::SubmitSmResp(resp)) => resp.message_id().as_str().to_string(),
        _ => String::new(),
    }
}

/// All carriers' pools.
#[derive(Debug, Default, Clone)]
pub struct Carriers {
    pools: Vec<Arc<CarrierPool>>,
}

impl Carriers {
    /// Starts a pool per carrier reached over SMPP (one with only an MMSC has none).
    pub fn start(
        carriers: &[Carrier],
        consumer: Arc<dyn InboundConsumer>,
        options: &PoolOptions,
        cancel: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<Self, PoolError> {
        let pools = carriers
            .iter()
            .filter(|c| c.smpp)
            .map(|c| {
                CarrierPool::start(c, consumer.clone(), options, cancel, tracker).map(Arc::new)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { pools })
    }

    /// The pool of carrier `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<CarrierPool>> {
        self.pools.iter().find(|p| p.name() == name)
    }

    /// Every pool.
    pub fn pools(&self) -> &[Arc<CarrierPool>] {
        &self.pools
    }

    /// Every carrier's bind states, for `/status`.
    pub fn snapshot(&self) -> Vec<CarrierStatus> {
        self.pools.iter().map(|p| p.status()).collect()
    }

    /// Binds up for carrier `name` (`None` for an unknown carrier).
    pub fn binds_up(&self, name: &str) -> Option<usize> {
        self.get(name).map(|p| p.binds_up())
    }

    /// True when every required carrier has at least one bind up (for `/readyz`).
    pub fn ready(&self) -> bool {
        self.pools
            .iter()
            .all(|p| !p.config().required || p.binds_up() > 0)
    }
}
