//! The state a receipt reports: SMPP's message_state values and the `stat:` words of
//! the Appendix B text, which name the same ten states.

use serde::{Deserialize, Serialize};

/// A message's state as a receipt reports it (SMPP 3.4 §5.2.28, 5.0 adds 0 and 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptState {
    /// SCHEDLD (0, SMPP 5.0): waiting for its scheduled delivery time.
    Scheduled,
    /// ENROUTE (1): on its way; an intermediate state.
    Enroute,
    /// DELIVRD (2): delivered to the handset.
    Delivered,
    /// EXPIRED (3): validity period passed before delivery.
    Expired,
    /// DELETED (4): deleted at the SMSC (cancel_sm or an operator).
    Deleted,
    /// UNDELIV (5): cannot be delivered.
    Undeliverable,
    /// ACCEPTD (6): accepted on the subscriber's behalf; treated as intermediate.
    Accepted,
    /// UNKNOWN (7): the SMSC does not know; treated as a failure.
    Unknown,
    /// REJECTD (8): refused by the SMSC or the network.
    Rejected,
    /// SKIPPED (9, SMPP 5.0): skipped (a broadcast or distribution-list entry).
    Skipped,
}

impl ReceiptState {
    /// Every state, in message_state order.
    pub const ALL: [ReceiptState; 10] = [
        Self::Scheduled,
        Self::Enroute,
        Self::Delivered,
        Self::Expired,
        Self::Deleted,
        Self::Undeliverable,
        Self::Accepted,
        Self::Unknown,
        Self::Rejected,
        Self::Skipped,
    ];

    /// The state for a message_state TLV value, or `None` outside 0..=9.
    pub fn from_message_state(value: u8) -> Option<Self> {
        Self::ALL.get(usize::from(value)).copied()
    }

    /// The message_state TLV value.
    pub fn message_state(self) -> u8 {
        self as u8
    }

    /// The seven-letter `stat:` word of Appendix B.
    pub fn stat(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDLD",
            Self::Enroute => "ENROUTE",
            Self::Delivered => "DELIVRD",
            Self::Expired => "EXPIRED",
            Self::Deleted => "DELETED",
            Self::Undeliverable => "UNDELIV",
            Self::Accepted => "ACCEPTD",
            Self::Unknown => "UNKNOWN",
            Self::Rejected => "REJECTD",
            Self::Skipped => "SKIPPED",
        }
    }

    /// The state a `stat:` word names, in any case. Besides the Appendix B words this
    /// takes the spellings carriers use instead (`DELIVERED`, `UNDELIVERABLE`,
    /// `REJECTED`, `ACCEPTED`, `FAILED`, …) and the message_state number written out.
    pub fn from_stat(word: &str) -> Option<Self> {
        let word = word.trim();
        if word.len() > 16 {
            return None;
        }
        if let Ok(value) = word.parse::<u8>() {
            return Self::from_message_state(value);
        }
        let upper = word.to_ascii_uppercase();
        let state = match upper.as_str() {
            "SCHEDLD" | "SCHEDULED" => Self::Scheduled,
            "ENROUTE" | "EN_ROUTE" | "BUFFERED" | "BUFFRED" => Self::Enroute,
            "DELIVRD" | "DELIVERED" | "DELIVER" => Self::Delivered,
            "EXPIRED" | "EXPIRD" => Self::Expired,
            "DELETED" | "DELETD" => Self::Deleted,
            "UNDELIV" | "UNDELIVERABLE" | "UNDELIVERED" | "FAILED" | "FAIL" => Self::Undeliverable,
            "ACCEPTD" | "ACCEPTED" => Self::Accepted,
            "UNKNOWN" | "UNKNWN" => Self::Unknown,
            "REJECTD" | "REJECTED" => Self::Rejected,
            "SKIPPED" => Self::Skipped,
            _ => return None,
        };
        Some(state)
    }

    /// Whether this state ends the message's life at the SMSC. ENROUTE, ACCEPTD and
    /// SCHEDLD are progress reports; a later receipt follows.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Scheduled | Self::Enroute | Self::Accepted)
    }

    /// Whether this is a final state other than delivered or expired: the message
    /// failed for good.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::Deleted | Self::Undeliverable | Self::Unknown | Self::Rejected | Self::Skipped
        )
    }

    /// The lower-case name used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Enroute => "enroute",
            Self::Delivered => "delivered",
            Self::Expired => "expired",
            Self::Deleted => "deleted",
            Self::Undeliverable => "undeliverable",
            Self::Accepted => "accepted",
            Self::Unknown => "unknown",
            Self::Rejected => "rejected",
            Self::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for ReceiptState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.stat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_state_and_stat_words_name_the_same_states() {
        for state in ReceiptState::ALL {
            assert_eq!(
                ReceiptState::from_message_state(state.message_state()),
                Some(state)
            );
            assert_eq!(ReceiptState::from_stat(state.stat()), Some(state));
            let lower = state.stat().to_ascii_lowercase();
            assert_eq!(ReceiptState::from_stat(&lower), Some(state));
        }
        assert_eq!(ReceiptState::from_message_state(10), None);
    }

    #[test]
    fn carrier_spellings_and_numbers_are_understood() {
        assert_eq!(
            ReceiptState::from_stat("Delivered"),
            Some(ReceiptState::Delivered)
        );
        assert_eq!(
            ReceiptState::from_stat("UNDELIVERABLE"),
            Some(ReceiptState::Undeliverable)
        );
        assert_eq!(ReceiptState::from_stat("2"), Some(ReceiptState::Delivered));
        assert_eq!(ReceiptState::from_stat("DELIVRDX"), None);
        assert_eq!(ReceiptState::from_stat(""), None);
    }

    #[test]
    fn only_progress_states_are_not_final() {
        let progress: Vec<_> = ReceiptState::ALL
            .into_iter()
            .filter(|s| !s.is_final())
            .collect();
        assert_eq!(
            progress,
            [
                ReceiptState::Scheduled,
                ReceiptState::Enroute,
                ReceiptState::Accepted
            ]
        );
        assert!(!ReceiptState::Delivered.is_failure());
        assert!(!ReceiptState::Expired.is_failure());
        assert!(ReceiptState::Rejected.is_failure());
    }
}
