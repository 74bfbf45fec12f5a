//! Why a message was not delivered, as a receipt tells it.
//!
//! A failed receipt carries up to four clues: its state, a network_error_code, an
//! `err:` code and a delivery_failure_reason. They become one of the
//! [`DELIVERY_REASONS`] (the list of every reason, with the sentence an agent reads, is
//! [`crate::reason`]), in this order of trust:
//!
//! 1. the carrier's own error map (`[carriers.error_map]`), network_error_code first,
//!    then `err:` — the carrier knows its private codes best;
//! 2. the state EXPIRED → `expired`;
//! 3. a GSM network_error_code (network type 3), whose values are the MAP errors of
//!    3GPP TS 29.002 (unknown subscriber, absent subscriber, call barred, …);
//! 4. delivery_failure_reason (destination unavailable, address invalid, …);
//! 5. the state alone: REJECTD → `blocked`, DELETED/SKIPPED → `carrier_error`,
//!    UNDELIV/UNKNOWN → `unknown`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::parse::Receipt;
use super::state::ReceiptState;
pub use crate::reason::ReasonCode;

/// The reasons a receipt, or a carrier's error map, can give: what happened to the
/// message after the carrier took it. The other codes are the dispatcher's and the
/// MMSC's, and mean nothing as the meaning of a carrier's error code.
pub const DELIVERY_REASONS: [ReasonCode; 8] = [
    ReasonCode::Unreachable,
    ReasonCode::NotSmsCapable,
    ReasonCode::Blocked,
    ReasonCode::SpamFiltered,
    ReasonCode::InvalidNumber,
    ReasonCode::Expired,
    ReasonCode::CarrierError,
    ReasonCode::Unknown,
];

/// A delivery reason by its code, as `[carriers.error_map]` names it.
pub fn parse_delivery_reason(name: &str) -> Result<ReasonCode, UnknownReason> {
    name.parse()
        .ok()
        .filter(|r| DELIVERY_REASONS.contains(r))
        .ok_or_else(|| UnknownReason(name.to_string()))
}

impl ReasonCode {
    /// Whether this reason proves the number cannot take SMS, so the numbers module
    /// may remember it as not capable.
    pub fn proves_not_sms_capable(self) -> bool {
        NOT_SMS_CAPABLE_REASONS.contains(&self)
    }
}

/// The reasons that prove a number cannot take SMS.
pub const NOT_SMS_CAPABLE_REASONS: [ReasonCode; 3] = [
    ReasonCode::Unreachable,
    ReasonCode::NotSmsCapable,
    ReasonCode::InvalidNumber,
];

/// An error-map value that is not one of the eight delivery reasons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a reason; use unreachable, not_sms_capable, blocked, spam_filtered, invalid_number, expired, carrier_error or unknown"
)]
pub struct UnknownReason(pub String);

/// An error-map key that is not a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an error code; write it in decimal (\"17\") or in hex with 0x (\"0x0B1\")")]
pub struct BadErrorCode(pub String);

/// A carrier's error codes and what they mean.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorMap {
    codes: BTreeMap<u32, ReasonCode>,
}

impl ErrorMap {
    /// An empty map (only the built-in rules apply).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a key as written in the configuration: decimal, or hex with `0x`.
    pub fn parse_key(key: &str) -> Result<u32, BadErrorCode> {
        let text = key.trim();
        let value = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) if !hex.is_empty() => u32::from_str_radix(hex, 16).ok(),
            Some(_) => None,
            None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                text.parse().ok()
            }
            None => None,
        };
        value.ok_or_else(|| BadErrorCode(key.to_string()))
    }

    /// Adds a code; a later entry for the same code replaces the earlier one.
    pub fn insert(&mut self, code: u32, reason: ReasonCode) {
        self.codes.insert(code, reason);
    }

    /// The reason for `code`, if mapped.
    pub fn get(&self, code: u32) -> Option<ReasonCode> {
        self.codes.get(&code).copied()
    }

    /// How many codes are mapped.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether no code is mapped.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// Which clue decided a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonSource {
    /// The carrier's error map.
    ErrorMap,
    /// The state (EXPIRED, or the fallback for the others).
    State,
    /// A GSM network_error_code.
    NetworkError,
    /// The delivery_failure_reason TLV.
    DeliveryFailureReason,
}

