//! Inbound decoding: from a `deliver_sm`'s data_coding, user data, UDH and TLVs to text.
//!
//! Decoding happens in two steps so that reassembly can sit in between: [`parse`] reads
//! the header and the coding of one part ([`MoPart`], what the pending store keeps), and
//! [`decode_parts`] joins the raw units of consecutive parts before turning them into
//! text, so that an escape or a surrogate pair split across two parts decodes right.
//! Nothing is dropped: undecodable units become U+FFFD and the raw octets are kept.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::gsm7::{self, Gsm7Tables};
use super::profile::{Alphabet, Encoding, ShiftLanguage};
use super::udh::{self, ConcatInfo, Ports, ReferenceWidth, Sar};

/// What a `deliver_sm` (or `data_sm`) brings that decoding needs.
#[derive(Debug, Clone, Copy)]
pub struct InboundMessage<'a> {
    /// The PDU's data_coding.
    pub data_coding: u8,
    /// `short_message` (empty when the text came in `message_payload`).
    pub short_message: &'a [u8],
    /// The `message_payload` TLV, which wins over `short_message` when present.
    pub message_payload: Option<&'a [u8]>,
    /// esm_class had UDHI (0x40) set.
    pub udhi: bool,
    /// SAR TLVs, when all three were present.
    pub sar: Option<Sar>,
    /// The carrier's alphabet for data_coding 0x00.
    pub alphabet: Alphabet,
    /// Whether the carrier packs GSM7 septets.
    pub gsm7_packed: bool,
}

/// How one part's user data is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coding {
    /// The data_coding as received.
    pub data_coding: u8,
    /// What it means on this carrier.
    pub encoding: Encoding,
    /// GSM7 septets packed.
    pub gsm7_packed: bool,
    /// NLI of a locking shift IE.
    pub locking_nli: Option<u8>,
    /// NLI of a single shift IE.
    pub single_nli: Option<u8>,
}

/// One received part, not yet decoded: what the pending-parts store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoPart {
    /// How the user data is coded.
    pub coding: Coding,
    /// Where the part sits in its message (UDH first, then SAR TLVs).
    pub concat: Option<ConcatInfo>,
    /// Application ports from the UDH.
    pub ports: Option<Ports>,
    /// The user data as received, UDH included. Kept as hex: as a JSON array of
    /// numbers a 140-octet part was about 500 characters, and reading such arrays back
    /// was a tenth of the gateway's event-loop time in 3-part MO.
    #[serde(with = "hex_body")]
    pub body: Vec<u8>,
    /// Octets of UDH at the start of `body` (0 when none or unreadable).
    pub header_len: usize,
    /// UDHI was set but the header did not fit: the body is decoded as if it had none.
    pub header_error: bool,
}

/// `MoPart::body` as a hex string; reads the array of numbers that builds before this
/// one wrote too, so parts pending at an upgrade still join their message.
mod hex_body {
    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(&hex::encode(body))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Vec<u8>, D::Error> {
        input.deserialize_any(Body)
    }

    struct Body;

    impl<'de> Visitor<'de> for Body {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("user data as a hex string or an array of octets")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            hex::decode(v).map_err(E::custom)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut body = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(256));
            while let Some(octet) = seq.next_element::<u8>()? {
                body.push(octet);
            }
            Ok(body)
        }
    }
}

/// A decoded message (or part, or reassembled message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoded {
    /// The text, with U+FFFD where units could not be decoded; empty for binary data.
    pub text: String,
    /// The encoding the text came in.
    pub encoding: Encoding,
    /// The data_coding as received.
    pub data_coding: u8,
    /// Binary user data (data_coding 0x02/0x04, 8-bit DCS groups), kept as octets.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "base64_opt")]
    pub binary: Option<Vec<u8>>,
    /// The raw user data (UDH included), base64, whenever something was undecodable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_base64: Option<String>,
    /// Concatenation of the (first) part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concat: Option<ConcatInfo>,
    /// Application ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<Ports>,
}

