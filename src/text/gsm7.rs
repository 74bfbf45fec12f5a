//! GSM 7-bit coding (TS 23.038): characters ↔ septets through a locking shift table and a
//! single shift table, and septets ↔ octets when the carrier wants them packed.

use super::profile::ShiftLanguage;
use super::tables::{self, ESC, LockingTable, SingleShiftTable};

/// Carriage return, the septet TS 23.038 §6.1.2.3.1 uses to fill seven spare bits.
const CR: u8 = 0x0D;

/// The pair of tables in force for a message: `None` means the default alphabet (locking)
/// or the default extension table (single shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gsm7Tables {
    /// Language of the locking shift table (UDH IE 0x25), if not the default alphabet.
    pub locking: Option<ShiftLanguage>,
    /// Language of the single shift table (UDH IE 0x24), if not the default extension.
    pub single: Option<ShiftLanguage>,
}

impl Gsm7Tables {
    /// The default alphabet with its extension table.
    pub const DEFAULT: Gsm7Tables = Gsm7Tables {
        locking: None,
        single: None,
    };

    /// How many shift IEs a UDH must carry to announce these tables (0, 1 or 2).
    pub fn shift_ies(self) -> usize {
        usize::from(self.locking.is_some()) + usize::from(self.single.is_some())
    }

    fn locking_table(self) -> &'static LockingTable {
        match self.locking {
            Some(ShiftLanguage::Turkish) => &tables::TURKISH_LOCKING,
            Some(ShiftLanguage::Portuguese) => &tables::PORTUGUESE_LOCKING,
            // Spanish has no locking shift table; a Spanish 0x25 IE falls back to the default.
            Some(ShiftLanguage::Spanish) | None => &tables::DEFAULT_LOCKING,
        }
    }

    fn single_table(self) -> &'static SingleShiftTable {
        match self.single {
            Some(ShiftLanguage::Turkish) => &tables::TURKISH_SINGLE,
            Some(ShiftLanguage::Spanish) => &tables::SPANISH_SINGLE,
            Some(ShiftLanguage::Portuguese) => &tables::PORTUGUESE_SINGLE,
            None => &tables::DEFAULT_EXTENSION,
        }
    }

    /// The septets of `c`: one from the locking table, or ESC and one from the single
    /// shift table. `None` when neither table has the character.
    #[inline]
    pub fn encode_char(self, c: char) -> Option<Gsm7Char> {
        if let Some(s) = self.locking_table().septet(c) {
            return Some(Gsm7Char::Single(s));
        }
        self.single_table().septet(c).map(Gsm7Char::Escaped)
    }

    /// How many septets `c` costs (1, or 2 through the escape), `None` if unrepresentable.
    #[inline]
    pub fn cost(self, c: char) -> Option<u32> {
        self.encode_char(c).map(Gsm7Char::len)
    }

    /// Appends the characters of `septets` (one septet per octet) to `out`.
    ///
    /// ESC followed by a septet the single shift table lacks shows the locking table's
    /// character, as TS 23.038 §6.2.1.1 asks of handsets (ESC ESC shows a space). Octets
    /// above 0x7F and a trailing lone ESC become U+FFFD; returns whether that happened.
    pub fn decode(self, septets: &[u8], out: &mut String) -> bool {
        let locking = self.locking_table();
        let single = self.single_table();
        let mut undecodable = false;
        let mut iter = septets.iter();
        while let Some(&s) = iter.next() {
            if s > 0x7F {
                out.push(char::REPLACEMENT_CHARACTER);
                undecodable = true;
            } else if s == ESC {
                match iter.next() {
                    Some(&n) if n > 0x7F => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        undecodable = true;
                    }
                    Some(&ESC) => out.push(' '),
                    Some(&n) => out.push(single.char(n).unwrap_or_else(|| locking.char(n))),
                    None => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        undecodable = true;
                    }
                }
            } else {
                out.push(locking.char(s));
            }
        }
        undecodable
    }
}

/// One character in GSM 7-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gsm7Char {
    /// A septet of the locking shift table.
    Single(u8),
    /// ESC followed by this septet of the single shift table.
    Escaped(u8),
}

impl Gsm7Char {
    /// Number of septets (1 or 2).
    #[inline]
    pub fn len(self) -> u32 {
        match self {
            Gsm7Char::Single(_) => 1,
            Gsm7Char::Escaped(_) => 2,
        }
    }

    /// Appends the septets, one per octet.
    #[inline]
    pub fn push_to(self, out: &mut Vec<u8>) {
        match self {
            Gsm7Char::Single(s) => out.push(s),
            Gsm7Char::Escaped(s) => out.extend_from_slice(&[ESC, s]),
        }
    }
}

/// How many septets a user data header of `header_octets` octets (length octet included)
/// occupies: the text starts at the next septet boundary (TS 23.040 §9.2.3.24).
pub fn header_septets(header_octets: usize) -> usize {
    (header_octets * 8).div_ceil(7)
}

