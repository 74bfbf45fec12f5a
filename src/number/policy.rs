//! The SMS-capability policy: which classes may receive SMS, per country where it
//! matters, with allow and deny lists and the numbers receipts proved unreachable.
//!
//! The decision, first rule that applies wins:
//!
//! 1. a value that is not a number cannot receive SMS;
//! 2. the deny list, when its match is the most specific one;
//! 3. a mark from the unreachable memory still in force;
//! 4. the allow list;
//! 5. the action for the class in the number's country, if that country overrides it;
//! 6. the action for the class.
//!
//! A receipt's proof beats the allow list because it is newer than the operator's
//! belief and it expires by itself; the deny list beats both because an operator who
//! denies a number means it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::lists::{ListVerdict, NumberList, NumberPattern, list_verdict};
use super::parse_cache::ParseCache;
use super::{
    NumberCheck, NumberClass, NumberError, ParsedNumber, Reason, Region, ShortCodeRules,
    UnreachableMemory, UnreachableRules, parse_number,
};

/// What to do with a class of numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassAction {
    /// Numbers of the class can receive SMS.
    Allow,
    /// Numbers of the class cannot receive SMS; an MT to one is refused.
    Deny,
}

/// Everything the policy is made of, as plain public fields so the config layer can fill
/// it from TOML. Start from [`Default`] (the recommended policy) and insert what the file
/// says; [`NumberPolicy::new`] checks the whole.
#[derive(Clone, Debug)]
pub struct NumberPolicySettings {
    /// The region that reads national formats when the caller gives none.
    pub default_region: Option<Region>,
    /// The action per class. A class missing here is denied.
    pub classes: BTreeMap<NumberClass, ClassAction>,
    /// Per-country actions that replace `classes` for numbers of that country.
    pub countries: BTreeMap<Region, BTreeMap<NumberClass, ClassAction>>,
    /// Numbers and prefixes that can receive SMS whatever their class.
    pub allow: Vec<NumberPattern>,
    /// Numbers and prefixes that never receive SMS.
    pub deny: Vec<NumberPattern>,
    /// What a short code looks like, per country.
    pub short_codes: ShortCodeRules,
    /// Which receipt errors prove a number unreachable, and for how long.
    pub unreachable: UnreachableRules,
}

impl Default for NumberPolicySettings {
    /// The recommended policy: mobile, mobile-or-landline and VoIP numbers receive SMS;
    /// toll-free numbers only in the US and Canada (text-enabled toll-free exists there);
    /// landlines, premium-rate, shared-cost, UAN, pager, voicemail, personal numbers and
    /// short codes do not. No lists, no error codes.
    fn default() -> Self {
        let classes = NumberClass::ALL
            .into_iter()
            .map(|class| (class, recommended_action(class)))
            .collect();
        let toll_free = BTreeMap::from([(NumberClass::TollFree, ClassAction::Allow)]);
        let countries = ["US", "CA"]
            .into_iter()
            .filter_map(|code| code.parse::<Region>().ok())
            .map(|region| (region, toll_free.clone()))
            .collect();
        NumberPolicySettings {
            default_region: None,
            classes,
            countries,
            allow: Vec::new(),
            deny: Vec::new(),
            short_codes: ShortCodeRules::recommended(),
            unreachable: UnreachableRules::default(),
        }
    }
}

fn recommended_action(class: NumberClass) -> ClassAction {
    match class {
        NumberClass::Mobile | NumberClass::FixedLineOrMobile | NumberClass::Voip => {
            ClassAction::Allow
        }
        _ => ClassAction::Deny,
    }
}

/// A checked policy. Build it with [`NumberPolicy::new`]; [`Default`] is the recommended one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberPolicy {
    default_region: Option<Region>,
    classes: BTreeMap<NumberClass, ClassAction>,
    countries: BTreeMap<Region, BTreeMap<NumberClass, ClassAction>>,
    allow: NumberList,
    deny: NumberList,
    short_codes: ShortCodeRules,
    unreachable: UnreachableRules,
    parsed: ParseCache,
}

impl Default for NumberPolicy {
    fn default() -> Self {
        let settings = NumberPolicySettings::default();
        NumberPolicy {
            default_region: settings.default_region,
            classes: settings.classes,
            countries: settings.countries,
            allow: NumberList::default(),
            deny: NumberList::default(),
            short_codes: settings.short_codes,
            unreachable: settings.unreachable,
            parsed: ParseCache::default(),
        }
    }
}

/// Where a decision about a class came from.
enum ClassSource {
    Default,
    Country,
}

