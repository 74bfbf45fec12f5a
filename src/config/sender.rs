//! The `[[senders]]` (business numbers), `[consent]` and `[numbers]` sections.
//!
//! Here only the shape of each entry is checked (digits, lengths, routes that name a
//! configured carrier, duplicates); the numbers module classifies the numbers themselves.

use serde::Deserialize;

use super::check::Checker;
use super::error::KeyPath;
use crate::number::{Region, SenderInventory, SenderSpec, TonNpi};

/// `[[senders]]` as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSender {
    pub number: String,
    pub kind: SenderKind,
    pub country: Option<String>,
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

pub use crate::number::SenderKind;

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

/// Validates the senders against the configured carrier names. The numbers themselves
/// (digits, toll-free ranges, duplicates written two ways) are checked by the numbers
/// module's inventory, whose first complaint is placed at the field it names.
pub fn validate_senders(c: &mut Checker, raw: &[RawSender], carriers: &[&str]) -> Vec<Sender> {
    let base = KeyPath::root().key("senders");
    let senders: Vec<Sender> = raw
        .iter()
        .enumerate()
        .map(|(i, r)| validate_sender(c, &base.index(i), r, carriers))
        .collect();
    let specs: Option<Vec<SenderSpec>> = raw
        .iter()
        .zip(&senders)
        .map(|(r, s)| spec_of(r, s))
        .collect();
    if let Some(specs) = specs
        && let Err(e) = SenderInventory::new(specs)
    {
        let path = base.index(e.index);
        let key = match e.field {
            "route" => path.key("routes").index(0),
            "fallback_routes" => path.key("routes"),
            "throughput" => path.key("tps"),
            field => path.key(field),
        };
        c.error(&key, e.problem.to_string());
    }
    senders
}

/// The numbers module's view of a sender; `None` when the entry is already refused.
fn spec_of(r: &RawSender, s: &Sender) -> Option<SenderSpec> {
    let (route, fallbacks) = s.routes.split_first()?;
    let country = match &r.country {
        Some(code) => Some(code.parse::<Region>().ok()?),
        None => None,
    };
    Some(SenderSpec {
        number: s.number.clone(),
        kind: s.kind,
        country,
        route: route.clone(),
        fallback_routes: fallbacks.to_vec(),
        mms: s.mms,
        // No sender limit of its own: the carrier's throttle decides.
        throughput: s.tps.map(f64::from).unwrap_or(UNLIMITED_TPS),
        ton: r.ton,
        npi: r.npi,
        brand: s.brand.clone(),
    })
}

/// The throughput the inventory is given for a sender with no limit of its own.
const UNLIMITED_TPS: f64 = 10_000.0;

fn validate_sender(c: &mut Checker, path: &KeyPath, r: &RawSender, carriers: &[&str]) -> Sender {
    if let Some(code) = &r.country
        && code.parse::<Region>().is_err()
    {
        c.error(
            &path.key("country"),
            format!("`{code}` is not a two-letter region code such as \"US\""),
        );
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
    let usual = TonNpi::for_kind(r.kind);
    let ton = c.range(&path.key("ton"), r.ton, usual.ton.into(), 0, 6);
    let npi = c.range(&path.key("npi"), r.npi, usual.npi.into(), 0, 18);
    let tps = c.range(&path.key("tps"), r.tps, 0, 0, 10_000);
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
