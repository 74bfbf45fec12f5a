//! A bounded memory of inputs already parsed by a policy. Parsing with the numbering-plan
//! library runs its patterns over the input each time (about 6 % of the gateway's CPU
//! per MT under load, BENCHMARKS.md), while a contact center writes to the same
//! customers again and again: a conversation's replies all go to one number.
//!
//! What a parse gives depends only on the input, the region it is read in and the
//! policy's short-code rules, and a policy never changes once built (a reload builds a
//! new one, with an empty memory), so a remembered result is always the one a parse
//! would give. The memory holds at most [`CAPACITY`] inputs; when full it is emptied
//! and fills again, which keeps the work per lookup constant and the size bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{ParsedNumber, Region};

/// Inputs remembered at most (about 150 bytes each).
pub const CAPACITY: usize = 16_384;

/// Parsed inputs by region (the region of the lookup, after the policy's default).
#[derive(Clone, Default)]
pub(super) struct ParseCache {
    entries: Arc<Mutex<Entries>>,
}

#[derive(Default)]
struct Entries {
    by_region: HashMap<Option<Region>, HashMap<String, ParsedNumber>>,
    len: usize,
}

impl ParseCache {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Whole-map inserts and reads only: a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The remembered parse of `input` in `region`, or `parse()`'s, then remembered.
    pub(super) fn get_or_parse(
        &self,
        input: &str,
        region: Option<Region>,
        parse: impl FnOnce() -> ParsedNumber,
    ) -> ParsedNumber {
        if let Some(found) = self
            .lock()
            .by_region
            .get(&region)
            .and_then(|inputs| inputs.get(input))
        {
            return found.clone();
        }
        // Parsed without the lock held: two callers may parse the same input at once,
        // and both get the same answer.
        let parsed = parse();
        let mut entries = self.lock();
        if entries.len >= CAPACITY {
            *entries = Entries::default();
        }
        let inputs = entries.by_region.entry(region).or_default();
        if inputs.insert(input.to_owned(), parsed.clone()).is_none() {
            entries.len += 1;
        }
        parsed
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len
    }
}

impl std::fmt::Debug for ParseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParseCache")
    }
}

impl PartialEq for ParseCache {
    /// A memory of what the rest of the policy gives: it does not make policies differ.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ParseCache {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::InvalidInput;

    fn invalid() -> ParsedNumber {
        ParsedNumber::Invalid {
            problem: InvalidInput::NotANumber,
            region: None,
        }
    }

    #[test]
    fn a_remembered_input_is_not_parsed_again() {
        let cache = ParseCache::default();
        let mut parses = 0;
        for _ in 0..3 {
            cache.get_or_parse("abc", None, || {
                parses += 1;
                invalid()
            });
        }
        assert_eq!(parses, 1);
        let us: Region = "US".parse().unwrap();
        cache.get_or_parse("abc", Some(us), || {
            parses += 1;
            invalid()
        });
        assert_eq!(parses, 2, "another region is another reading");
    }

    #[test]
    fn the_memory_never_holds_more_than_its_capacity() {
        let cache = ParseCache::default();
        for i in 0..CAPACITY + 10 {
            cache.get_or_parse(&i.to_string(), None, invalid);
        }
        assert!(cache.len() <= CAPACITY);
        assert_eq!(cache.len(), 10, "emptied once full, then filled again");
    }
}
