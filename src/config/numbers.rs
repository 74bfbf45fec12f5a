//! The `[numbers]` section: which destination numbers may receive SMS.
//!
//! The file names what changes from the recommended policy of the numbers module
//! ([`NumberPolicySettings::default`]): class actions, per-country overrides, allow and
//! deny lists, short-code rules and the receipt errors that prove a number unreachable.
//! The result is checked by [`NumberPolicy::new`] here, at load time, so a policy the
//! daemon would refuse is an error at its key, never a surprise at the first MT.
//!
//! ```toml
//! [numbers]
//! default_region = "US"
//! allow = ["+14155550123"]
//! deny = ["+1900*"]
//! unreachable_errors = ["0B1", "acme:X27"]
//! remember_unreachable_for = "30d"
//!
//! [numbers.classes]
//! voip = "deny"
//!
//! [numbers.countries.GB]
//! fixed_line = "allow"
//!
//! [numbers.short_codes.CA]
//! min_digits = 5
//! max_digits = 5
//! ranges = ["16000-17999", "40000-49999"]
//! ```

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Deserialize;

use super::check::Checker;
use super::error::KeyPath;
use crate::number::{
    ClassAction, NumberClass, NumberError, NumberPattern, NumberPolicy, NumberPolicySettings,
    Region, SHORT_CODE_DIGITS, ShortCodeRule, UnreachableRule, UnreachableRules,
};

/// `[numbers]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNumbers {
    pub default_region: Option<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
    #[serde(default)]
    pub unreachable_errors: Vec<String>,
    pub remember_unreachable_for: Option<String>,
    pub unreachable_capacity: Option<usize>,
    /// Class name → action.
    #[serde(default)]
    pub classes: BTreeMap<String, ClassAction>,
    /// Region code → class name → action.
    #[serde(default)]
    pub countries: BTreeMap<String, BTreeMap<String, ClassAction>>,
    /// Region code → rule.
    #[serde(default)]
    pub short_codes: BTreeMap<String, RawShortCodes>,
}

/// `[numbers.short_codes.XX]` as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShortCodes {
    pub min_digits: usize,
    pub max_digits: usize,
    /// `"LOW-HIGH"` or a single `"VALUE"`; none: any code of the right length.
    #[serde(default)]
    pub ranges: Vec<String>,
}

/// `[numbers]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbers {
    /// The region that reads numbers typed without a country code.
    pub default_region: Region,
    /// The SMS-capability policy.
    pub policy: NumberPolicy,
    /// How many numbers proved unreachable are remembered at most.
    pub unreachable_capacity: usize,
}

/// The most list entries or error rules one list may hold.
const MAX_LIST_ENTRIES: usize = 100_000;
const DEFAULT_UNREACHABLE_CAPACITY: usize = 100_000;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Validates `[numbers]`; `carriers` are the configured carrier names, which
/// carrier-scoped error rules must name.
pub fn validate_numbers(c: &mut Checker, r: &RawNumbers, carriers: &[&str]) -> Numbers {
    let path = KeyPath::root().key("numbers");
    let default_region = region(
        c,
        &path.key("default_region"),
        r.default_region.as_deref().unwrap_or("US"),
    )
    .unwrap_or(Region::US);
    let mut settings = NumberPolicySettings {
        default_region: Some(default_region),
        ..NumberPolicySettings::default()
    };
    apply_classes(c, &path.key("classes"), &r.classes, &mut settings.classes);
    for (code, actions) in &r.countries {
        let at = path.key("countries").key(code);
        if let Some(country) = region(c, &at, code) {
            let overrides = settings.countries.entry(country).or_default();
            apply_classes(c, &at, actions, overrides);
        }
    }
    settings.allow = patterns(c, &path.key("allow"), &r.allow);
    settings.deny = patterns(c, &path.key("deny"), &r.deny);
    for (code, raw) in &r.short_codes {
        let at = path.key("short_codes").key(code);
        if let (Some(country), Some(rule)) = (region(c, &at, code), short_code_rule(c, &at, raw)) {
            settings.short_codes.set(country, rule);
        }
    }
    settings.unreachable = unreachable(c, &path, r, carriers);
    let unreachable_capacity = c.range(
        &path.key("unreachable_capacity"),
        r.unreachable_capacity,
        DEFAULT_UNREACHABLE_CAPACITY,
        1,
        10_000_000,
    );
    let policy = NumberPolicy::new(settings).unwrap_or_else(|e| {
        c.error(&policy_error_path(&path, r, &e), e.to_string());
        NumberPolicy::default()
    });
    Numbers {
        default_region,
        policy,
        unreachable_capacity,
    }
}

fn region(c: &mut Checker, path: &KeyPath, code: &str) -> Option<Region> {
    match code.parse::<Region>() {
        Ok(region) => Some(region),
        Err(_) => {
            c.error(
                path,
                format!("`{code}` is not a two-letter region code such as \"US\" or \"GB\""),
            );
            None
        }
    }
}