/// The reason a receipt gives for a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The normalised reason.
    pub code: ReasonCode,
    /// Which clue decided it.
    pub source: ReasonSource,
    /// The carrier's error code that decided it (network_error_code's code in
    /// decimal, or `err:` as written), for the numbers module's unreachable rules
    /// and for operators.
    pub error_code: Option<String>,
}

impl Reason {
    /// The transcript sentence.
    pub fn sentence(&self) -> &'static str {
        self.code.sentence()
    }
}

/// GSM MAP error codes (3GPP TS 29.002) as network_error_code values of network
/// type 3.
fn gsm_reason(code: u16) -> Option<ReasonCode> {
    let reason = match code {
        1 | 9 => ReasonCode::InvalidNumber, // unknownSubscriber, illegalSubscriber
        5 | 6 | 27 | 31 => ReasonCode::Unreachable, // unidentified, absent (SM), absent, busy for MT-SMS
        11 | 21 => ReasonCode::NotSmsCapable, // teleserviceNotProvisioned, facilityNotSupported
        12 | 13 => ReasonCode::Blocked,       // illegalEquipment, callBarred
        32 | 34 | 35 | 36 => ReasonCode::CarrierError, // SM delivery failure, system failure, data missing, unexpected data
        _ => return None,
    };
    Some(reason)
}

/// delivery_failure_reason values (SMPP 3.4 §5.3.2.33).
fn failure_reason(value: u8) -> Option<ReasonCode> {
    match value {
        0 => Some(ReasonCode::Unreachable),
        1 => Some(ReasonCode::InvalidNumber),
        2 | 3 => Some(ReasonCode::CarrierError),
        _ => None,
    }
}

