//! Strict SMPP framing: bytes ⇄ [`Frame`].
//!
//! A frame is exactly `command_length` octets: a 16-octet header and a body. The decoder
//! refuses a length below 16 or above the configured cap *before* it reserves any memory,
//! splits off exactly `command_length` octets, and decodes the body (with rusmpp's body
//! decoders) from that exact-size buffer, requiring every octet to be consumed. A body that
//! does not parse is reported as [`Decoded::Invalid`] with the header intact, so the session
//! can answer `generic_nack` (or the request's error response) and carry on with the next
//! frame: a bad body never desynchronises the stream. Only a bad header (a length outside
//! 16..=max) is a [`FramingError`], after which the byte stream cannot be trusted and the
//! connection is closed.
//!
//! rusmpp's own `CommandCodec` is deliberately not used: it decodes from the whole read
//! buffer rather than from the frame, so a malformed body can swallow the next PDU, and
//! its first error ends the stream.

use bytes::{Buf, BufMut, BytesMut};
use rusmpp::{
    CommandId, CommandStatus, Pdu,
    decode::{DecodeError, DecodeErrorKind, DecodeWithKeyOptional},
    encode::{Length, owned::Encode},
    tlvs::Tlv,
};

/// Octets in an SMPP header: command_length, command_id, command_status, sequence_number.
pub const HEADER_LEN: usize = 16;

/// The default cap on a frame's `command_length`, in octets.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 65_536;

/// The largest value a TLV's 16-bit length field can carry (`message_payload` included).
pub const MAX_TLV_VALUE_LEN: usize = u16::MAX as usize;

/// The fixed part of every PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total frame length in octets, header included.
    pub command_length: u32,
    /// The operation (bit 31 set for responses).
    pub command_id: CommandId,
    /// ESME_ROK in requests; the outcome in responses.
    pub command_status: CommandStatus,
    /// Correlates a response with its request.
    pub sequence_number: u32,
}

/// One decoded PDU: its header fields and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The operation.
    pub command_id: CommandId,
    /// ESME_ROK in requests; the outcome in responses.
    pub status: CommandStatus,
    /// Correlates a response with its request.
    pub sequence: u32,
    /// The body; `None` for a response that came with an empty body (error responses
    /// usually carry no message_id).
    pub pdu: Option<Pdu>,
}

impl Frame {
    /// A request or response carrying `pdu`; the command id comes from the PDU.
    pub fn new(status: CommandStatus, sequence: u32, pdu: impl Into<Pdu>) -> Self {
        let pdu = pdu.into();
        Self {
            command_id: pdu.command_id(),
            status,
            sequence,
            pdu: Some(pdu),
        }
    }

    /// A header-only frame: an error response or `generic_nack` with no body.
    pub fn empty(command_id: CommandId, status: CommandStatus, sequence: u32) -> Self {
        Self {
            command_id,
            status,
            sequence,
            pdu: None,
        }
    }

    /// Length of the encoded frame in octets.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.pdu.as_ref().map_or(0, Length::length)
    }
}

/// Why a header could not be trusted. The connection must be closed: the position of the
/// next frame in the stream is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A `command_length` below 16, which cannot even hold a header.
    #[error("command_length {0} is shorter than a PDU header")]
    TooShort(u32),
    /// A `command_length` above the configured cap; refused before any allocation.
    #[error("command_length {length} exceeds the cap of {max} octets")]
    TooLong {
        /// The length the peer announced.
        length: u32,
        /// The configured cap.
        max: u32,
    },
}

/// Why a frame's body was refused while its header was fine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyFault {
    /// A command id this implementation does not know.
    #[error("unknown command id {0:#010x}")]
    UnknownCommand(u32),
    /// A PDU that has no body (enquire_link, unbind, …) arrived with one.
    #[error("{0:?} must not carry a body")]
    UnexpectedBody(CommandId),
    /// The body was shorter than its fields need, or a field was malformed (a C-string
    /// with no NUL, a TLV whose length runs past the body, an over-long octet string).
    #[error("malformed body: {0}")]
    Malformed(String),
    /// The fields parsed but octets were left over before `command_length`.
    #[error("{0} octets left over after the body")]
    TrailingOctets(usize),
}

