//! The suppression list: who opted out of what, when, by which keyword and on whose word.
//!
//! [`SuppressionList`] is what the consent decisions need; the store implements it
//! durably. [`MemorySuppressionList`] keeps it in the process, bounded: when it is full it
//! refuses new opt-outs with an error rather than forget an old one, because forgetting an
//! opt-out would message someone who asked us to stop.

use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, ready};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Serialize, Serializer};

use super::ConsentError;
use crate::number::{E164, SenderAddress};

/// The source recorded for an opt-out or opt-in that came by SMS keyword.
pub const SOURCE_SMS: &str = "sms";
/// The source recorded for an opt-out or opt-in that came by keyword in an MMS.
pub const SOURCE_MMS: &str = "mms";
/// The longest source text ("admin:jane.doe@example.com").
pub const MAX_SOURCE_CHARS: usize = 128;
/// The most records one [`SuppressionList::list`] call returns.
pub const MAX_LIST_PAGE: usize = 1000;

/// What an opt-out covers: one sender, or every sender of a brand.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Messages from this sender.
    Sender(SenderAddress),
    /// Messages from every sender of this brand.
    Brand(String),
}

/// How a brand scope is written in CSV files and the admin API: `brand:Acme`.
const BRAND_PREFIX: &str = "brand:";

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Sender(address) => write!(f, "{address}"),
            Scope::Brand(brand) => write!(f, "{BRAND_PREFIX}{brand}"),
        }
    }
}

impl FromStr for Scope {
    type Err = ConsentError;

    /// `brand:NAME`, or a sender address in canonical form (`+18005550100`, `72404`, `ACME`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(brand) = text.strip_prefix(BRAND_PREFIX) {
            let ok = !brand.trim().is_empty()
                && brand.chars().count() <= 64
                && !brand.chars().any(char::is_control);
            return if ok {
                Ok(Scope::Brand(brand.trim().to_owned()))
            } else {
                Err(ConsentError::BadScope(text.to_owned()))
            };
        }
        text.parse::<SenderAddress>()
            .map(Scope::Sender)
            .map_err(|_| ConsentError::BadScope(text.to_owned()))
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One opt-out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressionRecord {
    /// The customer's number.
    pub contact: E164,
    /// What they opted out of.
    pub scope: Scope,
    /// The keyword that did it (`STOP`), if any: admin additions may have none.
    pub keyword: Option<String>,
    /// On whose word: `sms` or `mms` for a keyword, `admin:<who>`, `import`, …
    pub source: String,
    /// When.
    pub at: SystemTime,
}

