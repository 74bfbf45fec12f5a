//! Receipt fields → a [`Receipt`]: TLVs first, the text second.
//!
//! The id comes from `receipted_message_id` when present, else from `id:`; the state
//! from `message_state` (0..=9), else from `stat:`; the error from
//! `network_error_code` and `err:`, both kept. A receipt without an id or a state is
//! an [`UnparsedReceipt`] that keeps the octets received, so the flow can store it,
//! count it and still acknowledge it: a receipt never brings a bind down, and no input
//! makes the parser panic.

use std::borrow::Cow;

use bytes::BytesMut;
use rusmpp::Pdu;
use rusmpp::encode::owned::Encode;
use serde::Serialize;

use super::date::ReceiptTime;
use super::fields::{BodyError, NetworkError, ReceiptCommand, ReceiptFields};
use super::id::MAX_ID_LEN;
use super::state::ReceiptState;
use super::text;

/// The esm_class message-type bits (mask 0x3C).
const ESM_TYPE_MASK: u8 = 0x3C;
/// esm_class message type of an SMSC delivery receipt.
const ESM_SMSC_RECEIPT: u8 = 0x04;
/// esm_class message type of an intermediate delivery notification.
const ESM_INTERMEDIATE: u8 = 0x20;

/// What kind of receipt an esm_class announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    /// 0x04: SMSC delivery receipt.
    SmscReceipt,
    /// 0x20: intermediate delivery notification.
    Intermediate,
}

impl ReceiptKind {
    /// The kind `esm_class` announces, or `None` for an ordinary message (an MO).
    pub fn of(esm_class: u8) -> Option<Self> {
        match esm_class & ESM_TYPE_MASK {
            ESM_SMSC_RECEIPT => Some(Self::SmscReceipt),
            ESM_INTERMEDIATE => Some(Self::Intermediate),
            _ => None,
        }
    }
}

/// Where a receipt field was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A TLV (receipted_message_id, message_state, network_error_code).
    Tlv,
    /// The Appendix B text.
    Text,
}

/// Which source each of a receipt's fields came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sources {
    /// The id.
    pub id: Source,
    /// The state.
    pub state: Source,
    /// The error: `Tlv` when network_error_code was present, `Text` when only `err:`
    /// was, `None` when neither.
    pub error: Option<Source>,
}

/// An `err:` value: as written, and as a number when it reads as one (decimal, or
/// hexadecimal when it has a `0x` prefix or the letters a–f).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorCode {
    /// As written.
    pub raw: String,
    /// Its value.
    pub value: Option<u32>,
}

impl ErrorCode {
    /// Reads an error code; empty text is no code.
    pub fn parse(text: &str) -> Option<Self> {
        let raw = text.trim();
        if raw.is_empty() {
            return None;
        }
        Some(ErrorCode {
            raw: raw.to_string(),
            value: parse_code(raw),
        })
    }
}

/// A decimal code, or a hexadecimal one with `0x` or with letters a–f.
pub(crate) fn parse_code(text: &str) -> Option<u32> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16).ok();
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    if text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u32::from_str_radix(text, 16).ok();
    }
    None
}

/// A delivery receipt, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The PDU it came in.
    pub command: ReceiptCommand,
    /// The carrier's message id exactly as received (see [`super::id`] for matching).
    pub id: String,
    /// The text's `id:` when the id came from the TLV and the text named a different
    /// one (some carriers write one in hex, the other in decimal): a second candidate
    /// for matching.
    pub alternate_id: Option<String>,
    /// The reported state.
    pub state: ReceiptState,
    /// An intermediate notification (esm_class 0x20): it never ends the message.
    pub intermediate: bool,
    /// The text's `err:`.
    pub err: Option<ErrorCode>,
    /// The network_error_code TLV.
    pub network_error: Option<NetworkError>,
    /// The delivery_failure_reason TLV.
    pub delivery_failure_reason: Option<u8>,
    /// `sub:` (messages submitted).
    pub submitted_count: Option<u32>,
    /// `dlvrd:` (messages delivered).
    pub delivered_count: Option<u32>,
    /// `submit date:`, when it reads as a date.
    pub submit_date: Option<ReceiptTime>,
    /// `done date:`, when it reads as a date.
    pub done_date: Option<ReceiptTime>,
    /// The `text:` snippet (the start of the original message).
    pub text: Option<String>,
    /// Vendor fields, as written.
    pub extras: Vec<(String, String)>,
    /// Where each field came from.
    pub sources: Sources,
}

