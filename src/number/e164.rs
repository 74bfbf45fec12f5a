//! The canonical form of a phone number: `+`, a country code and the subscriber number,
//! at most 15 digits in all (ITU-T E.164).
//!
//! An `E164` value only promises the *form*. Whether the number exists in its country's
//! numbering plan is what [`super::parse_number`] and the classification decide; the
//! store, the consent list and the CSV files use this type as the key for a contact.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::NumberError;

/// At most 15 digits after the `+` (E.164 §6).
const MAX_DIGITS: usize = 15;
/// The shortest country code (1 digit) plus the shortest subscriber numbers in the plan.
const MIN_DIGITS: usize = 4;

/// A phone number in E.164 form, such as `+14155550123`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// The number with its `+`, as carriers and the core expect it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+`, as SMPP addresses with TON international carry them.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// Whether this number starts with the digits of `prefix` (a `+` on the prefix is
    /// optional), for allow and deny lists.
    pub fn starts_with_digits(&self, prefix: &str) -> bool {
        self.digits()
            .starts_with(prefix.strip_prefix('+').unwrap_or(prefix))
    }
}

impl FromStr for E164 {
    type Err = NumberError;

    /// Accepts exactly `+` followed by 4 to 15 digits, the first not zero. No spaces,
    /// no national formats: those go through [`super::parse_number`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = || NumberError::NotE164(text.to_owned());
        let digits = text.strip_prefix('+').ok_or_else(refuse)?;
        let well_formed = (MIN_DIGITS..=MAX_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !well_formed {
            return Err(refuse());
        }
        Ok(E164(text.to_owned()))
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_canonical_form() {
        let number: E164 = "+14155550123".parse().unwrap();
        assert_eq!(number.digits(), "14155550123");
        assert!(number.starts_with_digits("+1415"));
        assert!(number.starts_with_digits("1415"));
        assert!(!number.starts_with_digits("+44"));
        for bad in [
            "14155550123",
            "+1 415 555 0123",
            "+0123456",
            "+123",
            "+1234567890123456",
            "+1415555012a",
            "",
            "+",
        ] {
            assert!(bad.parse::<E164>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serialises_as_a_plain_string() {
        let number: E164 = "+4915123456789".parse().unwrap();
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, "\"+4915123456789\"");
        let back: E164 = serde_json::from_str(&json).unwrap();
        assert_eq!(back, number);
        assert!(serde_json::from_str::<E164>("\"4915123456789\"").is_err());
    }
}