impl SuppressionRecord {
    /// Checks the free-text fields: the source is 1 to 128 characters without control
    /// characters, the keyword (if any) 1 to 32.
    pub fn validate(&self) -> Result<(), ConsentError> {
        let printable = |text: &str, max: usize| {
            let chars = text.chars().count();
            chars > 0 && chars <= max && !text.chars().any(char::is_control)
        };
        if !printable(&self.source, MAX_SOURCE_CHARS) {
            return Err(ConsentError::BadSource(self.source.clone()));
        }
        match &self.keyword {
            Some(keyword) if !printable(keyword, super::MAX_KEYWORD_CHARS) => {
                Err(ConsentError::BadKeyword {
                    set: "record",
                    word: keyword.clone(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Which records to list: optionally one contact's or one scope's, in (contact, scope)
/// order, starting after a cursor, at most `limit` (capped at [`MAX_LIST_PAGE`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this contact's records.
    pub contact: Option<E164>,
    /// Only the records of this scope (one sender, or one brand).
    pub scope: Option<Scope>,
    /// Start after this (contact, scope): the last record of the previous page.
    pub after: Option<(E164, Scope)>,
    /// The most records to return.
    pub limit: usize,
}

/// The consent list as the decisions need it. Implementations make `opt_out` atomic:
/// of two calls racing with the same (contact, scope), exactly one returns `true`. That is
/// what makes the STOP confirmation go out once when the carrier delivers STOP twice.
pub trait SuppressionList: Send + Sync {
    /// Records an opt-out unless (contact, scope) is already opted out; true if recorded.
    fn opt_out(
        &self,
        record: SuppressionRecord,
    ) -> impl Future<Output = Result<bool, ConsentError>> + Send;

    /// Removes the opt-outs of `contact` in any of `scopes`; returns those removed.
    fn opt_in(
        &self,
        contact: &E164,
        scopes: &[Scope],
    ) -> impl Future<Output = Result<Vec<SuppressionRecord>, ConsentError>> + Send;

    /// The opt-out of `contact` in the first of `scopes` that has one.
    fn is_opted_out(
        &self,
        contact: &E164,
        scopes: &[Scope],
    ) -> impl Future<Output = Result<Option<SuppressionRecord>, ConsentError>> + Send;

    /// One page of records.
    fn list(
        &self,
        query: ListQuery,
    ) -> impl Future<Output = Result<Vec<SuppressionRecord>, ConsentError>> + Send;

    /// Removes one opt-out (the admin API); true if there was one.
    fn remove(
        &self,
        contact: &E164,
        scope: &Scope,
    ) -> impl Future<Output = Result<bool, ConsentError>> + Send;

    /// Records every opt-out whose (contact, scope) is not yet opted out, all or none: on
    /// an error nothing is recorded. Returns how many were new. Callers bound the batch
    /// (a CSV import refuses files over its row limit).
    fn import(
        &self,
        records: Vec<SuppressionRecord>,
    ) -> impl Future<Output = Result<usize, ConsentError>> + Send;
}

/// The suppression list in process memory, for tests and for running without a store.
#[derive(Debug)]
pub struct MemorySuppressionList {
    capacity: usize,
    records: Mutex<BTreeMap<(E164, Scope), SuppressionRecord>>,
}

impl MemorySuppressionList {
    /// A list holding at most `capacity` opt-outs.
    pub fn new(capacity: usize) -> Self {
        MemorySuppressionList {
            capacity,
            records: Mutex::new(BTreeMap::new()),
        }
    }

    /// How many opt-outs are recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(E164, Scope), SuppressionRecord>> {
        // Every mutation is a single insert or remove, so a poisoned map is consistent.
        self.records
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn insert_if_absent(&self, record: SuppressionRecord) -> Result<bool, ConsentError> {
        record.validate()?;
        let mut records = self.lock();
        let key = (record.contact.clone(), record.scope.clone());
        if records.contains_key(&key) {
            return Ok(false);
        }
        if records.len() >= self.capacity {
            return Err(ConsentError::ListFull {
                capacity: self.capacity,
            });
        }
        records.insert(key, record);
        Ok(true)
    }

    fn insert_all(&self, records: Vec<SuppressionRecord>) -> Result<usize, ConsentError> {
        for record in &records {
            record.validate()?;
        }
        let mut map = self.lock();
        let mut new: BTreeMap<(E164, Scope), SuppressionRecord> = BTreeMap::new();
        for record in records {
            let key = (record.contact.clone(), record.scope.clone());
            if !map.contains_key(&key) {
                new.entry(key).or_insert(record);
            }
        }
        if map.len() + new.len() > self.capacity {
            return Err(ConsentError::ListFull {
                capacity: self.capacity,
            });
        }
        let count = new.len();
        map.extend(new);
        Ok(count)
    }

    fn page(&self, query: ListQuery) -> Vec<SuppressionRecord> {
        let limit = query.limit.min(MAX_LIST_PAGE);
        let records = self.lock();
        records
            .iter()
            .filter(|(key, _)| query.after.as_ref().is_none_or(|after| *key > after))
            .filter(|((contact, _), _)| query.contact.as_ref().is_none_or(|c| c == contact))
            .filter(|((_, scope), _)| query.scope.as_ref().is_none_or(|s| s == scope))
            .take(limit)
            .map(|(_, record)| record.clone())
            .collect()
    }
}

impl SuppressionList for MemorySuppressionList {
    fn opt_out(
        &self,
        record: SuppressionRecord,
    ) -> impl Future<Output = Result<bool, ConsentError>> + Send {
        ready(self.insert_if_absent(record))
    }

    fn opt_in(
        &self,
        contact: &E164,
        scopes: &[Scope],
    ) -> impl Future<Output = Result<Vec<SuppressionRecord>, ConsentError>> + Send {
        let mut records = self.lock();
        let removed = scopes
            .iter()
            .filter_map(|scope| records.remove(&(contact.clone(), scope.clone())))
            .collect();
        ready(Ok(removed))
    }

    fn is_opted_out(
        &self,
        contact: &E164,
        scopes: &[Scope],
    ) -> impl Future<Output = Result<Option<SuppressionRecord>, ConsentError>> + Send {
        let records = self.lock();
        let found = scopes
            .iter()
            .find_map(|scope| records.get(&(contact.clone(), scope.clone())))
            .cloned();
        ready(Ok(found))
    }

    fn list(
        &self,
        query: ListQuery,
    ) -> impl Future<Output = Result<Vec<SuppressionRecord>, ConsentError>> + Send {
        ready(Ok(self.page(query)))
    }

    fn remove(
        &self,
        contact: &E164,
        scope: &Scope,
    ) -> impl Future<Output = Result<bool, ConsentError>> + Send {
        let removed = self
            .lock()
            .remove(&(contact.clone(), scope.clone()))
            .is_some();
        ready(Ok(removed))
    }

    fn import(
        &self,
        records: Vec<SuppressionRecord>,
    ) -> impl Future<Output = Result<usize, ConsentError>> + Send {
        ready(self.insert_all(records))
    }
}
