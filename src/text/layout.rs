//! Where segments start and end: the cost of each character in each encoding, the
//! capacity of a segment, the cuts, and the choice of the encoding with fewest segments.
//!
//! Cutting is greedy: each segment takes the longest run of text that fits and ends on a
//! grapheme cluster boundary. For a fixed order of indivisible pieces and a fixed capacity
//! that is the fewest segments possible, so the count is the minimum for each encoding,
//! and the chooser then takes the minimum over the encodings the route allows.

use unicode_segmentation::GraphemeCursor;

use super::gsm7::{self, Gsm7Tables};
use super::profile::{Alphabet, Concatenation, Encoding, RouteProfile, ShiftLanguage};
use super::udh::{self, ReferenceWidth};

/// Octets of user data in one SMS over the air.
const AIR_OCTETS: u32 = 140;
/// Septets of user data in one SMS over the air.
const AIR_SEPTETS: u32 = 160;

/// An encoding with the tables it uses: the thing segments are cut for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// GSM 7-bit through these tables.
    Gsm7(Gsm7Tables),
    /// ISO-8859-1, one octet per character.
    Latin1,
    /// IA5, one octet per character.
    Ia5,
    /// UTF-16 big-endian, what handsets do with data_coding 0x08.
    Ucs2,
}

impl Scheme {
    pub(crate) fn encoding(self) -> Encoding {
        match self {
            Scheme::Gsm7(_) => Encoding::Gsm7,
            Scheme::Latin1 => Encoding::Latin1,
            Scheme::Ia5 => Encoding::Ia5,
            Scheme::Ucs2 => Encoding::Ucs2,
        }
    }

    pub(crate) fn tables(self) -> Gsm7Tables {
        match self {
            Scheme::Gsm7(t) => t,
            _ => Gsm7Tables::DEFAULT,
        }
    }

    /// Units that fit in one SMS whose UDH is `header_octets` long (0 for none).
    pub(crate) fn capacity(self, header_octets: usize) -> u32 {
        match self {
            Scheme::Gsm7(_) => AIR_SEPTETS - gsm7::header_septets(header_octets) as u32,
            Scheme::Latin1 | Scheme::Ia5 => AIR_OCTETS - header_octets as u32,
            Scheme::Ucs2 => (AIR_OCTETS - header_octets as u32) / 2,
        }
    }
}

/// One segment: a byte range of the text and the units it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) units: u32,
}

/// How a text is split in one scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) scheme: Scheme,
    pub(crate) cuts: Vec<Cut>,
    /// Units a segment of this layout holds (the last one included).
    pub(crate) capacity: u32,
    /// Whether some character costs two units through the GSM escape.
    escapes: bool,
}

/// The concatenation IE that will head each part over the air. SAR values are turned
/// into a UDH by the SMSC, and `sar_msg_ref_num` holds 16 bits, so SAR parts keep room
/// for the 16-bit IE; a `message_payload` is usually split with the 8-bit IE.
fn air_concat(method: Concatenation) -> ReferenceWidth {
    match method {
        Concatenation::Udh8 | Concatenation::MessagePayload => ReferenceWidth::Udh8,
        Concatenation::Udh16 | Concatenation::Sar => ReferenceWidth::Udh16,
    }
}

/// Characters between which there is always a grapheme cluster boundary, except between
/// CR and LF: none of them is a combining mark, joiner, regional indicator, prepended
/// mark or Hangul jamo, the only things UAX #29 joins to a neighbour. A cut between two
/// of these needs no Unicode segmentation, which keeps plain texts fast.
#[inline]
fn is_simple(c: char) -> bool {
    u32::from(c) < 0x300
        || matches!(
            c,
            'Γ' | 'Δ' | 'Θ' | 'Λ' | 'Ξ' | 'Π' | 'Σ' | 'Φ' | 'Ψ' | 'Ω' | '€' | '∞'
        )
}

/// Splits `text` in `scheme`, or `None` when a character cannot be represented.
pub(crate) fn layout(text: &str, scheme: Scheme, profile: &RouteProfile) -> Option<Layout> {
    // One copy of the loops per scheme, so the cost of a character is a direct lookup.
    match scheme {
        Scheme::Gsm7(tables) => layout_by(text, scheme, profile, |c| tables.cost(c)),
        Scheme::Latin1 => layout_by(text, scheme, profile, |c| {
            (u32::from(c) < 0x100).then_some(1)
        }),
        Scheme::Ia5 => layout_by(text, scheme, profile, |c| c.is_ascii().then_some(1)),
        Scheme::Ucs2 => layout_by(text, scheme, profile, |c| Some(c.len_utf16() as u32)),
    }
}

