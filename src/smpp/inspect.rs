//! `smsbridge pdu <hex>`: decode one PDU for an operator reading a packet capture or a
//! carrier's support ticket.

use bytes::BytesMut;

use super::frame::{self, Decoded, FramingError};

/// Why a hex PDU could not be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// Not an even number of hex digits.
    #[error("not hex: {0}")]
    NotHex(String),
    /// Fewer octets than the header's command_length.
    #[error("incomplete: the header announces more octets than given")]
    Incomplete,
    /// A header no session would accept.
    #[error("{0}")]
    Framing(#[from] FramingError),
    /// Octets left after the PDU.
    #[error("{0} octets after the PDU")]
    Trailing(usize),
}

fn parse_hex(text: &str) -> Result<Vec<u8>, InspectError> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = digits.trim_start_matches("0x");
    if !digits.len().is_multiple_of(2) {
        return Err(InspectError::NotHex("odd number of digits".into()));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| InspectError::NotHex(digits[i..i + 2].to_string()))
        })
        .collect()
}

/// Decodes a hex PDU (spaces allowed) into a readable description.
pub fn describe_hex(text: &str) -> Result<String, InspectError> {
    let mut buf = BytesMut::from(parse_hex(text)?.as_slice());
    let decoded = frame::decode(&mut buf, u32::MAX)?.ok_or(InspectError::Incomplete)?;
    if !buf.is_empty() {
        return Err(InspectError::Trailing(buf.len()));
    }
    Ok(match decoded {
        Decoded::Frame(frame) => format!("{frame:#?}"),
        Decoded::Invalid { header, fault } => format!("{header:#?}\nbody refused: {fault}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_an_enquire_link() {
        let text = describe_hex("00000010 00000015 00000000 00000007").unwrap();
        assert!(text.contains("EnquireLink"), "{text}");
        assert!(text.contains("sequence: 7"), "{text}");
    }

    #[test]
    fn reports_what_is_wrong() {
        assert!(matches!(
            describe_hex("0000"),
            Err(InspectError::Incomplete)
        ));
        assert!(matches!(describe_hex("zz"), Err(InspectError::NotHex(_))));
        let text = describe_hex("00000014 00000015 00000000 00000001 00000000").unwrap();
        assert!(text.contains("body refused"), "{text}");
    }
}
