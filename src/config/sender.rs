//! The `[[senders]]` (business numbers), `[consent]` and `[numbers]` sections.
//!
//! Here only the shape of each entry is checked (digits, lengths, routes that name a
//! configured carrier, duplicates); the numbers module classifies the numbers themselves.

use serde::Deserialize;

use super::check::Checker;
use super::error::KeyPath;

/// `[[senders]]` as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSender {
    pub number: String,
    pub kind: SenderKind,
    pub routes: Vec<String>,
    pub mms: Option<bool>,
    pub tps: Option<u32>,
    pub ton: Option<u8>,
    pub npi: Option<u8>,
    pub brand: Option<String>,
    pub opt_out_keywords: Option<Vec<String>>,
    pub opt_in_keywords: Option<Vec<String>>,
    pub help_keywords: Option<Vec<String>>,
    pub opt_out_reply: Option<String>,
    pub opt_in_reply: Option<String>,
    pub help_reply: Option<String>,
}

/// What kind of business number a sender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderKind {
    /// A ten-digit (or international) long number.
    Longcode,
    /// A 3- to 8-digit short code.
    Shortcode,
    /// A toll-free number (text-enabled).
    TollFree,
    /// An alphanumeric sender id (where the country allows it; cannot receive replies).
    Alphanumeric,
}

impl SenderKind {
    /// The TON/NPI a sender of this kind uses unless configured (REFERENCE §1).
    pub fn default_ton_npi(self) -> (u8, u8) {
        match self {
            SenderKind::Longcode | SenderKind::TollFree => (1, 1),
            SenderKind::Shortcode => (3, 0),
            SenderKind::Alphanumeric => (5, 0),
        }
    }
}

/// A business sender, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// E.164 (`+` and digits) for longcodes and toll-free numbers, digits for shortcodes,
    /// text for alphanumeric ids.
    pub number: String,
    pub kind: SenderKind,
    /// Carrier names, primary first, then fallbacks.
    pub routes: Vec<String>,
    pub mms: bool,
    /// Segments per second for this sender; `None` leaves it to the carrier.
    pub tps: Option<u32>,
    pub ton: u8,
    pub npi: u8,
    pub brand: Option<String>,
    pub opt_out_keywords: Option<Vec<String>>,
    pub opt_in_keywords: Option<Vec<String>>,
    pub help_keywords: Option<Vec<String>>,
    pub opt_out_reply: Option<String>,
    pub opt_in_reply: Option<String>,
    pub help_reply: Option<String>,
}

/// Validates the senders against the configured carrier names.
pub fn validate_senders(c: &mut Checker, raw: &[RawSender], carriers: &[&str]) -> Vec<Sender> {
    let base = KeyPath::root().key("senders");
    raw.iter()
        .enumerate()
        .map(|(i, r)| {
            let path = base.index(i);
            if let Some(first) = raw[..i].iter().position(|o| o.number == r.number) {
                c.error(
                    &path.key("number"),
                    format!("`{}` is already senders[{first}]", r.number),
                );
            }
            validate_sender(c, &path, r, carriers)
        })
        .collect()
}

fn validate_sender(c: &mut Checker, path: &KeyPath, r: &RawSender, carriers: &[&str]) -> Sender {
    let number_path = path.key("number");
    match r.kind {
        SenderKind::Longcode | SenderKind::TollFree => {
            let digits = r.number.strip_prefix('+').unwrap_or("");
            if digits.is_empty()
                || digits.len() > 15
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || digits.starts_with('0')
            {
                c.error(
                    &number_path,
                    format!(
                        "`{}` is not an E.164 number (+ and up to 15 digits)",
                        r.number
                    ),
                );
            } else if r.kind == SenderKind::TollFree && !is_toll_free(&r.number) {
                c.error(
                    &number_path,
                    format!("`{}` is not in a toll-free range", r.number),
                );
            }
        }
        SenderKind::Shortcode => {
            let ok =
                (3..=8).contains(&r.number.len()) && r.number.bytes().all(|b| b.is_ascii_digit());
            if !ok {
                c.error(&number_path, "a shortcode is 3 to 8 digits");
            }
        }
        SenderKind::Alphanumeric => {
            let ok = (1..=11).contains(&r.number.len())
                && r.number
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b' ')
                && r.number.bytes().any(|b| b.is_ascii_alphabetic());
            if !ok {
                c.error(
                    &number_path,
                    "an alphanumeric sender id is 1 to 11 letters, digits and spaces, with at least one letter",
                );
            }
        }
    }
    if r.routes.is_empty() {
        c.error(&path.key("routes"), "name at least one carrier");
    }
    for (j, route) in r.routes.iter().enumerate() {
        if !carriers.contains(&route.as_str()) {
            c.error(
                &path.key("routes").index(j),
                format!("no carrier is named `{route}`"),
            );
        }
    }
    let (ton, npi) = r.kind.default_ton_npi();
    let ton = c.range(&path.key("ton"), r.ton, ton, 0, 6);
    let npi = c.range(&path.key("npi"), r.npi, npi, 0, 18);
    let tps = c.range(&path.key("tps"), r.tps, 0, 0, 1_000_000);
    for (key, list) in [
        ("opt_out_keywords", &r.opt_out_keywords),
        ("opt_in_keywords", &r.opt_in_keywords),
        ("help_keywords", &r.help_keywords),
    ] {
        check_keywords(c, &path.key(key), list.as_deref());
    }
    Sender {
        number: r.number.clone(),
        kind: r.kind,
        routes: r.routes.clone(),
        mms: r.mms.unwrap_or(false),
        tps: (tps > 0).then_some(tps),
        ton,
        npi,
        brand: r.brand.clone(),
        opt_out_keywords: r.opt_out_keywords.clone(),
        opt_in_keywords: r.opt_in_keywords.clone(),
        help_keywords: r.help_keywords.clone(),
        opt_out_reply: r.opt_out_reply.clone(),
        opt_in_reply: r.opt_in_reply.clone(),
        help_reply: r.help_reply.clone(),
    }
}

