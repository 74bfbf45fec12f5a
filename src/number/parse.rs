//! From what a person typed to an E.164 number and its class.
//!
//! People type `+1 (415) 555-0123`, `0049 151 23456789`, `030 123456` (with a default
//! region), `415.555.0123`. The `phonenumber` crate parses those; this file adds what the
//! crate lacks:
//!
//! - An international prefix `00` typed in a region whose own prefix differs (someone in
//!   the US pasting a German number as `0049 …`) is read as `+`, after the region's own
//!   reading failed.
//! - Short codes, by our own rule (see [`super::shortcode`]).
//! - Classification that keeps the national number's leading zeros. The crate's own
//!   `number_type` drops them, so every Italian landline (`+39 06 …`) would come out
//!   "unknown" although `is_valid` says it is valid; we match the plan's patterns against
//!   the national number as the plan writes it.

use phonenumber::metadata::{DATABASE, Metadata};
use phonenumber::{Mode, Type};

use super::{E164, NumberClass, Region, ShortCodeRules};

/// Longer input is refused before any pattern runs on it: no real number, even with
/// spaces, dashes and an extension, comes close.
pub const MAX_INPUT_CHARS: usize = 64;

/// Characters people put between digits; ignored when looking for a short code.
const SEPARATORS: &[char] = &[' ', '.', '-', '(', ')', '/', '\u{a0}'];

/// What a typed value turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsedNumber {
    /// A number of a numbering plan. `region` is `None` for non-geographic numbers
    /// (`+800` international freephone, `+882` networks).
    Number {
        e164: E164,
        region: Option<Region>,
        class: NumberClass,
    },
    /// A short code of `region`.
    ShortCode { digits: String, region: Region },
    /// Nothing that can be dialled; `region` is the country the input pointed at, if any.
    Invalid {
        problem: InvalidInput,
        region: Option<Region>,
    },
}

/// Why a typed value is not a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidInput {
    /// Empty, too long, or no digits that form a number.
    NotANumber,
    /// Written in a national format, but no region was given to read it in.
    NeedsRegion,
    /// Read as a number of a country, but that country's plan has no such number.
    NotInPlan,
}

impl ParsedNumber {
    /// The class: the plan's for a number, `short_code`, or `invalid`.
    pub fn class(&self) -> NumberClass {
        match self {
            ParsedNumber::Number { class, .. } => *class,
            ParsedNumber::ShortCode { .. } => NumberClass::ShortCode,
            ParsedNumber::Invalid { .. } => NumberClass::Invalid,
        }
    }

    /// The E.164 form, for a number of a plan.
    pub fn e164(&self) -> Option<&E164> {
        match self {
            ParsedNumber::Number { e164, .. } => Some(e164),
            _ => None,
        }
    }

    /// The country the value belongs to, when one is known.
    pub fn region(&self) -> Option<Region> {
        match self {
            ParsedNumber::Number { region, .. } | ParsedNumber::Invalid { region, .. } => *region,
            ParsedNumber::ShortCode { region, .. } => Some(*region),
        }
    }
}

/// Parses and classifies what a person typed. `region` reads national formats (the
/// sender's or the carrier's country); `short_codes` says what a short code looks like
/// in that region.
pub fn parse_number(
    input: &str,
    region: Option<Region>,
    short_codes: &ShortCodeRules,
) -> ParsedNumber {
    let text = input.trim();
    if text.is_empty() || text.chars().count() > MAX_INPUT_CHARS {
        return invalid(InvalidInput::NotANumber, None);
    }
    let first = attempt(text, region);
    if let Attempt::Valid(parsed) = first {
        return parsed;
    }
    let bare_digits = bare_digits(text);
    if let Some(international) = bare_digits.as_deref().and_then(|d| d.strip_prefix("00"))
        && let Attempt::Valid(parsed) = attempt(&format!("+{international}"), None)
    {
        return parsed;
    }
    if let (Some(region), Some(digits)) = (region, bare_digits.as_deref())
        && short_codes.matches(region, digits)
    {
        return ParsedNumber::ShortCode {
            digits: digits.to_owned(),
            region,
        };
    }
    match first {
        Attempt::NotInPlan(region) => invalid(InvalidInput::NotInPlan, region),
        _ if region.is_none() && !text.starts_with('+') && bare_digits.is_some() => {
            invalid(InvalidInput::NeedsRegion, None)
        }
        _ => invalid(InvalidInput::NotANumber, None),
    }
}