fn layout_by(
    text: &str,
    scheme: Scheme,
    profile: &RouteProfile,
    cost: impl Fn(char) -> Option<u32> + Copy,
) -> Option<Layout> {
    let tables = scheme.tables();
    let single_capacity = scheme.capacity(udh::len(None, tables));
    let capacity = scheme.capacity(udh::len(Some(air_concat(profile.concatenation)), tables));
    let fill_guard = (profile.gsm7_packed
        && matches!(scheme, Scheme::Gsm7(_))
        && profile.concatenation != Concatenation::MessagePayload)
        .then_some(udh::len(sent_concat(profile.concatenation), tables));
    // One pass: cut as if the text needed several segments, and fall back to a single
    // segment at the end if it all fits in one.
    let mut cuts = Vec::new();
    let (mut total, mut escapes) = (0u32, false);
    let (mut start, mut units) = (0usize, 0u32);
    for (i, c) in text.char_indices() {
        let c_cost = cost(c)?;
        total += c_cost;
        escapes |= c_cost == 2 && matches!(scheme, Scheme::Gsm7(_));
        while units + c_cost > capacity {
            let end = cut_before(text, start, i, capacity, cost, fill_guard, units);
            let carried = cost_of(&text[end..i], cost);
            cuts.push(Cut {
                start,
                end,
                units: units - carried,
            });
            (start, units) = (end, carried);
        }
        units += c_cost;
    }
    if total <= single_capacity {
        cuts.clear();
        cuts.push(Cut {
            start: 0,
            end: text.len(),
            units: total,
        });
        return Some(Layout {
            scheme,
            cuts,
            capacity: single_capacity,
            escapes,
        });
    }
    cuts.push(Cut {
        start,
        end: text.len(),
        units,
    });
    Some(Layout {
        scheme,
        cuts,
        capacity,
        escapes,
    })
}

/// The concatenation IE that is in the `short_message` we send (none for SAR).
pub(crate) fn sent_concat(method: Concatenation) -> Option<ReferenceWidth> {
    match method {
        Concatenation::Udh8 => Some(ReferenceWidth::Udh8),
        Concatenation::Udh16 => Some(ReferenceWidth::Udh16),
        Concatenation::Sar | Concatenation::MessagePayload => None,
    }
}

/// Where the segment that starts at `start` ends, given that the character at `fit_end`
/// no longer fits (`units` are used before it): on the last cluster boundary.
///
/// A single cluster longer than a whole segment (a long ZWJ sequence, a pile of combining
/// marks) cannot be kept whole; it is cut between characters, which still never splits a
/// surrogate pair or an escape. With packed GSM7 (`fill_guard` = header octets) a segment
/// that is not the last never ends with a CR in the fill position, where it would read as
/// padding.
fn cut_before(
    text: &str,
    start: usize,
    fit_end: usize,
    capacity: u32,
    cost: impl Fn(char) -> Option<u32> + Copy,
    fill_guard: Option<usize>,
    units: u32,
) -> usize {
    let mut end = cluster_boundary_before(text, start, fit_end, |cluster| {
        cost_of(cluster, cost) > capacity
    });
    if let Some(header) = fill_guard {
        let kept = units - cost_of(&text[end..fit_end], cost);
        if text[..end].ends_with('\r')
            && end - 1 > start
            && gsm7::ends_in_fill_position(kept as usize, header)
        {
            end -= 1;
        }
    }
    end
}

fn cost_of(text: &str, cost: impl Fn(char) -> Option<u32>) -> u32 {
    text.chars().map(|c| cost(c).unwrap_or(0)).sum()
}

/// The last grapheme cluster boundary at or before `end` and after `start`. Returns `end`
/// itself when the cluster around it started at or before `start`, or when that cluster
/// is `oversized` (longer than any segment): it has to be cut somewhere, and cutting it
/// where the segment is full saves a segment.
fn cluster_boundary_before(
    text: &str,
    start: usize,
    end: usize,
    oversized: impl Fn(&str) -> bool,
) -> usize {
    let before = text[..end].chars().next_back();
    let after = text[end..].chars().next();
    if let (Some(b), Some(a)) = (before, after)
        && is_simple(b)
        && is_simple(a)
    {
        let inside_crlf = b == '\r' && a == '\n';
        return if inside_crlf && end - 1 > start {
            end - 1
        } else {
            end
        };
    }
    // From just after the character at `end`, the previous boundary is `end` itself when
    // `end` is one, else the start of the cluster around it: one step answers both.
    let after_len = after.map_or(0, char::len_utf8);
    let mut cursor = GraphemeCursor::new(end + after_len, text.len(), true);
    let Ok(Some(cluster_start)) = cursor.prev_boundary(text, 0) else {
        return end;
    };
    if cluster_start == end || cluster_start <= start {
        return end;
    }
    // The cursor now stands on the cluster's start; its next boundary is the cluster's end.
    let cluster_end = cursor
        .next_boundary(text, 0)
        .ok()
        .flatten()
        .unwrap_or(text.len());
    if oversized(&text[cluster_start..cluster_end]) {
        end
    } else {
        cluster_start
    }
}

