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
//! read as decimal), so the candidates a lookup returns are ranked with [`best_match`]:
//! the form the carrier used last ([`FormLearner`]) first, then exact, then the
//! configured format, then the other tolerant forms.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The longest message id SMPP carries (message_id is a 65-octet C-string).
pub const MAX_ID_LEN: usize = 64;

/// How a carrier's receipt ids relate to its submit_sm_resp ids (`msg_id_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgIdFormat {
    /// Try exact, then every tolerant form; the form that matched last goes first.
    #[default]
    Auto,
    /// Receipt ids are hexadecimal: exact, then the submit id's decimal value written
    /// in hex, then case and leading zeros ignored.
    Hex,
    /// Receipt ids are decimal: exact, then the submit id's hexadecimal value written
    /// in decimal, then case and leading zeros ignored.
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

    /// The format to match with once a carrier's receipts have settled on `settled`
    /// (see [`FormLearner::settled`]): `auto` narrows to the forced format that accepts
    /// that form, so a receipt that beat its submit's response is parked until its own
    /// id appears instead of matching another segment's id by some other reading (a
    /// decimal id read as hex names a different message). A forced format stays as it
    /// is; `folded` has no narrower format and keeps `auto`.
    pub fn narrowed(self, settled: Option<IdForm>) -> Self {
        match (self, settled) {
            (Self::Auto, Some(IdForm::Exact)) => Self::Exact,
            (Self::Auto, Some(IdForm::HexToDecimal)) => Self::Dec,
            (Self::Auto, Some(IdForm::DecimalToHex)) => Self::Hex,
            (format, _) => format,
        }
    }

    /// The forms this format accepts, in the order they are tried.
    fn forms(self) -> &'static [IdForm] {
        use IdForm::*;
        match self {
            Self::Auto => &[Exact, Folded, HexToDecimal, DecimalToHex],
            Self::Hex => &[Exact, DecimalToHex, Folded],
            Self::Dec => &[Exact, HexToDecimal, Folded],
            Self::Exact => &[Exact],
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

    fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
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

/// The best candidate for a receipt id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMatch {
    /// Index of the candidate in the order given.
    pub index: usize,
    /// How it matched.
    pub form: IdForm,
}

/// Picks, among candidate submit ids (what a lookup by [`lookup_keys`] returned), the
/// one the receipt names: by the forms `format` allows, the learned form first. Ties
/// go to the earliest candidate.
pub fn best_match<'a>(
    receipt_id: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    format: MsgIdFormat,
    learner: Option<&FormLearner>,
) -> Option<IdMatch> {
    let order = match learner {
        Some(learner) => learner.order(format),
        None => FormOrder::of(format, None),
    };
    let mut best: Option<(usize, IdMatch)> = None;
    for (index, submit) in candidates.into_iter().enumerate() {
        let found = order
            .iter()
            .enumerate()
            .find(|(_, form)| form.relates(submit, receipt_id));
        if let Some((rank, &form)) = found
            && best.is_none_or(|(r, _)| rank < r)
        {
            best = Some((rank, IdMatch { index, form }));
        }
    }
    best.map(|(_, m)| m)
}

/// The forms to try, in order (at most four).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormOrder {
    forms: [Option<IdForm>; 4],
}

impl FormOrder {
    fn of(format: MsgIdFormat, learned: Option<IdForm>) -> Self {
        let allowed = format.forms();
        let mut forms = [None; 4];
        let mut n = 0;
        let first = learned.filter(|f| allowed.contains(f));
        for form in first.into_iter().chain(allowed.iter().copied()) {
            if !forms.contains(&Some(form)) {
                forms[n] = Some(form);
                n += 1;
            }
        }
        FormOrder { forms }
    }

    /// The forms in order.
    pub fn iter(&self) -> impl Iterator<Item = &IdForm> {
        self.forms.iter().flatten()
    }
}

/// Matches in one form after which a carrier counts as settled on it.
pub const SETTLED_AFTER: u64 = 16;

/// One carrier's memory of how its receipt ids matched: the last form goes first next
/// time. Lock-free; share it across the carrier's binds.
#[derive(Debug, Default)]
pub struct FormLearner {
    last: AtomicU8,
    counts: [AtomicU64; 4],
}

