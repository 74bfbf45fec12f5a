//! What a receipt parser needs from a deliver_sm or data_sm, whichever way it arrived:
//! a decoded rusmpp [`Pdu`], the raw fields (esm_class, TLVs, text octets), or the raw
//! PDU body.
//!
//! The raw forms exist because carriers get TLVs wrong in ways a strict decoder
//! refuses: a `receipted_message_id` without its NUL, a two-octet
//! `network_error_code`. Reading them here, leniently, lets such a receipt still
//! count.

use rusmpp::Pdu;
use rusmpp::tlvs::{Tlv, TlvValue};

/// TLV tags a receipt may carry (SMPP 3.4 §5.3.2).
pub mod tag {
    /// receipted_message_id: the id being reported (C-string, up to 65 octets).
    pub const RECEIPTED_MESSAGE_ID: u16 = 0x001E;
    /// message_state: one octet, 0..=9.
    pub const MESSAGE_STATE: u16 = 0x0427;
    /// network_error_code: network type (1 octet) and error code (2 octets).
    pub const NETWORK_ERROR_CODE: u16 = 0x0423;
    /// delivery_failure_reason: one octet (data_sm receipts).
    pub const DELIVERY_FAILURE_REASON: u16 = 0x0425;
    /// message_payload: the text when short_message is empty.
    pub const MESSAGE_PAYLOAD: u16 = 0x0424;
}

/// The PDU a receipt came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptCommand {
    /// deliver_sm (command id 0x00000005).
    DeliverSm,
    /// data_sm (command id 0x00000103).
    DataSm,
}

/// A network_error_code TLV: which network's error table, and the code in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct NetworkError {
    /// 1 ANSI-136 access denied, 2 IS-95 access denied, 3 GSM, 4 ANSI-136 cause,
    /// 5 IS-95 cause, 6 ANSI-41, 7 SMPP error, 8 message-center specific; `None` when
    /// the carrier sent only the two code octets.
    pub network_type: Option<u8>,
    /// The error code.
    pub code: u16,
}

impl NetworkError {
    /// Reads the TLV value leniently: three octets as specified, or two (code only).
    pub fn from_octets(value: &[u8]) -> Option<Self> {
        match *value {
            [network_type, hi, lo] => Some(NetworkError {
                network_type: Some(network_type),
                code: u16::from_be_bytes([hi, lo]),
            }),
            [hi, lo] => Some(NetworkError {
                network_type: None,
                code: u16::from_be_bytes([hi, lo]),
            }),
            _ => None,
        }
    }
}

/// The receipt-relevant TLVs, already read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptTlvs<'a> {
    /// receipted_message_id, without its NUL.
    pub receipted_message_id: Option<&'a [u8]>,
    /// message_state, as sent (it may be outside 0..=9).
    pub message_state: Option<u8>,
    /// network_error_code.
    pub network_error: Option<NetworkError>,
    /// delivery_failure_reason: 0 destination unavailable, 1 destination address
    /// invalid, 2 permanent network error, 3 temporary network error.
    pub delivery_failure_reason: Option<u8>,
    /// message_payload.
    pub message_payload: Option<&'a [u8]>,
}

impl<'a> ReceiptTlvs<'a> {
    /// Takes one raw TLV; other tags are ignored, a repeated tag keeps its first value.
    pub fn take_raw(&mut self, tag: u16, value: &'a [u8]) {
        match tag {
            tag::RECEIPTED_MESSAGE_ID => {
                let id = value.split(|&b| b == 0).next().unwrap_or(&[]);
                self.receipted_message_id.get_or_insert(id);
            }
            tag::MESSAGE_STATE if !value.is_empty() => {
                self.message_state.get_or_insert(value[0]);
            }
            tag::NETWORK_ERROR_CODE => {
                if let Some(error) = NetworkError::from_octets(value) {
                    self.network_error.get_or_insert(error);
                }
            }
            tag::DELIVERY_FAILURE_REASON if !value.is_empty() => {
                self.delivery_failure_reason.get_or_insert(value[0]);
            }
            tag::MESSAGE_PAYLOAD => {
                self.message_payload.get_or_insert(value);
            }
            _ => {}
        }
    }

