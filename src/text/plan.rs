//! Outbound planning: from the text an agent typed to the `submit_sm` contents that carry
//! it, in the encoding that needs the fewest segments on the route.

use std::borrow::Cow;

use serde::Serialize;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use super::TextError;
use super::gsm7;
use super::layout::{self, Layout, Scheme};
use super::profile::{Concatenation, Encoding, RouteProfile, ShiftLanguage};
use super::smart::{self, Replacement};
use super::udh::{self, ConcatInfo, ReferenceWidth, Sar};

/// The compose limit: Unicode scalar values after NFC.
pub const MAX_CHARACTERS: usize = 1000;
/// `data_coding` for the carrier's default alphabet.
pub const DATA_CODING_DEFAULT: u8 = 0x00;
/// `data_coding` for UCS-2.
pub const DATA_CODING_UCS2: u8 = 0x08;
/// The esm_class bit that says the user data starts with a UDH.
pub const ESM_CLASS_UDHI: u8 = 0x40;

/// What a segment's `units` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// GSM 7-bit septets.
    Septet,
    /// Octets (Latin-1, IA5).
    Octet,
    /// UTF-16 code units (an emoji outside the BMP takes two).
    Utf16,
}

/// One `submit_sm`'s worth of a planned message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Position of this part, 1-based.
    pub seqnum: u8,
    /// The text this part carries, for display.
    pub text: String,
    /// Units of text in this part, UDH not included.
    pub units: u32,
    /// The `short_message` octets, UDH included; empty when `message_payload` is used.
    #[serde(serialize_with = "hex")]
    pub short_message: Vec<u8>,
    /// The whole message for a `message_payload` TLV (UDH included when shift IEs are).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex_opt")]
    pub message_payload: Option<Vec<u8>>,
    /// Whether the user data starts with a UDH: set [`ESM_CLASS_UDHI`] in esm_class.
    pub udhi: bool,
    /// SAR TLV values, when the route concatenates with SAR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sar: Option<Sar>,
}

impl Segment {
    /// The esm_class bits this part needs (0x40 with a UDH, else 0).
    pub fn esm_class(&self) -> u8 {
        if self.udhi { ESM_CLASS_UDHI } else { 0 }
    }
}

/// How a text leaves on a route: what a compose box shows and what the binds send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The encoding chosen.
    pub encoding: Encoding,
    /// The `data_coding` of every part: 0x00 for the carrier's default alphabet, 0x08 for UCS-2.
    pub data_coding: u8,
    /// Locking shift table in use (announced in every part's UDH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locking_shift: Option<ShiftLanguage>,
    /// Single shift table in use (announced in every part's UDH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_shift: Option<ShiftLanguage>,
    /// Whether GSM7 septets are packed.
    pub gsm7_packed: bool,
    /// How the parts are tied together.
    pub concatenation: Concatenation,
    /// The concatenation reference, `None` for a preview or a single segment.
    pub reference: Option<u16>,
    /// Unicode scalar values of the text after NFC (what the 1000 limit counts).
    pub characters: usize,
    /// SMS segments the handset receives (and the carrier bills).
    pub segments: usize,
    /// What `units_*` count.
    pub unit: Unit,
    /// Units one segment holds, as the message is split.
    pub units_per_segment: u32,
    /// Units used in the last segment.
    pub units_used: u32,
    /// Units still free in the last segment.
    pub units_remaining: u32,
    /// Whether smart encoding replaced characters to avoid UCS-2.
    pub smart_encoded: bool,
    /// The characters smart encoding replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replacements: Vec<Replacement>,
    /// What to submit: one entry per `submit_sm` (a single one for `message_payload`).
    pub parts: Vec<Segment>,
}

impl Plan {
    /// Whether the parts carry a concatenation reference worth allocating.
    pub fn needs_reference(&self) -> bool {
        self.segments > 1 && self.concatenation != Concatenation::MessagePayload
    }
}

/// Plans `text` for a preview: parts carry reference 0 (`Plan::reference` is `None`).
pub fn plan(text: &str, profile: &RouteProfile) -> Result<Plan, TextError> {
    plan_inner(text, profile, None)
}

