//! The classes a destination number falls into, as the API and the CLI name them.

use std::fmt;
use std::str::FromStr;

use phonenumber::Type;
use serde::{Deserialize, Serialize};

use super::NumberError;

/// What kind of line a number is. Serialised in snake_case (`fixed_line_or_mobile`); the
/// names are part of the API and the config file.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NumberClass {
    /// A handset on a mobile network.
    Mobile,
    /// A landline.
    FixedLine,
    /// The plan does not tell mobile from landline (the US, Canada and the rest of +1).
    FixedLineOrMobile,
    /// Free for the caller (US 800, 833, …; UK 0800).
    TollFree,
    /// The caller pays a premium (US 900, UK 09).
    PremiumRate,
    /// Caller and callee share the cost (UK 0845, FR 081x).
    SharedCost,
    /// Voice over IP, in plans that give it its own range (UK 056).
    Voip,
    /// A pager.
    Pager,
    /// A company's universal access number (UK 055, DE 0180 5).
    Uan,
    /// A voicemail access number.
    Voicemail,
    /// A personal number that forwards to another line (UK 070).
    Personal,
    /// A short code: an application's number, 3 to 8 digits, valid only inside its country.
    ShortCode,
    /// Not a number of any plan.
    Invalid,
}

impl NumberClass {
    /// Every class, in the order the documentation lists them.
    pub const ALL: [NumberClass; 13] = [
        NumberClass::Mobile,
        NumberClass::FixedLine,
        NumberClass::FixedLineOrMobile,
        NumberClass::TollFree,
        NumberClass::PremiumRate,
        NumberClass::SharedCost,
        NumberClass::Voip,
        NumberClass::Pager,
        NumberClass::Uan,
        NumberClass::Voicemail,
        NumberClass::Personal,
        NumberClass::ShortCode,
        NumberClass::Invalid,
    ];

    /// The snake_case name used in JSON, TOML and metric labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            NumberClass::Mobile => "mobile",
            NumberClass::FixedLine => "fixed_line",
            NumberClass::FixedLineOrMobile => "fixed_line_or_mobile",
            NumberClass::TollFree => "toll_free",
            NumberClass::PremiumRate => "premium_rate",
            NumberClass::SharedCost => "shared_cost",
            NumberClass::Voip => "voip",
            NumberClass::Pager => "pager",
            NumberClass::Uan => "uan",
            NumberClass::Voicemail => "voicemail",
            NumberClass::Personal => "personal",
            NumberClass::ShortCode => "short_code",
            NumberClass::Invalid => "invalid",
        }
    }

    /// The class with its indefinite article, for sentences: "a landline number".
    pub fn phrase(&self) -> &'static str {
        match self {
            NumberClass::Mobile => "a mobile number",
            NumberClass::FixedLine => "a landline number",
            NumberClass::FixedLineOrMobile => "a mobile or landline number",
            NumberClass::TollFree => "a toll-free number",
            NumberClass::PremiumRate => "a premium-rate number",
            NumberClass::SharedCost => "a shared-cost number",
            NumberClass::Voip => "an internet (VoIP) number",
            NumberClass::Pager => "a pager number",
            NumberClass::Uan => "a company (universal access) number",
            NumberClass::Voicemail => "a voicemail access number",
            NumberClass::Personal => "a personal forwarding number",
            NumberClass::ShortCode => "a short code",
            NumberClass::Invalid => "not a valid number",
        }
    }

    /// Maps the numbering plan's type to our class. Types the plan uses only for short
    /// numbers (which the crate never returns) and `Unknown` mean the number is invalid.
    pub(crate) fn from_plan_type(kind: Type) -> NumberClass {
        match kind {
            Type::Mobile => NumberClass::Mobile,
            Type::FixedLine => NumberClass::FixedLine,
            Type::FixedLineOrMobile => NumberClass::FixedLineOrMobile,
            Type::TollFree => NumberClass::TollFree,
            Type::PremiumRate => NumberClass::PremiumRate,
            Type::SharedCost => NumberClass::SharedCost,
            Type::Voip => NumberClass::Voip,
            Type::Pager => NumberClass::Pager,
            Type::Uan => NumberClass::Uan,
            Type::Voicemail => NumberClass::Voicemail,
            Type::PersonalNumber => NumberClass::Personal,
            Type::ShortCode => NumberClass::ShortCode,
            Type::Emergency
            | Type::StandardRate
            | Type::Carrier
            | Type::NoInternational
            | Type::Unknown => NumberClass::Invalid,
        }
    }
}

impl fmt::Display for NumberClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NumberClass {
    type Err = NumberError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        NumberClass::ALL
            .into_iter()
            .find(|class| class.as_str() == text)
            .ok_or_else(|| NumberError::UnknownClass(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for class in NumberClass::ALL {
            let json = serde_json::to_string(&class).unwrap();
            assert_eq!(json, format!("\"{}\"", class.as_str()));
            assert_eq!(class.as_str().parse::<NumberClass>().unwrap(), class);
        }
        assert!("landline".parse::<NumberClass>().is_err());
    }
}
