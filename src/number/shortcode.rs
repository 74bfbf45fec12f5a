//! Short-code detection: our own per-country rule, because the numbering-plan crate does
//! not read the plan's short-number data.
//!
//! A short code exists only inside its country, so detection needs a region (the caller's
//! default region) and the digits as typed, without `+` or an international prefix. A rule
//! gives the number of digits and, optionally, the numeric ranges in use. A typed value
//! that is a valid ordinary number of the region is never taken for a short code: the
//! parser tries the plan first.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::{NumberError, Region};

/// Short codes are 3 to 8 digits anywhere we know of; a rule cannot widen that.
pub const SHORT_CODE_DIGITS: RangeInclusive<usize> = 3..=8;

/// How short codes look in one country.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortCodeRule {
    digits: RangeInclusive<usize>,
    ranges: Vec<RangeInclusive<u64>>,
}

impl ShortCodeRule {
    /// A rule for codes of `min_digits..=max_digits` digits. With no `ranges`, any code
    /// of that length that does not start with `0` (a trunk prefix) matches; with ranges,
    /// the code's value must fall in one of them.
    pub fn new(
        min_digits: usize,
        max_digits: usize,
        ranges: Vec<RangeInclusive<u64>>,
    ) -> Result<Self, NumberError> {
        let lengths_ok = min_digits <= max_digits
            && SHORT_CODE_DIGITS.contains(&min_digits)
            && SHORT_CODE_DIGITS.contains(&max_digits);
        if !lengths_ok {
            return Err(NumberError::ShortCodeLengths {
                min: min_digits,
                max: max_digits,
            });
        }
        let largest = 10u64.pow(max_digits as u32) - 1;
        if let Some(bad) = ranges
            .iter()
            .find(|range| range.start() > range.end() || *range.end() > largest)
        {
            return Err(NumberError::ShortCodeRange {
                range: format!("{}-{}", bad.start(), bad.end()),
                max_digits,
            });
        }
        Ok(ShortCodeRule {
            digits: min_digits..=max_digits,
            ranges,
        })
    }

    /// Whether `digits` (ASCII digits only) is a short code under this rule.
    pub fn matches(&self, digits: &str) -> bool {
        if !self.digits.contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if self.ranges.is_empty() {
            return !digits.starts_with('0');
        }
        let Ok(value) = digits.parse::<u64>() else {
            return false;
        };
        self.ranges.iter().any(|range| range.contains(&value))
    }

    /// The fewest digits a code may have.
    pub fn min_digits(&self) -> usize {
        *self.digits.start()
    }

    /// The most digits a code may have.
    pub fn max_digits(&self) -> usize {
        *self.digits.end()
    }

    /// The numeric ranges in use; empty means any value of the right length.
    pub fn ranges(&self) -> &[RangeInclusive<u64>] {
        &self.ranges
    }
}

/// The short-code rules of every country that has one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ShortCodeRules {
    by_region: BTreeMap<Region, ShortCodeRule>,
}

impl ShortCodeRules {
    /// Rules from a list; a later entry for the same region replaces an earlier one.
    pub fn new(rules: impl IntoIterator<Item = (Region, ShortCodeRule)>) -> Self {
        ShortCodeRules {
            by_region: rules.into_iter().collect(),
        }
    }

    /// The rules we ship: the US and Canada (5–6 digits, 10000–999999, which covers the
    /// leased and the private ranges), the UK, Ireland and France (5 digits), Germany
    /// (4–5 digits). Other countries detect nothing until configured.
    pub fn recommended() -> Self {
        let nanp = || ShortCodeRule::new(5, 6, vec![10_000..=999_999]);
        let rules = [
            ("US", nanp()),
            ("CA", nanp()),
            ("GB", ShortCodeRule::new(5, 5, Vec::new())),
            ("IE", ShortCodeRule::new(5, 5, Vec::new())),
            ("FR", ShortCodeRule::new(5, 5, Vec::new())),
            ("DE", ShortCodeRule::new(4, 5, Vec::new())),
        ];
        ShortCodeRules::new(rules.into_iter().filter_map(|(code, rule)| {
            // Both halves are constants checked by the tests below.
            Some((code.parse().ok()?, rule.ok()?))
        }))
    }

    /// Adds or replaces the rule of one region.
    pub fn set(&mut self, region: Region, rule: ShortCodeRule) {
        self.by_region.insert(region, rule);
    }

    /// The rule of a region, if it has one.
    pub fn rule(&self, region: Region) -> Option<&ShortCodeRule> {
        self.by_region.get(&region)
    }

    /// Whether `digits` is a short code in `region`.
    pub fn matches(&self, region: Region, digits: &str) -> bool {
        self.rule(region).is_some_and(|rule| rule.matches(digits))
    }

    /// Every region with a rule, and its rule.
    pub fn iter(&self) -> impl Iterator<Item = (Region, &ShortCodeRule)> {
        self.by_region.iter().map(|(region, rule)| (*region, rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str) -> Region {
        code.parse().unwrap()
    }

    #[test]
    fn recommended_rules_cover_the_documented_countries() {
        let rules = ShortCodeRules::recommended();
        assert_eq!(rules.iter().count(), 6);
        assert!(rules.matches(region("US"), "72404"));
        assert!(rules.matches(region("US"), "898211"));
        assert!(!rules.matches(region("US"), "09999"));
        assert!(!rules.matches(region("US"), "7240"));
        assert!(!rules.matches(region("US"), "7240411"));
        assert!(rules.matches(region("CA"), "16001"));
        assert!(rules.matches(region("GB"), "88222"));
        assert!(!rules.matches(region("GB"), "08822"));
        assert!(!rules.matches(region("GB"), "882221"));
        assert!(rules.matches(region("DE"), "1234"));
        assert!(!rules.matches(region("IT"), "48800"));
    }

    #[test]
    fn rules_refuse_lengths_outside_three_to_eight_and_ranges_too_wide() {
        assert!(ShortCodeRule::new(2, 5, Vec::new()).is_err());
        assert!(ShortCodeRule::new(5, 9, Vec::new()).is_err());
        assert!(ShortCodeRule::new(6, 5, Vec::new()).is_err());
        assert!(ShortCodeRule::new(5, 5, vec![10_000..=100_000]).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = vec![20_000..=10_000];
        assert!(ShortCodeRule::new(5, 5, reversed).is_err());
        assert!(ShortCodeRule::new(3, 8, vec![100..=99_999_999]).is_ok());
    }

    #[test]
    fn a_rule_with_ranges_accepts_only_values_inside_them() {
        let rule = ShortCodeRule::new(5, 5, vec![16_000..=17_999, 40_000..=49_999]).unwrap();
        assert!(rule.matches("16500"));
        assert!(rule.matches("49999"));
        assert!(!rule.matches("18000"));
        assert!(!rule.matches("4000a"));
    }
}