/// Packs `septets` after a header already in `out` (`header_octets` long, 0 without UDH):
/// fill bits up to a septet boundary, then seven bits per septet, least significant first.
/// Seven spare bits at the end are filled with CR (TS 23.038 §6.1.2.3.1), so that a
/// receiver does not read them as `@`.
pub fn pack(septets: &[u8], header_octets: usize, out: &mut Vec<u8>) {
    let fill = header_septets(header_octets) * 7 - header_octets * 8;
    let mut acc: u32 = 0;
    let mut bits = fill as u32;
    for &s in septets {
        acc |= u32::from(s & 0x7F) << bits;
        bits += 7;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    match bits {
        0 => {}
        1 => out.push((acc | u32::from(CR) << 1) as u8),
        _ => out.push(acc as u8),
    }
}

/// Unpacks the septets that follow a header of `header_octets` octets in `octets` (which
/// holds the header too), one septet per octet into `out`.
///
/// When the septets end exactly on the last bit and the last one is CR, that CR is the
/// fill of seven spare bits and is dropped. TS 23.038 cannot tell it from a CR the sender
/// meant at that position; the planner never ends a non-final segment there.
pub fn unpack(octets: &[u8], header_octets: usize, out: &mut Vec<u8>) {
    let start = header_septets(header_octets) * 7;
    let total_bits = octets.len() * 8;
    if total_bits <= start {
        return;
    }
    let count = (total_bits - start) / 7;
    let first = out.len();
    for i in 0..count {
        let bit = start + 7 * i;
        let byte = bit / 8;
        let shift = bit % 8;
        let mut v = u16::from(octets[byte]) >> shift;
        if shift > 1 && byte + 1 < octets.len() {
            v |= u16::from(octets[byte + 1]) << (8 - shift);
        }
        out.push((v & 0x7F) as u8);
    }
    if (total_bits - start).is_multiple_of(7) && out.len() > first && out.last() == Some(&CR) {
        out.pop();
    }
}

/// Whether a packed segment of `septets` text septets after a header of `header_octets`
/// ends in the position where a final CR reads as fill (see [`unpack`]).
pub fn ends_in_fill_position(septets: usize, header_octets: usize) -> bool {
    (header_septets(header_octets) + septets).is_multiple_of(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn septets_of(text: &str, tables: Gsm7Tables) -> Vec<u8> {
        let mut out = Vec::new();
        for c in text.chars() {
            tables.encode_char(c).unwrap().push_to(&mut out);
        }
        out
    }

    #[test]
    fn escape_characters_cost_two_septets() {
        let t = Gsm7Tables::DEFAULT;
        assert_eq!(septets_of("€", t), vec![0x1B, 0x65]);
        assert_eq!(t.cost('{'), Some(2));
        assert_eq!(t.cost('\u{0C}'), Some(2));
        assert_eq!(t.cost('@'), Some(1));
        assert_eq!(t.cost('`'), None);
        assert_eq!(t.cost('ç'), None);
    }

    #[test]
    fn turkish_locking_table_holds_dotless_i() {
        let t = Gsm7Tables {
            locking: Some(ShiftLanguage::Turkish),
            single: None,
        };
        assert_eq!(t.encode_char('ı'), Some(Gsm7Char::Single(0x07)));
        assert_eq!(
            t.encode_char('ì'),
            None,
            "the Turkish table replaces ì by ı"
        );
        let mut s = String::new();
        assert!(!t.decode(&[0x07, 0x1C], &mut s));
        assert_eq!(s, "ıŞ");
    }

    #[test]
    fn escape_to_a_missing_extension_shows_the_base_character() {
        let mut s = String::new();
        assert!(!Gsm7Tables::DEFAULT.decode(&[ESC, 0x41, ESC, ESC], &mut s));
        assert_eq!(s, "A ");
        let mut s = String::new();
        assert!(Gsm7Tables::DEFAULT.decode(&[0x41, ESC], &mut s));
        assert_eq!(s, "A\u{FFFD}");
    }

    #[test]
    fn pack_matches_the_classic_hello_example() {
        // "hellohello" packed: the worked example of TS 23.038 style packing.
        let septets = septets_of("hellohello", Gsm7Tables::DEFAULT);
        let mut out = Vec::new();
        pack(&septets, 0, &mut out);
        assert_eq!(out, [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]);
        let mut back = Vec::new();
        unpack(&out, 0, &mut back);
        assert_eq!(back, septets);
    }

    #[test]
    fn seven_spare_bits_are_filled_with_cr_and_dropped_again() {
        let septets = septets_of("1234567", Gsm7Tables::DEFAULT);
        let mut out = Vec::new();
        pack(&septets, 0, &mut out);
        assert_eq!(out.len(), 7);
        assert_eq!(out[6] >> 1, CR);
        let mut back = Vec::new();
        unpack(&out, 0, &mut back);
        assert_eq!(back, septets);
    }

    #[test]
    fn packing_after_a_udh_starts_on_a_septet_boundary() {
        let header = [0x05, 0x00, 0x03, 0x2A, 0x02, 0x01];
        let septets = septets_of("Hi", Gsm7Tables::DEFAULT);
        let mut out = header.to_vec();
        pack(&septets, header.len(), &mut out);
        // 6 header octets = 48 bits, one fill bit, then 'H' (0x48) from bit 49.
        assert_eq!(out[6], 0x48 << 1);
        let mut back = Vec::new();
        unpack(&out, header.len(), &mut back);
        assert_eq!(back, septets);
    }
}
