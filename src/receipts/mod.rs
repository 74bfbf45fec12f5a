//! Delivery receipts: carrier dialects (TLVs and Appendix B text) parsed into one
//! [`Receipt`]; the id forms that match a receipt to a submitted segment; the reason a
//! message failed, in words; and one status per chat message from many segments.
//!
//! ## Pieces
//!
//! | file | what it holds |
//! |---|---|
//! | `fields` | what a parser reads, from a rusmpp PDU, raw TLVs or a raw PDU body |
//! | `text`, `date` | the Appendix B text and its dialects; `submit date`/`done date` |
//! | `state` | [`ReceiptState`]: message_state values and `stat:` words |
//! | `parse` | fields → [`Receipt`] (TLVs first, text second) or [`UnparsedReceipt`] |
//! | `id` | [`MsgIdFormat`], [`IdForm`], index and lookup keys, [`exact_match`], [`read_tolerant`], [`FormLearner`] |
//! | `reason` | a receipt's clues → one of the [`DELIVERY_REASONS`]; the carrier's [`ErrorMap`] |
//! | `aggregate` | per-segment states → the chat message's state, and whether it changed |
//! | `metrics` | metric names and descriptions |
//!
//! ## How the receipts flow uses it
//!
//! ```text
//! deliver_sm ─▶ receipts::read(carrier, pdu) ──Err(UnparsedReceipt)──▶ store raw, ack ROK
//!      │ Ok(receipt)
//!      ▼
//! for id in receipt.ids():                     (the TLV's id, then the text's if it differs)
//!   store.candidates(carrier, lookup_keys(id, format))   (indexed by index_keys(submit id))
//!      ─▶ exact_match(ids, candidates)
//!      │ none, and a submit sent before the receipt still has no recorded response:
//!      │   park it; match it exactly when the id is recorded, or read it below later
//!      ─▶ read_tolerant(ids, candidates, format, learner.proven())
//!      │ ambiguous or nothing: park it until its id appears, a form is proven, or expiry
//!      ▼ evidence ⇒ learner.record(form)
//!      ▼
//! SegmentReport::from_receipt(receipt, error_map) ─▶ aggregate::apply(chat, segments, i, report)
//!      ─▶ store the segment; step.chat.changed ⇒ one chat.message.status
//! reason_for(receipt, error_map).code.proves_not_sms_capable() ⇒ numbers' unreachable memory
//! ```
//!
//! Nothing here touches the network or the store: every function is pure (the
//! learner is an atomic), so the flow decides what is durable and when.

pub mod aggregate;
mod date;
mod fields;
pub mod id;
pub mod metrics;
mod parse;
pub mod reason;
mod state;
mod text;

use rusmpp::Pdu;

pub use aggregate::{Aggregate, ChatState, SegmentReport, SegmentState, Step, aggregate, apply};
pub use date::ReceiptTime;
pub use fields::{BodyError, NetworkError, ReceiptCommand, ReceiptFields, ReceiptTlvs, tag};
pub use id::{
    FormLearner, FormLearners, IdForm, IdMatch, MAX_ID_LEN, MsgIdFormat, Reading, SETTLED_AFTER,
    UnknownMsgIdFormat, canonical_keys, exact_match, index_keys, lookup_keys, read_tolerant,
};
pub use parse::{
    ErrorCode, ParseError, RawForm, Receipt, ReceiptKind, Source, Sources, UnparsedReceipt,
    parse_body, parse_fields, parse_pdu,
};
pub use reason::{
    BadErrorCode, DELIVERY_REASONS, ErrorMap, NOT_SMS_CAPABLE_REASONS, Reason, ReasonCode,
    ReasonSource, UnknownReason, parse_delivery_reason, reason_for,
};
pub use state::ReceiptState;
pub use text::{TextFields, read as read_text};

/// Parses a receipt PDU from `carrier` and counts the result
/// ([`metrics::RECEIPTS_PARSED_TOTAL`]). The flow calls this for every inbound
/// message whose esm_class announces a receipt.
pub fn read(carrier: &str, pdu: &Pdu) -> Result<Receipt, UnparsedReceipt> {
    let result = parse_pdu(pdu);
    let label = match &result {
        Ok(_) => metrics::RESULT_PARSED,
        Err(unparsed) => unparsed.error.kind(),
    };
    metrics::receipt_read(carrier, label);
    result
}
