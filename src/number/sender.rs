//! Business senders: the numbers (and alphanumeric IDs) we send from, with how each is
//! routed and addressed.
//!
//! A [`SenderSpec`] is what the config file says about one sender; [`Sender::from_spec`]
//! checks it and derives what was left out (the canonical address, TON/NPI). Every
//! error names the sender (its position in `[[senders]]` and its number) and the field.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::ton_npi::{Npi, Ton};
use super::{E164, NumberClass, ParsedNumber, Region, ShortCodeRules, TonNpi, parse_number};

/// The longest alphanumeric sender ID (GSM 03.40: 11 characters in 7-bit packing).
pub const MAX_ALPHANUMERIC_CHARS: usize = 11;
/// At most this many fallback routes per sender.
pub const MAX_FALLBACK_ROUTES: usize = 4;
/// The highest throughput a sender may declare, in segments per second.
pub const MAX_THROUGHPUT: f64 = 10_000.0;

/// What kind of business number a sender is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderKind {
    /// An ordinary (10-digit in the US) number.
    Longcode,
    /// A 3–8 digit number valid inside one country.
    Shortcode,
    /// A text-enabled toll-free number.
    TollFree,
    /// A text sender ID, where the destination country allows one.
    Alphanumeric,
}

impl SenderKind {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            SenderKind::Longcode => "longcode",
            SenderKind::Shortcode => "shortcode",
            SenderKind::TollFree => "toll_free",
            SenderKind::Alphanumeric => "alphanumeric",
        }
    }
}

/// A sender's address in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SenderAddress {
    /// A longcode or toll-free number.
    Number(E164),
    /// A shortcode's digits.
    ShortCode(String),
    /// An alphanumeric sender ID as configured (compared without regard to case).
    Alphanumeric(String),
}

impl SenderAddress {
    /// The canonical text: `+18005550100`, `72404`, `ACME`.
    pub fn as_str(&self) -> &str {
        match self {
            SenderAddress::Number(number) => number.as_str(),
            SenderAddress::ShortCode(digits) => digits,
            SenderAddress::Alphanumeric(text) => text,
        }
    }

    /// What SMPP puts in `source_addr`: E.164 digits without `+` (TON international),
    /// the shortcode, or the ID.
    pub fn smpp_address(&self) -> &str {
        match self {
            SenderAddress::Number(number) => number.digits(),
            other => other.as_str(),
        }
    }

    /// The key that identifies the sender: alphanumeric IDs fold case.
    pub(crate) fn key(&self) -> String {
        match self {
            SenderAddress::Alphanumeric(text) => text.to_uppercase(),
            other => other.as_str().to_owned(),
        }
    }
}

impl fmt::Display for SenderAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SenderAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SenderAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for SenderAddress {
    type Err = SenderProblem;

    /// Reads the canonical text back: `+` and digits is a number, 3–8 digits a shortcode,
    /// anything else must be a valid alphanumeric ID.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.starts_with('+') {
            return text.parse().map(SenderAddress::Number).map_err(|_| {
                SenderProblem::NotANumber {
                    value: text.to_owned(),
                }
            });
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            check_shortcode(text)?;
            return Ok(SenderAddress::ShortCode(text.to_owned()));
        }
        check_alphanumeric(text)?;
        Ok(SenderAddress::Alphanumeric(text.to_owned()))
    }
}

/// A sender's routes: the carrier that normally carries it, and those to fail over to,
/// in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    primary: String,
    fallback: Vec<String>,
}

impl Routes {
    /// The carrier that normally carries the sender.
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// The carriers to try, in order, when the primary cannot take a message.
    pub fn fallback(&self) -> &[String] {
        &self.fallback
    }

    /// The primary, then the fallbacks.
    pub fn in_order(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.primary.as_str()).chain(self.fallback.iter().map(String::as_str))
    }
}

/// What the config file says about one sender: one `[[senders]]` table, field for field
/// (unknown fields are refused).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderSpec {
    /// The number as written (`+1 800 555 0100`), the shortcode's digits, or the ID.
    pub number: String,
    /// The kind of sender.
    pub kind: SenderKind,
    /// The country: required for a shortcode; reads a longcode written in national format.
    #[serde(default)]
    pub country: Option<Region>,
    /// The carrier route that normally carries it.
    pub route: String,
    /// Carrier routes to fail over to, in order.
    #[serde(default)]
    pub fallback_routes: Vec<String>,
    /// Whether MMS can be sent from it.
    #[serde(default)]
    pub mms: bool,
    /// Segments per second it may send.
    pub throughput: f64,
    /// TON to use instead of the kind's.
    #[serde(default)]
    pub ton: Option<u8>,
    /// NPI to use instead of the kind's.
    #[serde(default)]
    pub npi: Option<u8>,
    /// The brand it belongs to (consent can be shared across a brand's senders).
    #[serde(default)]
    pub brand: Option<String>,
}

