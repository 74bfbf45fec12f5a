//! The answer to "can this number receive SMS?", as `GET /v1/numbers/{number}` and
//! `smsbridge number` give it: a stable reason code for programs and a sentence for the
//! agent who typed the number.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::lists::{ListVerdict, NumberPattern};
use super::{E164, InvalidInput, NumberClass, ParsedNumber, Region, UnreachableMark};

/// Why a number can or cannot receive SMS. The snake_case names are stable: the API,
/// the CLI and metric labels use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The policy allows the number's class.
    ClassAllowed,
    /// The policy denies the number's class.
    ClassDenied,
    /// The number's country allows its class (overriding the policy for the class).
    CountryClassAllowed,
    /// The number's country denies its class (overriding the policy for the class).
    CountryClassDenied,
    /// The number or its prefix is on the allow list.
    AllowList,
    /// The number or its prefix is on the deny list.
    DenyList,
    /// A recent receipt proved the number cannot receive SMS.
    LearnedUnreachable,
    /// The value reads as a number of a country whose plan has no such number.
    InvalidNumber,
    /// The value is not a phone number at all.
    NotANumber,
    /// The value is in a national format and no region was given to read it.
    NeedsRegion,
}

impl Reason {
    /// Every reason, for documentation and metric descriptions.
    pub const ALL: [Reason; 10] = [
        Reason::ClassAllowed,
        Reason::ClassDenied,
        Reason::CountryClassAllowed,
        Reason::CountryClassDenied,
        Reason::AllowList,
        Reason::DenyList,
        Reason::LearnedUnreachable,
        Reason::InvalidNumber,
        Reason::NotANumber,
        Reason::NeedsRegion,
    ];

    /// The snake_case code.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::ClassAllowed => "class_allowed",
            Reason::ClassDenied => "class_denied",
            Reason::CountryClassAllowed => "country_class_allowed",
            Reason::CountryClassDenied => "country_class_denied",
            Reason::AllowList => "allow_list",
            Reason::DenyList => "deny_list",
            Reason::LearnedUnreachable => "learned_unreachable",
            Reason::InvalidNumber => "invalid_number",
            Reason::NotANumber => "not_a_number",
            Reason::NeedsRegion => "needs_region",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of checking one number. JSON keys: `input`, `e164`, `country`, `class`,
/// `sms_capable`, `reason`, `message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NumberCheck {
    /// What was typed, unchanged.
    pub input: String,
    /// The E.164 form; `null` for short codes and invalid input.
    #[schema(value_type = Option<String>, example = "+14155550123")]
    pub e164: Option<E164>,
    /// The number's region (`"GB"`); `null` for non-geographic numbers and when unknown.
    #[schema(value_type = Option<String>, example = "US")]
    pub country: Option<Region>,
    /// The class.
    pub class: NumberClass,
    /// Whether an MT to this number may be sent.
    pub sms_capable: bool,
    /// Why, as a stable code.
    pub reason: Reason,
    /// Why, as a sentence for an agent.
    pub message: String,
}

impl NumberCheck {
    fn new(
        input: &str,
        parsed: &ParsedNumber,
        sms_capable: bool,
        reason: Reason,
        message: String,
    ) -> Self {
        NumberCheck {
            input: input.to_owned(),
            e164: parsed.e164().cloned(),
            country: parsed.region(),
            class: parsed.class(),
            sms_capable,
            reason,
            message,
        }
    }

    pub(crate) fn invalid(input: &str, problem: InvalidInput, region: Option<Region>) -> Self {
        let (reason, message) = match (problem, region) {
            (InvalidInput::NotInPlan, Some(region)) => (
                Reason::InvalidNumber,
                format!("This is not a valid phone number in {}.", region.name()),
            ),
            (InvalidInput::NotInPlan, None) => (
                Reason::InvalidNumber,
                "This is not a valid phone number.".to_owned(),
            ),
            (InvalidInput::NeedsRegion, _) => (
                Reason::NeedsRegion,
                "This number has no country code; write it with + and the country code.".to_owned(),
            ),
            (InvalidInput::NotANumber, _) => (
                Reason::NotANumber,
                "This does not look like a phone number.".to_owned(),
            ),
        };
        let parsed = ParsedNumber::Invalid { problem, region };
        NumberCheck::new(input, &parsed, false, reason, message)
    }