impl Receipt {
    /// The ids to match, in order: [`Receipt::id`], then [`Receipt::alternate_id`].
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.alternate_id.as_deref())
    }

    /// Whether this receipt ends the message's life (a final state, not an
    /// intermediate notification).
    pub fn is_final(&self) -> bool {
        !self.intermediate && self.state.is_final()
    }
}

/// Why a receipt could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The PDU is neither deliver_sm nor data_sm.
    #[error("not a deliver_sm or data_sm")]
    NotDeliverOrData,
    /// The esm_class does not announce a receipt (type 0x04 or 0x20): this is an MO.
    #[error("esm_class {0:#04x} does not announce a receipt")]
    NotAReceipt(u8),
    /// A raw body could not be walked to its fields.
    #[error("{0}")]
    Body(#[from] BodyError),
    /// Neither receipted_message_id nor an `id:` field.
    #[error("no message id (neither receipted_message_id nor id:)")]
    MissingId,
    /// The id is longer than 64 characters or holds whitespace or control characters.
    #[error("message id {0:?} is not a usable id")]
    BadId(String),
    /// Neither message_state nor a `stat:` field.
    #[error("no state (neither message_state nor stat:)")]
    MissingState,
    /// A `stat:` word (or a message_state value) that names no state.
    #[error("unknown state {0:?}")]
    UnknownState(String),
}

impl ParseError {
    /// A short name for the metric label (a bounded set).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotDeliverOrData => "not_deliver_or_data",
            Self::NotAReceipt(_) => "not_a_receipt",
            Self::Body(_) => "malformed_body",
            Self::MissingId => "missing_id",
            Self::BadId(_) => "bad_id",
            Self::MissingState => "missing_state",
            Self::UnknownState(_) => "unknown_state",
        }
    }
}

/// What [`UnparsedReceipt::raw`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawForm {
    /// The PDU body (the octets after the header); [`parse_body`] reads it again.
    PduBody,
    /// Only the text octets (short_message or message_payload).
    Text,
}

/// A receipt that could not be parsed, with the octets it came in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unparseable receipt: {error}")]
pub struct UnparsedReceipt {
    /// Why.
    pub error: ParseError,
    /// What arrived.
    pub raw: Vec<u8>,
    /// What `raw` holds.
    pub raw_form: RawForm,
}

/// Parses a decoded deliver_sm or data_sm.
pub fn parse_pdu(pdu: &Pdu) -> Result<Receipt, UnparsedReceipt> {
    let result = match ReceiptFields::from_pdu(pdu) {
        Some(fields) => parse_fields(&fields),
        None => Err(ParseError::NotDeliverOrData),
    };
    result.map_err(|error| {
        let mut body = BytesMut::new();
        pdu.encode(&mut body);
        UnparsedReceipt {
            error,
            raw: body.to_vec(),
            raw_form: RawForm::PduBody,
        }
    })
}

/// Parses a raw deliver_sm (0x00000005) or data_sm (0x00000103) body, reading its TLVs
/// leniently (see [`ReceiptFields::from_body`]).
pub fn parse_body(command_id: u32, body: &[u8]) -> Result<Receipt, UnparsedReceipt> {
    ReceiptFields::from_body(command_id, body)
        .map_err(ParseError::from)
        .and_then(|fields| parse_fields(&fields))
        .map_err(|error| UnparsedReceipt {
            error,
            raw: body.to_vec(),
            raw_form: RawForm::PduBody,
        })
}

