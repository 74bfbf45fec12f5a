//! The `[[senders]]` (business numbers) and `[consent]` sections.
//!
//! Here only the shape of each entry is checked (digits, lengths, routes that name a
//! configured carrier, duplicates); the numbers module classifies the numbers themselves.

use serde::Deserialize;

use super::check::Checker;
use super::error::KeyPath;
use crate::consent::{
    self, ConsentError, ConsentPolicy, ConsentSettings, KeywordProfile, KeywordSet,
    MAX_KEYWORD_CHARS, ProfileOverrides, Replies,
};
use crate::number::{Region, SenderError, SenderInventory, SenderSpec, TonNpi};

/// `[[senders]]` as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSender {
    pub number: String,
    pub kind: SenderKind,
    pub country: Option<String>,
    pub routes: Vec<String>,
    pub mms: Option<bool>,
    /// What an MT with media does when it cannot go as MMS; default: the route's.
    pub mms_fallback: Option<super::mm7::MmsFallback>,
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
    /// Where a shortcode is valid; reads a longcode written in national format.
    pub country: Option<Region>,
    /// Carrier names, primary first, then fallbacks.
    pub routes: Vec<String>,
    pub mms: bool,
    /// What an MT with media does when it cannot go as MMS; `None`: the carrier's.
    pub mms_fallback: Option<super::mm7::MmsFallback>,
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
    // An entry already refused (no route, a country that is not one) would only repeat
    // its error here.
    let countries_ok = raw.iter().all(|r| {
        r.country
            .as_deref()
            .is_none_or(|c| c.parse::<Region>().is_ok())
    });
    let specs: Option<Vec<SenderSpec>> = senders.iter().map(spec_of).collect();
    if countries_ok
        && let Some(specs) = specs
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

/// The numbers module's view of a sender; `None` when it has no route.
fn spec_of(s: &Sender) -> Option<SenderSpec> {
    let (route, fallbacks) = s.routes.split_first()?;
    Some(SenderSpec {
        number: s.number.clone(),
        kind: s.kind,
        country: s.country,
        route: route.clone(),
        fallback_routes: fallbacks.to_vec(),
        mms: s.mms,
        // No sender limit of its own: the carrier's throttle decides.
        throughput: s.tps.map(f64::from).unwrap_or(UNLIMITED_TPS),
        ton: Some(s.ton),
        npi: Some(s.npi),
        brand: s.brand.clone(),
    })
}

/// The senders as the numbers module looks them up (MT `from`, MO destination, the
/// opt-out administration). Senders of a validated [`super::Config`] always make one;
/// the error is for senders built by hand.
pub fn sender_inventory(senders: &[Sender]) -> Result<SenderInventory, SenderError> {
    let specs = senders.iter().enumerate().map(|(index, s)| {
        spec_of(s).ok_or_else(|| SenderError {
            index,
            label: s.number.clone(),
            field: "route",
            problem: crate::number::SenderProblem::RouteName {
                name: String::new(),
            },
        })
    });
    SenderInventory::new(specs.collect::<Result<Vec<_>, _>>()?)
}

/// The throughput the inventory is given for a sender with no limit of its own.
const UNLIMITED_TPS: f64 = 10_000.0;