/// What data_coding means: SMPP's own values below 0x10, the GSM DCS groups above.
pub fn encoding_of(data_coding: u8, alphabet: Alphabet) -> Encoding {
    let by_alphabet_bits = |dc: u8| match (dc >> 2) & 0x03 {
        0 => Encoding::Gsm7,
        1 => Encoding::Binary,
        2 => Encoding::Ucs2,
        _ => Encoding::Unsupported,
    };
    match data_coding {
        0x00 => match alphabet {
            Alphabet::Gsm7 => Encoding::Gsm7,
            Alphabet::Latin1 => Encoding::Latin1,
            Alphabet::Ia5 => Encoding::Ia5,
        },
        0x01 => Encoding::Ia5,
        0x02 | 0x04 => Encoding::Binary,
        0x03 => Encoding::Latin1,
        0x08 => Encoding::Ucs2,
        0x05..=0x07 | 0x09..=0x0F => Encoding::Unsupported,
        // General data coding and automatic deletion groups; bit 5 means compressed.
        0x10..=0x7F if data_coding & 0x20 != 0 => Encoding::Unsupported,
        0x10..=0x7F => by_alphabet_bits(data_coding),
        0x80..=0xBF => Encoding::Unsupported,
        // Message waiting indication groups: discard/store with GSM7, store with UCS-2.
        0xC0..=0xDF => Encoding::Gsm7,
        0xE0..=0xEF => Encoding::Ucs2,
        // Message class group: bit 2 selects 8-bit data over GSM7.
        0xF0..=0xFF if data_coding & 0x04 != 0 => Encoding::Binary,
        0xF0..=0xFF => Encoding::Gsm7,
    }
}

/// Reads one part's header and coding, without decoding its text.
pub fn parse(msg: &InboundMessage<'_>) -> MoPart {
    let body = msg.message_payload.unwrap_or(msg.short_message);
    let header = if msg.udhi {
        Some(udh::parse(body))
    } else {
        None
    };
    let parsed = match header {
        Some(Ok(h)) => h,
        _ => udh::ParsedUdh::default(),
    };
    let sar = msg
        .sar
        .map(|s| ConcatInfo {
            reference: s.reference,
            width: ReferenceWidth::Sar,
            total: s.total,
            seqnum: s.seqnum,
        })
        .filter(ConcatInfo::is_valid);
    MoPart {
        coding: Coding {
            data_coding: msg.data_coding,
            encoding: encoding_of(msg.data_coding, msg.alphabet),
            gsm7_packed: msg.gsm7_packed,
            locking_nli: parsed.locking_nli,
            single_nli: parsed.single_nli,
        },
        concat: parsed.concat.or(sar),
        ports: parsed.ports,
        body: body.to_vec(),
        header_len: parsed.len,
        header_error: matches!(header, Some(Err(_))),
    }
}

/// Decodes a single (not concatenated, or not yet joined) message.
pub fn decode(msg: &InboundMessage<'_>) -> Decoded {
    decode_parts(std::slice::from_ref(&parse(msg)))
}

/// Decodes parts given in order: the raw units of neighbours with the same coding are
/// joined before decoding. Parts that do not follow each other (a missing part between)
/// are decoded separately and their texts put one after the other.
pub fn decode_parts(parts: &[MoPart]) -> Decoded {
    let Some(first) = parts.first() else {
        return Decoded {
            text: String::new(),
            encoding: Encoding::Unsupported,
            data_coding: 0,
            binary: None,
            raw_base64: None,
            concat: None,
            ports: None,
        };
    };
    let mut text = String::new();
    let mut binary: Option<Vec<u8>> = None;
    let mut undecodable = parts.iter().any(|p| p.header_error);
    let mut units = Vec::new();
    let mut run_start = 0;
    for i in 0..parts.len() {
        units_of(&parts[i], &mut units);
        let run_ends = parts
            .get(i + 1)
            .is_none_or(|next| !continues(&parts[i], next));
        if run_ends {
            let coding = parts[run_start].coding;
            if coding.encoding == Encoding::Binary {
                binary
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(&units);
            } else {
                undecodable |= decode_units(coding, &units, &mut text);
            }
            units.clear();
            run_start = i + 1;
        }
    }
    let raw_base64 = undecodable.then(|| {
        let raw: Vec<u8> = parts.iter().flat_map(|p| p.body.iter().copied()).collect();
        BASE64.encode(raw)
    });
    Decoded {
        text,
        encoding: first.coding.encoding,
        data_coding: first.coding.data_coding,
        binary,
        raw_base64,
        concat: first.concat,
        ports: first.ports,
    }
}

