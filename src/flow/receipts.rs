//! The receipts flow: a receipt deliver_sm or data_sm → [`receipts::read`] → one store
//! write that matches it to its segment (or parks it) and appends the chat message's
//! status when it changes → ESME_ROK. A receipt that cannot be parsed is kept raw,
//! counted and acknowledged: it never kills the bind. A store that cannot take the
//! write means ESME_RX_T_APPN, so the carrier sends the receipt again.
//!
//! A failed receipt whose error code the `[numbers]` rules name as proof that the number
//! cannot take SMS marks the number in the [`UnreachableMemory`], so the next MT to it is
//! refused up front.
//!
//! A receipt is matched exactly when it can be. One that is not waits, parked, until
//! every submit sent before it arrived has its response recorded ([`SubmitsInFlight`]):
//! until then its own id may still appear, and a tolerant reading could name another
//! message. Then it is read by the one tolerant form that names a single segment
//! ([`crate::receipts::read_tolerant`]); an ambiguous one stays parked until its id
//! appears or the carrier's form is proven. Each carrier has its own [`FormLearner`],
//! taught only by matches that could be read one way. Receipts parked for longer than
//! [`FlowOptions::receipt_park`] expire, counted and logged per carrier
//! ([`ReceiptFlow::run_expiry`]); [`ReceiptFlow::run_parked`] reads the rest again.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::in_flight::SubmitsInFlight;
use super::{FlowOptions, metrics};
use crate::carrier::{InboundMessage, InboundVerdict};
use crate::config::Config;
use crate::connector::Outbox;
use crate::number::{E164, UnreachableMemory};
use crate::receipts::{
    self, ErrorMap, FormLearner, FormLearners, MsgIdFormat, Receipt, SegmentReport,
};
use crate::store::model::now_ms;
use crate::store::{
    ParkedMatch, ParkedSelection, RawReceipt, ReceiptApplied, ReceiptUpdate, Store, UnixMs,
};

/// How often parked receipts are checked for expiry, at most.
const EXPIRY_SWEEP_MAX: Duration = Duration::from_secs(60);

/// Parked receipts read again in one store write, at most.
const PARKED_PAGE: usize = 512;

/// What the receipts flow shares with the dispatcher: each carrier's learner and its
/// submits in flight. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Correlation {
    /// Each carrier's proven id form.
    pub learners: FormLearners,
    /// Each carrier's submits whose responses are not recorded yet.
    pub in_flight: SubmitsInFlight,
}

impl Correlation {
    /// Takes in parked receipts that matched: teaches their carriers' learners what they
    /// prove, and forgets them among the receipts waiting for submits.
    pub fn parked_matched(&self, matched: &[ParkedMatch]) {
        for parked in matched {
            metrics::parked_receipt_matched(&parked.carrier, parked.form.as_str());
            self.learn(&parked.carrier, parked.form, parked.evidence);
            self.in_flight.forget(&parked.carrier, [parked.receipt]);
        }
    }

    /// Records a match; when it proves the carrier's form, the carrier's parked
    /// receipts are read again (some may read one way now).
    fn learn(&self, carrier: &str, form: crate::receipts::IdForm, evidence: bool) {
        if evidence && self.learners.get(carrier).record(form) {
            debug!(%carrier, form = form.as_str(), "receipt id form proven");
            self.in_flight.read_all(carrier);
        }
    }
}

/// The receipts flow.
pub struct ReceiptFlow<S> {
    store: S,
    config: watch::Receiver<Arc<Config>>,
    events: Outbox,
    options: FlowOptions,
    unreachable: Arc<dyn UnreachableMemory>,
    correlation: Correlation,
    clock: ParkClock,
}

/// The clock parked receipts age by: the wall time at start plus the runtime's monotonic
/// time since. A wall clock step does not expire receipts early, and tests drive the
/// expiry with tokio's paused time.
#[derive(Debug, Clone, Copy)]
struct ParkClock {
    wall: UnixMs,
    start: tokio::time::Instant,
}

impl ParkClock {
    fn new() -> Self {
        ParkClock {
            wall: now_ms(),
            start: tokio::time::Instant::now(),
        }
    }

    fn now(&self) -> UnixMs {
        self.wall + self.start.elapsed().as_millis() as UnixMs
    }
}

