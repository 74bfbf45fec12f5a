//! Planning at every capacity boundary, and at the compose limit.

use smsbridge::text::{
    Concatenation, Encoding, Plan, RouteProfile, ShiftLanguage, TextError, plan,
    plan_with_reference,
};

use super::{gsm, received_text};

fn segments(text: &str, profile: &RouteProfile) -> (Encoding, usize) {
    let p = plan(text, profile).unwrap();
    (p.encoding, p.segments)
}

fn units(p: &Plan) -> Vec<u32> {
    p.parts.iter().map(|s| s.units).collect()
}

fn udh16() -> RouteProfile {
    RouteProfile {
        concatenation: Concatenation::Udh16,
        ..gsm()
    }
}

#[test]
fn gsm_fills_160_septets_alone_and_153_with_an_8_bit_header() {
    let g = gsm();
    assert_eq!(segments(&"a".repeat(160), &g), (Encoding::Gsm7, 1));
    assert_eq!(units(&plan(&"a".repeat(161), &g).unwrap()), [153, 8]);
    assert_eq!(segments(&"a".repeat(306), &g), (Encoding::Gsm7, 2));
    assert_eq!(segments(&"a".repeat(307), &g), (Encoding::Gsm7, 3));
}

#[test]
fn gsm_with_a_16_bit_header_holds_152_septets() {
    assert_eq!(
        units(&plan(&"a".repeat(304), &udh16()).unwrap()),
        [152, 152]
    );
    assert_eq!(segments(&"a".repeat(305), &udh16()), (Encoding::Gsm7, 3));
    let sar = RouteProfile {
        concatenation: Concatenation::Sar,
        ..gsm()
    };
    assert_eq!(units(&plan(&"a".repeat(305), &sar).unwrap()), [152, 152, 1]);
}

#[test]
fn ucs2_fills_70_units_alone_67_and_66_with_headers() {
    let g = gsm();
    assert_eq!(segments(&"ж".repeat(70), &g), (Encoding::Ucs2, 1));
    assert_eq!(units(&plan(&"ж".repeat(71), &g).unwrap()), [67, 4]);
    assert_eq!(segments(&"ж".repeat(134), &g), (Encoding::Ucs2, 2));
    assert_eq!(segments(&"ж".repeat(135), &g), (Encoding::Ucs2, 3));
    assert_eq!(
        units(&plan(&"ж".repeat(133), &udh16()).unwrap()),
        [66, 66, 1]
    );
}

#[test]
fn an_escape_is_never_split_from_its_character() {
    // 152 septets, then € (ESC + 0x65) would take septets 153 and 154.
    let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
    let p = plan(&text, &gsm()).unwrap();
    assert_eq!(units(&p), [152, 12]);
    assert_eq!(*p.parts[0].short_message.last().unwrap(), b'a');
    assert_eq!(&p.parts[1].short_message[6..8], [0x1B, 0x65]);
    assert_eq!(received_text(&p, &gsm()), text);
    // One septet earlier the escape fits exactly.
    let text = format!("{}€{}", "a".repeat(151), "b".repeat(10));
    assert_eq!(units(&plan(&text, &gsm()).unwrap()), [153, 10]);
}

#[test]
fn a_surrogate_pair_is_never_split() {
    // 66 units, then 😀 (two units) would take units 67 and 68.
    let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(5));
    let p = plan(&text, &gsm()).unwrap();
    assert_eq!(units(&p), [66, 7]);
    assert_eq!(p.parts[1].text.chars().next(), Some('😀'));
    assert_eq!(received_text(&p, &gsm()), text);
    let text = format!("{}😀{}", "ж".repeat(65), "ж".repeat(5));
    assert_eq!(units(&plan(&text, &gsm()).unwrap()), [67, 5]);
}

#[test]
fn emoji_sequences_flags_and_combining_marks_stay_whole() {
    for cluster in ["👨‍👩‍👧‍👦", "🇺🇸", "👍🏽", "q\u{0303}", "🏳️‍🌈", "1️⃣"]
    {
        let cluster_units = cluster.encode_utf16().count();
        for before in 60..67 {
            let text = format!("{}{cluster}{}", "ж".repeat(before), "ж".repeat(80));
            let p = plan(&text, &gsm()).unwrap();
            let cluster_at = "ж".len() * before..("ж".len() * before + cluster.len());
            let mut offset = 0;
            for part in &p.parts {
                offset += part.text.len();
                assert!(
                    !(cluster_at.start < offset && offset < cluster_at.end),
                    "{cluster} split after {before}"
                );
            }
            if before + cluster_units > 67 {
                assert_eq!(
                    p.parts[1].text.strip_prefix(cluster).map(|_| ()),
                    Some(()),
                    "{cluster} at {before}"
                );
            }
            assert_eq!(received_text(&p, &gsm()), text);
        }
    }
}