fn is_toll_free(e164: &str) -> bool {
    match phonenumber::parse(None, e164) {
        Ok(n) => {
            n.is_valid()
                && n.number_type(&phonenumber::metadata::DATABASE) == phonenumber::Type::TollFree
        }
        Err(_) => false,
    }
}

fn check_keywords(c: &mut Checker, path: &KeyPath, list: Option<&[String]>) {
    for (i, k) in list.unwrap_or_default().iter().enumerate() {
        if k.trim().is_empty() || k.len() > 32 {
            c.error(&path.index(i), "a keyword is 1 to 32 characters");
        }
    }
}

/// `[consent]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsent {
    pub scope: Option<ConsentScope>,
    pub opt_out_keywords: Option<Vec<String>>,
    pub opt_in_keywords: Option<Vec<String>>,
    pub help_keywords: Option<Vec<String>>,
    pub opt_out_reply: Option<String>,
    pub opt_in_reply: Option<String>,
    pub help_reply: Option<String>,
}

/// Whom an opt-out covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentScope {
    /// The (contact, sender) pair.
    Sender,
    /// Every sender of the same brand.
    Brand,
}

/// `[consent]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub scope: ConsentScope,
    pub opt_out_keywords: Vec<String>,
    pub opt_in_keywords: Vec<String>,
    pub help_keywords: Vec<String>,
    pub opt_out_reply: String,
    pub opt_in_reply: String,
    pub help_reply: String,
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Validates `[consent]`, filling the defaults of REFERENCE §6.
pub fn validate_consent(c: &mut Checker, r: &RawConsent) -> Consent {
    let path = KeyPath::root().key("consent");
    for (key, list) in [
        ("opt_out_keywords", &r.opt_out_keywords),
        ("opt_in_keywords", &r.opt_in_keywords),
        ("help_keywords", &r.help_keywords),
    ] {
        check_keywords(c, &path.key(key), list.as_deref());
    }
    Consent {
        scope: r.scope.unwrap_or(ConsentScope::Sender),
        opt_out_keywords: r.opt_out_keywords.clone().unwrap_or_else(|| {
            words(&["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"])
        }),
        opt_in_keywords: r
            .opt_in_keywords
            .clone()
            .unwrap_or_else(|| words(&["START", "UNSTOP", "YES"])),
        help_keywords: r
            .help_keywords
            .clone()
            .unwrap_or_else(|| words(&["HELP", "INFO"])),
        opt_out_reply: r.opt_out_reply.clone().unwrap_or_else(|| {
            "You have been unsubscribed and will receive no further messages. Reply START to resubscribe.".into()
        }),
        opt_in_reply: r.opt_in_reply.clone().unwrap_or_else(|| {
            "You have been resubscribed. Reply STOP to unsubscribe.".into()
        }),
        help_reply: r.help_reply.clone().unwrap_or_else(|| {
            "Reply STOP to unsubscribe. Msg&data rates may apply.".into()
        }),
    }
}

/// `[numbers]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNumbers {
    pub default_region: Option<String>,
}

/// `[numbers]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbers {
    /// ISO 3166 region used for numbers typed without a country code.
    pub default_region: String,
}

/// Validates `[numbers]`.
pub fn validate_numbers(c: &mut Checker, r: &RawNumbers) -> Numbers {
    let region = r.default_region.clone().unwrap_or_else(|| "US".into());
    if region.parse::<phonenumber::country::Id>().is_err() {
        c.error(
            &KeyPath::root().key("numbers").key("default_region"),
            format!("`{region}` is not a two-letter region code such as \"US\" or \"GB\""),
        );
    }
    Numbers {
        default_region: region,
    }
}
