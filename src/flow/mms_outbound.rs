//! MT MMS in the flows: which route an MT with media takes (an MMSC, or the sender's
//! fallback: SMS with links, or a refusal), the interface the dispatcher submits MMS
//! through ([`MmsSubmitter`], implemented by `mms::outbound` above this layer), and
//! delivery reports (`DeliveryReportReq`) turned into the same store write as an SMS
//! receipt, so `delivered` / `failed` / `expired` reach the transcript the same way.
//!
//! An MMS is stored as a message with one segment; the MMSC's MessageID is that
//! segment's carrier id. A report that beats the recording of its MessageID is parked
//! and matched when the id is recorded, as SMS receipts are.

use super::FlowOptions;
use super::outbound::{expired, failed, refused};
use crate::carrier::BoxFuture;
use crate::config::{Config, MmsFallback, Mmsc};
use crate::number::{Sender, SenderKind};
use crate::receipts::{MsgIdFormat, ReasonCode, ReceiptState, SegmentReport};
use crate::store::model::now_ms;
use crate::store::{
    DueMt, MediaRef, MtAttempt, ReceiptApplied, ReceiptUpdate, SentSegment, Store, StoreError,
};

/// How an MT with media leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRoute {
    /// As MMS through the MMSC of carrier `route`.
    Mms { route: String },
    /// As SMS: the text, then a link to each attachment.
    SmsLink,
    /// Not at all; the sentence says why.
    Refuse(String),
}

/// Where an MT with media from `sender` goes: the first of its routes with an MMSC
/// when the sender is MMS-capable, else its fallback (the sender's `mms_fallback`, or
/// its primary carrier's).
pub fn media_route(config: &Config, sender: &Sender) -> MediaRoute {
    let why = if !sender.mms() {
        format!("sender {} is not MMS-capable", sender.address())
    } else if let Some(route) = sender
        .routes()
        .in_order()
        .find(|r| mmsc_of(config, r).is_some())
    {
        return MediaRoute::Mms {
            route: route.to_owned(),
        };
    } else {
        format!("no route of sender {} has an MMSC", sender.address())
    };
    match fallback_of(config, sender) {
        MmsFallback::SmsLink => MediaRoute::SmsLink,
        MmsFallback::Refuse => MediaRoute::Refuse(format!("media cannot be sent: {why}")),
    }
}

/// The MMSC of carrier `route`, when it has one.
pub fn mmsc_of<'a>(config: &'a Config, route: &str) -> Option<&'a Mmsc> {
    config.carrier(route).and_then(|c| c.mmsc.as_ref())
}

fn fallback_of(config: &Config, sender: &Sender) -> MmsFallback {
    let inventory = config.sender_inventory().ok();
    let own = config
        .senders
        .iter()
        .find(|s| {
            inventory
                .as_ref()
                .and_then(|inv| inv.lookup(&s.number))
                .is_some_and(|found| found.address() == sender.address())
        })
        .and_then(|s| s.mms_fallback);
    own.or_else(|| {
        let primary = sender.routes().in_order().next()?;
        config.carrier(primary).map(|c| c.mms_fallback)
    })
    .unwrap_or_default()
}

/// The SMS an MT with media becomes under the `sms_link` fallback: the text, then each
/// link (to our signed copy of an attachment) on its own line.
pub fn text_with_links(text: &str, links: &[String]) -> String {
    let mut out = text.trim_end().to_owned();
    for link in links {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(link);
    }
    out
}

/// An MMS on its way to an MMSC, as the dispatcher hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmsOut {
    pub message_id: String,
    /// The contact, E.164.
    pub contact: String,
    /// The business sender's address as the MMSC should show it.
    pub sender: String,
    pub sender_kind: SenderKind,
    /// The carrier whose MMSC takes it.
    pub route: String,
    pub text: String,
    pub media: Vec<MediaRef>,
}

/// Whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmsErrorClass {
    /// The MMSC or the media server may accept it later (timeouts, 5xx, 3xxx/4006).
    Transient,
    /// It will never be accepted as it is (2xxx, an oversized or corrupt attachment).
    Permanent,
}

