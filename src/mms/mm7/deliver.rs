//! `DeliverReq`: an MO MMS from the carrier's MMSC (the relay) to us (the VASP).

use super::Mm7Error;
use super::address::{Address, recipients};
use super::soap::{Envelope, Mm7Version};

/// A `DeliverReq`, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverReq {
    pub version: Mm7Version,
    pub transaction_id: String,
    /// The relay that sent it (`MMSRelayServerID`).
    pub relay_server_id: Option<String>,
    /// The relay's id for this message, used to link a reply (`LinkedID`).
    pub linked_id: Option<String>,
    /// The customer.
    pub sender: Address,
    /// Our numbers it was sent to.
    pub recipients: Vec<Address>,
    /// When the relay received it (`TimeStamp`, as written).
    pub timestamp: Option<String>,
    pub subject: Option<String>,
    pub priority: Option<String>,
    /// The `Content href` (`cid:…`) naming the content part, when content is attached.
    pub content_href: Option<String>,
}

/// Reads a `DeliverReq` from its envelope.
pub fn parse_deliver(envelope: &Envelope) -> Result<DeliverReq, Mm7Error> {
    let op = &envelope.operation;
    if op.name != "DeliverReq" {
        return Err(Mm7Error::UnsupportedOperation(op.name.clone()));
    }
    let sender = op
        .child("Sender")
        .and_then(Address::from_parent)
        .ok_or_else(|| Mm7Error::MissingElement {
            operation: op.name.clone(),
            element: "Sender",
        })?;
    let text = |name: &str| op.child_text(name).map(str::to_owned);
    Ok(DeliverReq {
        version: envelope.version,
        transaction_id: envelope.transaction_id.clone(),
        relay_server_id: text("MMSRelayServerID"),
        linked_id: text("LinkedID"),
        sender,
        recipients: recipients(&op.name, op)?,
        timestamp: text("TimeStamp"),
        subject: text("Subject"),
        priority: text("Priority"),
        content_href: op
            .child("Content")
            .and_then(|c| c.attribute("href"))
            .map(str::to_owned)
            .filter(|h| !h.is_empty()),
    })
}
