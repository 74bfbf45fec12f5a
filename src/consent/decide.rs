//! The consent decisions of the flows.
//!
//! - MO: is the message a keyword? If STOP, record the opt-out and confirm once; if
//!   START, lift the opt-outs and confirm; if HELP, answer. The message itself is still
//!   forwarded to the core by the inbound flow, with the event returned here. The
//!   decision ([`KeywordPlan`]) is made before anything is written, so the store can
//!   apply it in the same write as the MO that carried the keyword.
//! - MT: refuse with `opted_out` when the contact opted out of the sender (or its brand).
//!
//! Idempotence: a STOP for a pair already opted out records nothing, sends nothing and
//! emits nothing, so a carrier redelivering the STOP MO cannot cause a second
//! confirmation. A START (or YES) from someone not opted out is likewise silent: "YES" is
//! also an ordinary answer to an agent's question, and must not trigger a "you are
//! subscribed again" reply. HELP is answered every time it arrives; the inbound flow's
//! duplicate detection keeps a redelivered HELP from being answered twice.

use std::time::SystemTime;

use serde::{Serialize, Serializer};
use thiserror::Error;

use super::suppression::SOURCE_SMS;
use super::{
    ConsentError, ConsentPolicy, Keyword, KeywordKind, Scope, SuppressionList, SuppressionRecord,
    metrics,
};
use crate::number::{E164, Sender, SenderAddress};

/// What consent made of one MO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoConsent {
    /// The keyword the message is, if it is one.
    pub keyword: Option<Keyword>,
    /// What changed in the suppression list; `None` when nothing did.
    pub change: Option<ConsentChange>,
    /// The text to send back to the contact, if any.
    pub reply: Option<String>,
    /// The event to emit to the core, if consent changed.
    pub event: Option<ConsentEvent>,
}

/// A change in the suppression list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsentChange {
    /// This opt-out was recorded.
    OptedOut(SuppressionRecord),
    /// These opt-outs were lifted.
    OptedIn(Vec<SuppressionRecord>),
}

/// Which consent event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsentEventKind {
    /// `chat.contact.opted_out`
    OptedOut,
    /// `chat.contact.opted_in`
    OptedIn,
}

impl ConsentEventKind {
    /// The CloudEvents `type`.
    pub fn event_type(&self) -> &'static str {
        match self {
            ConsentEventKind::OptedOut => "chat.contact.opted_out",
            ConsentEventKind::OptedIn => "chat.contact.opted_in",
        }
    }
}

/// A consent change for the core. Serialises to the event's `data`: `contact`, `sender`,
/// `scope`, `keyword`, `at` (RFC 3339).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentEvent {
    /// Which event.
    #[serde(skip)]
    pub kind: ConsentEventKind,
    /// The customer.
    pub contact: E164,
    /// The sender the keyword was sent to.
    pub sender: SenderAddress,
    /// What the change covers.
    pub scope: Scope,
    /// The keyword, normalised.
    pub keyword: String,
    /// When the MO arrived.
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
}

fn rfc3339<S: Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339(*at))
}

/// An MT refused for consent.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MtRefusal {
    /// The contact opted out of this sender or its brand (API error code `opted_out`).
    #[error(
        "the contact opted out of messages from {scope} ({keyword} on {at}); they must text START before they can be messaged again",
        scope = .record.scope,
        keyword = .record.keyword.as_deref().unwrap_or("by an operator"),
        at = humantime::format_rfc3339_seconds(.record.at)
    )]
    OptedOut {
        /// The opt-out in force.
        record: SuppressionRecord,
    },
}

impl MtRefusal {
    /// The API error code.
    pub fn code(&self) -> &'static str {
        match self {
            MtRefusal::OptedOut { .. } => "opted_out",
        }
    }
}

/// What an MO keyword asks of the suppression list, decided before anything is written.
///
/// The inbound flow hands the plan to the store with the MO that carried the keyword,
/// and the store applies it in that MO's own write ([`KeywordPlan::outcome`] turns what
/// the list did into the reply and the event). A crash then keeps both or neither: a
/// carrier redelivering an unacknowledged STOP finds no opt-out recorded without its
/// message, so the redelivery records the opt-out and confirms it exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordPlan {
    /// The keyword the message is.
    pub keyword: Keyword,
    /// The change it asks of the list.
    pub request: ConsentRequest,
    /// The reply to send when the keyword takes effect (HELP: every time).
    pub reply: Option<String>,
    contact: E164,
    sender: SenderAddress,
    at: SystemTime,
}

/// The change a keyword asks of the suppression list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsentRequest {
    /// Record this opt-out unless its (contact, scope) is already opted out.
    OptOut(SuppressionRecord),
    /// Lift the contact's opt-outs in any of these scopes.
    OptIn {
        /// The customer.
        contact: E164,
        /// Every scope whose opt-out stops the sender.
        scopes: Vec<Scope>,
    },
    /// Nothing to change (HELP).
    Nothing,
}

impl ConsentChange {
    /// The event kind of this change.
    pub fn kind(&self) -> ConsentEventKind {
        match self {
            ConsentChange::OptedOut(_) => ConsentEventKind::OptedOut,
            ConsentChange::OptedIn(_) => ConsentEventKind::OptedIn,
        }
    }
}