/// Why an MMS was not accepted by the MMSC. The detail behind it (the MMSC's text, an
/// attachment's URL) is logged where it happened, not carried to the agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MMS not taken: {reason}")]
pub struct MmsRefusal {
    pub class: MmsErrorClass,
    /// The reason `chat.message.status` carries (`media_too_large`, …).
    pub reason: ReasonCode,
    /// The MMSC's MM7 StatusCode, when it answered with one.
    pub carrier_status: Option<u32>,
}

/// Submits an MMS to its MMSC; answers the MMSC's MessageID.
pub trait MmsSubmitter: Send + Sync + 'static {
    /// One SubmitReq exchange, with the media fetched for it.
    fn submit(&self, mms: MmsOut) -> BoxFuture<'_, Result<String, MmsRefusal>>;
}

/// One dispatcher attempt at an MMS: submitted (its MessageID recorded as the one
/// segment's carrier id), retried after a transient failure on the same route (another
/// route may have no MMSC) until the validity deadline, or `failed`.
pub(super) async fn attempt(
    submitter: Option<&dyn MmsSubmitter>,
    mt: &DueMt,
    sender: &Sender,
    options: &FlowOptions,
) -> (Vec<SentSegment>, MtAttempt) {
    let Some(submitter) = submitter else {
        return (Vec::new(), failed(ReasonCode::MmsUnavailable));
    };
    let mms = MmsOut {
        message_id: mt.message_id.clone(),
        contact: mt.contact.clone(),
        sender: sender.address().as_str().to_owned(),
        sender_kind: sender.kind(),
        route: mt.route.clone(),
        text: mt.text.clone(),
        media: mt.media.clone(),
    };
    match submitter.submit(mms).await {
        Ok(mm7_message_id) => (
            vec![SentSegment {
                index: 0,
                carrier: mt.route.clone(),
                carrier_message_id: mm7_message_id,
                // Delivery reports name the MM7 MessageID as it was given.
                id_format: MsgIdFormat::Exact,
                resent: false,
            }],
            MtAttempt::Sent,
        ),
        Err(refusal) if refusal.class == MmsErrorClass::Permanent => {
            (Vec::new(), refused(refusal.reason, refusal.carrier_status))
        }
        Err(refusal) => {
            let delay = options
                .retry_min
                .saturating_mul(1 << mt.attempts.min(16))
                .min(options.retry_max);
            let next_attempt = now_ms() + delay.as_millis() as i64;
            if next_attempt >= mt.validity_deadline {
                return (Vec::new(), expired());
            }
            let retry = MtAttempt::Retry {
                next_attempt,
                route: mt.route.clone(),
                reason: refusal.reason,
            };
            (Vec::new(), retry)
        }
    }
}

/// What a DeliveryReportReq says about an MMS (MMStatus, 3GPP TS 23.140).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmsDelivery {
    /// Retrieved by the handset.
    Retrieved,
    /// Refused by the recipient or the network.
    Rejected,
    /// Not retrieved before it expired.
    Expired,
    /// Deleted before retrieval, or the handset could not be reached.
    Unreachable,
    /// The handset did not recognise the message.
    Unrecognised,
    /// Forwarded without being retrieved; not final.
    Forwarded,
    /// Retrieval deferred by the recipient; not final.
    Deferred,
    /// The MMSC cannot tell.
    Indeterminate,
}

impl MmsDelivery {
    /// The report as an SMS receipt's segment report: the same aggregation, reasons and
    /// transcript sentences follow.
    pub fn segment_report(self) -> SegmentReport {
        let (state, intermediate, reason) = match self {
            MmsDelivery::Retrieved => (ReceiptState::Delivered, false, None),
            MmsDelivery::Rejected => (ReceiptState::Rejected, false, Some(ReasonCode::Blocked)),
            MmsDelivery::Expired => (ReceiptState::Expired, false, Some(ReasonCode::Expired)),
            MmsDelivery::Unreachable => (
                ReceiptState::Undeliverable,
                false,
                Some(ReasonCode::Unreachable),
            ),
            MmsDelivery::Unrecognised => (
                ReceiptState::Undeliverable,
                false,
                Some(ReasonCode::CarrierError),
            ),
            MmsDelivery::Forwarded | MmsDelivery::Deferred => (ReceiptState::Enroute, true, None),
            MmsDelivery::Indeterminate => (ReceiptState::Unknown, false, Some(ReasonCode::Unknown)),
        };
        SegmentReport {
            state,
            intermediate,
            reason,
        }
    }
}