/// Sets the action of each class named in `raw`; the classes not named keep theirs.
fn apply_classes(
    c: &mut Checker,
    path: &KeyPath,
    raw: &BTreeMap<String, ClassAction>,
    into: &mut BTreeMap<NumberClass, ClassAction>,
) {
    for (name, action) in raw {
        match name.parse::<NumberClass>() {
            Ok(class) => {
                into.insert(class, *action);
            }
            Err(e) => c.error(&path.key(name), e.to_string()),
        }
    }
}

fn patterns(c: &mut Checker, path: &KeyPath, raw: &[String]) -> Vec<NumberPattern> {
    if raw.len() > MAX_LIST_ENTRIES {
        c.error(path, format!("at most {MAX_LIST_ENTRIES} entries"));
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, text)| match text.parse::<NumberPattern>() {
            Ok(pattern) => Some(pattern),
            Err(e) => {
                c.error(&path.index(i), e.to_string());
                None
            }
        })
        .collect()
}

fn short_code_rule(c: &mut Checker, path: &KeyPath, raw: &RawShortCodes) -> Option<ShortCodeRule> {
    let mut ranges = Vec::with_capacity(raw.ranges.len());
    for (i, text) in raw.ranges.iter().enumerate() {
        match parse_range(text) {
            Some(range) => ranges.push(range),
            None => c.error(
                &path.key("ranges").index(i),
                format!("`{text}` is not a range; write \"LOW-HIGH\" such as \"16000-17999\""),
            ),
        }
    }
    if ranges.len() != raw.ranges.len() {
        return None;
    }
    ShortCodeRule::new(raw.min_digits, raw.max_digits, ranges)
        .map_err(|e| c.error(&short_code_error_path(path, raw, &e), e.to_string()))
        .ok()
}

/// Where a refused short-code rule is wrong: the range named, or the lengths.
fn short_code_error_path(path: &KeyPath, raw: &RawShortCodes, error: &NumberError) -> KeyPath {
    if let NumberError::ShortCodeRange { range, .. } = error {
        let index = raw
            .ranges
            .iter()
            .position(|text| parse_range(text).is_some_and(|r| same_range(&r, range)));
        return match index {
            Some(i) => path.key("ranges").index(i),
            None => path.key("ranges"),
        };
    }
    let min_ok = SHORT_CODE_DIGITS.contains(&raw.min_digits) && raw.min_digits <= raw.max_digits;
    path.key(if min_ok { "max_digits" } else { "min_digits" })
}

fn same_range(range: &RangeInclusive<u64>, text: &str) -> bool {
    format!("{}-{}", range.start(), range.end()) == text
}

/// `"16000-17999"` or `"72404"`.
fn parse_range(text: &str) -> Option<RangeInclusive<u64>> {
    let number = |s: &str| {
        let s = s.trim();
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| s.parse::<u64>().ok()).flatten()
    };
    match text.split_once('-') {
        Some((low, high)) => Some(number(low)?..=number(high)?),
        None => number(text).map(|value| value..=value),
    }
}

fn unreachable(
    c: &mut Checker,
    path: &KeyPath,
    r: &RawNumbers,
    carriers: &[&str],
) -> UnreachableRules {
    let list = path.key("unreachable_errors");
    if r.unreachable_errors.len() > MAX_LIST_ENTRIES {
        c.error(&list, format!("at most {MAX_LIST_ENTRIES} entries"));
    }
    let mut rules = Vec::with_capacity(r.unreachable_errors.len());
    for (i, text) in r.unreachable_errors.iter().enumerate() {
        match text.parse::<UnreachableRule>() {
            Ok(rule) => rules.push(rule),
            Err(e) => {
                c.error(&list.index(i), e.to_string());
                continue;
            }
        }
        if let Some((carrier, _)) = text.split_once(':')
            && !carriers.contains(&carrier.trim())
        {
            c.error(
                &list.index(i),
                format!("no carrier is named `{}`", carrier.trim()),
            );
        }
    }
    let remember_for = c.duration(
        &path.key("remember_unreachable_for"),
        r.remember_unreachable_for.as_deref(),
        UnreachableRules::default().remember_for(),
        Duration::from_secs(60),
        3650 * DAY,
    );
    // The duration is at least a minute, the only thing `new` refuses.
    UnreachableRules::new(rules, remember_for).unwrap_or_default()
}

/// Where an error of [`NumberPolicy::new`] belongs in the file.
fn policy_error_path(path: &KeyPath, r: &RawNumbers, error: &NumberError) -> KeyPath {
    let allows_invalid = |actions: &BTreeMap<String, ClassAction>| {
        actions.get("invalid") == Some(&ClassAction::Allow)
    };
    match error {
        NumberError::InvalidAllowed if allows_invalid(&r.classes) => {
            path.key("classes").key("invalid")
        }
        NumberError::InvalidAllowed => r
            .countries
            .iter()
            .find(|(_, actions)| allows_invalid(actions))
            .map(|(code, _)| path.key("countries").key(code).key("invalid"))
            .unwrap_or_else(|| path.clone()),
        NumberError::ListConflict(pattern) => r
            .deny
            .iter()
            .position(|text| {
                text.parse::<NumberPattern>()
                    .is_ok_and(|p| p.to_string() == *pattern)
            })
            .map(|i| path.key("deny").index(i))
            .unwrap_or_else(|| path.key("deny")),
        _ => path.clone(),
    }
}