/// A checked sender.
#[derive(Clone, Debug, PartialEq)]
pub struct Sender {
    address: SenderAddress,
    kind: SenderKind,
    country: Option<Region>,
    routes: Routes,
    mms: bool,
    throughput: f64,
    ton_npi: TonNpi,
    brand: Option<String>,
}

impl Sender {
    /// Checks `spec`, the `index`-th entry of `[[senders]]` (from 0).
    pub fn from_spec(index: usize, spec: SenderSpec) -> Result<Sender, SenderError> {
        let fail = |field: &'static str| {
            let label = spec.number.clone();
            move |problem: SenderProblem| SenderError {
                index,
                label: label.clone(),
                field,
                problem,
            }
        };
        let (address, country) = address_of(&spec).map_err(fail("number"))?;
        let country = match (spec.kind, country) {
            (SenderKind::Shortcode, None) => {
                return Err(fail("country")(SenderProblem::MissingCountry));
            }
            (_, country) => country,
        };
        let routes = routes_of(&spec).map_err(fail("fallback_routes"))?;
        check_route_name(&routes.primary).map_err(fail("route"))?;
        let throughput_ok = spec.throughput.is_finite()
            && spec.throughput > 0.0
            && spec.throughput <= MAX_THROUGHPUT;
        if !throughput_ok {
            return Err(fail("throughput")(SenderProblem::Throughput {
                value: spec.throughput,
            }));
        }
        let derived = TonNpi::for_kind(spec.kind);
        let ton = match spec.ton {
            Some(value) => {
                Ton::try_from(value).map_err(|v| fail("ton")(SenderProblem::Ton { value: v }))?
            }
            None => derived.ton,
        };
        let npi = match spec.npi {
            Some(value) => {
                Npi::try_from(value).map_err(|v| fail("npi")(SenderProblem::Npi { value: v }))?
            }
            None => derived.npi,
        };
        let brand = match spec.brand.as_deref() {
            Some(brand) => Some(check_brand(brand).map_err(fail("brand"))?),
            None => None,
        };
        Ok(Sender {
            address,
            kind: spec.kind,
            country,
            routes,
            mms: spec.mms,
            throughput: spec.throughput,
            ton_npi: TonNpi { ton, npi },
            brand,
        })
    }

    /// The canonical address.
    pub fn address(&self) -> &SenderAddress {
        &self.address
    }

    /// The kind of sender.
    pub fn kind(&self) -> SenderKind {
        self.kind
    }

    /// The sender's country: the number's, the shortcode's, or the one configured for an ID.
    pub fn country(&self) -> Option<Region> {
        self.country
    }

    /// The carrier routes.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Whether MMS can be sent from it.
    pub fn mms(&self) -> bool {
        self.mms
    }

    /// Segments per second it may send.
    pub fn throughput(&self) -> f64 {
        self.throughput
    }

    /// The TON/NPI to put on `source_addr`.
    pub fn ton_npi(&self) -> TonNpi {
        self.ton_npi
    }

    /// The brand, if configured.
    pub fn brand(&self) -> Option<&str> {
        self.brand.as_deref()
    }
}

/// Why a sender was refused: which one, which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("senders[{index}] ({label:?}), field `{field}`: {problem}")]
pub struct SenderError {
    /// The sender's position in `[[senders]]`, from 0.
    pub index: usize,
    /// The number as the file wrote it.
    pub label: String,
    /// The field at fault, as the file names it.
    pub field: &'static str,
    /// What is wrong.
    pub problem: SenderProblem,
}

