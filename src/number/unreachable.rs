//! Numbers that delivery receipts proved unable to receive SMS, remembered for a while.
//!
//! A `fixed_line_or_mobile` number in the US may be a landline; only the carrier's
//! receipt tells. When a receipt carries one of the configured carrier error codes (say
//! "unknown subscriber" or "not SMS-capable"), the receipts flow asks
//! [`UnreachableRules::mark_for`] for a mark and hands it to an [`UnreachableMemory`];
//! later checks of the number answer `learned_unreachable` until the mark expires. The
//! memory is a trait so the store can make it durable; [`BoundedUnreachableMemory`] is the
//! in-process one: bounded, and the mark closest to expiry goes first when it is full.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::{E164, NumberError, metrics};

/// A number proved unreachable, with the proof and how long it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreachableMark {
    /// The destination the receipt was about.
    pub number: E164,
    /// The carrier that sent the receipt.
    pub carrier: String,
    /// The carrier's error code, normalised (trimmed, upper case).
    pub error_code: String,
    /// When the receipt arrived.
    pub observed_at: SystemTime,
    /// Until when the number counts as unreachable.
    pub until: SystemTime,
}

/// Where marks are kept. Implementations must be cheap to query: every MT checks.
pub trait UnreachableMemory: Send + Sync {
    /// Keeps a mark; a mark for the same number replaces the older one.
    fn remember(&self, mark: UnreachableMark);
    /// The mark of `number` still in force at `now`, if any.
    fn recall(&self, number: &E164, now: SystemTime) -> Option<UnreachableMark>;
    /// Drops the mark of `number` (an operator says the line works now); true if one was kept.
    fn forget(&self, number: &E164) -> bool;
}

/// One configured proof of unreachability: an error code, from one carrier or any.
///
/// Written `"0B1"` (any carrier) or `"carrier-a:0B1"` (only receipts from `carrier-a`),
/// because carriers number their private errors differently.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnreachableRule {
    carrier: Option<String>,
    code: String,
}

impl UnreachableRule {
    fn matches(&self, carrier: &str, code: &str) -> bool {
        self.code == code && self.carrier.as_deref().is_none_or(|c| c == carrier)
    }
}

impl FromStr for UnreachableRule {
    type Err = NumberError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (carrier, code) = match text.split_once(':') {
            Some((carrier, code)) => (Some(carrier.trim().to_owned()), code),
            None => (None, text),
        };
        let code = normalise_code(code);
        let code_ok = !code.is_empty()
            && code.len() <= 16
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let carrier_ok = carrier.as_deref().is_none_or(|c| !c.is_empty());
        if !code_ok || !carrier_ok {
            return Err(NumberError::BadErrorRule(text.to_owned()));
        }
        Ok(UnreachableRule { carrier, code })
    }
}

impl fmt::Display for UnreachableRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.carrier {
            Some(carrier) => write!(f, "{carrier}:{}", self.code),
            None => f.write_str(&self.code),
        }
    }
}

fn normalise_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// Which receipt errors prove a number unreachable, and for how long that holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreachableRules {
    rules: BTreeSet<UnreachableRule>,
    remember_for: Duration,
}

impl UnreachableRules {
    /// Refuses a zero `remember_for`: a proof that expires at once proves nothing.
    pub fn new(
        rules: impl IntoIterator<Item = UnreachableRule>,
        remember_for: Duration,
    ) -> Result<Self, NumberError> {
        if remember_for.is_zero() {
            return Err(NumberError::ZeroRememberFor);
        }
        Ok(UnreachableRules {
            rules: rules.into_iter().collect(),
            remember_for,
        })
    }

    /// How long a mark holds.
    pub fn remember_for(&self) -> Duration {
        self.remember_for
    }

    /// The configured rules.
    pub fn rules(&self) -> impl Iterator<Item = &UnreachableRule> {
        self.rules.iter()
    }

    /// The mark to remember when `carrier` reports `error_code` for `number` at `at`, or
    /// `None` when that error proves nothing.
    pub fn mark_for(
        &self,
        number: &E164,
        carrier: &str,
        error_code: &str,
        at: SystemTime,
    ) -> Option<UnreachableMark> {
        let code = normalise_code(error_code);
        self.rules
            .iter()
            .find(|rule| rule.matches(carrier, &code))?;
        metrics::unreachable_learned();
        Some(UnreachableMark {
            number: number.clone(),
            carrier: carrier.to_owned(),
            error_code: code,
            observed_at: at,
            until: at + self.remember_for,
        })
    }
}