/// Whether `next` is the part right after `part`, coded the same way.
fn continues(part: &MoPart, next: &MoPart) -> bool {
    let adjacent = match (part.concat, next.concat) {
        (Some(a), Some(b)) => u16::from(a.seqnum) + 1 == u16::from(b.seqnum),
        _ => false,
    };
    adjacent && part.coding == next.coding
}

/// Appends the part's user data as units: septets one per octet, or octets.
fn units_of(part: &MoPart, out: &mut Vec<u8>) {
    if part.coding.encoding == Encoding::Gsm7 && part.coding.gsm7_packed {
        gsm7::unpack(&part.body, part.header_len, out);
    } else {
        out.extend_from_slice(&part.body[part.header_len..]);
    }
}

/// Appends the text of `units`; returns whether anything was undecodable.
fn decode_units(coding: Coding, units: &[u8], out: &mut String) -> bool {
    match coding.encoding {
        Encoding::Gsm7 => {
            let table =
                |nli: Option<u8>| nli.map(|n| ShiftLanguage::from_nli(n).ok_or(n)).transpose();
            match (table(coding.locking_nli), table(coding.single_nli)) {
                (Ok(locking), Ok(single)) => Gsm7Tables { locking, single }.decode(units, out),
                // A language whose tables smsbridge lacks: the default tables show most
                // of it, and the raw octets are kept.
                _ => {
                    Gsm7Tables::DEFAULT.decode(units, out);
                    true
                }
            }
        }
        Encoding::Latin1 => {
            out.extend(units.iter().map(|&b| char::from(b)));
            false
        }
        Encoding::Ia5 => {
            let mut bad = false;
            out.extend(units.iter().map(|&b| {
                bad |= b > 0x7F;
                if b > 0x7F {
                    char::REPLACEMENT_CHARACTER
                } else {
                    char::from(b)
                }
            }));
            bad
        }
        Encoding::Ucs2 => decode_utf16(units, out),
        Encoding::Binary | Encoding::Unsupported => {
            if !units.is_empty() {
                out.push(char::REPLACEMENT_CHARACTER);
            }
            !units.is_empty()
        }
    }
}