impl NumberPolicy {
    /// Checks the settings: `invalid` can never be allowed, and no pattern may be in
    /// both lists.
    pub fn new(settings: NumberPolicySettings) -> Result<Self, NumberError> {
        let allows_invalid = std::iter::once(&settings.classes)
            .chain(settings.countries.values())
            .any(|actions| actions.get(&NumberClass::Invalid) == Some(&ClassAction::Allow));
        if allows_invalid {
            return Err(NumberError::InvalidAllowed);
        }
        let allow = NumberList::new(settings.allow);
        let deny = NumberList::new(settings.deny);
        if let Some(pattern) = allow.first_shared_with(&deny) {
            return Err(NumberError::ListConflict(pattern.to_string()));
        }
        Ok(NumberPolicy {
            default_region: settings.default_region,
            classes: settings.classes,
            countries: settings.countries,
            allow,
            deny,
            short_codes: settings.short_codes,
            unreachable: settings.unreachable,
            parsed: ParseCache::default(),
        })
    }

    /// The region used when a caller gives none.
    pub fn default_region(&self) -> Option<Region> {
        self.default_region
    }

    /// The receipt errors that prove a number unreachable.
    pub fn unreachable_rules(&self) -> &UnreachableRules {
        &self.unreachable
    }

    /// The short-code rules.
    pub fn short_codes(&self) -> &ShortCodeRules {
        &self.short_codes
    }

    /// Parses `input`, reading national formats in `region` or else the default region.
    pub fn parse(&self, input: &str, region: Option<Region>) -> ParsedNumber {
        let region = region.or(self.default_region);
        self.parsed.get_or_parse(input, region, || {
            parse_number(input, region, &self.short_codes)
        })
    }

    /// Parses `input` and decides whether it can receive SMS at `now`.
    pub fn check(
        &self,
        input: &str,
        region: Option<Region>,
        memory: &dyn UnreachableMemory,
        now: SystemTime,
    ) -> NumberCheck {
        let parsed = self.parse(input, region);
        self.decide(input, &parsed, memory, now)
    }

    /// Decides for a value already parsed (the MT flow parses once and keeps the result).
    pub fn decide(
        &self,
        input: &str,
        parsed: &ParsedNumber,
        memory: &dyn UnreachableMemory,
        now: SystemTime,
    ) -> NumberCheck {
        let check = match parsed {
            ParsedNumber::Invalid { problem, region } => {
                NumberCheck::invalid(input, *problem, *region)
            }
            ParsedNumber::ShortCode { region, .. } => {
                let (action, source) = self.class_action(NumberClass::ShortCode, Some(*region));
                NumberCheck::by_class(input, parsed, action, source_reason(action, source))
            }
            ParsedNumber::Number {
                e164,
                region,
                class,
            } => {
                let lists = list_verdict(&self.allow, &self.deny, e164);
                if let Some(denied @ ListVerdict::Denied(_)) = &lists {
                    NumberCheck::by_list(input, parsed, denied)
                } else if let Some(mark) = memory.recall(e164, now) {
                    NumberCheck::learned_unreachable(input, parsed, &mark)
                } else if let Some(allowed) = &lists {
                    NumberCheck::by_list(input, parsed, allowed)
                } else {
                    let (action, source) = self.class_action(*class, *region);
                    NumberCheck::by_class(input, parsed, action, source_reason(action, source))
                }
            }
        };
        super::metrics::number_checked(check.class, check.reason);
        check
    }

    fn class_action(
        &self,
        class: NumberClass,
        region: Option<Region>,
    ) -> (ClassAction, ClassSource) {
        let by_country = region
            .and_then(|region| self.countries.get(&region))
            .and_then(|actions| actions.get(&class));
        match by_country {
            Some(action) => (*action, ClassSource::Country),
            None => (
                self.classes
                    .get(&class)
                    .copied()
                    .unwrap_or(ClassAction::Deny),
                ClassSource::Default,
            ),
        }
    }
}

