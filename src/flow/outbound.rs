//! The MT dispatcher: takes accepted MTs from the store — at start too, so an MT
//! answered `202` before a restart is still submitted — and submits their segments in
//! order on the sender's route. Segments the carrier accepted are recorded with their
//! carrier ids, so a retry sends only the rest (with the same concatenation reference:
//! the plan is rebuilt from the stored text and reference).
//!
//! Throttled and transient failures retry with exponential backoff (moving to the next
//! route of the sender after a transient one) until the validity deadline, then
//! `expired`; permanent refusals are `failed` with a [`ReasonCode`] for the carrier's
//! status (the status itself goes beside it, for operators). At most `concurrency` MTs
//! are in flight; the loop stops taking new work when the drain token fires and the
//! attempts in flight finish.

use std::sync::Arc;
use std::time::Duration;

use rusmpp::CommandStatus;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::mms_outbound::{self, MmsSubmitter};
use super::mt_queue::MtQueue;
use super::receipts;
use super::{FlowOptions, metrics};
use crate::carrier::{Carriers, ErrorClass, SegmentFields, SubmitFailure, SubmitRequest};
use crate::config::Config;
use crate::connector::Outbox;
use crate::number::Sender;
use crate::reason::ReasonCode;
use crate::store::model::now_ms;
use crate::store::{DueCursor, DueMt, MtAttempt, SentSegment, Store};
use crate::text::plan_with_reference;

/// How long the loop waits when nothing is due and nothing wakes it.
const IDLE_WAIT: Duration = Duration::from_secs(60);

/// An MT to attempt, by where it came from.
#[derive(Debug)]
enum Fresh {
    /// Handed over by the API just after it was written.
    HandedOver(DueMt),
    /// Listed from the store (by id: it is read afresh before the attempt).
    Listed(String),
}

impl Fresh {
    fn message_id(&self) -> &str {
        match self {
            Fresh::HandedOver(mt) => &mt.message_id,
            Fresh::Listed(id) => id,
        }
    }
}

/// Moves accepted MTs to the carriers.
pub struct Dispatcher<S> {
    store: S,
    carriers: Arc<Carriers>,
    config: watch::Receiver<Arc<Config>>,
    queue: Arc<MtQueue>,
    events: Outbox,
    options: FlowOptions,
    correlation: receipts::Correlation,
    /// Where MTs with media go; `None` when no MM7 client runs.
    mms: Option<Arc<dyn MmsSubmitter>>,
}

impl<S: Store> Dispatcher<S> {
    /// A dispatcher; new MTs reach it through `queue`. Each SMS attempt holds a ticket
    /// in `correlation` (the receipts flow's) from before its submit until it is
    /// recorded, and reports the parked receipts its ids matched. MTs with media fail
    /// until [`Self::with_mms`] gives it an MMS submitter.
    pub fn new(
        store: S,
        carriers: Arc<Carriers>,
        config: watch::Receiver<Arc<Config>>,
        queue: Arc<MtQueue>,
        events: Outbox,
        options: FlowOptions,
        correlation: receipts::Correlation,
    ) -> Self {
        Dispatcher {
            store,
            carriers,
            config,
            queue,
            events,
            options,
            correlation,
            mms: None,
        }
    }

    /// This dispatcher, submitting MTs with media through `mms`.
    pub fn with_mms(mut self, mms: Arc<dyn MmsSubmitter>) -> Self {
        self.mms = Some(mms);
        self
    }

