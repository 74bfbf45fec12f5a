//! The MO flow, as the carriers' [`InboundConsumer`]: deliver_sm → receipt? (handed to
//! the [`ReceiptFlow`]) → parse → dedup → reassemble (parts kept durably) → consent
//! keywords → one store write (conversation, message, `chat.message.received`, the
//! keyword's consent change with its event and the confirmation MT, the removal of the
//! reassembled parts) → ESME_ROK. The part that completes a message is kept in that
//! same write (`store::FinishParts`): one commit answers it. A store that cannot take
//! it means ESME_RX_T_APPN: the carrier keeps the message and delivers it again.
//!
//! A carrier delivering the same MO (part) again — our ROK was lost — finds its dedup
//! key (carrier, sender, recipient, concatenation reference and part number, or the
//! content of a single-part MO) and is answered ROK without a second chat message.
//! An MO to a number we do not serve is accepted, stored and reported with the reason
//! `unknown_destination` (counted and logged too): refusing it would lose a customer's
//! text over a provisioning mistake (a number ported in before the file names it), and
//! the core and the operator are told either way. An MO with no source address is
//! refused with ESME_RINVSRCADR (counted, logged): there is nobody to answer and no
//! conversation to put it in, and the permanent status stops the carrier retrying.

use std::sync::Arc;

use rusmpp::Pdu;
use rusmpp::tlvs::{Tlv, TlvValue};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::keywords::ConsentKeywords;
use super::receipts::ReceiptFlow;
use super::{FlowOptions, metrics};
use crate::carrier::{BoxFuture, InboundConsumer, InboundMessage, InboundVerdict};
use crate::config::Config;
use crate::connector::{Outbox, new_id};
use crate::consent::metrics as consent_metrics;
use crate::consent::{SOURCE_SMS, SuppressionList};
use crate::number::{E164, MoDestination};
use crate::store::model::{now_ms, part_dedup_key, single_dedup_key};
use crate::store::{FinishParts, MoStored, NewMo, RawReceipt, Store, StoreError};
use crate::text::{
    self, Joined, MoPart, PartKey, PendingParts, Reassembled, Reassembler, ReassemblyConfig,
    ReferenceAllocator, RouteProfile, Sar,
};

/// Reassembled messages whose timeout passed, waiting to be stored.
const TIMED_OUT_QUEUE: usize = 256;

/// The fields of a deliver_sm or data_sm the flow reads.
struct Delivered {
    source: String,
    destination: String,
    esm_class: u8,
    data_coding: u8,
    short_message: Vec<u8>,
    payload: Option<Vec<u8>>,
    sar: Option<Sar>,
    receipted_message_id: Option<String>,
}

fn delivered(pdu: &Pdu) -> Option<Delivered> {
    let (source, destination, esm_class, data_coding, short_message, tlvs) = match pdu {
        Pdu::DeliverSm(sm) => (
            sm.source_addr.as_str(),
            sm.destination_addr.as_str(),
            u8::from(sm.esm_class),
            u8::from(sm.data_coding),
            sm.short_message().as_ref().to_vec(),
            sm.tlvs(),
        ),
        Pdu::DataSm(sm) => (
            sm.source_addr.as_str(),
            sm.destination_addr.as_str(),
            u8::from(sm.esm_class),
            u8::from(sm.data_coding),
            Vec::new(),
            sm.tlvs(),
        ),
        _ => return None,
    };
    let mut d = Delivered {
        source: source.to_owned(),
        destination: destination.to_owned(),
        esm_class,
        data_coding,
        short_message,
        payload: None,
        sar: None,
        receipted_message_id: None,
    };
    let (mut reference, mut total, mut seqnum) = (None, None, None);
    for value in tlvs.iter().filter_map(Tlv::value) {
        match value {
            TlvValue::MessagePayload(p) => d.payload = Some(p.value.as_ref().to_vec()),
            TlvValue::SarMsgRefNum(v) => reference = Some(*v),
            TlvValue::SarTotalSegments(v) => total = Some(*v),
            TlvValue::SarSegmentSeqnum(v) => seqnum = Some(*v),
            TlvValue::ReceiptedMessageId(id) => {
                d.receipted_message_id = Some(id.as_str().to_owned())
            }
            _ => {}
        }
    }
    if let (Some(reference), Some(total), Some(seqnum)) = (reference, total, seqnum) {
        d.sar = Some(Sar {
            reference,
            total,
            seqnum,
        });
    }
    Some(d)
}