impl BodyFault {
    /// The command_status to answer with (in `generic_nack` or the request's response).
    pub fn status(&self) -> CommandStatus {
        match self {
            Self::UnknownCommand(_) => CommandStatus::EsmeRinvcmdid,
            Self::UnexpectedBody(_) | Self::Malformed(_) | Self::TrailingOctets(_) => {
                CommandStatus::EsmeRinvcmdlen
            }
        }
    }
}

/// The result of decoding one complete frame.
// The large variant is the common one; boxing it would allocate for every frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A well-formed PDU.
    Frame(Frame),
    /// A frame whose header is fine and whose body is not; the stream stays in sync.
    Invalid {
        /// The frame's header.
        header: Header,
        /// What was wrong with the body.
        fault: BodyFault,
    },
}

/// Why a frame could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A TLV value longer than its 16-bit length field can express (a `message_payload`
    /// over 65,535 octets); rusmpp would silently wrap the length.
    #[error("TLV {tag:#06x} is {len} octets, more than a TLV length can carry (65535)")]
    TlvTooLong {
        /// The TLV's tag.
        tag: u16,
        /// Its value length.
        len: usize,
    },
    /// The frame would exceed the peer-facing frame cap.
    #[error("frame of {len} octets exceeds the cap of {max}")]
    TooLong {
        /// The encoded length.
        len: usize,
        /// The cap.
        max: u32,
    },
}

/// Reads the 16-octet header at the start of `buf` without consuming it.
fn peek_header(buf: &[u8]) -> Header {
    let word = |i: usize| u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    Header {
        command_length: word(0),
        command_id: CommandId::from(word(4)),
        command_status: CommandStatus::from(word(8)),
        sequence_number: word(12),
    }
}

/// Splits the next complete frame off `buf` and decodes it.
///
/// Returns `Ok(None)` while the frame is incomplete; `buf` then holds at least as much
/// capacity as the frame needs (reserved only after the length passed the cap check).
pub fn decode(buf: &mut BytesMut, max_len: u32) -> Result<Option<Decoded>, FramingError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let length = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if length < HEADER_LEN as u32 {
        return Err(FramingError::TooShort(length));
    }
    if length > max_len {
        return Err(FramingError::TooLong {
            length,
            max: max_len,
        });
    }
    let length = length as usize;
    if buf.len() < length {
        buf.reserve(length - buf.len());
        return Ok(None);
    }
    let mut frame = buf.split_to(length);
    let header = peek_header(&frame);
    frame.advance(HEADER_LEN);
    Ok(Some(decode_body(header, frame)))
}

/// Decodes a body from a buffer that holds exactly the body's octets.
fn decode_body(header: Header, mut body: BytesMut) -> Decoded {
    let id = header.command_id;
    let body_len = body.len();
    let invalid = |fault| Decoded::Invalid { header, fault };
    if let CommandId::Other(raw) = id {
        return invalid(BodyFault::UnknownCommand(raw));
    }
    let pdu = match Pdu::decode(id, &mut body, body_len) {
        Ok(Some((pdu, _))) => Some(pdu),
        // An empty body for a PDU that normally has one: acceptable for responses (error
        // responses often carry no message_id), not for requests.
        Ok(None) if body_len == 0 && id.is_response() => None,
        Ok(None) if body_len == 0 => return invalid(BodyFault::Malformed("empty body".into())),
        Ok(None) => return invalid(BodyFault::UnexpectedBody(id)),
        Err(err) => return invalid(BodyFault::Malformed(describe(&err))),
    };
    if !body.is_empty() {
        return invalid(BodyFault::TrailingOctets(body.len()));
    }
    Decoded::Frame(Frame {
        command_id: id,
        status: header.command_status,
        sequence: header.sequence_number,
        pdu,
    })
}

fn describe(err: &DecodeError) -> String {
    match err.kind() {
        DecodeErrorKind::UnexpectedEof => "body ends inside a field".to_string(),
        kind => kind.to_string(),
    }
}