/// UTF-16 big-endian; lone surrogates and an odd last octet become U+FFFD.
fn decode_utf16(octets: &[u8], out: &mut String) -> bool {
    let pairs = octets.chunks_exact(2);
    let odd = !pairs.remainder().is_empty();
    let mut bad = odd;
    let code_units = pairs.map(|p| u16::from_be_bytes([p[0], p[1]]));
    for c in char::decode_utf16(code_units) {
        out.push(c.unwrap_or_else(|_| {
            bad = true;
            char::REPLACEMENT_CHARACTER
        }));
    }
    if odd {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    bad
}

fn base64_opt<S: serde::Serializer>(
    bytes: &Option<Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => serializer.serialize_str(&BASE64.encode(b)),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_part_is_kept_with_hex_user_data_and_read_back_from_either_form() {
        let part = MoPart {
            coding: Coding {
                data_coding: 0,
                encoding: Encoding::Gsm7,
                gsm7_packed: true,
                locking_nli: None,
                single_nli: None,
            },
            concat: None,
            ports: None,
            body: vec![0x05, 0x00, 0x03, 0x2a, 0x02, 0x01, 0xc8],
            header_len: 6,
            header_error: false,
        };
        let kept = serde_json::to_value(&part).unwrap();
        assert_eq!(kept["body"], "0500032a0201c8");
        assert_eq!(
            serde_json::from_value::<MoPart>(kept.clone()).unwrap(),
            part
        );
        // What earlier builds wrote: the octets as numbers.
        let mut earlier = kept;
        earlier["body"] = serde_json::json!([5, 0, 3, 42, 2, 1, 200]);
        assert_eq!(
            serde_json::from_value::<MoPart>(earlier.clone()).unwrap(),
            part
        );
        earlier["body"] = serde_json::json!("0g");
        assert!(serde_json::from_value::<MoPart>(earlier).is_err());
    }
    use super::*;

    fn mo(data_coding: u8, short_message: &[u8], udhi: bool) -> InboundMessage<'_> {
        InboundMessage {
            data_coding,
            short_message,
            message_payload: None,
            udhi,
            sar: None,
            alphabet: Alphabet::Gsm7,
            gsm7_packed: false,
        }
    }

    #[test]
    fn data_coding_groups() {
        assert_eq!(encoding_of(0x00, Alphabet::Latin1), Encoding::Latin1);
        assert_eq!(encoding_of(0x04, Alphabet::Gsm7), Encoding::Binary);
        assert_eq!(encoding_of(0x18, Alphabet::Gsm7), Encoding::Ucs2);
        assert_eq!(encoding_of(0xF0, Alphabet::Latin1), Encoding::Gsm7);
        assert_eq!(encoding_of(0xF6, Alphabet::Gsm7), Encoding::Binary);
        assert_eq!(encoding_of(0x06, Alphabet::Gsm7), Encoding::Unsupported);
    }

    #[test]
    fn ucs2_with_a_lone_surrogate_keeps_the_raw_octets() {
        let d = decode(&mo(0x08, &[0x00, 0x41, 0xD8, 0x3D, 0x00, 0x42], false));
        assert_eq!(d.text, "A\u{FFFD}B");
        assert_eq!(d.raw_base64.as_deref(), Some("AEHYPQBC"));
    }

    #[test]
    fn binary_is_kept_as_octets() {
        let d = decode(&mo(0x04, &[0xDE, 0xAD], false));
        assert_eq!(
            (d.text.as_str(), d.binary.as_deref()),
            ("", Some(&[0xDE, 0xAD][..]))
        );
        assert_eq!(d.raw_base64, None);
    }

    #[test]
    fn udh_is_skipped_and_read() {
        let d = decode(&mo(
            0x00,
            &[0x05, 0x00, 0x03, 0x07, 0x02, 0x01, 0x48, 0x69],
            true,
        ));
        assert_eq!(d.text, "Hi");
        assert_eq!(
            d.concat.map(|c| (c.reference, c.total, c.seqnum)),
            Some((7, 2, 1))
        );
    }

    #[test]
    fn a_header_that_overruns_is_decoded_as_text_and_kept_raw() {
        let d = decode(&mo(0x00, &[0x09, 0x48, 0x69], true));
        assert_eq!(d.text.chars().count(), 3);
        assert!(d.raw_base64.is_some());
    }

    #[test]
    fn an_escape_split_across_parts_decodes_after_joining() {
        let part = |seq: u8, data: &[u8]| {
            let mut body = vec![0x05, 0x00, 0x03, 0x01, 0x02, seq];
            body.extend_from_slice(data);
            parse(&mo(0x00, &body, true))
        };
        let d = decode_parts(&[part(1, &[0x41, 0x1B]), part(2, &[0x65, 0x42])]);
        assert_eq!(d.text, "A€B");
        assert_eq!(d.raw_base64, None);
    }

    #[test]
    fn turkish_shift_ies_select_the_tables() {
        let d = decode(&mo(0x00, &[0x03, 0x24, 0x01, 0x01, 0x1B, 0x73, 0x07], true));
        // Single shift Turkish: ESC 0x73 is ş; 0x07 stays ì in the default locking table.
        assert_eq!(d.text, "şì");
    }
}