/// The MO flow.
pub struct MoFlow<S: PendingParts> {
    store: S,
    config: watch::Receiver<Arc<Config>>,
    keywords: ConsentKeywords,
    reassembler: Arc<Reassembler<S>>,
    dispatcher: Arc<Notify>,
    events: Outbox,
    options: FlowOptions,
    receipts: ReceiptFlow<S>,
}

impl<S> MoFlow<S>
where
    S: Store + SuppressionList + PendingParts + FinishParts,
{
    /// The flow over `store`; `dispatcher` is woken when a consent reply is queued;
    /// receipts go to `receipts`, whose outbox this flow announces its events on too.
    pub fn new(
        store: S,
        config: watch::Receiver<Arc<Config>>,
        references: Arc<ReferenceAllocator>,
        dispatcher: Arc<Notify>,
        receipts: ReceiptFlow<S>,
        options: FlowOptions,
    ) -> Arc<Self> {
        let reassembler = Arc::new(Reassembler::new(
            store.clone(),
            ReassemblyConfig {
                stored_window: Some(options.dedup_window),
                ..Default::default()
            },
        ));
        let events = receipts.outbox().clone();
        let keywords = ConsentKeywords::new(references, options.validity);
        Arc::new(MoFlow {
            receipts,
            store,
            config,
            keywords,
            reassembler,
            dispatcher,
            events,
            options,
        })
    }

    /// The receipts flow this flow hands receipts to.
    pub fn receipts(&self) -> &ReceiptFlow<S> {
        &self.receipts
    }

    /// How this flow reads consent keywords (the MO MMS flow reads them the same way).
    pub fn keywords(&self) -> &ConsentKeywords {
        &self.keywords
    }

    /// Re-arms the timeouts of parts stored before a restart and stores, incomplete,
    /// the messages whose parts stop coming; until `cancel` fires.
    pub async fn run_timeouts(self: Arc<Self>, cancel: CancellationToken) {
        match self.reassembler.restore().await {
            Ok(n) if n > 0 => info!(messages = n, "MO parts waiting from before the restart"),
            Ok(_) => {}
            Err(error) => warn!(%error, "cannot read the MO parts waiting"),
        }
        let (tx, mut rx) = mpsc::channel(TIMED_OUT_QUEUE);
        let reassembler = self.reassembler.clone();
        let stop = cancel.clone();
        let timeouts = tokio::spawn(async move { reassembler.run_timeouts(tx, stop).await });
        while let Some(message) = rx.recv().await {
            let keys = message_keys(&message);
            // The parts were taken from the store: keep trying until the message is in.
            while self.deliver(message.clone(), keys.clone()).await != InboundVerdict::Stored {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(self.options.retry_min) => {}
                }
            }
        }
        let _ = timeouts.await;
    }

    async fn handle(&self, message: InboundMessage) -> InboundVerdict {
        let Some(d) = delivered(&message.pdu) else {
            return InboundVerdict::Reject;
        };
        let carrier = message.carrier.to_string();
        if message.is_receipt() {
            let handset = d.source.clone();
            return self
                .receipts
                .handle(&message, &handset, || raw_receipt(carrier, d))
                .await;
        }
        if d.source.trim().is_empty() {
            metrics::inbound("mo", "invalid_source");
            crate::rate_limited!(warn!(
                %carrier,
                "refused an MO with no source address (ESME_RINVSRCADR)"
            ));
            return InboundVerdict::InvalidSource;
        }
        let profile = RouteProfile::default();
        let part = text::parse(&text::InboundMessage {
            data_coding: d.data_coding,
            short_message: &d.short_message,
            message_payload: d.payload.as_deref(),
            udhi: d.esm_class & 0x40 != 0,
            sar: d.sar,
            alphabet: profile.alphabet,
            gsm7_packed: profile.gsm7_packed,
        });
        // A part of a stored message is a redelivery: the store's put checks its key
        // (`stored_window`), a single-part MO's write checks its own, each in the same
        // transaction as the write.
        let concat = part.concat.filter(|c| c.total > 1);
        // Taken before the reassembler has the part: it keeps the content, not the octets.
        let single_key = concat
            .is_none()
            .then(|| single_key(&carrier, &d.source, &d.destination, &part));
        // The part that completes its message stores the MO in the same write. Called
        // for parts of longer messages only.
        let put = |key, part, since| {
            let (store, builder) = (self.store.clone(), self.builder());
            async move {
                store
                    .put_finishing(key, part, since, move |whole| {
                        let keys = message_keys(&whole);
                        builder.build(whole, keys)
                    })
                    .await
            }
        };
        match self
            .reassembler
            .accept_with(&carrier, &d.source, &d.destination, part, put)
            .await
        {
            Ok(Joined::Whole(whole)) => self.deliver(whole, single_key.into_iter().collect()).await,
            Ok(Joined::Finished((mo, stored))) => self.stored(&mo, Ok(stored)),
            Ok(Joined::Pending { .. }) => {
                metrics::inbound("mo", "pending");
                InboundVerdict::Stored
            }
            Ok(Joined::Duplicate) => {
                metrics::inbound("mo", "duplicate");
                InboundVerdict::Stored
            }
            Err(error) => {
                let verdict = retry_later();
                crate::rate_limited!(warn!(%error, "cannot keep an MO part"));
                verdict
            }
        }
    }

    /// What turns a message into the MO to store, with the configuration of now.
    fn builder(&self) -> MoBuilder {
        MoBuilder {
            config: self.config.borrow().clone(),
            keywords: self.keywords.clone(),
            dedup_window: self.options.dedup_window,
        }
    }

    /// Consent, then one store write for the whole message: the MO, its keyword's change
    /// with the event and the reply, and the removal of its parts.
    async fn deliver(&self, whole: Reassembled, dedup_keys: Vec<String>) -> InboundVerdict {
        let mo = match self.builder().build(whole, dedup_keys) {
            Ok(mo) => mo,
            Err(error) => {
                let verdict = retry_later();
                warn!(%error, "cannot store an MO");
                return verdict;
            }
        };
        let stored = self.store.store_mo(mo.clone()).await;
        self.stored(&mo, stored)
    }

    /// The answer to the carrier once `mo`'s write is done, with its metrics and
    /// wake-ups.
    fn stored(&self, mo: &NewMo, stored: Result<MoStored, StoreError>) -> InboundVerdict {
        match stored {
            Ok(MoStored::Stored {
                consent_changed, ..
            }) => {
                self.events.notify();
                metrics::inbound(
                    "mo",
                    if mo.unknown_destination {
                        "unknown_destination"
                    } else {
                        "stored"
                    },
                );
                if let Some(kind) = consent_changed {
                    consent_metrics::consent_changed(kind);
                }
                // A reply may have been queued with the message.
                if mo.reply.is_some() {
                    self.dispatcher.notify_one();
                }
                InboundVerdict::Stored
            }
            Ok(MoStored::Duplicate) => {
                metrics::inbound("mo", "duplicate");
                InboundVerdict::Stored
            }
            Err(error) => {
                let verdict = retry_later();
                // Also the timed-out messages' retry loop, every `retry_min` while the
                // store refuses.
                crate::rate_limited!(warn!(%error, "cannot store an MO"));
                verdict
            }
        }
    }
}

