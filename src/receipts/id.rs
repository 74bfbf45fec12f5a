//! Matching a receipt's id to the carrier message id of a submitted segment.
//!
//! Carriers rarely write an id the same way twice: `submit_sm_resp` says `1a2b`, the
//! receipt says `6699` (the same number in decimal), or `00001A2B`, or `1A2B`. Four
//! [`IdForm`]s relate a submit id to a receipt id: byte-for-byte, folded (case and
//! leading zeros ignored), and hexadecimal ↔ decimal in either direction. Numbers of any
//! length convert (64 hex digits included) by digit arithmetic, without big integers.
//!
//! Matching is an indexed lookup, never a scan. The store indexes every submit id under
//! [`index_keys`] (at most three keys, one for `exact`); a receipt looks up its
//! [`lookup_keys`]. The keys are built so that whenever a form the format allows
//! relates the two ids they share a key:
//!
//! | key | what it is |
//! |---|---|
//! | `t:<folded>` | the id in lower case with leading zeros stripped |
//! | `n:<decimal>` | the id's value read as decimal (digit ids) |
//! | `n:<decimal>` | the id's value read as hexadecimal (hex-digit ids) |
//!
//! A key can be shared by ids that are not the same message (`10` read as hex is `16`
//! read as decimal; `00000040` is `40` folded and `64` read as hex), so a tolerant
//! reading is a claim that must be unambiguous before it is acted on:
//!
//! - An exact match always wins ([`exact_match`]).
//! - A receipt with no exact match is read tolerantly only once its own id can no
//!   longer appear, that is once every submit sent before the receipt arrived has its
//!   response recorded (the receipts flow tracks this); until then it is parked.
//! - Then [`read_tolerant`] names a segment only if one id, and only one, relates: by
//!   the form the carrier is known to use (`hex`, `dec`, or under `auto` the form its
//!   receipts proved), or, with none known, by all allowed forms together. Anything
//!   else stays parked until its own id appears, the carrier's form is proven, or it
//!   expires.
//! - A carrier's form is proven by [`FormLearner`] from matches that could only be read
//!   one way ([`IdMatch::evidence`]), never from a guess.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The longest message id SMPP carries (message_id is a 65-octet C-string).
pub const MAX_ID_LEN: usize = 64;

/// How a carrier's receipt ids relate to its submit_sm_resp ids (`msg_id_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgIdFormat {
    /// Exact; then, once the receipt's own id can no longer appear, whichever tolerant
    /// form names one id only, and the form the carrier's receipts proved.
    #[default]
    Auto,
    /// Receipt ids are hexadecimal: exact, then (once the receipt's own id can no
    /// longer appear) the submit id's decimal value written in hex, then case and
    /// leading zeros ignored when that names one id only.
    Hex,
    /// Receipt ids are decimal: exact, then (once the receipt's own id can no longer
    /// appear) the submit id's hexadecimal value written in decimal, then case and
    /// leading zeros ignored when that names one id only.
    Dec,
    /// Byte-for-byte only.
    Exact,
}

impl MsgIdFormat {
    /// The name written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Hex => "hex",
            Self::Dec => "dec",
            Self::Exact => "exact",
        }
    }

    /// The format whose index keys a carrier's submit ids need once its receipts are
    /// proven to use `proven` (see [`FormLearner::proven`]): `auto` narrows to the
    /// forced format that accepts that form, so an exact carrier's ids are indexed
    /// under one key. A forced format stays as it is; `folded` keeps `auto`.
    pub fn narrowed(self, proven: Option<IdForm>) -> Self {
        match (self, proven) {
            (Self::Auto, Some(IdForm::Exact)) => Self::Exact,
            (Self::Auto, Some(IdForm::HexToDecimal)) => Self::Dec,
            (Self::Auto, Some(IdForm::DecimalToHex)) => Self::Hex,
            (format, _) => format,
        }
    }

    /// The forms besides exact this format lets a receipt id relate by.
    fn tolerant_forms(self) -> &'static [IdForm] {
        use IdForm::*;
        match self {
            Self::Auto => &[Folded, HexToDecimal, DecimalToHex],
            Self::Hex => &[DecimalToHex, Folded],
            Self::Dec => &[HexToDecimal, Folded],
            Self::Exact => &[],
        }
    }

    /// The conversion this format names: the operator's word for how the carrier
    /// writes receipt ids.
    fn named_form(self) -> Option<IdForm> {
        match self {
            Self::Hex => Some(IdForm::DecimalToHex),
            Self::Dec => Some(IdForm::HexToDecimal),
            Self::Auto | Self::Exact => None,
        }
    }
}