/// Plans `text` with a concatenation reference from a
/// [`ReferenceAllocator`](super::ReferenceAllocator); an 8-bit UDH keeps its low octet.
pub fn plan_with_reference(
    text: &str,
    profile: &RouteProfile,
    reference: u16,
) -> Result<Plan, TextError> {
    plan_inner(text, profile, Some(reference))
}

/// `text` in NFC, borrowed when it already is (always for ASCII).
pub fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii()
        || text.chars().all(is_nfc_starter)
        || is_nfc_quick(text.chars()) == IsNormalized::Yes
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// Characters common in messages that are NFC starters (quick check Yes, combining class
/// 0): a text made only of them is in NFC. Checking these ranges is several times faster
/// than the general quick check, which looks every character up in two tables; a unit
/// test checks every character of the ranges against the normalisation crate.
#[inline]
fn is_nfc_starter(c: char) -> bool {
    let v = u32::from(c);
    // The two commonest cases first: Latin text and emoji.
    v < 0x0300
        || (0x1F000..=0x1FAFF).contains(&v)
        || matches!(
            v,
            0x0391..=0x03A9
                | 0x0400..=0x0482
                | 0x048A..=0x052F
                | 0x2010..=0x2027
                | 0x2030..=0x205E
                | 0x20A0..=0x20C0
                | 0x2190..=0x21FF
                | 0x2600..=0x27BF
                | 0x200D
                | 0x20E3
                | 0xFE0F
                | 0x3041..=0x3096
                | 0x30A1..=0x30FA
                | 0x4E00..=0x9FFF
                | 0xAC00..=0xD7A3
        )
}

fn plan_inner(
    text: &str,
    profile: &RouteProfile,
    reference: Option<u16>,
) -> Result<Plan, TextError> {
    let normalized = nfc(text);
    let characters = normalized.chars().count();
    if characters > MAX_CHARACTERS {
        return Err(TextError::TooLong {
            characters,
            limit: MAX_CHARACTERS,
        });
    }
    if characters == 0 {
        return Err(TextError::Empty);
    }
    let chosen = layout::choose(&normalized, profile);
    if profile.smart_encoding
        && chosen.scheme == Scheme::Ucs2
        && let Some((substituted, replacements)) = smart::substitute(&normalized)
        && !substituted.is_empty()
    {
        let alternative = layout::choose(&substituted, profile);
        if alternative.scheme != Scheme::Ucs2 {
            let mut plan = build(&substituted, &alternative, profile, reference, characters);
            plan.smart_encoded = true;
            plan.replacements = replacements;
            return Ok(plan);
        }
    }
    Ok(build(&normalized, &chosen, profile, reference, characters))
}

fn build(
    text: &str,
    layout: &Layout,
    profile: &RouteProfile,
    reference: Option<u16>,
    characters: usize,
) -> Plan {
    let scheme = layout.scheme;
    let tables = scheme.tables();
    let segments = layout.cuts.len();
    let last = layout.cuts[segments - 1];
    let parts = if profile.concatenation == Concatenation::MessagePayload {
        vec![payload_part(
            text,
            scheme,
            profile.gsm7_packed,
            layout.cuts.iter().map(|c| c.units).sum(),
        )]
    } else {
        layout
            .cuts
            .iter()
            .enumerate()
            .map(|(i, cut)| {
                let concat = (segments > 1).then(|| ConcatInfo {
                    reference: reference.unwrap_or(0),
                    width: layout::sent_concat(profile.concatenation)
                        .unwrap_or(ReferenceWidth::Sar),
                    total: segments as u8,
                    seqnum: (i + 1) as u8,
                });
                short_message_part(
                    &text[cut.start..cut.end],
                    cut.units,
                    scheme,
                    profile,
                    concat,
                )
            })
            .collect()
    };
    Plan {
        encoding: scheme.encoding(),
        data_coding: if scheme == Scheme::Ucs2 {
            DATA_CODING_UCS2
        } else {
            DATA_CODING_DEFAULT
        },
        locking_shift: tables.locking,
        single_shift: tables.single,
        gsm7_packed: profile.gsm7_packed && matches!(scheme, Scheme::Gsm7(_)),
        concatenation: profile.concatenation,
        reference: reference
            .filter(|_| segments > 1 && profile.concatenation != Concatenation::MessagePayload),
        characters,
        segments,
        unit: match scheme {
            Scheme::Gsm7(_) => Unit::Septet,
            Scheme::Latin1 | Scheme::Ia5 => Unit::Octet,
            Scheme::Ucs2 => Unit::Utf16,
        },
        units_per_segment: layout.capacity,
        units_used: last.units,
        units_remaining: layout.capacity - last.units,
        smart_encoded: false,
        replacements: Vec::new(),
        parts,
    }
}

