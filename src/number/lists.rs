//! Allow and deny lists: exact numbers or prefixes that override the class.
//!
//! An entry is an exact E.164 number (`+14155550123`) or a prefix written with a trailing
//! `*` (`+4420*`). When both lists match a number, the longer match wins (an exact number
//! beats any prefix), so an operator can deny a range and allow one line inside it.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use super::{E164, NumberError, ParsedNumber, ShortCodeRules, parse_number};

/// One list entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NumberPattern {
    /// Exactly this number.
    Exact(E164),
    /// Every number whose digits (after `+`) start with these.
    Prefix(String),
}

impl NumberPattern {
    /// How specific the entry is: the prefix length, or more than any prefix for an
    /// exact number.
    fn specificity(&self) -> usize {
        match self {
            NumberPattern::Exact(_) => usize::MAX,
            NumberPattern::Prefix(digits) => digits.len(),
        }
    }
}

impl FromStr for NumberPattern {
    type Err = NumberError;

    /// `+14155550123` (exact: a valid number, spaces allowed) or `+1415*` (prefix: `+`,
    /// 1 to 15 digits, `*`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let Some(prefix) = text.strip_suffix('*') else {
            // An exact entry must be a real number: a typo, or a prefix missing its `*`,
            // would otherwise match nothing without anyone noticing.
            let parsed = parse_number(text, None, &ShortCodeRules::default());
            return match parsed {
                ParsedNumber::Number { e164, .. } if text.starts_with('+') => {
                    Ok(NumberPattern::Exact(e164))
                }
                _ => Err(NumberError::BadPattern(text.to_owned())),
            };
        };
        let digits = prefix.strip_prefix('+').unwrap_or_default();
        let ok = (1..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !ok || !prefix.starts_with('+') {
            return Err(NumberError::BadPattern(text.to_owned()));
        }
        Ok(NumberPattern::Prefix(digits.to_owned()))
    }
}

impl fmt::Display for NumberPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberPattern::Exact(number) => write!(f, "{number}"),
            NumberPattern::Prefix(digits) => write!(f, "+{digits}*"),
        }
    }
}

/// A set of patterns, looked up in at most 16 hash probes whatever its size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NumberList {
    exact: HashSet<E164>,
    prefixes: HashSet<String>,
}

impl NumberList {
    /// A list of the given patterns (duplicates collapse).
    pub fn new(patterns: impl IntoIterator<Item = NumberPattern>) -> Self {
        let mut list = NumberList::default();
        for pattern in patterns {
            match pattern {
                NumberPattern::Exact(number) => {
                    list.exact.insert(number);
                }
                NumberPattern::Prefix(digits) => {
                    list.prefixes.insert(digits);
                }
            }
        }
        list
    }

    /// The most specific pattern matching `number`.
    pub fn best_match(&self, number: &E164) -> Option<NumberPattern> {
        if self.exact.contains(number) {
            return Some(NumberPattern::Exact(number.clone()));
        }
        let digits = number.digits();
        (1..=digits.len())
            .rev()
            .map(|len| &digits[..len])
            .find(|prefix| self.prefixes.contains(*prefix))
            .map(|prefix| NumberPattern::Prefix(prefix.to_owned()))
    }

    /// Every pattern, exact numbers first.
    pub fn patterns(&self) -> impl Iterator<Item = NumberPattern> + '_ {
        let exact = self.exact.iter().cloned().map(NumberPattern::Exact);
        exact.chain(self.prefixes.iter().cloned().map(NumberPattern::Prefix))
    }

    /// Whether the list has no pattern.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty()
    }

    /// A pattern present in both lists, which would make the decision ambiguous.
    pub(crate) fn first_shared_with(&self, other: &NumberList) -> Option<NumberPattern> {
        self.patterns().find(|pattern| match pattern {
            NumberPattern::Exact(number) => other.exact.contains(number),
            NumberPattern::Prefix(digits) => other.prefixes.contains(digits),
        })
    }
}

/// What the lists say about one number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListVerdict {
    /// The allow list holds the most specific match.
    Allowed(NumberPattern),
    /// The deny list holds the most specific match.
    Denied(NumberPattern),
}

/// The verdict of the longer match between `allow` and `deny`, if either matches.
pub(crate) fn list_verdict(
    allow: &NumberList,
    deny: &NumberList,
    number: &E164,
) -> Option<ListVerdict> {
    match (allow.best_match(number), deny.best_match(number)) {
        (None, None) => None,
        (Some(allowed), None) => Some(ListVerdict::Allowed(allowed)),
        (None, Some(denied)) => Some(ListVerdict::Denied(denied)),
        // Equal specificity means the same pattern in both lists, which the policy
        // refuses at construction; deny is the safe side all the same.
        (Some(allowed), Some(denied)) if allowed.specificity() > denied.specificity() => {
            Some(ListVerdict::Allowed(allowed))
        }
        (Some(_), Some(denied)) => Some(ListVerdict::Denied(denied)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> NumberPattern {
        text.parse().unwrap()
    }

    fn number(text: &str) -> E164 {
        text.parse().unwrap()
    }

    #[test]
    fn patterns_parse_exact_numbers_and_starred_prefixes_only() {
        assert_eq!(pattern("+4420*"), NumberPattern::Prefix("4420".into()));
        assert_eq!(
            pattern(" +14155550123 "),
            NumberPattern::Exact(number("+14155550123"))
        );
        assert_eq!(pattern("+4420*").to_string(), "+4420*");
        assert_eq!(
            pattern("+44 20 7946 0000"),
            NumberPattern::Exact(number("+442079460000"))
        );
        for bad in [
            "4420*",
            "+*",
            "+0*",
            "+44 20*",
            "*",
            "+1234567890123456*",
            "+4420",
            "+1 415 555",
        ] {
            assert!(bad.parse::<NumberPattern>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_longest_match_decides_between_the_lists() {
        let deny = NumberList::new([pattern("+4420*")]);
        let allow = NumberList::new([pattern("+442079460000"), pattern("+44*")]);
        let line = number("+442079460000");
        let other_london = number("+442079460001");
        let manchester = number("+441612345678");
        assert!(matches!(
            list_verdict(&allow, &deny, &line),
            Some(ListVerdict::Allowed(_))
        ));
        assert!(matches!(
            list_verdict(&allow, &deny, &other_london),
            Some(ListVerdict::Denied(NumberPattern::Prefix(p))) if p == "4420"
        ));
        assert!(matches!(
            list_verdict(&allow, &deny, &manchester),
            Some(ListVerdict::Allowed(NumberPattern::Prefix(p))) if p == "44"
        ));
        assert_eq!(list_verdict(&allow, &deny, &number("+4915123456789")), None);
    }

    #[test]
    fn a_pattern_in_both_lists_is_found() {
        let a = NumberList::new([pattern("+4420*"), pattern("+14155550123")]);
        let b = NumberList::new([pattern("+14155550123")]);
        assert_eq!(a.first_shared_with(&b), Some(pattern("+14155550123")));
        assert_eq!(a.first_shared_with(&NumberList::default()), None);
    }
}