/// The layout with the fewest segments among the encodings `profile` allows.
///
/// Preference on a tie: the carrier's default alphabet, then UCS-2, then shift tables
/// (fewest shift IEs first), so shift tables are used only when they lower the count.
pub(crate) fn choose(text: &str, profile: &RouteProfile) -> Layout {
    let base = match profile.alphabet {
        Alphabet::Gsm7 => Scheme::Gsm7(Gsm7Tables::DEFAULT),
        Alphabet::Latin1 => Scheme::Latin1,
        Alphabet::Ia5 => Scheme::Ia5,
    };
    // One octet or septet per character never takes more segments than UCS-2, and shift
    // tables only help a GSM text that pays for escapes or cannot be written at all.
    let mut best = match layout(text, base, profile) {
        Some(l) if l.cuts.len() == 1 || !l.escapes || profile.shift_tables.is_empty() => return l,
        Some(l) => l,
        None => layout(text, Scheme::Ucs2, profile).expect("UCS-2 represents every character"),
    };
    if profile.alphabet == Alphabet::Gsm7 {
        for tables in shift_combinations(&profile.shift_tables) {
            if let Some(l) = layout(text, Scheme::Gsm7(tables), profile)
                && l.cuts.len() < best.cuts.len()
            {
                best = l;
            }
        }
    }
    best
}

/// Every pair of tables the enabled languages allow, beyond the default pair, fewest
/// shift IEs first.
fn shift_combinations(enabled: &[ShiftLanguage]) -> Vec<Gsm7Tables> {
    let mut langs = enabled.to_vec();
    langs.sort();
    langs.dedup();
    let lockings = std::iter::once(None).chain(
        langs
            .iter()
            .filter(|l| l.has_locking_table())
            .map(|&l| Some(l)),
    );
    let mut out: Vec<Gsm7Tables> = lockings
        .flat_map(|locking| {
            std::iter::once(None)
                .chain(langs.iter().map(|&l| Some(l)))
                .map(move |single| Gsm7Tables { locking, single })
        })
        .filter(|t| *t != Gsm7Tables::DEFAULT)
        .collect();
    out.sort_by_key(|t| t.shift_ies());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(text: &str, profile: &RouteProfile) -> (Encoding, usize) {
        let l = choose(text, profile);
        (l.scheme.encoding(), l.cuts.len())
    }

    #[test]
    fn capacities_match_the_reference_table() {
        let gsm = Scheme::Gsm7(Gsm7Tables::DEFAULT);
        assert_eq!(gsm.capacity(0), 160);
        assert_eq!(gsm.capacity(6), 153);
        assert_eq!(gsm.capacity(7), 152);
        assert_eq!(gsm.capacity(4), 155);
        assert_eq!(gsm.capacity(12), 146);
        assert_eq!(gsm.capacity(13), 145);
        assert_eq!(Scheme::Ucs2.capacity(6), 67);
        assert_eq!(Scheme::Ucs2.capacity(7), 66);
        assert_eq!(Scheme::Latin1.capacity(6), 134);
    }

    #[test]
    fn crlf_is_not_split_in_plain_text() {
        let text = format!("{}\r\n{}", "a".repeat(152), "b".repeat(50));
        let l = choose(&text, &RouteProfile::default());
        assert_eq!(l.cuts[0].end, 152);
    }

    #[test]
    fn shift_tables_are_used_only_when_they_save_a_segment() {
        let mut profile = RouteProfile {
            shift_tables: vec![ShiftLanguage::Turkish],
            ..Default::default()
        };
        // One ş: UCS-2 fits 70 units, so 60 characters stay in one UCS-2 segment.
        let short = format!("ş{}", "a".repeat(59));
        assert_eq!(counts(&short, &profile), (Encoding::Ucs2, 1));
        let long = format!("ş{}", "a".repeat(100));
        assert_eq!(counts(&long, &profile), (Encoding::Gsm7, 1));
        profile.shift_tables.clear();
        assert_eq!(counts(&long, &profile), (Encoding::Ucs2, 2));
    }

    #[test]
    fn combinations_cover_locking_and_single_tables() {
        let all = shift_combinations(&[ShiftLanguage::Spanish, ShiftLanguage::Turkish]);
        assert_eq!(all.len(), 5, "{all:?}");
        assert_eq!(all[0].shift_ies(), 1);
        assert!(
            all.iter()
                .all(|t| t.locking != Some(ShiftLanguage::Spanish))
        );
    }
}
