//! The three flows — inbound (MO), outbound (MT) and receipts (DLR) — the only place
//! where the other modules meet.
//!
//! | module | what it does |
//! |---|---|
//! | [`accept`] | an MT request → validated, planned and stored (`202`), or refused with a stable code |
//! | [`outbound`] | the dispatcher: stored MTs → carrier submits → `sent` / retry / `failed` / `expired` |
//! | [`inbound`] | the [`crate::carrier::InboundConsumer`]: deliver_sm → decode, reassemble, consent, store, ROK |
//! | [`keywords`] | STOP/START/HELP in an MO (SMS or MMS): the consent change and the SMS reply its write carries |
//! | [`mms_inbound`] | an MO MMS read by the MM7 endpoint → conversation, store with its media, events |
//! | [`mms_outbound`] | an MT with media: MMS route or fallback; the dispatcher's MMS attempt; DeliveryReportReq → status |
//! | [`mt_media`] | an MT's attachments at acceptance: fetched or looked up, checked and kept before the `202` |
//! | [`receipts`] | receipts → parsed, matched to their segment (or parked), one chat status per change, ROK |
//! | [`in_flight`] | each carrier's submits not yet recorded, so a receipt is read tolerantly only once its own id cannot appear |
//!
//! Every step that changes state does so in one store write that also appends the chat
//! events it causes; answers to the outside (`202`, ESME_ROK) come only after that write.

use std::time::Duration;

use crate::config;

pub mod accept;
mod destination;
pub mod in_flight;
pub mod inbound;
pub mod keywords;
pub mod metrics;
pub mod mms_inbound;
pub mod mms_outbound;
pub mod mt_media;
pub mod mt_queue;
pub mod outbound;
pub mod receipts;

/// Timers and bounds of the flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowOptions {
    /// How long an MT may wait for its carrier before it is `expired`.
    pub validity: Duration,
    /// First retry delay after a throttled or transient failure; doubles per attempt.
    pub retry_min: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// MTs submitted at the same time.
    pub concurrency: usize,
    /// A carrier delivering the same MO (part) again within this window is answered
    /// ESME_ROK without a second chat message. SMPP gives an MO no unique id, so a
    /// single-part MO is recognised by its content: the window is short, so that a
    /// customer who sends the same word twice minutes apart is heard twice.
    pub dedup_window: Duration,
    /// How long a receipt whose message id is not known yet waits for it (the receipt
    /// beat submit_sm_resp, or names a message this instance never sent).
    pub receipt_park: Duration,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions::from(&config::Messages::default())
    }
}

impl From<&config::Messages> for FlowOptions {
    /// The flows' timers as `[messages]` sets them.
    fn from(m: &config::Messages) -> Self {
        FlowOptions {
            validity: m.validity,
            retry_min: m.retry_min,
            retry_max: m.retry_max,
            concurrency: m.in_flight,
            dedup_window: m.mo_dedup_window,
            // Set from [store] unmatched_receipt_ttl where the flows are built.
            receipt_park: Duration::from_secs(72 * 3600),
        }
    }
}
