//! The whole GSM 03.38 default alphabet and extension table, both ways. The expected
//! table is written out here from TS 23.038 §6.2.1, apart from the module's own tables.

use smsbridge::text::{Alphabet, Encoding, InboundMessage, decode, plan};
use unicode_normalization::UnicodeNormalization;

use super::gsm;

/// TS 23.038 §6.2.1, septets 0x00–0x7F in order (0x1B is the escape).
const DEFAULT_ALPHABET: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1B}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// TS 23.038 §6.2.1.1: the characters reached by ESC.
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

fn gsm_mo(septets: &[u8]) -> InboundMessage<'_> {
    InboundMessage {
        data_coding: 0x00,
        short_message: septets,
        message_payload: None,
        udhi: false,
        sar: None,
        alphabet: Alphabet::Gsm7,
        gsm7_packed: false,
    }
}

#[test]
fn the_default_alphabet_has_128_septets() {
    assert_eq!(DEFAULT_ALPHABET.chars().count(), 128);
}

#[test]
fn every_default_alphabet_character_encodes_to_its_septet_and_back() {
    for (septet, c) in DEFAULT_ALPHABET
        .chars()
        .enumerate()
        .filter(|(s, _)| *s != 0x1B)
    {
        let text = c.to_string();
        let p = plan(&text, &gsm()).unwrap();
        assert_eq!(p.encoding, Encoding::Gsm7, "{c:?}");
        assert_eq!(p.parts[0].short_message, [septet as u8], "{c:?}");
        assert_eq!(p.units_used, 1, "{c:?}");
        assert_eq!(
            decode(&gsm_mo(&[septet as u8])).text,
            text,
            "septet {septet:#04x}"
        );
    }
}

#[test]
fn every_extension_character_costs_an_escape_and_comes_back() {
    for (septet, c) in EXTENSION {
        let p = plan(&c.to_string(), &gsm()).unwrap();
        assert_eq!(p.encoding, Encoding::Gsm7, "{c:?}");
        assert_eq!(p.parts[0].short_message, [0x1B, septet], "{c:?}");
        assert_eq!(p.units_used, 2, "{c:?}");
        assert_eq!(decode(&gsm_mo(&[0x1B, septet])).text, c.to_string());
    }
}

#[test]
fn the_whole_table_in_one_message_round_trips_packed_and_unpacked() {
    let text: String = DEFAULT_ALPHABET
        .chars()
        .filter(|&c| c != '\u{1B}')
        .chain(EXTENSION.iter().map(|&(_, c)| c))
        .collect();
    for packed in [false, true] {
        let profile = smsbridge::text::RouteProfile {
            gsm7_packed: packed,
            ..gsm()
        };
        let p = plan(&text, &profile).unwrap();
        assert_eq!(
            (p.encoding, p.segments),
            (Encoding::Gsm7, 1),
            "packed {packed}"
        );
        assert_eq!(p.units_used, 127 + 20);
        assert_eq!(super::received_text(&p, &profile), text, "packed {packed}");
    }
}

#[test]
fn escape_before_a_septet_without_extension_shows_the_default_character() {
    // TS 23.038 §6.2.1.1: a handset shows the default table's character instead.
    assert_eq!(decode(&gsm_mo(&[0x1B, 0x41, 0x1B, 0x00])).text, "A@");
}

#[test]
fn characters_outside_both_tables_need_ucs2() {
    let in_tables =
        |c: char| DEFAULT_ALPHABET.contains(c) || EXTENSION.iter().any(|&(_, e)| e == c);
    let candidates = (0u32..0x500)
        .chain(0x2000..0x2100)
        .chain([0x1F600, 0x20AC, 0xFFFD]);
    for c in candidates.filter_map(char::from_u32) {
        let text = c.to_string();
        // Characters that NFC rewrites are checked through what they become.
        if text.nfc().collect::<String>() != text || c == '\u{1B}' || in_tables(c) {
            continue;
        }
        let p = plan(&text, &gsm()).unwrap();
        assert_eq!(p.encoding, Encoding::Ucs2, "{c:?} U+{:04X}", c as u32);
    }
}
