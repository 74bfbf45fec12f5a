//! Sequence numbers: 1..=0x7FFFFFFF, wrapping back to 1.

/// The largest sequence number SMPP allows.
pub const MAX_SEQUENCE: u32 = 0x7FFF_FFFF;

/// Hands out sequence numbers for the requests one session sends.
#[derive(Debug, Clone)]
pub struct SequenceNumbers {
    next: u32,
}

impl Default for SequenceNumbers {
    fn default() -> Self {
        Self::starting_at(1)
    }
}

impl SequenceNumbers {
    /// Starts at `first` (clamped into 1..=0x7FFFFFFF); tests use it to exercise the wrap.
    pub fn starting_at(first: u32) -> Self {
        Self {
            next: first.clamp(1, MAX_SEQUENCE),
        }
    }

    /// The next number; after 0x7FFFFFFF comes 1 (0 is never used).
    pub fn next_number(&mut self) -> u32 {
        let current = self.next;
        self.next = if current >= MAX_SEQUENCE {
            1
        } else {
            current + 1
        };
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_to_one_after_the_maximum() {
        let mut seq = SequenceNumbers::starting_at(MAX_SEQUENCE - 1);
        assert_eq!(seq.next_number(), MAX_SEQUENCE - 1);
        assert_eq!(seq.next_number(), MAX_SEQUENCE);
        assert_eq!(seq.next_number(), 1);
        assert_eq!(seq.next_number(), 2);
    }

    #[test]
    fn zero_is_never_handed_out() {
        assert_eq!(SequenceNumbers::starting_at(0).next_number(), 1);
    }
}