fn short_message_part(
    text: &str,
    units: u32,
    scheme: Scheme,
    profile: &RouteProfile,
    concat: Option<ConcatInfo>,
) -> Segment {
    let tables = scheme.tables();
    let mut short_message = Vec::with_capacity(16 + 2 * text.len());
    let header = match (concat, profile.concatenation) {
        (Some(c), Concatenation::Udh8) => Some((ReferenceWidth::Udh8, c)),
        (Some(c), Concatenation::Udh16) => Some((ReferenceWidth::Udh16, c)),
        _ => None,
    };
    udh::write(header, tables, &mut short_message);
    let header_len = short_message.len();
    encode(text, units, scheme, profile.gsm7_packed, &mut short_message);
    let sar = match (concat, profile.concatenation) {
        (Some(c), Concatenation::Sar) => Some(Sar {
            reference: c.reference,
            total: c.total,
            seqnum: c.seqnum,
        }),
        _ => None,
    };
    Segment {
        seqnum: concat.map_or(1, |c| c.seqnum),
        text: text.to_owned(),
        units,
        short_message,
        message_payload: None,
        udhi: header_len > 0,
        sar,
    }
}

fn payload_part(text: &str, scheme: Scheme, packed: bool, units: u32) -> Segment {
    let mut payload = Vec::with_capacity(8 + 2 * text.len());
    udh::write(None, scheme.tables(), &mut payload);
    let udhi = !payload.is_empty();
    encode(text, units, scheme, packed, &mut payload);
    Segment {
        seqnum: 1,
        text: text.to_owned(),
        units,
        short_message: Vec::new(),
        message_payload: Some(payload),
        udhi,
        sar: None,
    }
}

/// Appends `text` (`units` long) in `scheme` to `out`, which already holds the UDH (if any).
fn encode(text: &str, units: u32, scheme: Scheme, packed: bool, out: &mut Vec<u8>) {
    match scheme {
        Scheme::Gsm7(tables) => {
            let header_len = out.len();
            let mut septets = Vec::new();
            let target = if packed { &mut septets } else { &mut *out };
            for c in text.chars() {
                tables
                    .encode_char(c)
                    .expect("the layout checked every character")
                    .push_to(target);
            }
            if packed {
                gsm7::pack(&septets, header_len, out);
            }
        }
        // The layout admitted only characters below U+0100 (Latin-1) or U+0080 (IA5).
        Scheme::Latin1 | Scheme::Ia5 => out.extend(text.chars().map(|c| u32::from(c) as u8)),
        Scheme::Ucs2 => {
            // Sized once, then filled: no capacity check per code unit.
            let start = out.len();
            out.resize(start + 2 * units as usize, 0);
            for (octets, unit) in out[start..].chunks_exact_mut(2).zip(text.encode_utf16()) {
                octets.copy_from_slice(&unit.to_be_bytes());
            }
        }
    }
}

fn hex<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&HexDisplay(bytes))
}

fn hex_opt<S: serde::Serializer>(
    bytes: &Option<Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => hex(b, serializer),
        None => serializer.serialize_none(),
    }
}

/// Octets as lower-case hex, the way SMPP traces show them.
pub struct HexDisplay<'a>(pub &'a [u8]);