fn invalid(problem: InvalidInput, region: Option<Region>) -> ParsedNumber {
    ParsedNumber::Invalid { problem, region }
}

/// The digits of `text` when it holds nothing but digits and separators.
fn bare_digits(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !SEPARATORS.contains(c)).collect();
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

enum Attempt {
    Valid(ParsedNumber),
    /// Parsed into a country code and national number that the plan does not have.
    NotInPlan(Option<Region>),
    Unparseable,
}

fn attempt(text: &str, region: Option<Region>) -> Attempt {
    let Ok(number) = phonenumber::parse(region.map(|r| r.id()), text) else {
        return Attempt::Unparseable;
    };
    let national = number.national().to_string();
    let code = number.code().value();
    let Some(meta) = metadata_for(code, &national) else {
        return Attempt::NotInPlan(main_region(code));
    };
    let class = NumberClass::from_plan_type(plan_type(meta, &national));
    let e164 = number.format().mode(Mode::E164).to_string().parse::<E164>();
    match (class, e164) {
        (NumberClass::Invalid, _) | (_, Err(_)) => Attempt::NotInPlan(main_region(code)),
        (class, Ok(e164)) => Attempt::Valid(ParsedNumber::Number {
            e164,
            region: Region::from_metadata_id(meta.id()),
            class,
        }),
    }
}

/// The region whose plan a national number belongs to, among those sharing its country
/// code (+1 is shared by the US, Canada and the Caribbean; +44 by the UK, Jersey,
/// Guernsey and the Isle of Man). Same rule as the crate's, but on the national number
/// with its leading zeros.
fn metadata_for(code: u16, national: &str) -> Option<&'static Metadata> {
    let regions = DATABASE.region(&code)?;
    if let [only] = regions.as_slice() {
        return if *only == "001" {
            DATABASE.by_code(&code)?.into_iter().next()
        } else {
            DATABASE.by_id(*only)
        };
    }
    regions.into_iter().find_map(|id| {
        let meta = DATABASE.by_id(id)?;
        let belongs = match meta.leading_digits() {
            Some(pattern) => pattern.find(national).is_some_and(|m| m.start() == 0),
            None => plan_type(meta, national) != Type::Unknown,
        };
        belongs.then_some(meta)
    })
}

/// The main region of a country code, to name the country of an invalid number.
fn main_region(code: u16) -> Option<Region> {
    let metas = DATABASE.by_code(&code)?;
    let main = metas
        .iter()
        .find(|meta| meta.is_main_country_for_code())
        .or_else(|| metas.first())?;
    Region::from_metadata_id(main.id())
}

