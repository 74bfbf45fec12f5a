//! Concatenation references for outbound messages.
//!
//! A handset joins parts by (sender, reference), so two long messages to the same
//! destination must not share a reference while either is in flight. References rotate
//! per destination; the destinations hash onto a fixed number of counters, so memory stays
//! bounded however many destinations there are. Two destinations on one counter each still
//! see a rotating sequence, only with gaps. Counters start at random values so that a
//! restart does not reuse the references of the minutes before it.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU16, Ordering};

use std::collections::hash_map::RandomState;

/// Counters kept by default: 4096 × 2 bytes.
pub const DEFAULT_SLOTS: usize = 4096;

/// Hands out rotating concatenation references per destination. Shared by reference
/// across tasks (`&self` methods, lock-free).
#[derive(Debug)]
pub struct ReferenceAllocator {
    wide: bool,
    slots: Box<[AtomicU16]>,
    hasher: RandomState,
}

impl ReferenceAllocator {
    /// An allocator of 8-bit (`wide` = false) or 16-bit references over `slots` counters
    /// (at least one).
    pub fn new(wide: bool, slots: usize) -> Self {
        let slots = (0..slots.max(1))
            .map(|_| AtomicU16::new(rand::random()))
            .collect();
        ReferenceAllocator {
            wide,
            slots,
            hasher: RandomState::new(),
        }
    }

    /// The next reference for `destination`: 0–255 for 8-bit references, 0–65535 else.
    pub fn next(&self, destination: &str) -> u16 {
        let hash = self.hasher.hash_one(destination);
        let slot = &self.slots[(hash % self.slots.len() as u64) as usize];
        let value = slot.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if self.wide { value } else { value & 0xFF }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_rotate_per_destination() {
        let a = ReferenceAllocator::new(false, 16);
        let first = a.next("+14155550123");
        let second = a.next("+14155550123");
        assert_eq!(second, (first + 1) & 0xFF);
        let seen: std::collections::HashSet<u16> =
            (0..256).map(|_| a.next("+14155550123")).collect();
        assert_eq!(
            seen.len(),
            256,
            "8-bit references cycle through all 256 values"
        );
    }

    #[test]
    fn wide_references_use_16_bits() {
        let a = ReferenceAllocator::new(true, 1);
        let seen: std::collections::HashSet<u16> = (0..1000).map(|_| a.next("x")).collect();
        assert_eq!(seen.len(), 1000);
        assert!(seen.iter().any(|&r| r > 0xFF));
    }
}