/// Makes the [`NewMo`] of a message: its conversation's parties, the destination
/// checked against the configured senders, and its consent keyword planned. Cheap to
/// clone into a store write, which may call it more than once.
#[derive(Clone)]
struct MoBuilder {
    config: Arc<Config>,
    keywords: ConsentKeywords,
    dedup_window: std::time::Duration,
}

impl MoBuilder {
    fn build(&self, whole: Reassembled, dedup_keys: Vec<String>) -> Result<NewMo, StoreError> {
        let inventory = self.config.sender_inventory().map_err(|e| {
            StoreError::Unavailable(format!("the configured senders cannot be read: {e}"))
        })?;
        let contact_e164 = e164_of(&whole.source);
        let contact = contact_e164
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_else(|| whole.source.clone());
        let pending_parts = pending_key(&whole);
        let mut mo = NewMo {
            message_id: new_id(),
            contact,
            sender: whole.destination,
            carrier: whole.carrier,
            text: whole.decoded.text,
            encoding: whole.decoded.encoding.as_str().to_owned(),
            segments: u32::from(whole.total),
            incomplete: whole.incomplete,
            missing: whole.missing,
            dedup_keys,
            dedup_since: now_ms() - self.dedup_window.as_millis() as i64,
            unknown_destination: false,
            consent: None,
            reply: None,
            pending_parts,
        };
        match inventory.destination_of_mo(&mo.sender) {
            MoDestination::Ours(sender) => {
                mo.sender = sender.address().as_str().to_owned();
                if let Some(contact) = &contact_e164 {
                    self.keywords
                        .plan(&self.config, contact, sender, SOURCE_SMS, &mut mo);
                }
            }
            MoDestination::NotOurs(_) => {
                mo.unknown_destination = true;
                crate::rate_limited!(warn!(
                    carrier = %mo.carrier,
                    "an MO for a number that is not one of our senders: stored and reported as unknown_destination"
                ));
            }
        }
        Ok(mo)
    }
}

