//! Accepting an MT: the checks in the order the design gives them (text length,
//! sender, destination and capability, consent, route), the segment plan, and the store
//! write after which the API may answer `202`.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{Notify, watch};

use super::FlowOptions;
use crate::config::Config;
use crate::connector::{Outbox, new_id};
use crate::consent::{ConsentPolicy, SuppressionList};
use crate::number::{Reason, UnreachableMemory};
use crate::store::model::now_ms;
use crate::store::{MtAccepted, NewMt, Store, StoreError};
use crate::text::{MAX_CHARACTERS, ReferenceAllocator, nfc, plan_with_reference};

/// An MT as the caller asked for it (fields already read from JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MtRequest {
    /// The business sender; taken from the conversation when absent.
    pub from: Option<String>,
    /// The contact; taken from the conversation when absent.
    pub to: Option<String>,
    /// Reply in this conversation.
    pub conversation_id: Option<String>,
    pub text: String,
    pub idempotency_key: Option<String>,
    /// The SHA-256 (hex) of the canonical request, compared with the one the key
    /// answered before.
    pub request_sha256: Option<String>,
}

/// Why an MT was refused. Each variant has a stable code (DESIGN §4).
#[derive(Debug, thiserror::Error)]
pub enum MtRefused {
    /// Neither `to` nor `conversation_id`, or neither `from` nor `conversation_id`.
    #[error("{0}")]
    Incomplete(&'static str),
    /// `conversation_id` names no conversation.
    #[error("no conversation {0}")]
    UnknownConversation(String),
    /// Over 1000 characters after NFC.
    #[error("the text is {characters} characters long; the limit is {limit}")]
    TextTooLong { characters: usize, limit: usize },
    /// `from` is not one of our senders.
    #[error("{0}")]
    UnknownSender(String),
    /// `to` is not a phone number.
    #[error("{0}")]
    InvalidDestination(String),
    /// `to` is a number that cannot receive SMS (the sentence says why).
    #[error("{0}")]
    NotSmsCapable(String),
    /// The contact opted out of this sender.
    #[error("{0}")]
    OptedOut(String),
    /// None of the sender's routes is a configured carrier.
    #[error("no carrier route for sender {0}")]
    NoRoute(String),
    /// The text cannot be planned on the route.
    #[error("{0}")]
    Unplannable(String),
    /// The `Idempotency-Key` answered another request before; nothing was sent.
    #[error(
        "this Idempotency-Key was used for a different request; use a new key for a new message"
    )]
    IdempotencyKeyReused,
    /// The store cannot take the message now.
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
}

impl MtRefused {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            MtRefused::Incomplete(_) | MtRefused::Unplannable(_) => "bad_request",
            MtRefused::UnknownConversation(_) => "not_found",
            MtRefused::TextTooLong { .. } => "text_too_long",
            MtRefused::UnknownSender(_) => "unknown_sender",
            MtRefused::InvalidDestination(_) => "invalid_destination",
            MtRefused::NotSmsCapable(_) => "destination_not_sms_capable",
            MtRefused::OptedOut(_) => "opted_out",
            MtRefused::NoRoute(_) => "no_route",
            MtRefused::IdempotencyKeyReused => "idempotency_key_reused",
            MtRefused::Store(_) => "overloaded",
        }
    }

    /// The request field at fault.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            MtRefused::TextTooLong { .. } | MtRefused::Unplannable(_) => Some("text"),
            MtRefused::UnknownSender(_) | MtRefused::NoRoute(_) => Some("from"),
            MtRefused::InvalidDestination(_)
            | MtRefused::NotSmsCapable(_)
            | MtRefused::OptedOut(_) => Some("to"),
            MtRefused::UnknownConversation(_) => Some("conversation_id"),
            MtRefused::IdempotencyKeyReused => Some("Idempotency-Key"),
            MtRefused::Incomplete(_) | MtRefused::Store(_) => None,
        }
    }
}

/// What accepting MTs needs; cheap to clone.
#[derive(Clone)]
pub struct MtIntake<S> {
    pub store: S,
    pub config: watch::Receiver<Arc<Config>>,
    pub consent: Arc<ConsentPolicy>,
    pub unreachable: Arc<dyn UnreachableMemory>,
    pub references: Arc<ReferenceAllocator>,
    /// Woken after each accepted MT so the dispatcher picks it up at once.
    pub dispatcher: Arc<Notify>,
    /// Told when a write appended chat events.
    pub events: Outbox,
    pub options: FlowOptions,
}