    pub(crate) fn by_class(
        input: &str,
        parsed: &ParsedNumber,
        action: super::ClassAction,
        reason: Reason,
    ) -> Self {
        let capable = action == super::ClassAction::Allow;
        let what = describe(parsed);
        let message = match (capable, parsed.class()) {
            (true, NumberClass::FixedLineOrMobile) => {
                format!("This is {what}; it can receive SMS unless it is a landline.")
            }
            (true, _) => format!("This is {what}; it can receive SMS."),
            (false, _) => format!("This is {what}; it cannot receive SMS."),
        };
        NumberCheck::new(input, parsed, capable, reason, message)
    }

    pub(crate) fn by_list(input: &str, parsed: &ParsedNumber, verdict: &ListVerdict) -> Self {
        let (capable, reason, list, pattern) = match verdict {
            ListVerdict::Allowed(pattern) => (true, Reason::AllowList, "allow", pattern),
            ListVerdict::Denied(pattern) => (false, Reason::DenyList, "deny", pattern),
        };
        let entry = match pattern {
            NumberPattern::Exact(_) => "is".to_owned(),
            NumberPattern::Prefix(_) => format!("is in the range {pattern}, which is"),
        };
        let can = if capable { "can" } else { "cannot" };
        let message = format!(
            "This is {}; it {entry} on the {list} list, so it {can} receive SMS.",
            describe(parsed)
        );
        NumberCheck::new(input, parsed, capable, reason, message)
    }

    pub(crate) fn learned_unreachable(
        input: &str,
        parsed: &ParsedNumber,
        mark: &UnreachableMark,
    ) -> Self {
        let until = humantime::format_rfc3339_seconds(mark.until);
        let message = format!(
            "This is {}; a recent message to it failed with carrier error {}, so it counts as \
             unable to receive SMS until {until}.",
            describe(parsed),
            mark.error_code
        );
        NumberCheck::new(input, parsed, false, Reason::LearnedUnreachable, message)
    }
}

/// "a landline number in the UK", "a toll-free number outside any country".
fn describe(parsed: &ParsedNumber) -> String {
    let phrase = parsed.class().phrase();
    match parsed.region() {
        Some(region) => format!("{phrase} in {}", region.name()),
        None => format!("{phrase} of an international service outside any country"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_serialise_as_their_codes() {
        for reason in Reason::ALL {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
        }
    }

    #[test]
    fn a_check_serialises_with_the_documented_keys() {
        let parsed = ParsedNumber::Number {
            e164: "+442079460000".parse().unwrap(),
            region: Some("GB".parse().unwrap()),
            class: NumberClass::FixedLine,
        };
        let check = NumberCheck::by_class(
            "+44 20 7946 0000",
            &parsed,
            super::super::ClassAction::Deny,
            Reason::ClassDenied,
        );
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "input": "+44 20 7946 0000",
                "e164": "+442079460000",
                "country": "GB",
                "class": "fixed_line",
                "sms_capable": false,
                "reason": "class_denied",
                "message": "This is a landline number in the UK; it cannot receive SMS."
            })
        );
    }

    #[test]
    fn non_geographic_numbers_are_described_without_a_country() {
        let parsed = ParsedNumber::Number {
            e164: "+80012345678".parse().unwrap(),
            region: None,
            class: NumberClass::TollFree,
        };
        let check = NumberCheck::by_class(
            "+800 1234 5678",
            &parsed,
            super::super::ClassAction::Deny,
            Reason::ClassDenied,
        );
        assert_eq!(
            check.message,
            "This is a toll-free number of an international service outside any country; it cannot receive SMS."
        );
    }
}