#[test]
fn a_cluster_longer_than_a_segment_is_cut_between_characters_not_units() {
    // 40 family emoji joined by ZWJ: one grapheme cluster of 40 × 11 − 1 units.
    let family = "👨‍👩‍👧‍👦";
    let cluster = vec![family; 40].join("\u{200D}");
    let text = format!("hi {cluster}");
    let p = plan(&text, &gsm()).unwrap();
    assert_eq!(p.encoding, Encoding::Ucs2);
    // The cluster is cut where each segment is full (a pair may leave one unit free).
    assert!(
        p.parts[..p.parts.len() - 1]
            .iter()
            .all(|part| part.units >= 66),
        "{:?}",
        units(&p)
    );
    for part in &p.parts[..p.parts.len() - 1] {
        let last = u16::from_be_bytes([
            part.short_message[part.short_message.len() - 2],
            *part.short_message.last().unwrap(),
        ]);
        assert!(
            !(0xD800..0xDC00).contains(&last),
            "part {} ends inside a surrogate pair",
            part.seqnum
        );
    }
    assert_eq!(received_text(&p, &gsm()), text);
}

#[test]
fn the_compose_limit_counts_characters_after_nfc() {
    let g = gsm();
    let p = plan(&"a".repeat(1000), &g).unwrap();
    assert_eq!((p.characters, p.segments), (1000, 7));
    assert!(matches!(
        plan(&"a".repeat(1001), &g),
        Err(TextError::TooLong {
            characters: 1001,
            limit: 1000
        })
    ));
    // 1000 "é" typed as e + combining acute: 2000 scalar values, 1000 after NFC.
    let decomposed = "e\u{0301}".repeat(1000);
    let p = plan(&decomposed, &g).unwrap();
    assert_eq!((p.characters, p.encoding), (1000, Encoding::Gsm7));
    assert_eq!(received_text(&p, &g), "é".repeat(1000));
    // Emoji count as one character each, whatever their UTF-16 length.
    // 33 emoji (66 units) per segment, since the 67th unit cannot hold half of one.
    let p = plan(&"😀".repeat(1000), &g).unwrap();
    assert_eq!((p.characters, p.segments), (1000, 31));
    assert!(matches!(
        plan(&"😀".repeat(1001), &g),
        Err(TextError::TooLong {
            characters: 1001,
            ..
        })
    ));
    assert!(matches!(plan("", &g), Err(TextError::Empty)));
}

#[test]
fn the_compose_box_sees_units_left_in_the_last_segment() {
    let p = plan(&"a".repeat(170), &gsm()).unwrap();
    assert_eq!(
        (
            p.segments,
            p.units_per_segment,
            p.units_used,
            p.units_remaining
        ),
        (2, 153, 17, 136)
    );
    let p = plan("hi 😀", &gsm()).unwrap();
    assert_eq!((p.units_used, p.units_remaining), (5, 65));
}

#[test]
fn turkish_shift_tables_cut_a_ucs2_message_in_half() {
    let text = "Siparişiniz yarın öğleden önce teslim edilecektir, teşekkür ederiz. ".repeat(4);
    let plain = plan(&text, &gsm()).unwrap();
    let turkish = RouteProfile {
        shift_tables: vec![ShiftLanguage::Turkish],
        ..gsm()
    };
    let shifted = plan(&text, &turkish).unwrap();
    assert_eq!(plain.encoding, Encoding::Ucs2);
    assert_eq!(shifted.encoding, Encoding::Gsm7);
    assert!(
        shifted.segments < plain.segments,
        "{} vs {}",
        shifted.segments,
        plain.segments
    );
    // Every part announces the Turkish table(s): locking (0x25) or single (0x24) shift IE.
    for part in &shifted.parts {
        let udh = &part.short_message[..usize::from(part.short_message[0]) + 1];
        assert!(
            udh.windows(3)
                .any(|w| w == [0x24, 0x01, 0x01] || w == [0x25, 0x01, 0x01]),
            "{udh:02x?}"
        );
    }
    assert_eq!(received_text(&shifted, &turkish), text);
}

#[test]
fn spanish_single_shift_carries_accented_vowels() {
    let text = "Su pedido llegará mañana. Gracias por su compra, ¿algo más? ".repeat(3);
    let spanish = RouteProfile {
        shift_tables: vec![ShiftLanguage::Spanish],
        ..gsm()
    };
    let p = plan(&text, &spanish).unwrap();
    assert_eq!(
        (p.encoding, p.single_shift, p.locking_shift),
        (Encoding::Gsm7, Some(ShiftLanguage::Spanish), None)
    );
    assert_eq!(received_text(&p, &spanish), text);
}

#[test]
fn the_reference_lands_in_every_header() {
    let p = plan_with_reference(&"a".repeat(400), &udh16(), 0xABCD).unwrap();
    for (i, part) in p.parts.iter().enumerate() {
        assert_eq!(
            &part.short_message[..7],
            [0x06, 0x08, 0x04, 0xAB, 0xCD, 3, i as u8 + 1]
        );
    }
    assert!(p.needs_reference());
    assert!(!plan("short", &gsm()).unwrap().needs_reference());
}
