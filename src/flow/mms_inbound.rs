//! The MO MMS flow: a DeliverReq the MM7 endpoint has read and whose media it has
//! validated and kept → conversation lookup or creation → one store write (the message,
//! `chat.message.received` with its media, a `chat.media.rejected` per refused part) →
//! the endpoint answers DeliverRsp. A store that cannot take it means the relay is told
//! to try again.
//!
//! A relay delivering the same MMS again (our DeliverRsp was lost) is recognised by its
//! `LinkedID` (or, without one, its `TransactionID`) within the MO dedup window and
//! stored once. An MMS to a number we do not serve is stored and reported with the
//! reason `unknown_destination`, as for SMS. A text that is a consent keyword (STOP,
//! START, HELP) is honoured as in an SMS ([`super::keywords`]): the change, its event
//! and the SMS reply ride with the MMS's write.

use std::sync::Arc;

use tokio::sync::{Notify, watch};

use super::keywords::ConsentKeywords;
use super::{FlowOptions, metrics};
use crate::config::Config;
use crate::connector::{Outbox, new_id};
use crate::consent::SOURCE_MMS;
use crate::consent::metrics as consent_metrics;
use crate::number::{E164, MoDestination};
use crate::store::model::now_ms;
use crate::store::{MoStored, NewMmsMo, NewMo, Store, StoredMedia};

/// An MO MMS as the endpoint hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct MmsDelivery {
    /// The carrier whose relay sent it.
    pub carrier: String,
    /// The relay's id for the message (`LinkedID`, else `TransactionID`).
    pub relay_id: String,
    /// The customer, as the relay wrote the address.
    pub sender: String,
    /// The addresses it was sent to; the first of ours is the business number.
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    /// The text parts, joined.
    pub text: String,
    /// `{url, content_type, size, filename}` per accepted part.
    pub media: Vec<serde_json::Value>,
    /// `{reason, message, content_type, size, filename}` per rejected part.
    pub rejected: Vec<serde_json::Value>,
    /// The accepted parts' files in the media store (the same parts as `media`).
    pub files: Vec<StoredMedia>,
}

/// What became of an MO MMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmsVerdict {
    /// Stored now: answer success.
    Stored,
    /// Stored before (a redelivery): answer success, nothing new.
    Duplicate,
    /// Not stored: answer so the relay delivers it again later.
    RetryLater,
}

/// The MO MMS flow.
pub struct MmsMoFlow<S> {
    store: S,
    config: watch::Receiver<Arc<Config>>,
    events: Outbox,
    options: FlowOptions,
    keywords: ConsentKeywords,
    /// Woken when a keyword's reply is queued.
    dispatcher: Arc<Notify>,
}

impl<S: Store> MmsMoFlow<S> {
    /// The flow over `store`, announcing its events on `events`, reading keywords as
    /// `keywords` says and waking `dispatcher` for their replies.
    pub fn new(
        store: S,
        config: watch::Receiver<Arc<Config>>,
        events: Outbox,
        options: FlowOptions,
        keywords: ConsentKeywords,
        dispatcher: Arc<Notify>,
    ) -> Arc<Self> {
        Arc::new(MmsMoFlow {
            store,
            config,
            events,
            options,
            keywords,
            dispatcher,
        })
    }

    /// Stores one MO MMS with its events, in one write.
    pub async fn deliver(&self, mms: MmsDelivery) -> MmsVerdict {
        let config = self.config.borrow().clone();
        let Ok(inventory) = config.sender_inventory() else {
            metrics::inbound("mms", "retry_later");
            return MmsVerdict::RetryLater;
        };
        let ours = mms
            .recipients
            .iter()
            .find_map(|r| match inventory.destination_of_mo(r) {
                MoDestination::Ours(sender) => Some(sender),
                MoDestination::NotOurs(_) => None,
            });
        let unknown_destination = ours.is_none();
        let sender = ours
            .map(|s| s.address().as_str().to_owned())
            .or_else(|| mms.recipients.first().cloned())
            .unwrap_or_default();
        let contact_e164 = e164_of(&mms.sender);
        let contact = contact_e164
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_else(|| mms.sender.clone());
        let mut mo = NewMo {
            message_id: new_id(),
            dedup_keys: vec![format!(
                "mms:{}:{}:{}",
                mms.carrier, mms.sender, mms.relay_id
            )],
            dedup_since: now_ms() - self.options.dedup_window.as_millis() as i64,
            contact,
            sender,
            carrier: mms.carrier,
            text: mms.text,
            encoding: "mms".into(),
            segments: 1,
            incomplete: false,
            missing: Vec::new(),
            unknown_destination,
            consent: None,
            pending_parts: None,
            reply: None,
        };
        if let (Some(sender), Some(contact)) = (ours, &contact_e164) {
            self.keywords
                .plan(&config, contact, sender, SOURCE_MMS, &mut mo);
        }
        let stored = self
            .store
            .store_mms_mo(NewMmsMo {
                mo,
                subject: mms.subject,
                media: mms.media,
                rejected: mms.rejected,
                files: mms.files,
            })
            .await;
        match stored {
            Ok(MoStored::Stored {
                consent_changed, ..
            }) => {
                self.events.notify();
                if let Some(kind) = consent_changed {
                    consent_metrics::consent_changed(kind);
                }
                // A keyword's reply may have been queued with the message.
                self.dispatcher.notify_one();
                metrics::inbound(
                    "mms",
                    if unknown_destination {
                        "unknown_destination"
                    } else {
                        "stored"
                    },
                );
                MmsVerdict::Stored
            }
            Ok(MoStored::Duplicate) => {
                metrics::inbound("mms", "duplicate");
                MmsVerdict::Duplicate
            }
            Err(error) => {
                metrics::inbound("mms", "retry_later");
                crate::rate_limited!(warn!(%error, "cannot store an MO MMS"));
                MmsVerdict::RetryLater
            }
        }
    }
}

/// A relay address as E.164 when it is one (`14155550123` → `+14155550123`).
fn e164_of(address: &str) -> Option<E164> {
    let digits = address.trim().trim_start_matches('+');
    format!("+{digits}").parse().ok()
}
