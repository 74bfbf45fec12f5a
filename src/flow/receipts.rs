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
//! Each carrier has its own [`FormLearner`]: the id form that matched last is tried
//! first for the next receipt, whether it matched at once or after being parked (the
//! dispatcher records those in the same [`FormLearners`]). Receipts parked because their id is not known yet
//! expire after [`FlowOptions::receipt_park`]; [`ReceiptFlow::run_expiry`] removes them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::{FlowOptions, metrics};
use crate::carrier::{InboundMessage, InboundVerdict};
use crate::config::Config;
use crate::connector::Outbox;
use crate::number::{E164, UnreachableMemory};
use crate::receipts::{
    self, ErrorMap, FormLearner, FormLearners, MsgIdFormat, Receipt, SegmentReport,
};
use crate::store::model::now_ms;
use crate::store::{ParkedMatch, RawReceipt, ReceiptApplied, ReceiptUpdate, Store, UnixMs};

/// How often parked receipts are checked for expiry, at most.
const EXPIRY_SWEEP_MAX: Duration = Duration::from_secs(60);

/// Teaches the carriers' learners the forms of parked receipts that matched when their
/// ids were recorded (the dispatcher calls it with what the store reports), as a direct
/// match does.
pub fn learn_parked(learners: &FormLearners, matched: &[ParkedMatch]) {
    for parked in matched {
        learners.get(&parked.carrier).record(parked.form);
        metrics::parked_receipt_matched(&parked.carrier, parked.form.as_str());
    }
}

/// The receipts flow.
pub struct ReceiptFlow<S> {
    store: S,
    config: watch::Receiver<Arc<Config>>,
    events: Outbox,
    options: FlowOptions,
    unreachable: Arc<dyn UnreachableMemory>,
    learners: FormLearners,
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
            learners: FormLearners::new(),
            clock: ParkClock::new(),
        }
    }

    /// Where events are announced.
    pub(super) fn outbox(&self) -> &Outbox {
        &self.events
    }

    /// The learner of `carrier`.
    pub fn learner(&self, carrier: &str) -> Arc<FormLearner> {
        self.learners.get(carrier)
    }

    /// Every carrier's learner; the dispatcher records in them the forms of parked
    /// receipts matched when their id is recorded.
    pub fn learners(&self) -> FormLearners {
        self.learners.clone()
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
        let update = ReceiptUpdate {
            carrier: carrier.clone(),
            ids: receipt.ids().map(str::to_owned).collect(),
            format,
            report: SegmentReport::from_receipt(&receipt, &map),
            learner: self.learner(&carrier),
        };
        match self.store.apply_receipt(update).await {
            Ok(ReceiptApplied::Matched {
                form,
                chat_changed,
                contact,
                ..
            }) => {
                metrics::receipt_matched(&carrier, form.as_str());
                self.learn_unreachable(&carrier, &contact, &receipt);
                if chat_changed {
                    self.events.notify();
                }
                metrics::inbound("receipt", "stored");
                InboundVerdict::Stored
            }
            Ok(ReceiptApplied::Parked) => {
                metrics::receipt_matched(&carrier, "parked");
                // Matched later, in the store: the handset's address stands for the contact.
                let handset = format!("+{}", handset.trim().trim_start_matches('+'));
                self.learn_unreachable(&carrier, &handset, &receipt);
                metrics::inbound("receipt", "stored");
                InboundVerdict::Stored
            }
            Err(error) => {
                warn!(%error, %carrier, "cannot store a receipt");
                metrics::inbound("receipt", "retry_later");
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
                warn!(%error, "cannot keep an unparsed receipt");
                metrics::inbound("receipt", "retry_later");
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
            Ok(n) => {
                metrics::receipts_expired(n);
                n
            }
            Err(error) => {
                warn!(%error, "cannot expire parked receipts");
                0
            }
        }
    }
}