impl fmt::Display for MsgIdFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `msg_id_format` that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a message id format; use \"auto\", \"hex\", \"dec\" or \"exact\"")]
pub struct UnknownMsgIdFormat(pub String);

impl FromStr for MsgIdFormat {
    type Err = UnknownMsgIdFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "hex" => Ok(Self::Hex),
            "dec" => Ok(Self::Dec),
            "exact" => Ok(Self::Exact),
            other => Err(UnknownMsgIdFormat(other.to_string())),
        }
    }
}

/// How a receipt id was found to name a submit id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdForm {
    /// Byte-for-byte equal.
    Exact,
    /// Equal once lower-cased with leading zeros stripped (`00001A2B` = `1a2b`).
    Folded,
    /// The submit id is hexadecimal, the receipt writes its value in decimal
    /// (`1a2b` → `6699`).
    HexToDecimal,
    /// The submit id is decimal, the receipt writes its value in hexadecimal
    /// (`6699` → `1A2B`).
    DecimalToHex,
}

impl IdForm {
    const ALL: [IdForm; 4] = [
        Self::Exact,
        Self::Folded,
        Self::HexToDecimal,
        Self::DecimalToHex,
    ];

    /// The name for logs, metrics and `/status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Folded => "folded",
            Self::HexToDecimal => "hex_to_decimal",
            Self::DecimalToHex => "decimal_to_hex",
        }
    }

    fn code(self) -> u8 {
        self as u8 + 1
    }

    /// Whether `receipt` names `submit` in this form.
    pub fn relates(self, submit: &str, receipt: &str) -> bool {
        match self {
            Self::Exact => submit == receipt,
            Self::Folded => fold(submit) == fold(receipt),
            Self::HexToDecimal => {
                is_decimal(receipt) && hex_value(submit).is_some_and(|v| v == fold(receipt))
            }
            Self::DecimalToHex => {
                is_decimal(submit) && hex_value(receipt).is_some_and(|v| v == fold(submit))
            }
        }
    }
}

