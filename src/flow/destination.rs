//! The `to` of an MT as an integrator writes it, before the numbering plan reads it.
//!
//! The plan's parser is lenient on purpose (people type numbers in many ways), and
//! would read `+1-800-FLOWERS` as the digits on a keypad and skip a trailing NUL. For
//! a destination that leniency sends a message somewhere the integrator did not write,
//! so here:
//!
//! - a `tel:` URI prefix (RFC 3966) is taken off: it only says "a phone number";
//! - control characters are refused: they come from a bug on the sender's side, and
//!   the number around them cannot be trusted;
//! - letters are refused: a vanity number's digits depend on the keypad, and a letter
//!   in a number is more often a typo than a vanity number;
//! - spaces, dashes, dots and parentheses are left to the plan, which ignores them.
//!
//! The sender's own number is refused after parsing ([`refuse_own_number`]).

use super::accept::MtRefused;
use crate::number::E164;

/// `to` with a `tel:` prefix taken off, or the refusal of a value that is no number.
pub(crate) fn typed_destination(to: &str) -> Result<&str, MtRefused> {
    if let Some(c) = to.chars().find(|c| c.is_control()) {
        return Err(MtRefused::InvalidDestination(format!(
            "`to` contains the control character U+{:04X}; send the number alone, \
             e.g. +14155550123",
            u32::from(c)
        )));
    }
    let trimmed = to.trim();
    let number = match trimmed.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => &trimmed[4..],
        _ => trimmed,
    };
    if number.chars().any(char::is_alphabetic) {
        return Err(MtRefused::InvalidDestination(format!(
            "{number:?} contains letters; send the number's digits in E.164, e.g. \
             +18003569377 rather than +1-800-FLOWERS"
        )));
    }
    Ok(number)
}

/// Refuses a message from a business number to itself: the carrier would bring it back
/// as an MO and open a conversation of the business with itself.
pub(crate) fn refuse_own_number(contact: &E164, sender: &str) -> Result<(), MtRefused> {
    if contact.as_str() == sender {
        return Err(MtRefused::InvalidDestination(format!(
            "`to` is the sender {sender}: a business number cannot text itself"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(to: &str) -> String {
        match typed_destination(to) {
            Err(MtRefused::InvalidDestination(why)) => why,
            other => panic!("{to:?} not refused: {other:?}"),
        }
    }

    #[test]
    fn a_tel_uri_is_read_as_its_number() {
        assert_eq!(
            typed_destination("tel:+14155550123").unwrap(),
            "+14155550123"
        );
        assert_eq!(
            typed_destination(" TEL:+1-415-555-0123").unwrap(),
            "+1-415-555-0123"
        );
        assert_eq!(
            typed_destination("+1 (415) 555.0123").unwrap(),
            "+1 (415) 555.0123"
        );
    }

    #[test]
    fn control_characters_and_letters_are_refused() {
        assert!(refusal("+14155550123\u{0}").contains("U+0000"));
        assert!(refusal("+1415555\t0123").contains("U+0009"));
        assert!(refusal("+1-800-FLOWERS").contains("letters"));
        assert!(refusal("tel:+1800flowers").contains("letters"));
    }

    #[test]
    fn the_senders_own_number_is_refused() {
        let contact: E164 = "+18005550100".parse().unwrap();
        assert!(refuse_own_number(&contact, "+18005550100").is_err());
        assert!(refuse_own_number(&contact, "+18005550101").is_ok());
    }
}