/// The reason a final, undelivered receipt gives; `None` for a delivered message, a
/// progress state or an intermediate notification.
pub fn reason_for(receipt: &Receipt, map: &ErrorMap) -> Option<Reason> {
    if !receipt.is_final() || receipt.state == ReceiptState::Delivered {
        return None;
    }
    let network = receipt.network_error;
    let err = receipt.err.as_ref();
    let reason = |code, source, error_code| Reason {
        code,
        source,
        error_code,
    };
    if let Some(ne) = network
        && let Some(code) = map.get(u32::from(ne.code))
    {
        return Some(reason(
            code,
            ReasonSource::ErrorMap,
            Some(ne.code.to_string()),
        ));
    }
    if let Some(err) = err
        && let Some(code) = err.value.and_then(|v| map.get(v))
    {
        return Some(reason(code, ReasonSource::ErrorMap, Some(err.raw.clone())));
    }
    let error_code = network
        .map(|ne| ne.code.to_string())
        .or_else(|| err.map(|e| e.raw.clone()));
    if receipt.state == ReceiptState::Expired {
        return Some(reason(ReasonCode::Expired, ReasonSource::State, error_code));
    }
    if let Some(ne) = network.filter(|ne| ne.network_type == Some(3))
        && let Some(code) = gsm_reason(ne.code)
    {
        return Some(reason(code, ReasonSource::NetworkError, error_code));
    }
    if let Some(code) = receipt.delivery_failure_reason.and_then(failure_reason) {
        return Some(reason(
            code,
            ReasonSource::DeliveryFailureReason,
            error_code,
        ));
    }
    let code = match receipt.state {
        ReceiptState::Rejected => ReasonCode::Blocked,
        ReceiptState::Deleted | ReceiptState::Skipped => ReasonCode::CarrierError,
        _ => ReasonCode::Unknown,
    };
    Some(reason(code, ReasonSource::State, error_code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::parse::parse_fields;
    use crate::receipts::{ReceiptCommand, ReceiptFields, ReceiptTlvs};

    fn receipt(text: &str, network: Option<&[u8]>, dfr: Option<u8>) -> Receipt {
        let mut tlvs = ReceiptTlvs::default();
        if let Some(octets) = network {
            tlvs.take_raw(0x0423, octets);
        }
        tlvs.delivery_failure_reason = dfr;
        parse_fields(&ReceiptFields {
            command: ReceiptCommand::DeliverSm,
            esm_class: 0x04,
            data_coding: 0,
            short_message: text.as_bytes(),
            tlvs,
        })
        .unwrap()
    }

    #[test]
    fn an_error_map_names_only_delivery_reasons() {
        for code in DELIVERY_REASONS {
            assert_eq!(parse_delivery_reason(code.as_str()), Ok(code));
        }
        for other in [
            "spam",
            "unknown_sender",
            "validity_expired",
            "invalid_destination",
        ] {
            assert_eq!(
                parse_delivery_reason(other),
                Err(UnknownReason(other.to_owned()))
            );
        }
    }

    #[test]
    fn map_keys_are_decimal_or_0x_hex() {
        assert_eq!(ErrorMap::parse_key("17"), Ok(17));
        assert_eq!(ErrorMap::parse_key("0x0B1"), Ok(0xB1));
        for bad in ["", "0x", "0B1", "-1", "4294967296", "1 7"] {
            assert!(ErrorMap::parse_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_carrier_map_wins_network_code_first() {
        let mut map = ErrorMap::new();
        map.insert(0xB1, ReasonCode::SpamFiltered);
        map.insert(11, ReasonCode::Blocked);
        let r = receipt("id:1 stat:UNDELIV err:0B1", None, None);
        let reason = reason_for(&r, &map).unwrap();
        assert_eq!(reason.code, ReasonCode::SpamFiltered);
        assert_eq!(reason.error_code.as_deref(), Some("0B1"));
        let r = receipt("id:1 stat:UNDELIV err:0B1", Some(&[3, 0, 11]), None);
        assert_eq!(reason_for(&r, &map).unwrap().code, ReasonCode::Blocked);
    }

    #[test]
    fn built_in_clues_in_order() {
        let map = ErrorMap::new();
        let code = |r: &Receipt| reason_for(r, &map).map(|r| r.code);
        assert_eq!(code(&receipt("id:1 stat:DELIVRD", None, None)), None);
        assert_eq!(code(&receipt("id:1 stat:ENROUTE", None, None)), None);
        assert_eq!(
            code(&receipt("id:1 stat:EXPIRED", Some(&[3, 0, 27]), None)),
            Some(ReasonCode::Expired)
        );
        assert_eq!(
            code(&receipt("id:1 stat:UNDELIV", Some(&[3, 0, 11]), Some(1))),
            Some(ReasonCode::NotSmsCapable)
        );
        assert_eq!(
            code(&receipt("id:1 stat:UNDELIV", Some(&[8, 0, 11]), Some(1))),
            Some(ReasonCode::InvalidNumber)
        );
        assert_eq!(
            code(&receipt("id:1 stat:REJECTD err:999", None, None)),
            Some(ReasonCode::Blocked)
        );
        assert_eq!(
            code(&receipt("id:1 stat:UNDELIV", None, None)),
            Some(ReasonCode::Unknown)
        );
    }

    #[test]
    fn only_three_reasons_prove_a_number_incapable() {
        let proving: Vec<_> = ReasonCode::ALL
            .into_iter()
            .filter(|r| r.proves_not_sms_capable())
            .collect();
        assert_eq!(proving, NOT_SMS_CAPABLE_REASONS);
    }
}