impl<S> InboundConsumer for MoFlow<S>
where
    S: Store + SuppressionList + PendingParts + FinishParts,
{
    fn consume(&self, message: InboundMessage) -> BoxFuture<'_, InboundVerdict> {
        Box::pin(self.handle(message))
    }
}

/// A receipt as received, kept when it cannot be parsed.
fn raw_receipt(carrier: String, d: Delivered) -> RawReceipt {
    RawReceipt {
        carrier,
        source: d.source,
        destination: d.destination,
        short_message: d.payload.unwrap_or(d.short_message),
        receipted_message_id: d.receipted_message_id,
    }
}

/// Counts an MO the carrier is asked to send again. Called before the line that says
/// why, so a reader of that line finds it counted.
fn retry_later() -> InboundVerdict {
    metrics::inbound("mo", "retry_later");
    InboundVerdict::RetryLater
}

/// A carrier address as E.164 when it is one (`14155550123` → `+14155550123`).
fn e164_of(address: &str) -> Option<E164> {
    let digits = address.trim().trim_start_matches('+');
    format!("+{digits}").parse().ok()
}

/// The dedup key of a single-part MO: from its content.
fn single_key(carrier: &str, source: &str, destination: &str, part: &MoPart) -> String {
    let body = hex::encode(&part.body);
    let coding = part.coding.data_coding;
    single_dedup_key(&format!(
        "single:{carrier}:{source}:{destination}:{coding}:{body}"
    ))
}

/// Where the parts of a multi-part message wait (the reassembler's key), so the MO's
/// write removes them.
fn pending_key(m: &Reassembled) -> Option<PartKey> {
    let c = m.decoded.concat.filter(|_| m.total > 1)?;
    Some(PartKey {
        carrier: m.carrier.clone(),
        source: m.source.clone(),
        destination: m.destination.clone(),
        reference: c.reference,
        total: m.total,
        width: c.width,
    })
}

/// Dedup keys of a message delivered after its timeout: the parts that arrived.
fn message_keys(m: &Reassembled) -> Vec<String> {
    let Some(c) = m.decoded.concat else {
        return Vec::new();
    };
    (1..=m.total)
        .filter(|n| !m.missing.contains(n))
        .map(|n| {
            part_dedup_key(
                &m.carrier,
                &m.source,
                &m.destination,
                c.reference,
                m.total,
                n,
            )
        })
        .collect()
}