impl<S: Store + SuppressionList> MtIntake<S> {
    /// Validates, plans and stores `request`.
    pub async fn accept(&self, request: MtRequest) -> Result<MtAccepted, MtRefused> {
        if let Some(key) = &request.idempotency_key {
            let asked = request.request_sha256.as_deref();
            match self.store.idempotent_answer(key, asked).await? {
                Some(MtAccepted::KeyReused) => return Err(MtRefused::IdempotencyKeyReused),
                Some(earlier) => return Ok(earlier),
                None => {}
            }
        }
        let mt = self.prepare(request).await?;
        // Checked again in the write: a request with the same key may have come between.
        match self.store.accept_mt(mt).await? {
            MtAccepted::KeyReused => Err(MtRefused::IdempotencyKeyReused),
            accepted => {
                self.events.notify();
                self.dispatcher.notify_one();
                Ok(accepted)
            }
        }
    }

    async fn prepare(&self, request: MtRequest) -> Result<NewMt, MtRefused> {
        let (from, to) = self.addresses(&request).await?;
        let text = nfc(&request.text).into_owned();
        let characters = text.chars().count();
        if characters > MAX_CHARACTERS {
            return Err(MtRefused::TextTooLong {
                characters,
                limit: MAX_CHARACTERS,
            });
        }
        let config = self.config.borrow().clone();
        let inventory = config
            .sender_inventory()
            .map_err(|e| MtRefused::UnknownSender(e.to_string()))?;
        let sender = inventory
            .sender_for_mt(&from)
            .map_err(|e| MtRefused::UnknownSender(e.to_string()))?;
        let check =
            config
                .numbers
                .policy
                .check(&to, None, self.unreachable.as_ref(), SystemTime::now());
        let contact = match (&check.e164, check.reason) {
            (_, Reason::InvalidNumber | Reason::NotANumber | Reason::NeedsRegion) | (None, _) => {
                return Err(MtRefused::InvalidDestination(check.message));
            }
            (Some(_), _) if !check.sms_capable => {
                return Err(MtRefused::NotSmsCapable(check.message));
            }
            (Some(e164), _) => e164.clone(),
        };
        let consent = self
            .consent
            .check_mt(&self.store, &contact, sender)
            .await
            .map_err(|e| MtRefused::Store(StoreError::Unavailable(e.to_string())))?;
        if let Err(refusal) = consent {
            return Err(MtRefused::OptedOut(refusal.to_string()));
        }
        let carrier = sender
            .routes()
            .in_order()
            .find_map(|r| config.carrier(r))
            .ok_or_else(|| MtRefused::NoRoute(sender.address().to_string()))?;
        let route = carrier.name.clone();
        let reference = self.references.next(contact.as_str());
        // Planned for the route it leaves through: that decides encoding and segments.
        let plan = plan_with_reference(&text, &carrier.text, reference)
            .map_err(|e| MtRefused::Unplannable(e.to_string()))?;
        Ok(NewMt {
            message_id: new_id(),
            contact: contact.as_str().to_owned(),
            sender: sender.address().as_str().to_owned(),
            text,
            encoding: plan.encoding.as_str().to_owned(),
            segments: plan.segments as u32,
            reference,
            route,
            validity_deadline: now_ms() + self.options.validity.as_millis() as i64,
            idempotency_key: request.idempotency_key,
            request_sha256: request.request_sha256,
            origin: "mt",
        })
    }

    /// `from` and `to` as given, or from the conversation.
    async fn addresses(&self, request: &MtRequest) -> Result<(String, String), MtRefused> {
        let conversation = match &request.conversation_id {
            Some(id) => Some(
                self.store
                    .conversation(id.clone())
                    .await?
                    .ok_or_else(|| MtRefused::UnknownConversation(id.clone()))?,
            ),
            None => None,
        };
        let from = request
            .from
            .clone()
            .or_else(|| conversation.as_ref().map(|c| c.sender.clone()))
            .ok_or(MtRefused::Incomplete("give `from` or `conversation_id`"))?;
        let to = request
            .to
            .clone()
            .or_else(|| conversation.as_ref().map(|c| c.contact.clone()))
            .ok_or(MtRefused::Incomplete("give `to` or `conversation_id`"))?;
        Ok((from, to))
    }
}
