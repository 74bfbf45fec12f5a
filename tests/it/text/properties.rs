//! Properties of planning for any text on any route: what the handset shows is the text
//! (after NFC), every part fits one SMS, nothing indivisible is split, and the count is
//! the minimum a brute-force model finds over every encoding the route allows.

use std::collections::HashSet;

use proptest::prelude::*;
use smsbridge::text::{
    Alphabet, Concatenation, Encoding, Gsm7Tables, Plan, RouteProfile, Segment, ShiftLanguage,
    TextError, nfc, plan,
};
use unicode_segmentation::UnicodeSegmentation;

use super::received_text;

const GSM: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const ESCAPED: &[&str] = &["{", "}", "€", "[", "]", "~", "^", "|", "\\", "\u{0C}"];
const NATIONAL: &[&str] = &[
    "ş", "ı", "ğ", "İ", "Ş", "Ğ", "ç", "á", "í", "ó", "ú", "Á", "ê", "ã", "õ", "â", "À", "Ê", "`",
    "º",
];
const CLUSTERS: &[&str] = &[
    "😀",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🇺🇸",
    "🏳️‍🌈",
    "1️⃣",
    "❤️",
    "e\u{301}",
    "q\u{303}",
    "a\u{308}\u{323}",
    "\r\n",
    "क्ष",
    "각",
];

fn gsm_piece() -> impl Strategy<Value = String> {
    let chars: Vec<String> = GSM.chars().map(String::from).collect();
    prop_oneof![
        8 => prop::sample::select(chars),
        1 => prop::sample::select(ESCAPED).prop_map(String::from),
        1 => Just("\r\n".to_owned()),
    ]
}

fn any_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => gsm_piece(),
        1 => prop::sample::select(NATIONAL).prop_map(String::from),
        1 => prop::sample::select(CLUSTERS).prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
        1 => prop::char::range('\u{400}', '\u{4ff}').prop_map(String::from),
    ]
}

fn national_piece() -> impl Strategy<Value = String> {
    prop_oneof![6 => gsm_piece(), 1 => prop::sample::select(NATIONAL).prop_map(String::from)]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(gsm_piece(), 1..1100),
        prop::collection::vec(national_piece(), 1..700),
        prop::collection::vec(any_piece(), 1..400),
    ]
    .prop_map(|pieces| pieces.concat())
}

fn profile() -> impl Strategy<Value = RouteProfile> {
    (
        prop::sample::select(Alphabet::ALL),
        any::<bool>(),
        prop::sample::select(Concatenation::ALL),
        prop::sample::subsequence(ShiftLanguage::ALL, 0..=3),
    )
        .prop_map(
            |(alphabet, gsm7_packed, concatenation, shift_tables)| RouteProfile {
                alphabet,
                gsm7_packed,
                concatenation,
                shift_tables,
                smart_encoding: false,
            },
        )
}

/// Units a cluster costs in the plan's encoding.
fn cost(plan: &Plan, cluster: &str) -> Option<u32> {
    let tables = Gsm7Tables {
        locking: plan.locking_shift,
        single: plan.single_shift,
    };
    cluster
        .chars()
        .map(|c| unit_cost(plan.encoding, tables, c))
        .sum()
}

fn unit_cost(encoding: Encoding, tables: Gsm7Tables, c: char) -> Option<u32> {
    match encoding {
        Encoding::Gsm7 => tables.cost(c),
        Encoding::Latin1 => (u32::from(c) < 0x100).then_some(1),
        Encoding::Ia5 => c.is_ascii().then_some(1),
        Encoding::Ucs2 => Some(c.len_utf16() as u32),
        Encoding::Binary | Encoding::Unsupported => None,
    }
}

/// Capacities (one segment alone, each of several) from the reference table.
fn capacities(encoding: Encoding, shift_ies: usize, method: Concatenation) -> (u32, u32) {
    let wide = matches!(method, Concatenation::Udh16 | Concatenation::Sar);
    match encoding {
        Encoding::Gsm7 => {
            let single = [160, 155, 152][shift_ies];
            let multi = if wide {
                [152, 148, 145]
            } else {
                [153, 149, 146]
            }[shift_ies];
            (single, multi)
        }
        Encoding::Ucs2 => (70, if wide { 66 } else { 67 }),
        _ => (140, if wide { 133 } else { 134 }),
    }
}

/// Greedy count over indivisible pieces: clusters, or the characters of a cluster that
/// fits no segment.
fn model_count(
    text: &str,
    encoding: Encoding,
    tables: Gsm7Tables,
    method: Concatenation,
) -> Option<usize> {
    let mut clusters = Vec::new();
    for g in text.graphemes(true) {
        let costs: Vec<u32> = g
            .chars()
            .map(|c| unit_cost(encoding, tables, c))
            .collect::<Option<_>>()?;
        clusters.push(costs);
    }
    let (single, multi) = capacities(encoding, tables.shift_ies(), method);
    if clusters.iter().flatten().sum::<u32>() <= single {
        return Some(1);
    }
    let mut atoms = Vec::new();
    for c in clusters {
        let total: u32 = c.iter().sum();
        if total > multi {
            atoms.extend(c)
        } else {
            atoms.push(total)
        }
    }
    let (mut count, mut used) = (1, 0);
    for a in atoms {
        if used + a > multi {
            count += 1;
            used = 0;
        }
        used += a;
    }
    Some(count)
}