/// What is wrong with one field of a sender.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SenderProblem {
    /// A longcode or toll-free number that no numbering plan has.
    #[error("{value:?} is not a valid phone number (write it as +, country code, number)")]
    NotANumber {
        /// The value as written.
        value: String,
    },
    /// A longcode that the plan says is toll-free.
    #[error("this is a toll-free number; declare it with kind = \"toll_free\"")]
    LongcodeIsTollFree,
    /// A toll-free sender whose number is not in a toll-free range.
    #[error("this is not in a toll-free range (it is {})", class.phrase())]
    NotTollFree {
        /// The class the plan gives the number.
        class: NumberClass,
    },
    /// A shortcode that is not 3 to 8 digits.
    #[error("a shortcode has 3 to 8 digits and nothing else, got {value:?}")]
    ShortcodeDigits {
        /// The value as written.
        value: String,
    },
    /// A shortcode without the country it is valid in.
    #[error("a shortcode needs the country it is valid in")]
    MissingCountry,
    /// An alphanumeric ID longer than 11 characters, or empty.
    #[error("an alphanumeric sender ID has 1 to {MAX_ALPHANUMERIC_CHARS} characters, got {chars}")]
    AlphanumericLength {
        /// Its length in characters.
        chars: usize,
    },
    /// An alphanumeric ID with a character carriers refuse, or with no letter.
    #[error(
        "an alphanumeric sender ID holds ASCII letters, digits, spaces and - _ . & only, \
         with at least one letter and no space at either end; got {value:?}"
    )]
    AlphanumericCharacters {
        /// The value as written.
        value: String,
    },
    /// A carrier route name that is empty or has characters outside `A-Za-z0-9_.-`.
    #[error("{name:?} is not a carrier name (letters, digits, _ . - only)")]
    RouteName {
        /// The name as written.
        name: String,
    },
    /// A route listed twice, or a fallback equal to the primary route.
    #[error("route {name:?} is listed twice")]
    RouteRepeated {
        /// The repeated name.
        name: String,
    },
    /// More fallback routes than allowed.
    #[error("at most {MAX_FALLBACK_ROUTES} fallback routes, got {count}")]
    TooManyFallbacks {
        /// How many were given.
        count: usize,
    },
    /// A throughput that is not a positive number up to the maximum.
    #[error(
        "throughput is segments per second, more than 0 and at most {MAX_THROUGHPUT}; got {value}"
    )]
    Throughput {
        /// The value given.
        value: f64,
    },
    /// A TON value SMPP does not define.
    #[error("TON {value} is not defined by SMPP (0 to 6)")]
    Ton {
        /// The value given.
        value: u8,
    },
    /// An NPI value SMPP does not define.
    #[error("NPI {value} is not defined by SMPP (0, 1, 3, 4, 6, 8, 9, 10, 14, 18)")]
    Npi {
        /// The value given.
        value: u8,
    },
    /// A brand name that is empty, longer than 64 characters, or has control characters.
    #[error("a brand is 1 to 64 printable characters")]
    Brand,
    /// The same address as an earlier sender.
    #[error("the same number as senders[{first}]")]
    Duplicate {
        /// The earlier sender's position.
        first: usize,
    },
}

fn address_of(spec: &SenderSpec) -> Result<(SenderAddress, Option<Region>), SenderProblem> {
    match spec.kind {
        SenderKind::Shortcode => {
            check_shortcode(&spec.number)?;
            Ok((SenderAddress::ShortCode(spec.number.clone()), spec.country))
        }
        SenderKind::Alphanumeric => {
            check_alphanumeric(&spec.number)?;
            Ok((
                SenderAddress::Alphanumeric(spec.number.clone()),
                spec.country,
            ))
        }
        SenderKind::Longcode | SenderKind::TollFree => {
            // Short-code rules play no part: a longcode is a full number.
            let parsed = parse_number(&spec.number, spec.country, &ShortCodeRules::default());
            let ParsedNumber::Number {
                e164,
                region,
                class,
            } = parsed
            else {
                return Err(SenderProblem::NotANumber {
                    value: spec.number.clone(),
                });
            };
            match (spec.kind, class) {
                (SenderKind::Longcode, NumberClass::TollFree) => {
                    Err(SenderProblem::LongcodeIsTollFree)
                }
                (SenderKind::TollFree, class) if class != NumberClass::TollFree => {
                    Err(SenderProblem::NotTollFree { class })
                }
                _ => Ok((SenderAddress::Number(e164), region)),
            }
        }
    }
}

fn check_shortcode(value: &str) -> Result<(), SenderProblem> {
    let ok = super::shortcode::SHORT_CODE_DIGITS.contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(SenderProblem::ShortcodeDigits {
            value: value.to_owned(),
        })
    }
}

fn check_alphanumeric(value: &str) -> Result<(), SenderProblem> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_ALPHANUMERIC_CHARS {
        return Err(SenderProblem::AlphanumericLength { chars });
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '&');
    let ok = value.chars().all(allowed)
        && value.chars().any(|c| c.is_ascii_alphabetic())
        && value.trim() == value;
    if ok {
        Ok(())
    } else {
        Err(SenderProblem::AlphanumericCharacters {
            value: value.to_owned(),
        })
    }
}

fn check_route_name(name: &str) -> Result<(), SenderProblem> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(SenderProblem::RouteName {
            name: name.to_owned(),
        })
    }
}

fn routes_of(spec: &SenderSpec) -> Result<Routes, SenderProblem> {
    if spec.fallback_routes.len() > MAX_FALLBACK_ROUTES {
        return Err(SenderProblem::TooManyFallbacks {
            count: spec.fallback_routes.len(),
        });
    }
    for (position, name) in spec.fallback_routes.iter().enumerate() {
        check_route_name(name)?;
        let repeated = *name == spec.route || spec.fallback_routes[..position].contains(name);
        if repeated {
            return Err(SenderProblem::RouteRepeated { name: name.clone() });
        }
    }
    Ok(Routes {
        primary: spec.route.clone(),
        fallback: spec.fallback_routes.clone(),
    })
}

fn check_brand(brand: &str) -> Result<String, SenderProblem> {
    let trimmed = brand.trim();
    let chars = trimmed.chars().count();
    if (1..=64).contains(&chars) && !trimmed.chars().any(char::is_control) {
        Ok(trimmed.to_owned())
    } else {
        Err(SenderProblem::Brand)
    }
}