impl<S: Store> ReceiptFlow<S> {
    /// The flow over `store`; `events` is told when a status event is appended;
    /// numbers proved unable to take SMS go to `unreachable`. The MO flow shares `events`.
    pub fn new(
        store: S,
        config: watch::Receiver<Arc<Config>>,
        events: Outbox,
        options: FlowOptions,
        unreachable: Arc<dyn UnreachableMemory>,
    ) -> Self {
        ReceiptFlow {
            store,
            config,
            events,
            options,
            unreachable,
            correlation: Correlation::default(),
            clock: ParkClock::new(),
        }
    }

    /// Where events are announced.
    pub(super) fn outbox(&self) -> &Outbox {
        &self.events
    }

    /// The learner of `carrier`.
    pub fn learner(&self, carrier: &str) -> Arc<FormLearner> {
        self.correlation.learners.get(carrier)
    }

    /// Every carrier's learner and submits in flight: the dispatcher takes tickets for
    /// its submits and reports the parked receipts a recorded id matched.
    pub fn correlation(&self) -> Correlation {
        self.correlation.clone()
    }

    /// Handles one receipt PDU, whose source address is `handset` (a receipt comes from
    /// the number the message went to); the verdict becomes its response status.
    pub async fn handle(
        &self,
        message: &InboundMessage,
        handset: &str,
        raw: impl FnOnce() -> RawReceipt,
    ) -> InboundVerdict {
        let carrier = message.carrier.to_string();
        let receipt = match receipts::read(&carrier, &message.pdu) {
            Ok(receipt) => receipt,
            Err(unparsed) => {
                debug!(%carrier, error = %unparsed.error, "receipt not parsed; kept raw");
                return self.keep_raw(raw()).await;
            }
        };
        let (format, map) = self.carrier_settings(&carrier);
        // Every submit up to `mark` was sent before the receipt was read; once all of
        // them are recorded, the receipt's own id can no longer appear.
        let in_flight = &self.correlation.in_flight;
        let mark = in_flight.mark(&carrier);
        let quiet = in_flight.quiet_through(&carrier, mark);
        let update = ReceiptUpdate {
            carrier: carrier.clone(),
            ids: receipt.ids().map(str::to_owned).collect(),
            format,
            report: SegmentReport::from_receipt(&receipt, &map),
            proven: self.learner(&carrier).proven(),
            quiet,
        };
        match self.store.apply_receipt(update).await {
            Ok(ReceiptApplied::Matched {
                form,
                evidence,
                chat_changed,
                contact,
                ..
            }) => {
                metrics::receipt_matched(&carrier, form.as_str());
                self.correlation.learn(&carrier, form, evidence);
                self.learn_unreachable(&carrier, &contact, &receipt);
                if chat_changed {
                    self.events.notify();
                }
                metrics::inbound("receipt", "stored");
                InboundVerdict::Stored
            }
            Ok(ReceiptApplied::Parked {
                receipt: parked,
                ambiguous,
            }) => {
                metrics::receipt_matched(&carrier, "parked");
                if ambiguous {
                    metrics::receipt_ambiguous(&carrier);
                    debug!(%carrier, "receipt id names several messages; parked");
                }
                if !quiet {
                    in_flight.wait(&carrier, mark, parked);
                }
                // Matched later, in the store: the handset's address stands for the contact.
                let handset = format!("+{}", handset.trim().trim_start_matches('+'));
                self.learn_unreachable(&carrier, &handset, &receipt);
                metrics::inbound("receipt", "stored");
                InboundVerdict::Stored
            }
            Err(error) => {
                metrics::inbound("receipt", "retry_later");
                crate::rate_limited!(warn!(%error, %carrier, "cannot store a receipt"));
                InboundVerdict::RetryLater
            }
        }
    }

    /// Marks `contact` when the receipt's error code is a configured proof that the
    /// number cannot take SMS.
    fn learn_unreachable(&self, carrier: &str, contact: &str, receipt: &Receipt) {
        if !receipt.state.is_failure() {
            return;
        }
        let Ok(number) = contact.parse::<E164>() else {
            return;
        };
        let codes = receipt.err.iter().map(|e| e.raw.clone()).chain(
            receipt
                .network_error
                .iter()
                .map(|n| format!("{:X}", n.code)),
        );
        let config = self.config.borrow().clone();
        let rules = config.numbers.policy.unreachable_rules();
        for code in codes {
            if let Some(mark) = rules.mark_for(&number, carrier, &code, SystemTime::now()) {
                self.unreachable.remember(mark);
                return;
            }
        }
    }