/// Parses receipt fields: TLVs first, then the text.
pub fn parse_fields(fields: &ReceiptFields<'_>) -> Result<Receipt, ParseError> {
    let kind =
        ReceiptKind::of(fields.esm_class).ok_or(ParseError::NotAReceipt(fields.esm_class))?;
    let body = decode_text(fields.text_octets(), fields.data_coding);
    let t = text::read(&body);
    let tlvs = &fields.tlvs;

    let text_id = t.id.filter(|id| !id.is_empty());
    let tlv_id = tlvs
        .receipted_message_id
        .filter(|id| !id.is_empty())
        .map(String::from_utf8_lossy);
    let (id, alternate_id, id_source) = match (tlv_id, text_id) {
        (Some(tlv), text) => {
            let alternate = text
                .filter(|t| *t != tlv && check_id(t).is_ok())
                .map(str::to_string);
            (tlv.into_owned(), alternate, Source::Tlv)
        }
        (None, Some(text)) => (text.to_string(), None, Source::Text),
        (None, None) => return Err(ParseError::MissingId),
    };
    check_id(&id)?;

    let (state, state_source) = state_of(tlvs.message_state, t.stat)?;
    let err = t.err.and_then(ErrorCode::parse);
    let error_source = match (&tlvs.network_error, &err) {
        (Some(_), _) => Some(Source::Tlv),
        (None, Some(_)) => Some(Source::Text),
        (None, None) => None,
    };
    let count = |v: Option<&str>| v.and_then(|v| v.parse::<u32>().ok());
    Ok(Receipt {
        command: fields.command,
        id,
        alternate_id,
        state,
        intermediate: kind == ReceiptKind::Intermediate,
        err,
        network_error: tlvs.network_error,
        delivery_failure_reason: tlvs.delivery_failure_reason,
        submitted_count: count(t.sub),
        delivered_count: count(t.dlvrd),
        submit_date: t.submit_date.and_then(ReceiptTime::parse),
        done_date: t.done_date.and_then(ReceiptTime::parse),
        text: t.text.map(str::to_string),
        extras: t
            .extras
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        sources: Sources {
            id: id_source,
            state: state_source,
            error: error_source,
        },
    })
}

/// The state from message_state (when it is 0..=9), else from `stat:`.
fn state_of(
    message_state: Option<u8>,
    stat: Option<&str>,
) -> Result<(ReceiptState, Source), ParseError> {
    if let Some(state) = message_state.and_then(ReceiptState::from_message_state) {
        return Ok((state, Source::Tlv));
    }
    match (stat.filter(|s| !s.is_empty()), message_state) {
        (Some(word), _) => ReceiptState::from_stat(word)
            .map(|state| (state, Source::Text))
            .ok_or_else(|| ParseError::UnknownState(word.chars().take(16).collect())),
        (None, Some(value)) => Err(ParseError::UnknownState(format!("message_state {value}"))),
        (None, None) => Err(ParseError::MissingState),
    }
}

/// An id must fit SMPP's message_id (64 characters) and be printable without spaces:
/// anything else is a garbled receipt, not an id worth a lookup.
fn check_id(id: &str) -> Result<(), ParseError> {
    let usable = id.chars().count() <= MAX_ID_LEN
        && id.chars().all(|c| !c.is_whitespace() && !c.is_control());
    if usable {
        Ok(())
    } else {
        Err(ParseError::BadId(id.chars().take(MAX_ID_LEN + 1).collect()))
    }
}