/// The plan's type of a national number, checked in the plan's own order: the rarer,
/// costlier types first, then landline and mobile. A number whose landline and mobile
/// patterns both match (or are one pattern, as in the US) is "fixed line or mobile".
fn plan_type(meta: &Metadata, national: &str) -> Type {
    let descriptors = meta.descriptors();
    if !descriptors.general().is_match(national) {
        return Type::Unknown;
    }
    let matches = |kind: Type| descriptors.get(kind).is_some_and(|d| d.is_match(national));
    const SPECIAL: [Type; 8] = [
        Type::PremiumRate,
        Type::TollFree,
        Type::SharedCost,
        Type::Voip,
        Type::PersonalNumber,
        Type::Pager,
        Type::Uan,
        Type::Voicemail,
    ];
    if let Some(kind) = SPECIAL.into_iter().find(|kind| matches(*kind)) {
        return kind;
    }
    if matches(Type::FixedLine) {
        let same_pattern = descriptors
            .fixed_line()
            .zip(descriptors.mobile())
            .is_some_and(|(fixed, mobile)| {
                fixed.national_number().as_str() == mobile.national_number().as_str()
            });
        return if same_pattern || matches(Type::Mobile) {
            Type::FixedLineOrMobile
        } else {
            Type::FixedLine
        };
    }
    if matches(Type::Mobile) {
        return Type::Mobile;
    }
    Type::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crate's own type, to compare with ours where the crate is right.
    fn crate_type(number: &phonenumber::PhoneNumber) -> Type {
        number.number_type(&DATABASE)
    }

    fn rules() -> ShortCodeRules {
        ShortCodeRules::recommended()
    }

    fn region(code: &str) -> Option<Region> {
        Some(code.parse().unwrap())
    }

    #[test]
    fn our_classification_agrees_with_the_crate_on_every_example_without_leading_zeros() {
        let mut compared = 0;
        for meta in DATABASE.iter() {
            for kind in [
                Type::FixedLine,
                Type::Mobile,
                Type::TollFree,
                Type::PremiumRate,
                Type::SharedCost,
                Type::PersonalNumber,
                Type::Voip,
                Type::Pager,
                Type::Uan,
                Type::Voicemail,
            ] {
                let Some(example) = meta.descriptors().get(kind).and_then(|d| d.example()) else {
                    continue;
                };
                let text = format!("+{}{}", meta.country_code(), example);
                let Ok(number) = phonenumber::parse(None, &text) else {
                    continue;
                };
                if number.national().zeros() > 0 {
                    continue;
                }
                let ours = metadata_for(meta.country_code(), &number.national().to_string())
                    .map(|m| plan_type(m, &number.national().to_string()))
                    .unwrap_or(Type::Unknown);
                assert_eq!(ours, crate_type(&number), "{text}");
                compared += 1;
            }
        }
        assert!(compared > 1000, "only {compared} examples compared");
    }

    #[test]
    fn italian_landlines_keep_their_leading_zero() {
        let parsed = parse_number("+39 06 6982 1234", None, &rules());
        assert_eq!(parsed.class(), NumberClass::FixedLine);
        assert_eq!(parsed.e164().unwrap().as_str(), "+390669821234");
        // The crate's own type for the same number is wrong, which is why we classify.
        let number = phonenumber::parse(None, "+39 06 6982 1234").unwrap();
        assert_eq!(crate_type(&number), Type::Unknown);
    }

    #[test]
    fn double_zero_prefix_is_read_as_plus_when_the_region_uses_another_prefix() {
        let parsed = parse_number("0049 151 23456789", region("US"), &rules());
        assert_eq!(parsed.e164().unwrap().as_str(), "+4915123456789");
        assert_eq!(parsed.region(), region("DE"));
        let parsed = parse_number("0049 151 23456789", None, &rules());
        assert_eq!(parsed.class(), NumberClass::Mobile);
    }

    #[test]
    fn national_formats_need_a_region() {
        let parsed = parse_number("415 555 0123", None, &rules());
        assert_eq!(
            parsed,
            ParsedNumber::Invalid {
                problem: InvalidInput::NeedsRegion,
                region: None
            }
        );
    }

    #[test]
    fn short_codes_need_their_region_and_rule() {
        let us = parse_number("72404", region("US"), &rules());
        assert_eq!(
            us,
            ParsedNumber::ShortCode {
                digits: "72404".into(),
                region: region("US").unwrap()
            }
        );
        assert_eq!(
            parse_number("72 404", region("US"), &rules()).class(),
            NumberClass::ShortCode
        );
        assert_eq!(
            parse_number("+72404", region("US"), &rules()).class(),
            NumberClass::Invalid
        );
        assert_eq!(
            parse_number("72404", region("IT"), &rules()).class(),
            NumberClass::Invalid
        );
        let none = ShortCodeRules::default();
        assert_eq!(
            parse_number("72404", region("US"), &none).class(),
            NumberClass::Invalid
        );
    }

    #[test]
    fn garbage_and_overlong_input_are_not_numbers() {
        for input in ["", "   ", "hello", "+", "12"] {
            let parsed = parse_number(input, region("US"), &rules());
            assert_eq!(parsed.class(), NumberClass::Invalid, "{input:?}");
        }
        let long = "1".repeat(MAX_INPUT_CHARS + 1);
        assert!(matches!(
            parse_number(&long, region("US"), &rules()),
            ParsedNumber::Invalid {
                problem: InvalidInput::NotANumber,
                ..
            }
        ));
    }

    #[test]
    fn invalid_numbers_name_the_country_they_point_at() {
        let parsed = parse_number("+49 123", None, &rules());
        assert_eq!(
            parsed,
            ParsedNumber::Invalid {
                problem: InvalidInput::NotInPlan,
                region: region("DE")
            }
        );
    }
}