impl KeywordPlan {
    /// What the MO did, given what the list changed (`None`: nothing, as for a STOP from
    /// someone already opted out): the reply and the event go only with a change, the
    /// HELP answer always.
    pub fn outcome(&self, change: Option<ConsentChange>) -> MoConsent {
        let mut outcome = MoConsent {
            keyword: Some(self.keyword.clone()),
            ..MoConsent::default()
        };
        let event = |kind: ConsentEventKind, scope: Scope| ConsentEvent {
            kind,
            contact: self.contact.clone(),
            sender: self.sender.clone(),
            scope,
            keyword: self.keyword.word.clone(),
            at: self.at,
        };
        match change {
            Some(ConsentChange::OptedOut(record)) => {
                outcome.event = Some(event(ConsentEventKind::OptedOut, record.scope.clone()));
                outcome.change = Some(ConsentChange::OptedOut(record));
                outcome.reply = self.reply.clone();
            }
            Some(ConsentChange::OptedIn(removed)) if !removed.is_empty() => {
                // The widest scope lifted is what the core should show.
                let scope = removed
                    .iter()
                    .find(|r| matches!(r.scope, Scope::Brand(_)))
                    .unwrap_or(&removed[0])
                    .scope
                    .clone();
                outcome.event = Some(event(ConsentEventKind::OptedIn, scope));
                outcome.change = Some(ConsentChange::OptedIn(removed));
                outcome.reply = self.reply.clone();
            }
            _ if self.request == ConsentRequest::Nothing => outcome.reply = self.reply.clone(),
            _ => {}
        }
        outcome
    }

    /// Applies the plan to `list` on its own (where no store write carries the MO).
    pub async fn apply<L: SuppressionList>(&self, list: &L) -> Result<MoConsent, ConsentError> {
        let change = match &self.request {
            ConsentRequest::OptOut(record) => list
                .opt_out(record.clone())
                .await?
                .then(|| ConsentChange::OptedOut(record.clone())),
            ConsentRequest::OptIn { contact, scopes } => {
                let removed = list.opt_in(contact, scopes).await?;
                (!removed.is_empty()).then_some(ConsentChange::OptedIn(removed))
            }
            ConsentRequest::Nothing => None,
        };
        if let Some(change) = &change {
            metrics::consent_changed(change.kind());
        }
        Ok(self.outcome(change))
    }
}

impl KeywordPlan {
    /// The plan with its opt-out recorded as coming by `source` (`sms`, `mms`).
    pub fn with_source(mut self, source: &str) -> KeywordPlan {
        if let ConsentRequest::OptOut(record) = &mut self.request {
            record.source = source.to_owned();
        }
        self
    }
}

impl ConsentPolicy {
    /// What an MO from `contact` to `sender` that arrived at `at` asks of consent, if it
    /// is a keyword. Writes nothing: the caller applies the plan.
    pub fn plan_mo(
        &self,
        contact: &E164,
        sender: &Sender,
        text: &str,
        at: SystemTime,
    ) -> Option<KeywordPlan> {
        let profile = self.profile_for(sender);
        let keyword = profile.keywords.classify(text)?;
        metrics::keyword_received(keyword.kind);
        let (request, reply) = match keyword.kind {
            KeywordKind::OptOut => (
                ConsentRequest::OptOut(SuppressionRecord {
                    contact: contact.clone(),
                    scope: self.scope_for(sender),
                    keyword: Some(keyword.word.clone()),
                    source: SOURCE_SMS.to_owned(),
                    at,
                }),
                profile.replies.opt_out(),
            ),
            KeywordKind::OptIn => (
                ConsentRequest::OptIn {
                    contact: contact.clone(),
                    scopes: self.scopes_blocking(sender),
                },
                profile.replies.opt_in(),
            ),
            KeywordKind::Help => (ConsentRequest::Nothing, profile.replies.help()),
        };
        Some(KeywordPlan {
            keyword,
            request,
            reply: reply.map(str::to_owned),
            contact: contact.clone(),
            sender: sender.address().clone(),
            at,
        })
    }

    /// Applies an MO from `contact` to `sender` that arrived at `at`, writing the list
    /// on its own ([`ConsentPolicy::plan_mo`], then [`KeywordPlan::apply`]).
    pub async fn handle_mo<L: SuppressionList>(
        &self,
        list: &L,
        contact: &E164,
        sender: &Sender,
        text: &str,
        at: SystemTime,
    ) -> Result<MoConsent, ConsentError> {
        match self.plan_mo(contact, sender, text, at) {
            Some(plan) => plan.apply(list).await,
            None => Ok(MoConsent::default()),
        }
    }

    /// Whether an MT from `sender` to `contact` may go. Consent replies (the STOP
    /// confirmation) are not MTs of the core and are not checked.
    pub async fn check_mt<L: SuppressionList>(
        &self,
        list: &L,
        contact: &E164,
        sender: &Sender,
    ) -> Result<Result<(), MtRefusal>, ConsentError> {
        let found = list
            .is_opted_out(contact, &self.scopes_blocking(sender))
            .await?;
        Ok(match found {
            Some(record) => {
                metrics::mt_refused();
                Err(MtRefusal::OptedOut { record })
            }
            None => Ok(()),
        })
    }
}