impl FormLearner {
    /// A learner that knows nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a match.
    pub fn record(&self, form: IdForm) {
        self.last.store(form.code(), Ordering::Relaxed);
        self.counts[usize::from(form.code() - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The form that matched last, if any.
    pub fn last(&self) -> Option<IdForm> {
        IdForm::from_code(self.last.load(Ordering::Relaxed))
    }

    /// Matches seen per form, for `/status`.
    pub fn counts(&self) -> [(IdForm, u64); 4] {
        IdForm::ALL.map(|form| {
            let count = self.counts[usize::from(form.code() - 1)].load(Ordering::Relaxed);
            (form, count)
        })
    }

    /// The forms to try for `format`: the last one that matched (when `format`
    /// allows it) first.
    pub fn order(&self, format: MsgIdFormat) -> FormOrder {
        FormOrder::of(format, self.last())
    }

    /// The form this carrier's receipts have settled on: at least [`SETTLED_AFTER`]
    /// matches in it, and the other forms together fewer than one in [`SETTLED_AFTER`]
    /// of those (a stray tolerant match early on does not keep it unsettled).
    pub fn settled(&self) -> Option<IdForm> {
        let counts = self.counts();
        let (form, top) = counts.iter().copied().max_by_key(|(_, n)| *n)?;
        let others: u64 = counts.iter().map(|(_, n)| n).sum::<u64>() - top;
        (top >= SETTLED_AFTER && others.saturating_mul(SETTLED_AFTER) <= top).then_some(form)
    }

    /// `format` as this carrier's receipts are matched now: see
    /// [`MsgIdFormat::narrowed`].
    pub fn narrow(&self, format: MsgIdFormat) -> MsgIdFormat {
        format.narrowed(self.settled())
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

    #[test]
    fn every_mismatch_meets_on_a_key_and_matches() {
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
            let m = best_match(receipt, [submit], MsgIdFormat::Auto, None).unwrap();
            assert_eq!(m.form, form, "{submit} {receipt}");
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
        let m = best_match(&receipt, [submit.as_str()], MsgIdFormat::Auto, None).unwrap();
        assert_eq!(m.form, IdForm::DecimalToHex);
        // Case only, at full length.
        let upper = hex.to_ascii_uppercase();
        let m = best_match(&upper, [hex.as_str()], MsgIdFormat::Auto, None).unwrap();
        assert_eq!(m.form, IdForm::Folded);
    }

    #[test]
    fn forced_formats_allow_only_their_forms() {
        assert!(best_match("6699", ["1a2b"], MsgIdFormat::Exact, None).is_none());
        assert!(best_match("6699", ["1a2b"], MsgIdFormat::Hex, None).is_none());
        assert!(best_match("6699", ["1a2b"], MsgIdFormat::Dec, None).is_some());
        assert!(best_match("1A2B", ["6699"], MsgIdFormat::Hex, None).is_some());
        assert!(best_match("1A2B", ["1a2b"], MsgIdFormat::Exact, None).is_none());
        assert!(!meet("1a2b", "6699", MsgIdFormat::Hex));
        assert!(meet("1a2b", "6699", MsgIdFormat::Dec));
    }

    #[test]
    fn exact_beats_tolerant_until_the_carrier_shows_its_form() {
        // "10" read as hex is 16; a receipt "16" could be either submit.
        let candidates = ["10", "16"];
        let m = best_match("16", candidates, MsgIdFormat::Auto, None).unwrap();
        assert_eq!((m.index, m.form), (1, IdForm::Exact));
        let learner = FormLearner::new();
        learner.record(IdForm::HexToDecimal);
        let m = best_match("16", candidates, MsgIdFormat::Auto, Some(&learner)).unwrap();
        assert_eq!((m.index, m.form), (0, IdForm::HexToDecimal));
        assert_eq!(learner.last(), Some(IdForm::HexToDecimal));
        assert_eq!(learner.counts()[2], (IdForm::HexToDecimal, 1));
    }

    #[test]
    fn a_learned_form_the_format_forbids_is_not_tried() {
        let learner = FormLearner::new();
        learner.record(IdForm::DecimalToHex);
        let order: Vec<_> = learner.order(MsgIdFormat::Dec).iter().copied().collect();
        assert_eq!(order, [IdForm::Exact, IdForm::HexToDecimal, IdForm::Folded]);
        let order: Vec<_> = learner.order(MsgIdFormat::Auto).iter().copied().collect();
        assert_eq!(order[0], IdForm::DecimalToHex);
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn auto_narrows_once_the_carrier_settles_on_a_form() {
        let learner = FormLearner::new();
        learner.record(IdForm::DecimalToHex);
        for _ in 0..SETTLED_AFTER - 1 {
            learner.record(IdForm::Exact);
        }
        assert_eq!(learner.settled(), None, "too few matches yet");
        assert_eq!(learner.narrow(MsgIdFormat::Auto), MsgIdFormat::Auto);
        learner.record(IdForm::Exact);
        assert_eq!(learner.settled(), Some(IdForm::Exact));
        assert_eq!(learner.narrow(MsgIdFormat::Auto), MsgIdFormat::Exact);
        // A forced format is the operator's word.
        assert_eq!(learner.narrow(MsgIdFormat::Hex), MsgIdFormat::Hex);
        // Mixed forms never settle.
        let mixed = FormLearner::new();
        for _ in 0..SETTLED_AFTER {
            mixed.record(IdForm::Exact);
            mixed.record(IdForm::HexToDecimal);
        }
        assert_eq!(mixed.settled(), None);
        assert_eq!(
            MsgIdFormat::Auto.narrowed(Some(IdForm::HexToDecimal)),
            MsgIdFormat::Dec
        );
        assert_eq!(
            MsgIdFormat::Auto.narrowed(Some(IdForm::DecimalToHex)),
            MsgIdFormat::Hex
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