/// The TLVs a PDU carries, for the length check before encoding.
fn tlvs(pdu: &Pdu) -> &[Tlv] {
    match pdu {
        Pdu::SubmitSm(p) => p.tlvs(),
        Pdu::DeliverSm(p) => p.tlvs(),
        Pdu::DataSm(p) => p.tlvs(),
        Pdu::SubmitMulti(p) => p.tlvs(),
        Pdu::BroadcastSm(p) => p.tlvs(),
        Pdu::SubmitSmResp(p) => p.tlvs(),
        Pdu::DeliverSmResp(p) => p.tlvs(),
        Pdu::DataSmResp(p) => p.tlvs(),
        _ => &[],
    }
}

/// Checks that every TLV's value fits its 16-bit length field.
pub fn check_tlv_lengths(pdu: &Pdu) -> Result<(), EncodeError> {
    for tlv in tlvs(pdu) {
        let len = tlv.value().map_or(0, Length::length);
        if len > MAX_TLV_VALUE_LEN {
            return Err(EncodeError::TlvTooLong {
                tag: u16::from(tlv.tag()),
                len,
            });
        }
    }
    Ok(())
}

/// Appends the encoded frame to `dst`.
///
/// Fails (writing nothing) when a TLV is too long for its length field or the frame is
/// longer than `max_len`.
pub fn encode(frame: &Frame, dst: &mut BytesMut, max_len: u32) -> Result<(), EncodeError> {
    if let Some(pdu) = &frame.pdu {
        check_tlv_lengths(pdu)?;
    }
    let len = frame.encoded_len();
    if len > max_len as usize {
        return Err(EncodeError::TooLong { len, max: max_len });
    }
    dst.reserve(len);
    dst.put_u32(len as u32);
    dst.put_u32(u32::from(frame.command_id));
    dst.put_u32(u32::from(frame.status));
    dst.put_u32(frame.sequence);
    if let Some(pdu) = &frame.pdu {
        pdu.encode(dst);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusmpp::pdus::SubmitSm;
    use rusmpp::tlvs::MessageSubmissionRequestTlvValue;
    use rusmpp::types::AnyOctetString;
    use rusmpp::values::MessagePayload;

    fn roundtrip(frame: &Frame) -> Decoded {
        let mut buf = BytesMut::new();
        encode(frame, &mut buf, DEFAULT_MAX_FRAME_LEN).unwrap();
        let decoded = decode(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
        assert!(buf.is_empty());
        decoded
    }

    #[test]
    fn enquire_link_roundtrips() {
        let frame = Frame::new(CommandStatus::EsmeRok, 7, Pdu::EnquireLink);
        assert_eq!(roundtrip(&frame), Decoded::Frame(frame));
    }

    #[test]
    fn empty_error_response_is_accepted() {
        let frame = Frame::empty(CommandId::SubmitSmResp, CommandStatus::EsmeRthrottled, 9);
        assert_eq!(roundtrip(&frame), Decoded::Frame(frame));
    }

    #[test]
    fn partial_frame_waits_for_more() {
        let mut buf = BytesMut::new();
        let frame = Frame::new(CommandStatus::EsmeRok, 1, Pdu::EnquireLink);
        encode(&frame, &mut buf, 64).unwrap();
        let mut head = buf.split_to(10);
        assert_eq!(decode(&mut head, 64).unwrap(), None);
        head.unsplit(buf);
        assert!(matches!(decode(&mut head, 64), Ok(Some(Decoded::Frame(_)))));
    }

    #[test]
    fn oversized_message_payload_is_refused() {
        let mut sm = SubmitSm::default();
        let payload = AnyOctetString::from_bytes(bytes::Bytes::from(vec![b'a'; 70_000]));
        sm.push_tlv(MessageSubmissionRequestTlvValue::MessagePayload(
            MessagePayload::new(payload),
        ));
        let frame = Frame::new(CommandStatus::EsmeRok, 1, sm);
        let mut buf = BytesMut::new();
        let err = encode(&frame, &mut buf, u32::MAX).unwrap_err();
        assert!(matches!(err, EncodeError::TlvTooLong { len: 70_000, .. }));
        assert!(buf.is_empty());
    }

    #[test]
    fn length_cap_is_checked_before_reserving() {
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
        let err = decode(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap_err();
        assert!(matches!(err, FramingError::TooLong { .. }));
        assert!(buf.capacity() < 1024);
    }
}