    /// Runs until `drain` fires; attempts go on `tracker` so a drain waits for them.
    pub async fn run(self: Arc<Self>, drain: CancellationToken, tracker: TaskTracker) {
        let Some(mut handed) = self.queue.take_receiver() else {
            warn!("a dispatcher is already running; this one stops");
            return;
        };
        let slots = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        let batch = self.options.concurrency.max(1) * 2;
        let mut list_now = true;
        let mut next_listing = Instant::now();
        let mut cursor = None;
        loop {
            // Under a steady hand-over the timer arm may not win a turn for a while.
            if list_now || Instant::now() >= next_listing {
                let listed = self
                    .list(&mut cursor, batch, &slots, &drain, &tracker)
                    .await;
                let (wait, again) = match listed {
                    Some(listed) => listed,
                    None => return,
                };
                // A full page is followed by the next one at once: the timer arm is
                // ready without waiting for a wake-up that may not come.
                next_listing = Instant::now() + if again { Duration::ZERO } else { wait };
                list_now = false;
            }
            // Each arm is cancel-safe: Notify keeps one pending wake-up for the next
            // wait, and a received MT is started before the next wait.
            tokio::select! {
                _ = drain.cancelled() => return,
                Some(mt) = handed.recv() => {
                    if !self.start(Fresh::HandedOver(mt), &slots, &drain, &tracker).await {
                        return;
                    }
                }
                _ = self.queue.woken() => list_now = true,
                _ = tokio::time::sleep_until(next_listing) => list_now = true,
            }
        }
    }