fn model_minimum(text: &str, profile: &RouteProfile) -> usize {
    let base = match profile.alphabet {
        Alphabet::Gsm7 => Encoding::Gsm7,
        Alphabet::Latin1 => Encoding::Latin1,
        Alphabet::Ia5 => Encoding::Ia5,
    };
    let mut options = vec![
        (base, Gsm7Tables::DEFAULT),
        (Encoding::Ucs2, Gsm7Tables::DEFAULT),
    ];
    if profile.alphabet == Alphabet::Gsm7 {
        let lockings = profile
            .shift_tables
            .iter()
            .filter(|l| l.has_locking_table())
            .map(|&l| Some(l));
        for locking in std::iter::once(None).chain(lockings) {
            for single in std::iter::once(None).chain(profile.shift_tables.iter().map(|&l| Some(l)))
            {
                options.push((Encoding::Gsm7, Gsm7Tables { locking, single }));
            }
        }
    }
    options
        .into_iter()
        .filter_map(|(e, t)| model_count(text, e, t, profile.concatenation))
        .min()
        .expect("UCS-2 always works")
}

/// Octets a part takes over the air, counting the UDH the SMSC adds for SAR.
fn air_octets(plan: &Plan, part: &Segment) -> usize {
    let sm = &part.short_message;
    let udh = if part.udhi { usize::from(sm[0]) + 1 } else { 0 };
    let air_udh = udh
        + if part.sar.is_some() {
            if udh == 0 { 7 } else { 6 }
        } else {
            0
        };
    match plan.encoding {
        Encoding::Gsm7 => {
            let septets = if plan.gsm7_packed {
                part.units as usize
            } else {
                sm.len() - udh
            };
            ((air_udh * 8).div_ceil(7) * 7 + septets * 7).div_ceil(8)
        }
        _ => air_udh + sm.len() - udh,
    }
}

fn check_no_forbidden_split(plan: &Plan, sent: &str) {
    let boundaries: HashSet<usize> = sent.grapheme_indices(true).map(|(i, _)| i).collect();
    let mut offset = 0;
    for part in &plan.parts[..plan.parts.len() - 1] {
        offset += part.text.len();
        if !boundaries.contains(&offset) {
            let (_, cluster) = sent
                .grapheme_indices(true)
                .rev()
                .find(|(i, _)| *i < offset)
                .unwrap();
            let units = cost(plan, cluster).unwrap();
            assert!(
                units > plan.units_per_segment,
                "cluster {cluster:?} ({units} units) split at {offset}"
            );
        }
        let sm = &part.short_message;
        match plan.encoding {
            Encoding::Gsm7 if !plan.gsm7_packed => {
                assert_ne!(sm.last(), Some(&0x1B), "part ends on ESC")
            }
            Encoding::Ucs2 => {
                let last = u16::from_be_bytes([sm[sm.len() - 2], sm[sm.len() - 1]]);
                assert!(
                    !(0xD800..0xDC00).contains(&last),
                    "part ends on a high surrogate"
                );
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn plans_deliver_the_text_in_the_fewest_segments_that_fit(text in text(), profile in profile()) {
        let normalized = nfc(&text).into_owned();
        let characters = normalized.chars().count();
        let p = match plan(&text, &profile) {
            Err(TextError::TooLong { characters: counted, limit }) => {
                prop_assert_eq!((counted, limit), (characters, 1000));
                prop_assert!(characters > 1000);
                return Ok(());
            }
            other => other.unwrap(),
        };
        prop_assert_eq!(p.characters, characters);
        prop_assert!(p.segments <= 255);
        if !(profile.gsm7_packed && normalized.ends_with('\r')) {
            // Packed GSM7 cannot tell a final CR from fill (TS 23.038 §6.1.2.3.1).
            prop_assert_eq!(received_text(&p, &profile), normalized.clone());
        }
        let sent: String = p.parts.iter().map(|s| s.text.as_str()).collect();
        prop_assert_eq!(&sent, &normalized);
        if profile.concatenation == Concatenation::MessagePayload {
            prop_assert_eq!(p.parts.len(), 1);
        } else {
            prop_assert_eq!(p.parts.len(), p.segments);
            for part in &p.parts {
                prop_assert!(air_octets(&p, part) <= 140, "part {} takes {} octets", part.seqnum, air_octets(&p, part));
            }
            check_no_forbidden_split(&p, &sent);
        }
        if !profile.gsm7_packed {
            // Packed parts may end one character early to keep a CR out of the fill position.
            prop_assert_eq!(p.segments, model_minimum(&normalized, &profile));
        }
    }
}