impl std::fmt::Display for HexDisplay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nfc_fast_path_admits_only_nfc_starters() {
        let starters = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| is_nfc_starter(c));
        for c in starters {
            let quick = is_nfc_quick(std::iter::once(c));
            let class = unicode_normalization::char::canonical_combining_class(c);
            assert!(
                quick == IsNormalized::Yes && class == 0,
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn single_gsm_segment_has_no_udh() {
        let p = plan("Hello @ world", &RouteProfile::default()).unwrap();
        assert_eq!(
            (p.encoding, p.data_coding, p.segments),
            (Encoding::Gsm7, 0x00, 1)
        );
        assert_eq!(p.parts[0].short_message[6], 0x00, "@ is septet 0x00");
        assert!(!p.parts[0].udhi);
        assert_eq!((p.units_used, p.units_remaining), (13, 147));
    }

    #[test]
    fn long_text_gets_8_bit_concatenation_headers() {
        let text = "x".repeat(200);
        let p = plan_with_reference(&text, &RouteProfile::default(), 0x1A7).unwrap();
        assert_eq!(p.segments, 2);
        assert_eq!(p.reference, Some(0x1A7));
        assert_eq!(
            &p.parts[1].short_message[..6],
            &[0x05, 0x00, 0x03, 0xA7, 0x02, 0x02]
        );
        assert_eq!(p.parts[0].units, 153);
        assert_eq!(p.parts[0].esm_class(), ESM_CLASS_UDHI);
    }

    #[test]
    fn sar_parts_carry_tlv_values_and_no_udh() {
        let profile = RouteProfile {
            concatenation: Concatenation::Sar,
            ..Default::default()
        };
        let p = plan_with_reference(&"y".repeat(160 + 1), &profile, 0xBEEF).unwrap();
        assert_eq!(p.segments, 2);
        assert_eq!(p.parts[0].units, 152);
        assert_eq!(
            p.parts[1].sar,
            Some(Sar {
                reference: 0xBEEF,
                total: 2,
                seqnum: 2
            })
        );
        assert!(!p.parts[1].udhi);
        assert_eq!(p.parts[1].short_message, b"yyyyyyyyy");
    }

    #[test]
    fn message_payload_is_one_part_with_the_segment_count_over_the_air() {
        let profile = RouteProfile {
            concatenation: Concatenation::MessagePayload,
            ..Default::default()
        };
        let p = plan(&"z".repeat(400), &profile).unwrap();
        assert_eq!((p.segments, p.parts.len()), (3, 1));
        assert_eq!(p.parts[0].message_payload.as_ref().map(Vec::len), Some(400));
        assert!(p.parts[0].short_message.is_empty());
        assert_eq!(p.reference, None);
    }

    #[test]
    fn smart_encoding_avoids_ucs2_and_says_so() {
        let profile = RouteProfile {
            smart_encoding: true,
            ..Default::default()
        };
        let p = plan("It\u{2019}s fine", &profile).unwrap();
        assert_eq!(p.encoding, Encoding::Gsm7);
        assert!(p.smart_encoded);
        assert_eq!(p.parts[0].text, "It's fine");
        assert_eq!(p.replacements[0].original, '\u{2019}');
        // An emoji needs UCS-2 anyway, so nothing is replaced.
        let p = plan("It\u{2019}s fine \u{1F600}", &profile).unwrap();
        assert_eq!((p.encoding, p.smart_encoded), (Encoding::Ucs2, false));
    }

    #[test]
    fn latin1_carrier_uses_its_default_alphabet() {
        let profile = RouteProfile {
            alphabet: super::super::Alphabet::Latin1,
            ..Default::default()
        };
        let p = plan("ça coûte 5 €", &profile).unwrap();
        assert_eq!(p.encoding, Encoding::Ucs2, "€ is not Latin-1");
        let p = plan("ça coûte 5 ¤", &profile).unwrap();
        assert_eq!((p.encoding, p.data_coding), (Encoding::Latin1, 0x00));
        assert_eq!(p.parts[0].short_message[0], 0xE7);
    }

    #[test]
    fn too_long_text_is_refused_with_its_count() {
        let err = plan(&"a".repeat(1001), &RouteProfile::default()).unwrap_err();
        assert!(matches!(
            err,
            TextError::TooLong {
                characters: 1001,
                limit: 1000
            }
        ));
        assert!(plan(&"a".repeat(1000), &RouteProfile::default()).is_ok());
    }
}