    /// Starts the MTs due in the store, one page from `cursor` on. Returns how long
    /// until the next one falls due and whether to list again at once (the page was
    /// full: the next page starts where it stopped), or `None` when the drain fired.
    ///
    /// Pages, not the head of the list each time: the MTs in hand (attempts in flight,
    /// MTs waiting in the hand-over) are the oldest due, and when they filled a page a
    /// listing from the head found nothing to start and left the MTs after them waiting
    /// for the idle timer. A pass that reaches the end starts from the head next time.
    async fn list(
        self: &Arc<Self>,
        cursor: &mut Option<DueCursor>,
        batch: usize,
        slots: &Arc<Semaphore>,
        drain: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Option<(Duration, bool)> {
        match self.store.due_mts(now_ms(), cursor.take(), batch).await {
            Ok(page) => {
                for id in page.message_ids {
                    if !self.queue.claim_listed(&id) {
                        continue;
                    }
                    if !self.start(Fresh::Listed(id), slots, drain, tracker).await {
                        return None;
                    }
                }
                let wait = page
                    .next_due
                    .map(|at| Duration::from_millis((at - now_ms()).max(0) as u64))
                    .unwrap_or(IDLE_WAIT)
                    .min(IDLE_WAIT);
                *cursor = page.more_after;
                Some((wait, cursor.is_some()))
            }
            Err(error) => {
                crate::rate_limited!(warn!(%error, "cannot read the MTs due; trying again"));
                Some((self.options.retry_min, false))
            }
        }
    }

    /// Starts an attempt at `mt`, claimed already, once a slot is free; false when the
    /// drain fired first (the MT stays in the store for the next start).
    async fn start(
        self: &Arc<Self>,
        fresh: Fresh,
        slots: &Arc<Semaphore>,
        drain: &CancellationToken,
        tracker: &TaskTracker,
    ) -> bool {
        // Cancel-safe: a permit not yet granted is simply not taken.
        let permit = tokio::select! {
            _ = drain.cancelled() => None,
            permit = slots.clone().acquire_owned() => permit.ok(),
        };
        let Some(permit) = permit else {
            self.queue.release(fresh.message_id());
            return false;
        };
        let me = self.clone();
        tracker.spawn(async move {
            let id = fresh.message_id().to_owned();
            let retry = me.attempt(fresh).await;
            me.queue.release(&id);
            drop(permit);
            if retry {
                // Its next attempt may be due before the listing the loop planned.
                me.queue.wake();
            }
        });
        true
    }

    /// One attempt at one MT, recorded in the store; true when it is to be retried.
    async fn attempt(&self, fresh: Fresh) -> bool {
        let mt = match fresh {
            // Written just now and claimed before it was: nobody has attempted it.
            Fresh::HandedOver(mt) => mt,
            // The list may predate the commit of an attempt that just ended: read it
            // again.
            Fresh::Listed(id) => match self.store.due_mt(id.clone(), now_ms()).await {
                Ok(Some(mt)) => mt,
                Ok(None) => return false,
                Err(error) => {
                    warn!(%error, message = %id, "cannot re-read a due MT");
                    return false;
                }
            },
        };
        // Until this attempt is recorded, a receipt arriving on its carrier may be for
        // one of its segments: such a receipt is not read tolerantly meanwhile.
        let ticket = mt
            .media
            .is_empty()
            .then(|| self.correlation.in_flight.begin(&mt.route));
        let (accepted, outcome) = self.submit(&mt).await;
        let result = match &outcome {
            MtAttempt::Sent => "sent",
            MtAttempt::Retry { .. } => "retry",
            MtAttempt::Final { status, .. } if *status == "expired" => "expired",
            MtAttempt::Final { .. } => "failed",
        };
        metrics::mt_attempt(result);
        debug!(message = %mt.message_id, result, "MT attempt");
        let mut delay = self.options.retry_min;
        // The attempt happened: keep trying to record it, or a restart would send the
        // accepted segments again.
        let recorded = loop {
            match self
                .store
                .record_mt_attempt(
                    mt.message_id.clone(),
                    mt.conversation_id.clone(),
                    accepted.clone(),
                    outcome.clone(),
                )
                .await
            {
                Ok(recorded) => break recorded,
                Err(error) => {
                    crate::rate_limited!(
                        warn!(%error, message_id = %mt.message_id, "cannot record an MT attempt; retrying")
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.options.retry_max);
                }
            }
        };
        self.correlation.parked_matched(&recorded.parked_matched);
        drop(ticket);
        self.events.notify();
        matches!(outcome, MtAttempt::Retry { .. })
    }

    async fn submit(&self, mt: &DueMt) -> (Vec<SentSegment>, MtAttempt) {
        let now = now_ms();
        if now >= mt.validity_deadline {
            return (Vec::new(), expired());
        }
        let config = self.config.borrow().clone();
        let Some(sender) = config
            .sender_inventory()
            .ok()
            .and_then(|inv| inv.lookup(&mt.sender).cloned())
        else {
            return (Vec::new(), failed(ReasonCode::UnknownSender));
        };
        if !mt.media.is_empty() {
            return mms_outbound::attempt(self.mms.as_deref(), mt, &sender, &self.options).await;
        }
        let (Some(carrier), Some(pool)) = (config.carrier(&mt.route), self.carriers.get(&mt.route))
        else {
            return (Vec::new(), failed(ReasonCode::NoRoute));
        };
        let plan = match plan_with_reference(&mt.text, &carrier.text, mt.reference) {
            Ok(plan) => plan,
            Err(e) => return (Vec::new(), unplannable(mt, &e)),
        };
        let mut indexes = Vec::new();
        let mut segments = Vec::new();
        for (i, part) in plan.parts.iter().enumerate() {
            if mt.segments_done.contains(&(i as u32)) {
                continue;
            }
            let ton_npi = sender.ton_npi();
            let fields = SegmentFields {
                source: sender.address().smpp_address().to_owned(),
                source_ton: u8::from(ton_npi.ton),
                source_npi: u8::from(ton_npi.npi),
                destination: mt.contact.trim_start_matches('+').to_owned(),
                data_coding: plan.data_coding,
                esm_class: part.esm_class(),
                registered_delivery: 1,
                user_data: part.short_message.clone(),
                sar: part.sar.map(|s| (s.reference, s.total, s.seqnum)),
            };
            match fields.to_submit_sm(carrier) {
                Ok(sm) => segments.push(sm),
                Err(e) => return (Vec::new(), unplannable(mt, &e)),
            }
            indexes.push(i as u32);
        }
        // How this carrier's receipts are matched now, which decides the keys the
        // segments' ids are indexed under.
        let id_format = self
            .correlation
            .learners
            .get(&mt.route)
            .narrow(carrier.msg_id_format);
        let sent = |outcomes: &[crate::carrier::SegmentOutcome]| -> Vec<SentSegment> {
            indexes
                .iter()
                .zip(outcomes)
                .map(|(index, o)| SentSegment {
                    index: *index,
                    carrier: mt.route.clone(),
                    carrier_message_id: o.message_id.clone(),
                    id_format,
                    resent: o.resent_after_no_response,
                })
                .collect()
        };
        match pool.submit(SubmitRequest { segments }).await {
            Ok(outcome) => (sent(&outcome.segments), MtAttempt::Sent),
            Err(error) => {
                let accepted = sent(&error.accepted);
                let decision = match error.class() {
                    ErrorClass::Permanent => permanent(&error.failure),
                    // The carrier's `unknown_outcome = "fail"`, or the one resend also
                    // went unanswered: the segment is marked and named in the event.
                    ErrorClass::UnknownOutcome => MtAttempt::Final {
                        status: "failed",
                        reason: ReasonCode::UnknownOutcome,
                        carrier_status: None,
                        segment: indexes.get(error.segment).copied(),
                    },
                    class => self.retry(mt, &sender, class, &error.failure.to_string()),
                };
                (accepted, decision)
            }
        }
    }

    /// The next try of a throttled or transient failure, or `expired` past the deadline.
    fn retry(&self, mt: &DueMt, sender: &Sender, class: ErrorClass, why: &str) -> MtAttempt {
        let shift = mt.attempts.min(16);
        let delay = self
            .options
            .retry_min
            .saturating_mul(1 << shift)
            .min(self.options.retry_max);
        let next_attempt = now_ms() + delay.as_millis() as i64;
        if next_attempt >= mt.validity_deadline {
            return expired();
        }
        // A transient failure (no bind, system errors) moves to the next route, if any.
        let route = match class {
            ErrorClass::Transient => {
                next_route(sender, &mt.route, |r| self.carriers.get(r).is_some())
            }
            _ => mt.route.clone(),
        };
        // What the carrier said is the operator's; the stored reason is a code.
        debug!(
            message = %mt.message_id,
            class = class.as_str(),
            %why,
            "MT attempt to be retried"
        );
        MtAttempt::Retry {
            next_attempt,
            route,
            reason: ReasonCode::CarrierUnavailable,
        }
    }
}

/// The route after `current` in the sender's list that `sends` SMS (has binds; a
/// carrier with only an MMSC has none), wrapping around.
fn next_route(sender: &Sender, current: &str, sends: impl Fn(&str) -> bool) -> String {
    let routes: Vec<&str> = sender
        .routes()
        .in_order()
        .filter(|r| *r == current || sends(r))
        .collect();
    let at = routes.iter().position(|r| *r == current).unwrap_or(0);
    routes
        .get((at + 1) % routes.len().max(1))
        .unwrap_or(&current)
        .to_string()
}

/// A final failure for `reason`.
pub(super) fn failed(reason: ReasonCode) -> MtAttempt {
    refused(reason, None)
}

/// A final failure for `reason`, which the carrier's `carrier_status` decided.
pub(super) fn refused(reason: ReasonCode, carrier_status: Option<u32>) -> MtAttempt {
    MtAttempt::Final {
        status: "failed",
        reason,
        carrier_status,
        segment: None,
    }
}

/// The end of an MT whose validity ran out before the carrier took it.
pub(super) fn expired() -> MtAttempt {
    MtAttempt::Final {
        status: "expired",
        reason: ReasonCode::ValidityExpired,
        carrier_status: None,
        segment: None,
    }
}

/// A stored MT that cannot be planned or encoded for its route: a fault of ours, which
/// the operator reads in the log.
fn unplannable(mt: &DueMt, error: &dyn std::error::Error) -> MtAttempt {
    warn!(
        message = %mt.message_id,
        route = %mt.route,
        %error,
        "an MT cannot be planned for its route"
    );
    failed(ReasonCode::Unplannable)
}

/// A carrier's permanent refusal: the reason for its status, the status beside it.
fn permanent(failure: &SubmitFailure) -> MtAttempt {
    let SubmitFailure::Refused(status) = failure else {
        warn!(%failure, "a segment cannot be encoded for the carrier");
        return failed(ReasonCode::NotEncodable);
    };
    let reason = match status {
        CommandStatus::EsmeRinvdstadr => ReasonCode::InvalidNumber,
        CommandStatus::EsmeRinvsrcadr => ReasonCode::InvalidSender,
        CommandStatus::EsmeRinvmsglen => ReasonCode::MessageTooLong,
        CommandStatus::EsmeRinvdcs => ReasonCode::EncodingNotSupported,
        _ => ReasonCode::CarrierRejected,
    };
    debug!(
        ?status,
        reason = reason.as_str(),
        "the carrier refused a segment"
    );
    refused(reason, Some(u32::from(*status)))
}