fn validate_sender(c: &mut Checker, path: &KeyPath, r: &RawSender, carriers: &[&str]) -> Sender {
    let country = r
        .country
        .as_deref()
        .and_then(|code| match code.parse::<Region>() {
            Ok(region) => Some(region),
            Err(_) => {
                c.error(
                    &path.key("country"),
                    format!("`{code}` is not a two-letter region code such as \"US\""),
                );
                None
            }
        });
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
    check_keyword_lists(
        c,
        path,
        [&r.opt_out_keywords, &r.opt_in_keywords, &r.help_keywords],
    );
    Sender {
        number: r.number.clone(),
        kind: r.kind,
        country,
        routes: r.routes.clone(),
        mms: r.mms.unwrap_or(false),
        mms_fallback: r.mms_fallback,
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

/// Checks the three keyword lists of a table (a sender or `[consent]`).
fn check_keyword_lists(c: &mut Checker, table: &KeyPath, lists: [&Option<Vec<String>>; 3]) {
    let keys = ["opt_out_keywords", "opt_in_keywords", "help_keywords"];
    for (key, list) in keys.into_iter().zip(lists) {
        check_keywords(c, &table.key(key), list.as_deref());
    }
}

/// Each word as the consent module reads it: what is left once punctuation and spaces
/// at its ends are trimmed.
fn check_keywords(c: &mut Checker, path: &KeyPath, list: Option<&[String]>) {
    for (i, k) in list.unwrap_or_default().iter().enumerate() {
        if consent::normalise(k).is_none() {
            c.error(
                &path.index(i),
                format!(
                    "a keyword is 1 to {MAX_KEYWORD_CHARS} letters, digits and inner spaces \
                     (punctuation and spaces at its ends do not count)"
                ),
            );
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

/// Validates `[consent]`; what the file leaves out is the consent module's recommended
/// profile ([`KeywordSet::recommended`], [`Replies::recommended`]), so the defaults have
/// one source.
pub fn validate_consent(c: &mut Checker, r: &RawConsent) -> Consent {
    let path = KeyPath::root().key("consent");
    check_keyword_lists(
        c,
        &path,
        [&r.opt_out_keywords, &r.opt_in_keywords, &r.help_keywords],
    );
    let keywords = KeywordSet::recommended();
    let replies = Replies::recommended();
    let reply = |given: &Option<String>, default: Option<&str>| {
        given
            .clone()
            .unwrap_or_else(|| default.unwrap_or_default().to_owned())
    };
    Consent {
        scope: r.scope.unwrap_or(ConsentScope::Sender),
        opt_out_keywords: r
            .opt_out_keywords
            .clone()
            .unwrap_or_else(|| keywords.opt_out().to_vec()),
        opt_in_keywords: r
            .opt_in_keywords
            .clone()
            .unwrap_or_else(|| keywords.opt_in().to_vec()),
        help_keywords: r
            .help_keywords
            .clone()
            .unwrap_or_else(|| keywords.help().to_vec()),
        opt_out_reply: reply(&r.opt_out_reply, replies.opt_out()),
        opt_in_reply: reply(&r.opt_in_reply, replies.opt_in()),
        help_reply: reply(&r.help_reply, replies.help()),
    }
}

/// The consent policy of `consent` for every sender, with each sender's own keywords
/// and replies over it (`inventory`: the senders as looked up; without it, the senders'
/// own settings are left out, their entries having failed already). What the consent
/// module refuses (a word in two sets, more than 32 words in a set, no opt-out word, a
/// blank or overlong reply) is an error here, so that a file whose consent the daemon
/// could not apply is refused by `check-config`, at start and on reload alike.
pub(super) fn consent_policy(
    c: &mut Checker,
    consent: &Consent,
    senders: &[Sender],
    inventory: Option<&SenderInventory>,
) -> ConsentPolicy {
    let table = KeyPath::root().key("consent");
    let written = ProfileOverrides {
        opt_out: Some(consent.opt_out_keywords.clone()),
        opt_in: Some(consent.opt_in_keywords.clone()),
        help: Some(consent.help_keywords.clone()),
        opt_out_reply: Some(consent.opt_out_reply.clone()),
        opt_in_reply: Some(consent.opt_in_reply.clone()),
        help_reply: Some(consent.help_reply.clone()),
    };
    let defaults = KeywordProfile::default()
        .with_overrides(written)
        .unwrap_or_else(|e| {
            let written = [
                Some(consent.opt_out_keywords.as_slice()),
                Some(consent.opt_in_keywords.as_slice()),
                Some(consent.help_keywords.as_slice()),
            ];
            report(c, &table, written, &e);
            KeywordProfile::default()
        });
    let mut own = std::collections::HashMap::new();
    for (i, s) in senders.iter().enumerate() {
        let overrides = ProfileOverrides {
            opt_out: s.opt_out_keywords.clone(),
            opt_in: s.opt_in_keywords.clone(),
            help: s.help_keywords.clone(),
            opt_out_reply: s.opt_out_reply.clone(),
            opt_in_reply: s.opt_in_reply.clone(),
            help_reply: s.help_reply.clone(),
        };
        if overrides == ProfileOverrides::default() {
            continue;
        }
        let Some(sender) = inventory.and_then(|inv| inv.lookup(&s.number)) else {
            continue;
        };
        match defaults.with_overrides(overrides) {
            Ok(profile) => {
                own.insert(sender.address().clone(), profile);
            }
            Err(e) => {
                let written = [
                    s.opt_out_keywords.as_deref(),
                    s.opt_in_keywords.as_deref(),
                    s.help_keywords.as_deref(),
                ];
                report(c, &KeyPath::root().key("senders").index(i), written, &e);
            }
        }
    }
    ConsentPolicy::new(ConsentSettings {
        defaults,
        senders: own,
        scope: match consent.scope {
            ConsentScope::Sender => consent::ConsentScope::Sender,
            ConsentScope::Brand => consent::ConsentScope::Brand,
        },
    })
}

/// Reports a consent error of `table` at the key it is about; `written` are the
/// table's own keyword lists (`None` where it left one out). A word the consent module
/// cannot read was reported already, at its place in the list.
fn report(c: &mut Checker, table: &KeyPath, written: Lists<'_>, e: &ConsentError) {
    let list = |set: &str| table.key(&format!("{set}_keywords"));
    let key = match e {
        ConsentError::BadKeyword { .. } => return,
        ConsentError::TooManyKeywords { set, .. } => list(set),
        ConsentError::NoOptOutKeyword => list("opt_out"),
        ConsentError::BadReply { which } => table.key(&format!("{which}_reply")),
        // At the list of this table that repeats the word; else this table's list is
        // the first one, and the other came from `[consent]`.
        ConsentError::KeywordInTwoSets { word, first } => {
            let has = |words: &[String]| {
                words
                    .iter()
                    .any(|w| consent::normalise(w).as_ref() == Some(word))
            };
            let repeats =
                |(set, words): &(&str, Option<&[String]>)| set != first && words.is_some_and(has);
            match SETS.into_iter().zip(written).find(repeats) {
                Some((set, _)) => list(set),
                None => list(first),
            }
        }
        _ => table.clone(),
    };
    c.error(&key, e.to_string());
}

/// The keyword sets, in the order of [`Lists`] and of the consent module's checks.
const SETS: [&str; 3] = ["opt_out", "opt_in", "help"];

/// A table's own keyword lists: opt-out, opt-in, help.
type Lists<'a> = [Option<&'a [String]>; 3];