fn is_decimal(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

/// Lower case, leading zeros stripped (`"000"` folds to `"0"`).
pub fn fold(id: &str) -> String {
    let stripped = id.trim_start_matches('0');
    if stripped.is_empty() && !id.is_empty() {
        return "0".to_string();
    }
    stripped.to_ascii_lowercase()
}

/// The decimal value of a hexadecimal id, or `None` when it is not all hex digits or
/// longer than [`MAX_ID_LEN`].
pub fn hex_value(id: &str) -> Option<String> {
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digits = id.trim_start_matches('0');
    if digits.len() <= 32 {
        // Fits u128: the common case, and the fast one.
        return u128::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
            .ok()
            .map(|v| v.to_string());
    }
    Some(hex_to_decimal_long(digits))
}

/// Base conversion on limbs of 10⁹, least significant first: for each hex digit,
/// limbs = limbs × 16 + digit.
fn hex_to_decimal_long(hex: &str) -> String {
    const BASE: u64 = 1_000_000_000;
    let mut limbs: Vec<u32> = vec![0];
    for b in hex.bytes() {
        let mut carry = u64::from(char::from(b).to_digit(16).unwrap_or(0));
        for limb in &mut limbs {
            let v = u64::from(*limb) * 16 + carry;
            *limb = (v % BASE) as u32;
            carry = v / BASE;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    let mut out = String::with_capacity(limbs.len() * 9);
    let mut iter = limbs.iter().rev();
    if let Some(top) = iter.next() {
        out.push_str(&top.to_string());
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    out
}

/// The keys under which the store indexes a submit id whose receipts are matched in
/// `format`: the one key an exact match needs for `exact`, every reading of it for the
/// others (a `hex` or `dec` receipt may name the submit id in either base, and a later
/// change between the tolerant formats still finds it). A carrier switched to a
/// tolerant format from `exact` matches the segments sent before the switch exactly.
pub fn index_keys(submit_id: &str, format: MsgIdFormat) -> Vec<String> {
    match format {
        MsgIdFormat::Exact => canonical_keys(submit_id, MsgIdFormat::Exact),
        MsgIdFormat::Auto | MsgIdFormat::Hex | MsgIdFormat::Dec => {
            canonical_keys(submit_id, MsgIdFormat::Auto)
        }
    }
}

/// The keys a receipt id is looked up by, for a carrier with `format`.
pub fn lookup_keys(receipt_id: &str, format: MsgIdFormat) -> Vec<String> {
    canonical_keys(receipt_id, format)
}

/// The canonical keys of an id: `t:` and its folded form, then `n:` and its value as
/// decimal digits and as hex digits, as far as `format` allows (see the module docs).
/// Ids that share a key are candidates; [`best_match`] decides.
pub fn canonical_keys(id: &str, format: MsgIdFormat) -> Vec<String> {
    let mut keys = Vec::with_capacity(3);
    let folded = fold(id);
    let decimal = (matches!(format, MsgIdFormat::Auto | MsgIdFormat::Dec) && is_decimal(id))
        .then(|| format!("n:{folded}"));
    keys.push(format!("t:{folded}"));
    keys.extend(decimal);
    if matches!(format, MsgIdFormat::Auto | MsgIdFormat::Hex)
        && let Some(value) = hex_value(id)
    {
        let key = format!("n:{value}");
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// How a receipt's ids read against the submit ids that share a key with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// One segment, and only one, is named.
    Match(IdMatch),
    /// Several segments could be named: the receipt waits for its own id or for the
    /// carrier's form to be proven.
    Ambiguous,
    /// No candidate relates.
    Nothing,
}

/// The candidate a receipt names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMatch {
    /// Index of the candidate in the order given.
    pub index: usize,
    /// How it matched.
    pub form: IdForm,
    /// Whether the match shows how the carrier writes its ids: one form, and only one,
    /// relates the two ids (`7` read as hex or as decimal is `7`, and shows nothing).
    pub evidence: bool,
}

/// The forms other than exact that relate `receipt_ids` to `submit`, among `allowed`.
fn relating(receipt_ids: &[String], submit: &str, allowed: &[IdForm]) -> Vec<IdForm> {
    allowed
        .iter()
        .copied()
        .filter(|form| receipt_ids.iter().any(|r| form.relates(submit, r)))
        .collect()
}

/// Whether an exact match of `id` also reads as a conversion (single digits read the
/// same in both bases), so it proves nothing about the carrier's form.
fn reads_both_ways(id: &str) -> bool {
    fold(id).len() == 1 && is_decimal(id)
}

/// The candidate whose id is one of `receipt_ids` byte for byte; the first such
/// (candidates come most recent first, so a carrier that reuses ids names its latest).
pub fn exact_match<'a>(
    receipt_ids: &[String],
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<IdMatch> {
    candidates
        .into_iter()
        .enumerate()
        .find(|(_, submit)| receipt_ids.iter().any(|r| r == submit))
        .map(|(index, submit)| IdMatch {
            index,
            form: IdForm::Exact,
            evidence: !reads_both_ways(submit),
        })
}

/// Reads a receipt among `candidates` (submit ids, most recent first) once its own id
/// can no longer appear: no submit sent before it arrived is still without a recorded
/// response. An exact match wins. Otherwise a tolerant form names a segment only where
/// no other reading could be right:
///
/// - the form the carrier is known to use (`hex` and `dec` name theirs; under `auto`,
///   the form its receipts proved, see [`FormLearner::proven`]) names exactly one id;
/// - or, with no form known, the receipt relates to exactly one id by every form
///   `format` allows taken together.
///
/// Two candidates with the same id are one id (the most recent is taken). Anything
/// else is [`Reading::Ambiguous`]: `00000040` names `40` folded and `64` in hexadecimal,
/// and only the carrier's form tells which.
pub fn read_tolerant(
    receipt_ids: &[String],
    candidates: &[&str],
    format: MsgIdFormat,
    proven: Option<IdForm>,
) -> Reading {
    if let Some(found) = exact_match(receipt_ids, candidates.iter().copied()) {
        return Reading::Match(found);
    }
    let allowed = format.tolerant_forms();
    let related: Vec<Vec<IdForm>> = candidates
        .iter()
        .map(|submit| relating(receipt_ids, submit, allowed))
        .collect();
    // The first candidate of each distinct id among those `keep` selects.
    let distinct = |keep: &dyn Fn(&[IdForm]) -> bool| {
        let mut ids: Vec<(usize, &str)> = Vec::new();
        for (index, forms) in related.iter().enumerate() {
            if keep(forms) && !ids.iter().any(|(_, id)| *id == candidates[index]) {
                ids.push((index, candidates[index]));
            }
        }
        ids
    };
    let known = format.named_form().or(match (format, proven) {
        // A carrier proven to write ids as they are may still change case or padding.
        (MsgIdFormat::Auto, Some(IdForm::Exact | IdForm::Folded)) => Some(IdForm::Folded),
        (MsgIdFormat::Auto, proven) => proven,
        _ => None,
    });
    let any = distinct(&|forms| !forms.is_empty());
    // Proof of the carrier's form only where nothing else was needed to choose: one id
    // relates, by one form.
    let proves = |index: usize| any.len() == 1 && related[index].len() == 1;
    if let Some(form) = known.filter(|f| allowed.contains(f)) {
        match distinct(&|forms| forms.contains(&form))[..] {
            [(index, _)] => {
                return Reading::Match(IdMatch {
                    index,
                    form,
                    evidence: proves(index),
                });
            }
            [] => {}
            _ => return Reading::Ambiguous,
        }
        // A proven form names nothing: another reading would contradict the proof.
        if format == MsgIdFormat::Auto {
            return Reading::Nothing;
        }
    }
    match any[..] {
        [] => Reading::Nothing,
        [(index, _)] => Reading::Match(IdMatch {
            index,
            form: related[index][0],
            evidence: proves(index),
        }),
        _ => Reading::Ambiguous,
    }
}

/// Proofs in one form after which a carrier counts as using it.
pub const SETTLED_AFTER: u64 = 16;

/// One carrier's evidence of how it writes receipt ids: matches that could only be read
/// one way (see [`IdMatch::evidence`]). Lock-free; share it across the carrier's binds.
#[derive(Debug, Default)]
pub struct FormLearner {
    counts: [AtomicU64; 4],
}

impl FormLearner {
    /// A learner that knows nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a match that proves `form`; true when this made the carrier's form
    /// proven (receipts that were ambiguous until now may read one way).
    pub fn record(&self, form: IdForm) -> bool {
        let before = self.proven();
        self.counts[usize::from(form.code() - 1)].fetch_add(1, Ordering::Relaxed);
        before.is_none() && self.proven().is_some()
    }

    /// Proofs seen per form, for `/status`.
    pub fn counts(&self) -> [(IdForm, u64); 4] {
        IdForm::ALL.map(|form| {
            let count = self.counts[usize::from(form.code() - 1)].load(Ordering::Relaxed);
            (form, count)
        })
    }

    /// The form this carrier's receipts are proven to use: at least [`SETTLED_AFTER`]
    /// proofs of it, and the other forms together fewer than one in [`SETTLED_AFTER`]
    /// of those.
    pub fn proven(&self) -> Option<IdForm> {
        let counts = self.counts();
        let (form, top) = counts.iter().copied().max_by_key(|(_, n)| *n)?;
        let others: u64 = counts.iter().map(|(_, n)| n).sum::<u64>() - top;
        (top >= SETTLED_AFTER && others.saturating_mul(SETTLED_AFTER) <= top).then_some(form)
    }

    /// `format` as this carrier's receipts are matched now: see
    /// [`MsgIdFormat::narrowed`].
    pub fn narrow(&self, format: MsgIdFormat) -> MsgIdFormat {
        format.narrowed(self.proven())
    }
}

/// Every carrier's [`FormLearner`], shared by whoever matches receipts: the receipts
/// flow (a receipt whose id is known) and the dispatcher (a parked receipt matched when
/// its id is recorded). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FormLearners {
    by_carrier: Arc<Mutex<HashMap<String, Arc<FormLearner>>>>,
}

impl FormLearners {
    /// No carrier learned anything yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The learner of `carrier` (one per configured carrier: a bounded set).
    pub fn get(&self, carrier: &str) -> Arc<FormLearner> {
        // Inserts only: a poisoned map is still consistent.
        let mut learners = self.by_carrier.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(learner) = learners.get(carrier) {
            return learner.clone();
        }
        learners.entry(carrier.to_owned()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meet(submit: &str, receipt: &str, format: MsgIdFormat) -> bool {
        let index = index_keys(submit, format);
        lookup_keys(receipt, format)
            .iter()
            .any(|k| index.contains(k))
    }

    #[test]
    fn formats_parse_and_print() {
        for f in [
            MsgIdFormat::Auto,
            MsgIdFormat::Hex,
            MsgIdFormat::Dec,
            MsgIdFormat::Exact,
        ] {
            assert_eq!(f.as_str().parse::<MsgIdFormat>(), Ok(f));
        }
        assert!("decimal".parse::<MsgIdFormat>().is_err());
        assert_eq!(MsgIdFormat::default(), MsgIdFormat::Auto);
    }

    #[test]
    fn hex_converts_at_any_length() {
        assert_eq!(hex_value("1a2b").as_deref(), Some("6699"));
        assert_eq!(hex_value("0000").as_deref(), Some("0"));
        assert_eq!(
            hex_value(&"f".repeat(32)).as_deref(),
            Some(u128::MAX.to_string().as_str())
        );
        // 16^33 = 2^132
        let mut big = "1".to_string();
        big.push_str(&"0".repeat(33));
        assert_eq!(
            hex_value(&big).as_deref(),
            Some("5444517870735015415413993718908291383296")
        );
        assert_eq!(hex_value(&"f".repeat(65)), None);
        assert_eq!(hex_value("12g"), None);
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    /// The form a receipt alone reads by against one submit id, under `auto`.
    fn read_one(submit: &str, receipt: &str, format: MsgIdFormat) -> Reading {
        read_tolerant(&ids(&[receipt]), &[submit], format, None)
    }

    fn matched(reading: Reading) -> (usize, IdForm, bool) {
        match reading {
            Reading::Match(m) => (m.index, m.form, m.evidence),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_mismatch_meets_on_a_key_and_reads_alone() {
        let cases = [
            ("1a2b", "6699", IdForm::HexToDecimal),
            ("6699", "1A2B", IdForm::DecimalToHex),
            ("1a2b", "00001A2B", IdForm::Folded),
            ("000123", "123", IdForm::Folded),
            ("AbC-9", "abc-9", IdForm::Folded),
            ("f00d", "f00d", IdForm::Exact),
        ];
        for (submit, receipt, form) in cases {
            assert!(
                meet(submit, receipt, MsgIdFormat::Auto),
                "{submit} {receipt}"
            );
            let (_, found, _) = matched(read_one(submit, receipt, MsgIdFormat::Auto));
            assert_eq!(found, form, "{submit} {receipt}");
        }
    }

    #[test]
    fn long_ids_convert_both_ways() {
        // 64 hex digits: a 256-bit value, longer than 64 digits in decimal.
        let hex = format!("{}{}", "9f".repeat(31), "01");
        let decimal = hex_value(&hex).unwrap();
        assert!(decimal.len() > MAX_ID_LEN);
        assert!(meet(&hex, &decimal, MsgIdFormat::Auto));
        assert!(IdForm::HexToDecimal.relates(&hex, &decimal));
        // A 64-digit decimal submit id and its 53-digit hex form in upper case.
        let receipt = "F".repeat(53);
        let submit = hex_value(&receipt).unwrap();
        assert_eq!(submit.len(), 64);
        assert!(meet(&submit, &receipt, MsgIdFormat::Hex));
        let (_, form, _) = matched(read_one(&submit, &receipt, MsgIdFormat::Auto));
        assert_eq!(form, IdForm::DecimalToHex);
        // Case only, at full length.
        let upper = hex.to_ascii_uppercase();
        let (_, form, _) = matched(read_one(&hex, &upper, MsgIdFormat::Auto));
        assert_eq!(form, IdForm::Folded);
    }

    #[test]
    fn forced_formats_allow_only_their_forms() {
        assert_eq!(
            read_one("1a2b", "6699", MsgIdFormat::Exact),
            Reading::Nothing
        );
        assert_eq!(read_one("1a2b", "6699", MsgIdFormat::Hex), Reading::Nothing);
        assert!(matches!(
            read_one("1a2b", "6699", MsgIdFormat::Dec),
            Reading::Match(_)
        ));
        assert!(matches!(
            read_one("6699", "1A2B", MsgIdFormat::Hex),
            Reading::Match(_)
        ));
        assert_eq!(
            read_one("1a2b", "1A2B", MsgIdFormat::Exact),
            Reading::Nothing
        );
        assert!(!meet("1a2b", "6699", MsgIdFormat::Hex));
        assert!(meet("1a2b", "6699", MsgIdFormat::Dec));
    }

    #[test]
    fn an_exact_id_always_wins() {
        // "10" read as hex is 16; a receipt "16" names the segment whose id is "16",
        // even for a carrier proven to write decimal receipts of hex ids.
        let found = read_tolerant(
            &ids(&["16"]),
            &["10", "16"],
            MsgIdFormat::Auto,
            Some(IdForm::HexToDecimal),
        );
        assert_eq!(matched(found), (1, IdForm::Exact, true));
        let found = exact_match(&ids(&["16"]), ["10", "16"]).unwrap();
        assert_eq!((found.index, found.form), (1, IdForm::Exact));
        // A single digit reads the same in both bases: no proof of anything.
        assert!(!exact_match(&ids(&["7"]), ["7"]).unwrap().evidence);
        assert!(
            exact_match(&ids(&["00000017"]), ["00000017"])
                .unwrap()
                .evidence
        );
    }

    #[test]
    fn two_ids_named_by_two_readings_are_ambiguous_until_a_form_is_known() {
        // `%08x` receipts of decimal submit ids: 00000040 is 64 in hex, 40 folded.
        let receipt = ids(&["00000040"]);
        let candidates = ["64", "40"];
        assert_eq!(
            read_tolerant(&receipt, &candidates, MsgIdFormat::Auto, None),
            Reading::Ambiguous
        );
        let proven = Some(IdForm::DecimalToHex);
        let found = read_tolerant(&receipt, &candidates, MsgIdFormat::Auto, proven);
        assert_eq!(matched(found), (0, IdForm::DecimalToHex, false));
        // The operator's word settles it too.
        let found = read_tolerant(&receipt, &candidates, MsgIdFormat::Hex, None);
        assert_eq!(matched(found).1, IdForm::DecimalToHex);
        // A carrier proven to write ids as they are reads it folded.
        let found = read_tolerant(
            &receipt,
            &candidates,
            MsgIdFormat::Auto,
            Some(IdForm::Exact),
        );
        assert_eq!(matched(found), (1, IdForm::Folded, false));
        // A proven form that names nothing is not overruled by another reading.
        let found = read_tolerant(
            &ids(&["0000003d"]),
            &["61"],
            MsgIdFormat::Auto,
            Some(IdForm::Exact),
        );
        assert_eq!(found, Reading::Nothing);
    }

    #[test]
    fn a_reading_that_only_one_form_explains_is_evidence() {
        // 0000003d can only be hex: 61 by decimal-to-hex, nothing folded.
        let (_, form, evidence) = matched(read_one("61", "0000003d", MsgIdFormat::Auto));
        assert_eq!((form, evidence), (IdForm::DecimalToHex, true));
        // 00000005 names 5 folded and in hex alike: the segment is sure, the form not.
        let (_, _, evidence) = matched(read_one("5", "00000005", MsgIdFormat::Auto));
        assert!(!evidence);
        // The same id twice (a carrier reusing ids) is one id: the most recent is named.
        let found = read_tolerant(&ids(&["0000003d"]), &["61", "61"], MsgIdFormat::Auto, None);
        assert_eq!(matched(found).0, 0);
    }

    #[test]
    fn a_form_is_proven_by_evidence_and_auto_narrows_to_it() {
        let learner = FormLearner::new();
        assert!(!learner.record(IdForm::DecimalToHex));
        for _ in 0..SETTLED_AFTER - 1 {
            assert!(!learner.record(IdForm::Exact));
        }
        assert_eq!(learner.proven(), None, "too few proofs yet");
        assert_eq!(learner.narrow(MsgIdFormat::Auto), MsgIdFormat::Auto);
        assert!(learner.record(IdForm::Exact), "this proof settles it");
        assert!(!learner.record(IdForm::Exact), "once");
        assert_eq!(learner.proven(), Some(IdForm::Exact));
        assert_eq!(learner.narrow(MsgIdFormat::Auto), MsgIdFormat::Exact);
        // A forced format is the operator's word.
        assert_eq!(learner.narrow(MsgIdFormat::Hex), MsgIdFormat::Hex);
        // Mixed forms are never proven.
        let mixed = FormLearner::new();
        for _ in 0..SETTLED_AFTER {
            mixed.record(IdForm::Exact);
            mixed.record(IdForm::HexToDecimal);
        }
        assert_eq!(mixed.proven(), None);
        assert_eq!(
            MsgIdFormat::Auto.narrowed(Some(IdForm::HexToDecimal)),
            MsgIdFormat::Dec
        );
        assert_eq!(
            MsgIdFormat::Auto.narrowed(Some(IdForm::Folded)),
            MsgIdFormat::Auto
        );
    }

    #[test]
    fn keys_are_few() {
        let auto = MsgIdFormat::Auto;
        assert_eq!(index_keys("abc-def", auto), ["t:abc-def"]);
        assert_eq!(index_keys("5", auto), ["t:5", "n:5"]);
        assert_eq!(index_keys("0010", auto), ["t:10", "n:10", "n:16"]);
        assert_eq!(lookup_keys("0010", MsgIdFormat::Exact), ["t:10"]);
        // Receipts matched byte for byte need the one key; the tolerant formats index
        // every reading, whichever base their receipts write.
        assert_eq!(index_keys("0010", MsgIdFormat::Exact), ["t:10"]);
        for format in [MsgIdFormat::Hex, MsgIdFormat::Dec] {
            assert_eq!(index_keys("0010", format), index_keys("0010", auto));
        }
    }
}
