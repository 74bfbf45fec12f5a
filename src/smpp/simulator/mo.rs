//! Mobile-originated messages as a carrier sends them: encoded (GSM 7-bit unpacked or
//! UCS-2), split into parts with a UDH (8- or 16-bit reference) or SAR TLVs, one
//! deliver_sm per part.
//!
//! The encoder covers the GSM 03.38 default alphabet and its extension table for the
//! characters a test text uses; anything else becomes `?`. It is the simulator's own
//! minimal encoder, independent of the gateway's text module, so the two can be tested
//! against each other.

use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, Npi, Ton};

use crate::config::simulator::{Concatenation, MoEncoding};

/// GSM escape to the extension table.
const ESC: u8 = 0x1B;

/// One MO message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoMessage {
    /// The subscriber (sender).
    pub source: String,
    /// The business number (recipient).
    pub destination: String,
    /// The text.
    pub text: String,
    /// Its encoding on the wire.
    pub encoding: MoEncoding,
    /// How it is split when it does not fit one part.
    pub concatenation: Concatenation,
}

/// Why an MO could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoError {
    /// An address is empty, longer than 20 characters or not ASCII.
    #[error("address {0:?} is not 1..=20 ASCII characters")]
    Address(String),
    /// The text needs more than 255 parts.
    #[error("text needs {0} parts, more than 255")]
    TooManyParts(usize),
}

fn gsm_basic(c: char) -> Option<u8> {
    Some(match c {
        '@' => 0x00,
        '£' => 0x01,
        '$' => 0x02,
        '¥' => 0x03,
        'è' => 0x04,
        'é' => 0x05,
        '\n' => 0x0A,
        '\r' => 0x0D,
        '_' => 0x11,
        '¡' => 0x40,
        '¿' => 0x60,
        ' '..='#' | '%'..='?' | 'A'..='Z' | 'a'..='z' => c as u8,
        _ => return None,
    })
}

fn gsm_extension(c: char) -> Option<u8> {
    Some(match c {
        '^' => 0x14,
        '{' => 0x28,
        '}' => 0x29,
        '\\' => 0x2F,
        '[' => 0x3C,
        '~' => 0x3D,
        ']' => 0x3E,
        '|' => 0x40,
        '€' => 0x65,
        _ => return None,
    })
}

/// Encodes `text` as GSM 7-bit septets, one per octet; each inner `Vec` is one
/// character (two septets for extension characters), so a split never separates an
/// escape from its character.
fn gsm7_units(text: &str) -> Vec<Vec<u8>> {
    text.chars()
        .map(|c| match (gsm_basic(c), gsm_extension(c)) {
            (Some(septet), _) => vec![septet],
            (None, Some(septet)) => vec![ESC, septet],
            (None, None) => vec![b'?'],
        })
        .collect()
}

/// Encodes `text` as UTF-16BE; each inner `Vec` is one character (a surrogate pair stays
/// together).
fn ucs2_units(text: &str) -> Vec<Vec<u8>> {
    text.chars()
        .map(|c| {
            let mut buf = [0u16; 2];
            c.encode_utf16(&mut buf)
                .iter()
                .flat_map(|unit| unit.to_be_bytes())
                .collect()
        })
        .collect()
}

/// Groups characters into parts of at most `budget` octets.
fn split(units: &[Vec<u8>], budget: usize) -> Vec<Vec<u8>> {
    let mut parts = vec![Vec::new()];
    for unit in units {
        let current = parts.last_mut().expect("parts is never empty");
        if current.len() + unit.len() > budget {
            parts.push(unit.clone());
        } else {
            current.extend_from_slice(unit);
        }
    }
    parts
}

/// Octet budgets: (single message, per part) for an encoding and a concatenation.
fn budgets(encoding: MoEncoding, concatenation: Concatenation) -> (usize, usize) {
    match (encoding, concatenation) {
        // Unpacked septets: 160 in one message, 153 (152 with a 16-bit reference) per
        // part once the UDH takes its 7 (8) septets.
        (MoEncoding::Gsm7, Concatenation::Udh16) => (160, 152),
        (MoEncoding::Gsm7, _) => (160, 153),
        (MoEncoding::Ucs2, Concatenation::Udh16) => (140, 132),
        (MoEncoding::Ucs2, _) => (140, 134),
    }
}

fn address(value: &str) -> Result<COctetString<1, 21>, MoError> {
    COctetString::from_string(value.to_string()).map_err(|_| MoError::Address(value.to_string()))
}

