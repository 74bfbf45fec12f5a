//! `DeliveryReportReq`: the relay tells us what became of an MT MMS we submitted.

use std::fmt;

use super::Mm7Error;
use super::address::Address;
use super::soap::{Envelope, Mm7Version};

/// `MMStatus`: the message's fate on the handset's side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MmStatus {
    /// Not retrieved before its expiry.
    Expired,
    /// The handset retrieved it.
    Retrieved,
    /// The recipient (or the network) rejected it.
    Rejected,
    /// Its fate cannot be known (a foreign network gave no answer).
    Indeterminate,
    /// The recipient forwarded it without retrieving it.
    Forwarded,
    /// Retrieval postponed by the recipient (REL-6).
    Deferred,
    /// The recipient's MMSC did not recognise it (REL-6).
    Unrecognised,
    /// A value neither schema defines, as written.
    Other(String),
}

impl MmStatus {
    /// Reads a written `MMStatus`.
    pub fn parse(s: &str) -> MmStatus {
        match s.trim() {
            "Expired" => MmStatus::Expired,
            "Retrieved" => MmStatus::Retrieved,
            "Rejected" => MmStatus::Rejected,
            "Indeterminate" => MmStatus::Indeterminate,
            "Forwarded" => MmStatus::Forwarded,
            "Deferred" => MmStatus::Deferred,
            "Unrecognised" => MmStatus::Unrecognised,
            other => MmStatus::Other(other.to_owned()),
        }
    }

    /// The written form.
    pub fn as_str(&self) -> &str {
        match self {
            MmStatus::Expired => "Expired",
            MmStatus::Retrieved => "Retrieved",
            MmStatus::Rejected => "Rejected",
            MmStatus::Indeterminate => "Indeterminate",
            MmStatus::Forwarded => "Forwarded",
            MmStatus::Deferred => "Deferred",
            MmStatus::Unrecognised => "Unrecognised",
            MmStatus::Other(s) => s,
        }
    }

    /// Whether no later report will change it.
    pub fn is_final(&self) -> bool {
        !matches!(self, MmStatus::Deferred | MmStatus::Indeterminate)
    }
}

impl fmt::Display for MmStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `DeliveryReportReq`, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub version: Mm7Version,
    pub transaction_id: String,
    /// The id the relay gave our `SubmitReq` in its `SubmitRsp`.
    pub message_id: String,
    /// The handset the report is about.
    pub recipient: Address,
    /// Our sender address, as the relay has it.
    pub sender: Address,
    /// When the status was reached (`Date`, as written).
    pub date: Option<String>,
    pub status: MmStatus,
    /// The relay's explanation (`StatusText`), if any.
    pub status_text: Option<String>,
}

/// Reads a `DeliveryReportReq` from its envelope.
pub fn parse_delivery_report(envelope: &Envelope) -> Result<DeliveryReport, Mm7Error> {
    let op = &envelope.operation;
    if op.name != "DeliveryReportReq" {
        return Err(Mm7Error::UnsupportedOperation(op.name.clone()));
    }
    let missing = |element| Mm7Error::MissingElement {
        operation: op.name.clone(),
        element,
    };
    let address = |name: &'static str| {
        op.child(name)
            .and_then(Address::from_parent)
            .ok_or_else(|| missing(name))
    };
    Ok(DeliveryReport {
        version: envelope.version,
        transaction_id: envelope.transaction_id.clone(),
        message_id: op
            .child_text("MessageID")
            .ok_or_else(|| missing("MessageID"))?
            .to_owned(),
        recipient: address("Recipient")?,
        sender: address("Sender")?,
        date: op.child_text("Date").map(str::to_owned),
        status: MmStatus::parse(
            op.child_text("MMStatus")
                .ok_or_else(|| missing("MMStatus"))?,
        ),
        status_text: op
            .child_text("StatusText")
            .or_else(|| op.child_text("MMStatusText"))
            .map(str::to_owned),
    })
}
