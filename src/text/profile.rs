//! What the text module needs to know about a carrier route, and the names shared by the
//! config file, the CLI and JSON.
//!
//! Every enum here has one snake_case name per value (`gsm7`, `udh8`, `turkish`, …) used
//! for `Display`, `FromStr`, serde and the CLI alike, so an operator types the same word
//! everywhere.

use std::fmt;

/// A name that is not one of the accepted values of a setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{given}`; expected one of: {}", expected.join(", "))]
pub struct UnknownName {
    /// What kind of value was being read (`alphabet`, `concatenation`, …).
    pub kind: &'static str,
    /// The text that was given.
    pub given: String,
    /// Every accepted name.
    pub expected: &'static [&'static str],
}

/// Declares a fieldless enum with one snake_case name per variant, and derives
/// `Display`, `FromStr`, `Serialize` and `Deserialize` from those names.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($kind:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every accepted name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The snake_case name used by config files, the CLI and JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { kind: $kind, given: s.to_owned(), expected: Self::NAMES }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum! {
    /// The alphabet a carrier's SMSC applies to `data_coding` 0x00.
    pub enum Alphabet("alphabet") {
        /// GSM 03.38 default alphabet with its extension table (the usual case).
        Gsm7 => "gsm7",
        /// ISO-8859-1, one octet per character.
        Latin1 => "latin1",
        /// IA5 (ASCII), one octet per character.
        Ia5 => "ia5",
    }
}

named_enum! {
    /// The character encoding of a message as it travels to or from the carrier.
    pub enum Encoding("encoding") {
        /// GSM 7-bit (TS 23.038), possibly with national language shift tables.
        Gsm7 => "gsm7",
        /// ISO-8859-1.
        Latin1 => "latin1",
        /// IA5 (ASCII).
        Ia5 => "ia5",
        /// UCS-2 read as UTF-16 big-endian (handsets accept surrogate pairs).
        Ucs2 => "ucs2",
        /// 8-bit data: kept as bytes, never turned into text (inbound only).
        Binary => "binary",
        /// A character set smsbridge does not decode (JIS, Cyrillic, …; inbound only).
        Unsupported => "unsupported",
    }
}

named_enum! {
    /// How the parts of a long message are tied together for the carrier.
    pub enum Concatenation("concatenation") {
        /// User data header with an 8-bit reference (IEI 0x00).
        Udh8 => "udh8",
        /// User data header with a 16-bit reference (IEI 0x08).
        Udh16 => "udh16",
        /// The SAR TLVs `sar_msg_ref_num`, `sar_total_segments`, `sar_segment_seqnum`.
        Sar => "sar",
        /// The whole message in one `message_payload` TLV; the SMSC splits it.
        MessagePayload => "payload",
    }
}

named_enum! {
    /// A national language of TS 23.038 Annex A with shift tables smsbridge knows.
    pub enum ShiftLanguage("shift table") {
        /// NLI 1: locking and single shift tables.
        Turkish => "turkish",
        /// NLI 2: a single shift table only.
        Spanish => "spanish",
        /// NLI 3: locking and single shift tables.
        Portuguese => "portuguese",
    }
}

impl ShiftLanguage {
    /// The national language identifier carried in the shift IEs (0x24, 0x25).
    pub const fn nli(self) -> u8 {
        match self {
            ShiftLanguage::Turkish => 1,
            ShiftLanguage::Spanish => 2,
            ShiftLanguage::Portuguese => 3,
        }
    }

    /// The language with this national language identifier, when smsbridge has its tables.
    pub const fn from_nli(nli: u8) -> Option<Self> {
        match nli {
            1 => Some(ShiftLanguage::Turkish),
            2 => Some(ShiftLanguage::Spanish),
            3 => Some(ShiftLanguage::Portuguese),
            _ => None,
        }
    }

    /// Whether the language has a locking shift table (Spanish has only a single shift one).
    pub const fn has_locking_table(self) -> bool {
        !matches!(self, ShiftLanguage::Spanish)
    }
}

/// What the text module needs to know about the carrier a message leaves through.
///
/// The config layer maps a route's TOML onto this struct. `RouteProfile::default()` is the
/// most common carrier: GSM 03.38 or UCS-2, unpacked GSM7 in `short_message`, 8-bit UDH
/// concatenation, no shift tables and no smart encoding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteProfile {
    /// The alphabet the carrier applies to `data_coding` 0x00.
    pub alphabet: Alphabet,
    /// GSM7 packed eight septets into seven octets (true) or one septet per octet (false).
    pub gsm7_packed: bool,
    /// How long messages are split for this carrier.
    pub concatenation: Concatenation,
    /// National language shift tables the carrier and its handsets support; used only when
    /// they lower the segment count.
    pub shift_tables: Vec<ShiftLanguage>,
    /// Replace typographic look-alikes (curly quotes, dashes, …) by GSM characters when
    /// that avoids UCS-2.
    pub smart_encoding: bool,
}

impl Default for RouteProfile {
    fn default() -> Self {
        RouteProfile {
            alphabet: Alphabet::Gsm7,
            gsm7_packed: false,
            concatenation: Concatenation::Udh8,
            shift_tables: Vec::new(),
            smart_encoding: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_and_display() {
        for e in Encoding::ALL {
            assert_eq!(e.to_string().parse::<Encoding>().unwrap(), *e);
        }
        for c in Concatenation::ALL {
            assert_eq!(c.to_string().parse::<Concatenation>().unwrap(), *c);
        }
        assert_eq!(
            "payload".parse::<Concatenation>().unwrap(),
            Concatenation::MessagePayload
        );
        assert_eq!(
            ShiftLanguage::from_nli(ShiftLanguage::Portuguese.nli()),
            Some(ShiftLanguage::Portuguese)
        );
    }

    #[test]
    fn unknown_name_lists_the_accepted_ones() {
        let err = "utf8".parse::<Alphabet>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown alphabet `utf8`; expected one of: gsm7, latin1, ia5"
        );
    }

    #[test]
    fn serde_uses_the_same_names() {
        assert_eq!(serde_json::to_string(&Encoding::Ucs2).unwrap(), "\"ucs2\"");
        let c: Concatenation = serde_json::from_str("\"udh16\"").unwrap();
        assert_eq!(c, Concatenation::Udh16);
        assert!(serde_json::from_str::<Concatenation>("\"udh32\"").is_err());
    }
}