impl Default for UnreachableRules {
    /// No error codes (nothing is learned) and 30 days for marks once codes are set.
    fn default() -> Self {
        UnreachableRules {
            rules: BTreeSet::new(),
            remember_for: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// The in-process memory: at most `capacity` marks. Expired marks are dropped when met;
/// when full, the mark that would expire first makes room.
#[derive(Debug)]
pub struct BoundedUnreachableMemory {
    capacity: usize,
    inner: Mutex<Marks>,
}

#[derive(Debug, Default)]
struct Marks {
    by_number: HashMap<E164, UnreachableMark>,
    /// (until, number) for every mark, so expiry and eviction find the oldest first.
    by_expiry: BTreeSet<(SystemTime, E164)>,
}

impl Marks {
    fn remove(&mut self, number: &E164) -> Option<UnreachableMark> {
        let mark = self.by_number.remove(number)?;
        self.by_expiry.remove(&(mark.until, mark.number.clone()));
        Some(mark)
    }

    fn drop_expired(&mut self, now: SystemTime) {
        while let Some((until, number)) = self.by_expiry.first().cloned() {
            if until > now {
                break;
            }
            self.remove(&number);
        }
    }

    fn evict_soonest(&mut self) {
        if let Some((_, number)) = self.by_expiry.first().cloned() {
            self.remove(&number);
        }
    }
}

impl BoundedUnreachableMemory {
    /// A memory holding at most `capacity` marks (at least one).
    pub fn new(capacity: usize) -> Self {
        BoundedUnreachableMemory {
            capacity: capacity.max(1),
            inner: Mutex::new(Marks::default()),
        }
    }

    /// How many marks are kept, expired ones included until they are met.
    pub fn len(&self) -> usize {
        self.lock().by_number.len()
    }

    /// Whether no mark is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Marks> {
        // A panic while holding the lock leaves the maps consistent (every mutation
        // is a pair of inserts or removes), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl UnreachableMemory for BoundedUnreachableMemory {
    fn remember(&self, mark: UnreachableMark) {
        let mut marks = self.lock();
        marks.remove(&mark.number);
        marks.drop_expired(mark.observed_at);
        while marks.by_number.len() >= self.capacity {
            marks.evict_soonest();
        }
        marks.by_expiry.insert((mark.until, mark.number.clone()));
        marks.by_number.insert(mark.number.clone(), mark);
        metrics::unreachable_remembered(marks.by_number.len());
    }

    fn recall(&self, number: &E164, now: SystemTime) -> Option<UnreachableMark> {
        let mut marks = self.lock();
        let mark = marks.by_number.get(number)?;
        if mark.until > now {
            return Some(mark.clone());
        }
        marks.remove(number);
        None
    }

    fn forget(&self, number: &E164) -> bool {
        self.lock().remove(number).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn number(text: &str) -> E164 {
        text.parse().unwrap()
    }

    fn rules() -> UnreachableRules {
        let parsed = ["0B1", "carrier-a:x27"].map(|r| r.parse::<UnreachableRule>().unwrap());
        UnreachableRules::new(parsed, 7 * DAY).unwrap()
    }

    #[test]
    fn only_configured_codes_prove_anything_and_carrier_scoped_codes_only_for_that_carrier() {
        let rules = rules();
        let n = number("+14155550123");
        let at = SystemTime::UNIX_EPOCH + DAY;
        let mark = rules.mark_for(&n, "carrier-b", " 0b1 ", at).unwrap();
        assert_eq!(mark.error_code, "0B1");
        assert_eq!(mark.until, at + 7 * DAY);
        assert!(rules.mark_for(&n, "carrier-a", "X27", at).is_some());
        assert!(rules.mark_for(&n, "carrier-b", "X27", at).is_none());
        assert!(rules.mark_for(&n, "carrier-a", "000", at).is_none());
    }

    #[test]
    fn rules_refuse_empty_codes_odd_characters_and_zero_durations() {
        for bad in ["", ":0B1", "a:", "0 B1", "carrier:0B1;drop"] {
            assert!(bad.parse::<UnreachableRule>().is_err(), "{bad:?}");
        }
        assert!(UnreachableRules::new([], Duration::ZERO).is_err());
        assert_eq!(
            "carrier-a:x27"
                .parse::<UnreachableRule>()
                .unwrap()
                .to_string(),
            "carrier-a:X27"
        );
    }

    #[test]
    fn marks_hold_until_they_expire_and_can_be_forgotten() {
        let memory = BoundedUnreachableMemory::new(10);
        let n = number("+14155550123");
        let at = SystemTime::UNIX_EPOCH + DAY;
        memory.remember(rules().mark_for(&n, "c", "0B1", at).unwrap());
        assert!(memory.recall(&n, at + 6 * DAY).is_some());
        assert!(memory.recall(&n, at + 7 * DAY).is_none());
        assert!(memory.is_empty(), "an expired mark is dropped when met");
        memory.remember(rules().mark_for(&n, "c", "0B1", at).unwrap());
        assert!(memory.forget(&n));
        assert!(!memory.forget(&n));
        assert!(memory.recall(&n, at).is_none());
    }

    #[test]
    fn a_full_memory_drops_the_mark_closest_to_expiry() {
        let memory = BoundedUnreachableMemory::new(3);
        let base = SystemTime::UNIX_EPOCH + DAY;
        let rules = rules();
        let numbers: Vec<E164> = (0..4).map(|i| number(&format!("+1415555010{i}"))).collect();
        for (i, n) in numbers.iter().enumerate() {
            let at = base + Duration::from_secs(60 * i as u64);
            memory.remember(rules.mark_for(n, "c", "0B1", at).unwrap());
        }
        assert_eq!(memory.len(), 3);
        assert!(memory.recall(&numbers[0], base).is_none());
        for n in &numbers[1..] {
            assert!(memory.recall(n, base).is_some());
        }
    }

    #[test]
    fn a_new_mark_for_the_same_number_replaces_the_old_one() {
        let memory = BoundedUnreachableMemory::new(3);
        let n = number("+14155550123");
        let first = SystemTime::UNIX_EPOCH + DAY;
        let rules = rules();
        memory.remember(rules.mark_for(&n, "c", "0B1", first).unwrap());
        memory.remember(rules.mark_for(&n, "c", "0B1", first + 3 * DAY).unwrap());
        assert_eq!(memory.len(), 1);
        let mark = memory.recall(&n, first + 8 * DAY).unwrap();
        assert_eq!(mark.until, first + 10 * DAY);
    }
}