/// Builds the deliver_sm PDUs for one MO, in part order. `reference` identifies the
/// concatenated message (only its low 8 bits are used with an 8-bit UDH).
pub fn build(message: &MoMessage, reference: u16) -> Result<Vec<DeliverSm>, MoError> {
    let source = address(&message.source)?;
    let destination = address(&message.destination)?;
    let (units, coding) = match message.encoding {
        MoEncoding::Gsm7 => (gsm7_units(&message.text), DataCoding::McSpecific),
        MoEncoding::Ucs2 => (ucs2_units(&message.text), DataCoding::Ucs2),
    };
    let (single, per_part) = budgets(message.encoding, message.concatenation);
    let total_len: usize = units.iter().map(Vec::len).sum();
    let parts = if total_len <= single {
        vec![units.concat()]
    } else {
        split(&units, per_part)
    };
    let total = parts.len();
    if total > 255 {
        return Err(MoError::TooManyParts(total));
    }
    let mut pdus = Vec::with_capacity(total);
    for (index, body) in parts.into_iter().enumerate() {
        let number = (index + 1) as u8;
        let mut esm_class = 0u8;
        let mut short_message = body;
        let mut tlvs = Vec::new();
        if total > 1 {
            match message.concatenation {
                Concatenation::Udh8 => {
                    esm_class |= 0x40;
                    let udh = [0x05, 0x00, 0x03, reference as u8, total as u8, number];
                    short_message.splice(0..0, udh);
                }
                Concatenation::Udh16 => {
                    esm_class |= 0x40;
                    let [hi, lo] = reference.to_be_bytes();
                    let udh = [0x06, 0x08, 0x04, hi, lo, total as u8, number];
                    short_message.splice(0..0, udh);
                }
                Concatenation::Sar => {
                    tlvs.push(MessageDeliveryRequestTlvValue::SarMsgRefNum(reference));
                    tlvs.push(MessageDeliveryRequestTlvValue::SarTotalSegments(
                        total as u8,
                    ));
                    tlvs.push(MessageDeliveryRequestTlvValue::SarSegmentSeqnum(number));
                }
            }
        }
        let short_message =
            OctetString::from_vec(short_message).expect("parts are at most 160 octets");
        pdus.push(
            DeliverSm::builder()
                .source_addr_ton(Ton::International)
                .source_addr_npi(Npi::Isdn)
                .source_addr(source.clone())
                .dest_addr_ton(Ton::Unknown)
                .dest_addr_npi(Npi::Isdn)
                .destination_addr(destination.clone())
                .esm_class(EsmClass::from(esm_class))
                .data_coding(coding)
                .short_message(short_message)
                .tlvs(tlvs)
                .build(),
        );
    }
    Ok(pdus)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str, encoding: MoEncoding, concatenation: Concatenation) -> MoMessage {
        MoMessage {
            source: "14155550123".into(),
            destination: "18005550100".into(),
            text: text.into(),
            encoding,
            concatenation,
        }
    }

    #[test]
    fn short_gsm_text_is_one_part_without_udh() {
        let pdus = build(&message("STOP", MoEncoding::Gsm7, Concatenation::Udh8), 1).unwrap();
        assert_eq!(pdus.len(), 1);
        assert_eq!(pdus[0].short_message().as_ref(), b"STOP");
        assert_eq!(u8::from(pdus[0].esm_class), 0);
    }

    #[test]
    fn extension_characters_take_two_septets_and_stay_together() {
        let text = "€".repeat(100);
        let pdus = build(&message(&text, MoEncoding::Gsm7, Concatenation::Udh8), 7).unwrap();
        assert_eq!(pdus.len(), 2);
        let first = pdus[0].short_message().as_ref();
        assert_eq!(&first[..6], &[0x05, 0x00, 0x03, 7, 2, 1]);
        // 153 septets per part, but an escape pair may not be cut: 76 pairs = 152.
        assert_eq!(first.len() - 6, 152);
        assert_eq!(u8::from(pdus[0].esm_class), 0x40);
    }

    #[test]
    fn ucs2_keeps_surrogate_pairs_and_uses_16_bit_references() {
        let text = "😀".repeat(40);
        let pdus = build(
            &message(&text, MoEncoding::Ucs2, Concatenation::Udh16),
            0x1234,
        )
        .unwrap();
        assert_eq!(pdus.len(), 2);
        let first = pdus[0].short_message().as_ref();
        assert_eq!(&first[..7], &[0x06, 0x08, 0x04, 0x12, 0x34, 2, 1]);
        assert_eq!((first.len() - 7) % 4, 0);
    }

    #[test]
    fn sar_parts_carry_tlvs_and_no_udh() {
        let text = "x".repeat(200);
        let pdus = build(&message(&text, MoEncoding::Gsm7, Concatenation::Sar), 9).unwrap();
        assert_eq!(pdus.len(), 2);
        assert_eq!(pdus[1].tlvs().len(), 3);
        assert_eq!(u8::from(pdus[1].esm_class), 0);
        assert_eq!(
            pdus[0].short_message().len() + pdus[1].short_message().len(),
            200
        );
    }
}