fn source_reason(action: ClassAction, source: ClassSource) -> Reason {
    match (action, source) {
        (ClassAction::Allow, ClassSource::Default) => Reason::ClassAllowed,
        (ClassAction::Deny, ClassSource::Default) => Reason::ClassDenied,
        (ClassAction::Allow, ClassSource::Country) => Reason::CountryClassAllowed,
        (ClassAction::Deny, ClassSource::Country) => Reason::CountryClassDenied,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::number::{BoundedUnreachableMemory, UnreachableRule};

    fn region(code: &str) -> Region {
        code.parse().unwrap()
    }

    fn check(policy: &NumberPolicy, input: &str) -> NumberCheck {
        let memory = BoundedUnreachableMemory::new(4);
        policy.check(input, None, &memory, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn the_recommended_policy_follows_the_class() {
        let policy = NumberPolicy::default();
        let mobile = check(&policy, "+4915123456789");
        assert!(mobile.sms_capable);
        assert_eq!(mobile.reason, Reason::ClassAllowed);
        let landline = check(&policy, "+442079460000");
        assert!(!landline.sms_capable);
        assert_eq!(landline.reason, Reason::ClassDenied);
        assert_eq!(
            landline.message,
            "This is a landline number in the UK; it cannot receive SMS."
        );
    }

    #[test]
    fn toll_free_is_allowed_in_the_us_by_country_override_only() {
        let policy = NumberPolicy::default();
        let us = check(&policy, "+18005551234");
        assert!(us.sms_capable);
        assert_eq!(us.reason, Reason::CountryClassAllowed);
        let uk = check(&policy, "+448001234567");
        assert!(!uk.sms_capable);
        assert_eq!(uk.reason, Reason::ClassDenied);
    }

    #[test]
    fn country_overrides_and_lists_replace_the_class_action() {
        let mut settings = NumberPolicySettings::default();
        settings
            .countries
            .entry(region("GB"))
            .or_default()
            .insert(NumberClass::FixedLine, ClassAction::Allow);
        settings.deny.push("+4915*".parse().unwrap());
        settings.allow.push("+4915123456789".parse().unwrap());
        let policy = NumberPolicy::new(settings).unwrap();
        let uk = check(&policy, "+442079460000");
        assert!(uk.sms_capable);
        assert_eq!(uk.reason, Reason::CountryClassAllowed);
        let denied = check(&policy, "+4915123456788");
        assert!(!denied.sms_capable);
        assert_eq!(denied.reason, Reason::DenyList);
        let allowed = check(&policy, "+4915123456789");
        assert!(allowed.sms_capable);
        assert_eq!(allowed.reason, Reason::AllowList);
    }

    #[test]
    fn settings_that_allow_invalid_numbers_or_list_a_pattern_twice_are_refused() {
        let mut settings = NumberPolicySettings::default();
        settings
            .classes
            .insert(NumberClass::Invalid, ClassAction::Allow);
        assert!(matches!(
            NumberPolicy::new(settings),
            Err(NumberError::InvalidAllowed)
        ));
        let mut settings = NumberPolicySettings::default();
        settings.allow.push("+4420*".parse().unwrap());
        settings.deny.push("+4420*".parse().unwrap());
        assert!(
            matches!(NumberPolicy::new(settings), Err(NumberError::ListConflict(p)) if p == "+4420*")
        );
    }

    #[test]
    fn a_learned_mark_beats_the_allow_list_until_it_expires() {
        let mut settings = NumberPolicySettings::default();
        settings.allow.push("+14155550123".parse().unwrap());
        settings.unreachable = UnreachableRules::new(
            ["0B1".parse::<UnreachableRule>().unwrap()],
            Duration::from_secs(3600),
        )
        .unwrap();
        let policy = NumberPolicy::new(settings).unwrap();
        let memory = BoundedUnreachableMemory::new(4);
        let number = "+14155550123".parse().unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mark = policy
            .unreachable_rules()
            .mark_for(&number, "carrier-a", "0b1", at)
            .unwrap();
        memory.remember(mark);
        let during = policy.check(
            "+1 415 555 0123",
            None,
            &memory,
            at + Duration::from_secs(60),
        );
        assert!(!during.sms_capable);
        assert_eq!(during.reason, Reason::LearnedUnreachable);
        let after = policy.check(
            "+14155550123",
            None,
            &memory,
            at + Duration::from_secs(3600),
        );
        assert!(after.sms_capable);
        assert_eq!(after.reason, Reason::AllowList);
    }

    #[test]
    fn the_default_region_reads_national_formats() {
        let settings = NumberPolicySettings {
            default_region: Some(region("DE")),
            ..NumberPolicySettings::default()
        };
        let policy = NumberPolicy::new(settings).unwrap();
        let checked = check(&policy, "0151 23456789");
        assert_eq!(checked.e164.unwrap().as_str(), "+4915123456789");
        let us = policy.check(
            "(415) 555-0123",
            Some(region("US")),
            &BoundedUnreachableMemory::new(1),
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(us.e164.unwrap().as_str(), "+14155550123");
    }
}