    /// Takes the TLVs of a decoded PDU.
    fn from_decoded(tlvs: &'a [Tlv]) -> Self {
        let mut out = ReceiptTlvs::default();
        for tlv in tlvs {
            match tlv.value() {
                Some(TlvValue::ReceiptedMessageId(id)) => {
                    out.receipted_message_id
                        .get_or_insert(id.as_str().as_bytes());
                }
                Some(TlvValue::MessageState(state)) => {
                    out.message_state.get_or_insert(u8::from(*state));
                }
                Some(TlvValue::NetworkErrorCode(nec)) => {
                    out.network_error.get_or_insert(NetworkError {
                        network_type: Some(u8::from(nec.network_type)),
                        code: nec.error_code,
                    });
                }
                Some(TlvValue::DeliveryFailureReason(reason)) => {
                    out.delivery_failure_reason.get_or_insert(u8::from(*reason));
                }
                Some(TlvValue::MessagePayload(payload)) => {
                    out.message_payload.get_or_insert(payload.value.as_ref());
                }
                _ => {}
            }
        }
        out
    }
}

/// Everything the parser reads, borrowed from wherever the receipt came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFields<'a> {
    /// deliver_sm or data_sm.
    pub command: ReceiptCommand,
    /// esm_class as sent.
    pub esm_class: u8,
    /// data_coding as sent (0x08 means the text is UCS-2).
    pub data_coding: u8,
    /// short_message octets (empty for data_sm).
    pub short_message: &'a [u8],
    /// The receipt TLVs.
    pub tlvs: ReceiptTlvs<'a>,
}

impl<'a> ReceiptFields<'a> {
    /// The fields of a decoded deliver_sm or data_sm; `None` for any other PDU.
    pub fn from_pdu(pdu: &'a Pdu) -> Option<Self> {
        match pdu {
            Pdu::DeliverSm(sm) => Some(ReceiptFields {
                command: ReceiptCommand::DeliverSm,
                esm_class: u8::from(sm.esm_class),
                data_coding: u8::from(sm.data_coding),
                short_message: sm.short_message().as_ref(),
                tlvs: ReceiptTlvs::from_decoded(sm.tlvs()),
            }),
            Pdu::DataSm(sm) => Some(ReceiptFields {
                command: ReceiptCommand::DataSm,
                esm_class: u8::from(sm.esm_class),
                data_coding: u8::from(sm.data_coding),
                short_message: &[],
                tlvs: ReceiptTlvs::from_decoded(sm.tlvs()),
            }),
            _ => None,
        }
    }

    /// The octets holding the receipt text: short_message, or message_payload when
    /// short_message is empty.
    pub fn text_octets(&self) -> &'a [u8] {
        if self.short_message.is_empty() {
            self.tlvs.message_payload.unwrap_or(&[])
        } else {
            self.short_message
        }
    }
}

