//! The inventory of our senders, and the two questions the flows ask it.
//!
//! - MT: is `from` one of ours? If not, the MT is refused with `unknown_sender` ("the
//!   number from which you are trying to send is incorrect").
//! - MO: is the destination one of ours? If not, the MO is still accepted from the
//!   carrier and reported (metric, event with reason `unknown_destination`): a carrier
//!   that routes someone else's traffic to us must be told, not silently dropped.
//!
//! Addresses are compared after normalising what carriers and callers send: `+1 800 555
//! 0100`, `18005550100` (SMPP TON international carries no `+`), `0018005550100`, a
//! shortcode's digits, an alphanumeric ID in any case.

use std::collections::HashMap;

use thiserror::Error;

use super::{Sender, SenderError, SenderProblem, SenderSpec, metrics};

/// Separators callers put in numbers; ignored when looking an address up.
const SEPARATORS: &[char] = &[' ', '-', '.', '(', ')'];

/// Every configured sender, looked up by address.
#[derive(Clone, Debug, Default)]
pub struct SenderInventory {
    senders: Vec<Sender>,
    by_key: HashMap<String, usize>,
}

/// The answer for an MO's destination.
#[derive(Clone, Debug, PartialEq)]
pub enum MoDestination<'a> {
    /// One of our senders.
    Ours(&'a Sender),
    /// Not ours: accept the MO, report it, and do not run consent for it.
    NotOurs(NotOurs),
}

/// An MO destination that is not a configured sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotOurs {
    /// The destination as the carrier sent it.
    pub to: String,
    /// The reason code for the event: always `unknown_destination`.
    pub reason: &'static str,
}

/// Why an MT's sender was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SenderLookupError {
    /// `from` is not a configured sender (API error code `unknown_sender`).
    #[error(
        "the number from which you are trying to send is incorrect: {from:?} is not one of our senders"
    )]
    UnknownSender {
        /// The `from` as the caller sent it.
        from: String,
    },
}

impl SenderLookupError {
    /// The API error code.
    pub fn code(&self) -> &'static str {
        match self {
            SenderLookupError::UnknownSender { .. } => "unknown_sender",
        }
    }
}

impl SenderInventory {
    /// Checks every spec (in `[[senders]]` order) and refuses an address used twice.
    pub fn new(specs: impl IntoIterator<Item = SenderSpec>) -> Result<Self, SenderError> {
        let senders = specs
            .into_iter()
            .enumerate()
            .map(|(index, spec)| Sender::from_spec(index, spec))
            .collect::<Result<Vec<_>, _>>()?;
        SenderInventory::from_senders(senders)
    }

    /// An inventory of senders already checked; refuses an address used twice.
    pub fn from_senders(senders: Vec<Sender>) -> Result<Self, SenderError> {
        let mut by_key = HashMap::with_capacity(senders.len());
        for (index, sender) in senders.iter().enumerate() {
            if let Some(first) = by_key.insert(sender.address().key(), index) {
                return Err(SenderError {
                    index,
                    label: sender.address().to_string(),
                    field: "number",
                    problem: SenderProblem::Duplicate { first },
                });
            }
        }
        Ok(SenderInventory { senders, by_key })
    }

    /// The sender whose address `from` is, after normalising it.
    pub fn lookup(&self, from: &str) -> Option<&Sender> {
        lookup_keys(from)
            .into_iter()
            .find_map(|key| self.by_key.get(&key))
            .map(|index| &self.senders[*index])
    }

    /// The sender of an MT, or `unknown_sender`.
    pub fn sender_for_mt(&self, from: &str) -> Result<&Sender, SenderLookupError> {
        self.lookup(from).ok_or_else(|| {
            metrics::mt_unknown_sender();
            SenderLookupError::UnknownSender {
                from: from.to_owned(),
            }
        })
    }

    /// Whether an MO's destination is ours; counts the ones that are not.
    pub fn destination_of_mo(&self, to: &str) -> MoDestination<'_> {
        match self.lookup(to) {
            Some(sender) => MoDestination::Ours(sender),
            None => {
                metrics::mo_unknown_destination(address_kind(to));
                MoDestination::NotOurs(NotOurs {
                    to: to.to_owned(),
                    reason: "unknown_destination",
                })
            }
        }
    }

    /// Every sender, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Sender> {
        self.senders.iter()
    }

    /// How many senders there are.
    pub fn len(&self) -> usize {
        self.senders.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }
}

/// The keys `text` may be stored under, most likely first.
fn lookup_keys(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    let compact: String = trimmed
        .chars()
        .filter(|c| !SEPARATORS.contains(c))
        .collect();
    if let Some(digits) = compact.strip_prefix('+') {
        return vec![format!("+{digits}")];
    }
    if !compact.is_empty() && compact.bytes().all(|b| b.is_ascii_digit()) {
        let international = compact.strip_prefix("00").unwrap_or(&compact);
        return vec![
            compact.clone(),
            format!("+{international}"),
            format!("+{compact}"),
        ];
    }
    vec![trimmed.to_uppercase()]
}

/// A bounded label for the metric: what the unknown destination looks like.
fn address_kind(text: &str) -> &'static str {
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| !SEPARATORS.contains(c))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    match (digits.bytes().all(|b| b.is_ascii_digit()), digits.len()) {
        (_, 0) => "empty",
        (true, 3..=8) if !compact.starts_with('+') => "shortcode",
        (true, _) => "number",
        (false, _) => "alphanumeric",
    }
}
