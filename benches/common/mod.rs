//! What several benchmarks share.

use smsbridge::store::model::now_ms;
use smsbridge::store::{MtAccepted, NewMt};

/// A one-segment GSM-7 MT from the business number to `contact`, routed to `sim`.
pub fn new_mt(id: &str, contact: &str) -> NewMt {
    NewMt {
        message_id: id.into(),
        contact: contact.into(),
        sender: "+18005550100".into(),
        text: "Your order has shipped".into(),
        encoding: "gsm7".into(),
        segments: 1,
        reference: 1,
        route: "sim".into(),
        validity_deadline: now_ms() + 3_600_000,
        idempotency_key: None,
        request_sha256: None,
        media: Vec::new(),
        linked: Vec::new(),
        origin: "mt",
    }
}

/// The conversation an MT was stored in.
pub fn conversation(accepted: MtAccepted) -> String {
    match accepted {
        MtAccepted::Stored(receipt) => receipt.conversation_id,
        other => panic!("the MT was not stored: {other:?}"),
    }
}