/// Why a raw PDU body could not even be walked to its fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The command id is neither deliver_sm nor data_sm.
    #[error("command id {0:#010x} is not deliver_sm or data_sm")]
    NotDeliverOrData(u32),
    /// The body ends inside a mandatory field.
    #[error("the body ends inside {0}")]
    Truncated(&'static str),
    /// A C-string field has no NUL within its maximum length.
    #[error("{0} has no terminating NUL within its maximum length")]
    Unterminated(&'static str),
}

/// A cursor over a PDU body that never reads past its end.
struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn octet(&mut self, field: &'static str) -> Result<u8, BodyError> {
        let b = *self.body.get(self.at).ok_or(BodyError::Truncated(field))?;
        self.at += 1;
        Ok(b)
    }

    fn c_string(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], BodyError> {
        let rest = &self.body[self.at..];
        let window = &rest[..rest.len().min(max)];
        match window.iter().position(|&b| b == 0) {
            Some(nul) => {
                self.at += nul + 1;
                Ok(&window[..nul])
            }
            None if rest.len() < max => Err(BodyError::Truncated(field)),
            None => Err(BodyError::Unterminated(field)),
        }
    }

    fn octets(&mut self, field: &'static str, len: usize) -> Result<&'a [u8], BodyError> {
        let end = self
            .at
            .checked_add(len)
            .ok_or(BodyError::Truncated(field))?;
        let out = self
            .body
            .get(self.at..end)
            .ok_or(BodyError::Truncated(field))?;
        self.at = end;
        Ok(out)
    }

    /// The TLVs up to the end of the body. A TLV whose length runs past the end is
    /// dropped with everything after it: the octets before it are still good.
    fn tlvs(&mut self, out: &mut ReceiptTlvs<'a>) {
        while self.body.len() - self.at >= 4 {
            let b = &self.body[self.at..];
            let tag = u16::from_be_bytes([b[0], b[1]]);
            let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
            let Some(value) = b.get(4..4 + len) else {
                break;
            };
            out.take_raw(tag, value);
            self.at += 4 + len;
        }
    }
}

impl<'a> ReceiptFields<'a> {
    /// Walks a raw deliver_sm (0x00000005) or data_sm (0x00000103) body — the octets
    /// after the 16-octet header — leniently: C-strings are bounded by their SMPP
    /// maxima, TLV values are read whatever their length.
    pub fn from_body(command_id: u32, body: &'a [u8]) -> Result<Self, BodyError> {
        let command = match command_id {
            0x0000_0005 => ReceiptCommand::DeliverSm,
            0x0000_0103 => ReceiptCommand::DataSm,
            other => return Err(BodyError::NotDeliverOrData(other)),
        };
        let mut c = Cursor { body, at: 0 };
        c.c_string("service_type", 6)?;
        c.octets("source_addr_ton/npi", 2)?;
        c.c_string("source_addr", 21)?;
        c.octets("dest_addr_ton/npi", 2)?;
        c.c_string("destination_addr", 21)?;
        let esm_class = c.octet("esm_class")?;
        let (data_coding, short_message) = match command {
            ReceiptCommand::DeliverSm => {
                c.octets("protocol_id/priority_flag", 2)?;
                c.c_string("schedule_delivery_time", 17)?;
                c.c_string("validity_period", 17)?;
                c.octets("registered_delivery/replace_if_present_flag", 2)?;
                let data_coding = c.octet("data_coding")?;
                c.octet("sm_default_msg_id")?;
                let sm_length = c.octet("sm_length")?;
                (
                    data_coding,
                    c.octets("short_message", usize::from(sm_length))?,
                )
            }
            ReceiptCommand::DataSm => {
                c.octet("registered_delivery")?;
                (c.octet("data_coding")?, &[][..])
            }
        };
        let mut tlvs = ReceiptTlvs::default();
        c.tlvs(&mut tlvs);
        Ok(ReceiptFields {
            command,
            esm_class,
            data_coding,
            short_message,
            tlvs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_error_code_takes_three_or_two_octets() {
        assert_eq!(
            NetworkError::from_octets(&[3, 0, 0x0B]),
            Some(NetworkError {
                network_type: Some(3),
                code: 11
            })
        );
        assert_eq!(
            NetworkError::from_octets(&[0x04, 0x01]).map(|e| e.code),
            Some(0x0401)
        );
        assert_eq!(NetworkError::from_octets(&[1]), None);
    }

    #[test]
    fn receipted_message_id_with_or_without_nul() {
        let mut tlvs = ReceiptTlvs::default();
        tlvs.take_raw(tag::RECEIPTED_MESSAGE_ID, b"abc\0");
        assert_eq!(tlvs.receipted_message_id, Some(&b"abc"[..]));
        let mut tlvs = ReceiptTlvs::default();
        tlvs.take_raw(tag::RECEIPTED_MESSAGE_ID, b"abc");
        tlvs.take_raw(tag::RECEIPTED_MESSAGE_ID, b"second");
        assert_eq!(tlvs.receipted_message_id, Some(&b"abc"[..]));
    }

    #[test]
    fn a_body_that_ends_early_is_reported() {
        assert_eq!(
            ReceiptFields::from_body(5, b"\0\x01\x01123"),
            Err(BodyError::Truncated("source_addr"))
        );
        assert_eq!(
            ReceiptFields::from_body(4, b""),
            Err(BodyError::NotDeliverOrData(4))
        );
    }
}
