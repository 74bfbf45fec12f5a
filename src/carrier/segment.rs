//! Building a segment's submit_sm from the fields the MT flow knows, with the carrier's
//! defaults (destination TON/NPI) applied.

use rusmpp::pdus::SubmitSm;
use rusmpp::tlvs::MessageSubmissionRequestTlvValue;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, Npi, RegisteredDelivery, Ton};

use crate::config::Carrier;

/// What one segment carries. The MT flow fills it from its text plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFields {
    /// The business sender (digits or alphanumeric).
    pub source: String,
    /// TON of the source (5 alphanumeric, 1 international, 3 network-specific for short
    /// codes, …).
    pub source_ton: u8,
    /// NPI of the source.
    pub source_npi: u8,
    /// The subscriber, digits without '+'.
    pub destination: String,
    /// data_coding (0 GSM default, 8 UCS-2, …).
    pub data_coding: u8,
    /// esm_class (0x40 when `user_data` starts with a UDH).
    pub esm_class: u8,
    /// registered_delivery (1 to ask for a receipt).
    pub registered_delivery: u8,
    /// The user data, UDH included (at most 254 octets).
    pub user_data: Vec<u8>,
    /// SAR TLVs (reference, total, sequence) when concatenation uses SAR instead of UDH.
    pub sar: Option<(u16, u8, u8)>,
}

/// Why a segment could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// An address is empty, longer than 20 characters or not ASCII.
    #[error("address {0:?} does not fit an SMPP address field")]
    Address(String),
    /// The user data is longer than 254 octets.
    #[error("user data of {0} octets does not fit short_message")]
    TooLong(usize),
}

impl SegmentFields {
    /// The submit_sm body for `carrier` (its destination TON/NPI applied).
    pub fn to_submit_sm(&self, carrier: &Carrier) -> Result<SubmitSm, SegmentError> {
        let address = |a: &str| {
            COctetString::<1, 21>::from_string(a.to_string())
                .map_err(|_| SegmentError::Address(a.to_string()))
        };
        if self.user_data.len() > 254 {
            return Err(SegmentError::TooLong(self.user_data.len()));
        }
        let short_message = OctetString::from_vec(self.user_data.clone())
            .map_err(|_| SegmentError::TooLong(self.user_data.len()))?;
        let tlvs = self
            .sar
            .map(|(reference, total, seq)| {
                vec![
                    MessageSubmissionRequestTlvValue::SarMsgRefNum(reference),
                    MessageSubmissionRequestTlvValue::SarTotalSegments(total),
                    MessageSubmissionRequestTlvValue::SarSegmentSeqnum(seq),
                ]
            })
            .unwrap_or_default();
        Ok(SubmitSm::builder()
            .source_addr_ton(Ton::from(self.source_ton))
            .source_addr_npi(Npi::from(self.source_npi))
            .source_addr(address(&self.source)?)
            .dest_addr_ton(Ton::from(carrier.dest_ton))
            .dest_addr_npi(Npi::from(carrier.dest_npi))
            .destination_addr(address(&self.destination)?)
            .esm_class(EsmClass::from(self.esm_class))
            .registered_delivery(RegisteredDelivery::from(self.registered_delivery))
            .data_coding(DataCoding::from(self.data_coding))
            .short_message(short_message)
            .tlvs(tlvs)
            .build())
    }
}