    /// The carrier's id format and error map (defaults for a carrier no longer configured).
    fn carrier_settings(&self, carrier: &str) -> (MsgIdFormat, ErrorMap) {
        let config = self.config.borrow();
        config
            .carrier(carrier)
            .map(|c| (c.msg_id_format, c.error_map.clone()))
            .unwrap_or_default()
    }

    async fn keep_raw(&self, receipt: RawReceipt) -> InboundVerdict {
        match self.store.store_unmatched_receipt(receipt).await {
            Ok(()) => {
                metrics::inbound("receipt", "unparsed");
                InboundVerdict::Stored
            }
            Err(error) => {
                metrics::inbound("receipt", "retry_later");
                crate::rate_limited!(warn!(%error, "cannot keep an unparsed receipt"));
                InboundVerdict::RetryLater
            }
        }
    }

    /// Removes parked receipts older than [`FlowOptions::receipt_park`], counting them,
    /// until `cancel` fires.
    pub async fn run_expiry(&self, cancel: CancellationToken) {
        let every =
            (self.options.receipt_park / 4).clamp(Duration::from_millis(1), EXPIRY_SWEEP_MAX);
        loop {
            self.expire_once().await;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One sweep; how many parked receipts expired.
    pub async fn expire_once(&self) -> usize {
        let before = self.clock.now() - self.options.receipt_park.as_millis() as UnixMs;
        match self.store.expire_parked_receipts(before).await {
            Ok(expired) => {
                let mut total = 0;
                for (carrier, n) in expired {
                    metrics::receipts_expired(&carrier, n);
                    warn!(
                        %carrier,
                        count = n,
                        "parked receipts expired: no message carries their id, and no other reading names one message"
                    );
                    total += n as usize;
                }
                total
            }
            Err(error) => {
                crate::rate_limited!(warn!(%error, "cannot expire parked receipts"));
                0
            }
        }
    }

    /// Reads parked receipts again when they can be read one way, until `cancel`
    /// fires: those whose submits in flight are done, and all of a carrier's when its
    /// form is proven. At start every parked receipt is read once (nothing was in flight
    /// before this process).
    pub async fn run_parked(&self, cancel: CancellationToken) {
        let carriers: Vec<String> = {
            let config = self.config.borrow();
            config.carriers.iter().map(|c| c.name.clone()).collect()
        };
        for carrier in &carriers {
            metrics::receipts_zero(carrier);
            self.correlation.in_flight.read_all(carrier);
        }
        loop {
            for (carrier, which) in self.correlation.in_flight.take_ready() {
                if !self.read_parked(&carrier, which).await {
                    // The store refused: try again after a pause, every parked receipt.
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(self.options.retry_min) => {}
                    }
                    self.correlation.in_flight.read_all(&carrier);
                }
            }
            // Cancel-safe: a wake-up not taken stays stored for the next wait.
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.correlation.in_flight.ready() => {}
            }
        }
    }

    /// Reads `which` of `carrier`'s parked receipts again, a page per store write;
    /// false when the store refused.
    async fn read_parked(&self, carrier: &str, which: ParkedSelection) -> bool {
        let (format, _) = self.carrier_settings(carrier);
        let pages: Vec<ParkedSelection> = match which {
            ParkedSelection::Receipts(ids) => ids
                .chunks(PARKED_PAGE)
                .map(|c| ParkedSelection::Receipts(c.to_vec()))
                .collect(),
            all @ ParkedSelection::AllExcept { .. } => vec![all],
        };
        for mut page in pages {
            loop {
                let proven = self.learner(carrier).proven();
                let read = self
                    .store
                    .read_parked_receipts(
                        carrier.to_owned(),
                        page.clone(),
                        format,
                        proven,
                        PARKED_PAGE,
                    )
                    .await;
                let read = match read {
                    Ok(read) => read,
                    Err(error) => {
                        crate::rate_limited!(
                            warn!(%error, %carrier, "cannot read parked receipts again")
                        );
                        return false;
                    }
                };
                // Only a receipt's first quiet reading counts it as ambiguous.
                if matches!(page, ParkedSelection::Receipts(_)) {
                    for _ in 0..read.ambiguous {
                        metrics::receipt_ambiguous(carrier);
                    }
                }
                if read.matched.iter().any(|m| m.chat_changed) {
                    self.events.notify();
                }
                self.correlation.parked_matched(&read.matched);
                match (read.next_after, &mut page) {
                    (Some(next), ParkedSelection::AllExcept { after, .. }) => *after = next,
                    _ => break,
                }
            }
        }
        true
    }
}