/// Applies DeliveryReportReqs to the MMS they name.
pub struct MmsReports<S> {
    store: S,
    events: crate::connector::Outbox,
}

impl<S: Store> MmsReports<S> {
    /// Reports over `store`; `events` is told when a status event is appended.
    pub fn new(store: S, events: crate::connector::Outbox) -> Self {
        MmsReports { store, events }
    }

    /// Applies one report from carrier `carrier` about its MessageID `message_id`, in
    /// one store write; the MMSC may be answered once this returns `Ok`.
    pub async fn apply(
        &self,
        carrier: &str,
        message_id: &str,
        delivery: MmsDelivery,
    ) -> Result<ReceiptApplied, StoreError> {
        let update = ReceiptUpdate {
            carrier: carrier.to_owned(),
            ids: vec![message_id.to_owned()],
            format: MsgIdFormat::Exact,
            report: delivery.segment_report(),
            proven: None,
            quiet: false,
        };
        let applied = self.store.apply_receipt(update).await?;
        if matches!(
            applied,
            ReceiptApplied::Matched {
                chat_changed: true,
                ..
            }
        ) {
            self.events.notify();
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_fallback_puts_each_link_on_its_own_line() {
        let links = [
            "https://gw/v1/media/a".to_owned(),
            "https://gw/v1/media/b".to_owned(),
        ];
        let text = text_with_links("Here is your receipt ", &links);
        assert_eq!(
            text,
            "Here is your receipt\nhttps://gw/v1/media/a\nhttps://gw/v1/media/b"
        );
        assert_eq!(text_with_links("", &links[..1]), "https://gw/v1/media/a");
    }

    /// Two carriers (only `mmsc` has an MMSC, `plain` falls back to links) and four
    /// senders.
    fn config() -> Config {
        let text = r#"
[instance]
name = "t"
state_dir = "/tmp/smsbridge-flow-mms-test"

[[carriers]]
name = "plain"
host = "127.0.0.1"
port = 2775
system_id = "a"
password = "b"
mms_fallback = "sms_link"

[[carriers]]
name = "mmsc"
host = "127.0.0.1"
port = 2776
system_id = "a"
password = "b"
[carriers.mm7]
allow = ["127.0.0.1"]
mmsc_url = "http://127.0.0.1:8082/mm7"

[[senders]]
number = "+18005550100"
kind = "toll_free"
routes = ["plain", "mmsc"]
mms = true

[[senders]]
number = "+18005550101"
kind = "toll_free"
routes = ["plain", "mmsc"]

[[senders]]
number = "+18005550102"
kind = "toll_free"
routes = ["mmsc"]
mms_fallback = "sms_link"

[[senders]]
number = "+18005550103"
kind = "toll_free"
routes = ["plain"]
mms = true
mms_fallback = "refuse"

[api]
auth = "none"
"#;
        Config::from_toml(std::path::Path::new("t.toml"), text).unwrap()
    }

    fn route_of(config: &Config, number: &str) -> MediaRoute {
        let inventory = config.sender_inventory().unwrap();
        media_route(config, inventory.lookup(number).unwrap())
    }

    #[test]
    fn media_go_through_the_first_route_with_an_mmsc_or_the_fallback() {
        let config = config();
        assert_eq!(
            route_of(&config, "+18005550100"),
            MediaRoute::Mms {
                route: "mmsc".into()
            }
        );
        // Not MMS-capable: the primary carrier's fallback.
        assert_eq!(route_of(&config, "+18005550101"), MediaRoute::SmsLink);
        // The sender's own fallback, whatever its carrier says.
        assert_eq!(route_of(&config, "+18005550102"), MediaRoute::SmsLink);
        let MediaRoute::Refuse(why) = route_of(&config, "+18005550103") else {
            panic!("refused");
        };
        assert!(why.contains("no route"), "{why}");
    }

    #[test]
    fn reports_read_as_receipts() {
        assert_eq!(
            MmsDelivery::Retrieved.segment_report().state,
            ReceiptState::Delivered
        );
        let rejected = MmsDelivery::Rejected.segment_report();
        assert!(rejected.state.is_failure());
        assert_eq!(rejected.reason, Some(ReasonCode::Blocked));
        assert_eq!(
            MmsDelivery::Expired.segment_report().state,
            ReceiptState::Expired
        );
        assert!(MmsDelivery::Forwarded.segment_report().intermediate);
    }
}