/// The receipt text: UTF-16BE for data_coding 0x08, else UTF-8 when valid, else
/// Latin-1 (every octet is a character, so nothing is lost). Trailing NULs — padding
/// some SMSCs add — are dropped (as code units for UTF-16: a final 0x00 octet may be
/// half of a character).
fn decode_text(octets: &[u8], data_coding: u8) -> Cow<'_, str> {
    if data_coding == 0x08 {
        let units = octets
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        let text: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        return Cow::Owned(text.trim_end_matches('\0').to_string());
    }
    let end = octets.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let octets = &octets[..end];
    match std::str::from_utf8(octets) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(octets.iter().map(|&b| char::from(b)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::fields::ReceiptTlvs;

    fn fields<'a>(esm_class: u8, text: &'a [u8], tlvs: ReceiptTlvs<'a>) -> ReceiptFields<'a> {
        ReceiptFields {
            command: ReceiptCommand::DeliverSm,
            esm_class,
            data_coding: 0,
            short_message: text,
            tlvs,
        }
    }

    #[test]
    fn tlvs_win_over_the_text() {
        let tlvs = ReceiptTlvs {
            receipted_message_id: Some(b"1A2B"),
            message_state: Some(5),
            network_error: NetworkError::from_octets(&[3, 0, 1]),
            ..ReceiptTlvs::default()
        };
        let r = parse_fields(&fields(0x04, b"id:6699 stat:DELIVRD err:000", tlvs)).unwrap();
        assert_eq!(r.id, "1A2B");
        assert_eq!(r.alternate_id.as_deref(), Some("6699"));
        assert_eq!(r.state, ReceiptState::Undeliverable);
        assert_eq!(
            r.sources,
            Sources {
                id: Source::Tlv,
                state: Source::Tlv,
                error: Some(Source::Tlv)
            }
        );
        assert_eq!(r.err.unwrap().value, Some(0));
    }

    #[test]
    fn an_out_of_range_message_state_falls_back_to_the_text() {
        let tlvs = ReceiptTlvs {
            message_state: Some(42),
            ..ReceiptTlvs::default()
        };
        let r = parse_fields(&fields(0x04, b"id:1 stat:EXPIRED", tlvs.clone())).unwrap();
        assert_eq!(r.state, ReceiptState::Expired);
        assert_eq!(
            parse_fields(&fields(0x04, b"id:1", tlvs)),
            Err(ParseError::UnknownState("message_state 42".into()))
        );
    }

    #[test]
    fn what_makes_a_receipt_unusable() {
        let none = ReceiptTlvs::default;
        assert_eq!(
            parse_fields(&fields(0x00, b"id:1 stat:DELIVRD", none())),
            Err(ParseError::NotAReceipt(0))
        );
        assert_eq!(
            parse_fields(&fields(0x04, b"stat:DELIVRD", none())),
            Err(ParseError::MissingId)
        );
        assert_eq!(
            parse_fields(&fields(0x04, b"id:1 err:0", none())),
            Err(ParseError::MissingState)
        );
        assert_eq!(
            parse_fields(&fields(0x04, b"id:1 stat:WHATEVER", none())),
            Err(ParseError::UnknownState("WHATEVER".into()))
        );
        let long = format!("id:{} stat:DELIVRD", "9".repeat(65));
        assert!(matches!(
            parse_fields(&fields(0x04, long.as_bytes(), none())),
            Err(ParseError::BadId(_))
        ));
    }

    #[test]
    fn error_codes_read_as_decimal_or_hex() {
        assert_eq!(parse_code("017"), Some(17));
        assert_eq!(parse_code("0B1"), Some(0xB1));
        assert_eq!(parse_code("0x11"), Some(0x11));
        assert_eq!(parse_code("E-7"), None);
        assert_eq!(ErrorCode::parse("  "), None);
    }

    #[test]
    fn ucs2_and_latin1_texts_decode() {
        let utf16: Vec<u8> = "id:9 stat:DELIVRD"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let mut f = fields(0x04, &utf16, ReceiptTlvs::default());
        f.data_coding = 0x08;
        assert_eq!(parse_fields(&f).unwrap().id, "9");
        // "Ā" is 01 00 in UTF-16BE: its 0x00 octet is no padding.
        let mut utf16: Vec<u8> = "id:9 stat:DELIVRD text:Ā"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        utf16.extend([0, 0]);
        let mut f = fields(0x04, &utf16, ReceiptTlvs::default());
        f.data_coding = 0x08;
        assert_eq!(parse_fields(&f).unwrap().text.as_deref(), Some("Ā"));
        let latin1 = b"id:9 stat:DELIVRD text:caf\xe9";
        let r = parse_fields(&fields(0x04, latin1, ReceiptTlvs::default())).unwrap();
        assert_eq!(r.text.as_deref(), Some("café"));
    }
}
