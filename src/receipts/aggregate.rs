//! One status per chat message, from one receipt per segment.
//!
//! A chat message of three segments gets three receipts, in any order, sometimes
//! twice, sometimes with ENROUTE notifications in between. The agent wants one answer:
//!
//! - `delivered` once every segment is delivered;
//! - `failed` as soon as one segment fails for good — naming which and why;
//! - `expired` as soon as one segment expires (and none failed);
//! - otherwise still `sent`.
//!
//! A segment's final state sticks: a duplicate or contradicting receipt after it, or a
//! late progress notification, changes nothing. The chat message's final state sticks
//! too, so the core sees exactly one `chat.message.status` per change and never one
//! per segment. Both steps are pure functions; the flow stores what they return.

use serde::{Deserialize, Serialize};

use super::parse::Receipt;
use super::reason::{ErrorMap, ReasonCode, reason_for};
use super::state::ReceiptState;

/// What receipts have told about one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SegmentState {
    /// Acknowledged by the carrier; no receipt yet.
    Sent,
    /// A progress report (ENROUTE, ACCEPTD, SCHEDLD, or any intermediate notification).
    InProgress {
        /// The state reported.
        receipt_state: ReceiptState,
    },
    /// Delivered to the handset.
    Delivered,
    /// Failed for good.
    Failed {
        /// Why.
        reason: ReasonCode,
    },
    /// The validity period ran out.
    Expired,
}

impl SegmentState {
    /// Whether no later receipt can change this state.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Delivered | Self::Failed { .. } | Self::Expired)
    }

    /// The state after `report`. A final state never changes.
    pub fn after(self, report: &SegmentReport) -> SegmentState {
        if self.is_final() {
            return self;
        }
        if report.intermediate || !report.state.is_final() {
            return Self::InProgress {
                receipt_state: report.state,
            };
        }
        match report.state {
            ReceiptState::Delivered => Self::Delivered,
            ReceiptState::Expired => Self::Expired,
            _ => Self::Failed {
                reason: report.reason.unwrap_or(ReasonCode::Unknown),
            },
        }
    }
}

/// What one receipt says about its segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentReport {
    /// The state reported.
    pub state: ReceiptState,
    /// An intermediate notification (never final).
    pub intermediate: bool,
    /// The reason, for a failure.
    pub reason: Option<ReasonCode>,
}

impl SegmentReport {
    /// The report of a parsed receipt, its reason read with the carrier's error map.
    pub fn from_receipt(receipt: &Receipt, map: &ErrorMap) -> Self {
        SegmentReport {
            state: receipt.state,
            intermediate: receipt.intermediate,
            reason: reason_for(receipt, map).map(|r| r.code),
        }
    }
}

/// The chat message's state as receipts decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChatState {
    /// Accepted by the carrier, not yet delivered.
    Sent,
    /// Every segment delivered.
    Delivered,
    /// A segment failed for good.
    Failed {
        /// Its index among the message's segments (0 = first).
        segment: usize,
        /// Why.
        reason: ReasonCode,
    },
    /// A segment expired.
    Expired {
        /// Its index among the message's segments (0 = first).
        segment: usize,
    },
}

impl ChatState {
    /// Whether the chat message's state is settled.
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Sent)
    }

    /// The `chat.message.status` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed { .. } => "failed",
            Self::Expired { .. } => "expired",
        }
    }

    /// The transcript sentence for a failure or expiry.
    pub fn sentence(&self) -> Option<&'static str> {
        match self {
            Self::Failed { reason, .. } => Some(reason.sentence()),
            Self::Expired { .. } => Some(ReasonCode::Expired.sentence()),
            Self::Sent | Self::Delivered => None,
        }
    }
}

/// The chat message's state after aggregation, and whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregate {
    /// The state now.
    pub state: ChatState,
    /// True when it differs from the previous state: emit one `chat.message.status`.
    pub changed: bool,
}

/// The chat message's state from its segments' states, given its previous state.
pub fn aggregate(previous: ChatState, segments: &[SegmentState]) -> Aggregate {
    let state = if previous.is_final() {
        previous
    } else {
        derive(segments)
    };
    Aggregate {
        state,
        changed: state != previous,
    }
}

fn derive(segments: &[SegmentState]) -> ChatState {
    let failed = segments.iter().enumerate().find_map(|(i, s)| match s {
        SegmentState::Failed { reason } => Some(ChatState::Failed {
            segment: i,
            reason: *reason,
        }),
        _ => None,
    });
    let expired = || {
        segments
            .iter()
            .position(|s| *s == SegmentState::Expired)
            .map(|segment| ChatState::Expired { segment })
    };
    let all_delivered =
        !segments.is_empty() && segments.iter().all(|s| *s == SegmentState::Delivered);
    failed.or_else(expired).unwrap_or(if all_delivered {
        ChatState::Delivered
    } else {
        ChatState::Sent
    })
}

/// One receipt applied: the segment's new state and the chat message's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The segment's state now.
    pub segment: SegmentState,
    /// Whether the segment's state changed (store it).
    pub segment_changed: bool,
    /// The chat message's state and whether it changed (emit an event).
    pub chat: Aggregate,
}

/// Applies `report` to segment `index` of `segments` (updating it in place) and
/// aggregates. An index out of range changes nothing.
pub fn apply(
    previous: ChatState,
    segments: &mut [SegmentState],
    index: usize,
    report: &SegmentReport,
) -> Step {
    let Some(slot) = segments.get_mut(index) else {
        return Step {
            segment: SegmentState::Sent,
            segment_changed: false,
            chat: Aggregate {
                state: previous,
                changed: false,
            },
        };
    };
    let before = *slot;
    *slot = before.after(report);
    Step {
        segment: *slot,
        segment_changed: *slot != before,
        chat: aggregate(previous, segments),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(state: ReceiptState) -> SegmentReport {
        SegmentReport {
            state,
            intermediate: false,
            reason: state.is_failure().then_some(ReasonCode::Unreachable),
        }
    }

    /// Applies `(segment, state)` receipts in order; returns the chat states emitted.
    fn run(parts: usize, receipts: &[(usize, SegmentReport)]) -> Vec<ChatState> {
        let mut segments = vec![SegmentState::Sent; parts];
        let mut chat = ChatState::Sent;
        let mut emitted = Vec::new();
        for (index, r) in receipts {
            let step = apply(chat, &mut segments, *index, r);
            if step.chat.changed {
                emitted.push(step.chat.state);
            }
            chat = step.chat.state;
        }
        emitted
    }

    #[test]
    fn delivered_only_when_every_segment_is_in_any_order() {
        let d = report(ReceiptState::Delivered);
        assert_eq!(run(3, &[(2, d), (0, d)]), []);
        assert_eq!(run(3, &[(2, d), (0, d), (1, d)]), [ChatState::Delivered]);
    }

    #[test]
    fn one_failure_of_three_fails_the_message_once_naming_the_segment() {
        let d = report(ReceiptState::Delivered);
        let u = report(ReceiptState::Undeliverable);
        let emitted = run(3, &[(0, d), (1, u), (2, d), (1, u)]);
        assert_eq!(
            emitted,
            [ChatState::Failed {
                segment: 1,
                reason: ReasonCode::Unreachable
            }]
        );
    }

    #[test]
    fn duplicates_and_late_contradictions_change_nothing() {
        let mut segments = vec![SegmentState::Sent; 2];
        let d = report(ReceiptState::Delivered);
        let first = apply(ChatState::Sent, &mut segments, 0, &d);
        assert!(first.segment_changed && !first.chat.changed);
        let again = apply(first.chat.state, &mut segments, 0, &d);
        assert!(!again.segment_changed && !again.chat.changed);
        let late = apply(
            again.chat.state,
            &mut segments,
            0,
            &report(ReceiptState::Undeliverable),
        );
        assert_eq!(late.segment, SegmentState::Delivered);
        assert!(!late.chat.changed);
    }

    #[test]
    fn intermediate_notifications_move_segments_not_the_message() {
        let enroute = report(ReceiptState::Enroute);
        let notified_delivery = SegmentReport {
            intermediate: true,
            ..report(ReceiptState::Delivered)
        };
        let mut segments = vec![SegmentState::Sent];
        let step = apply(ChatState::Sent, &mut segments, 0, &enroute);
        assert!(step.segment_changed && !step.chat.changed);
        let step = apply(ChatState::Sent, &mut segments, 0, &notified_delivery);
        assert_eq!(
            step.segment,
            SegmentState::InProgress {
                receipt_state: ReceiptState::Delivered
            }
        );
        assert!(!step.chat.changed);
        assert_eq!(
            run(1, &[(0, enroute), (0, report(ReceiptState::Accepted))]),
            []
        );
    }

    #[test]
    fn expiry_and_the_first_final_state_sticks() {
        let e = report(ReceiptState::Expired);
        let u = report(ReceiptState::Rejected);
        assert_eq!(
            run(2, &[(1, e), (0, u)]),
            [ChatState::Expired { segment: 1 }]
        );
        let state = aggregate(
            ChatState::Sent,
            &[
                SegmentState::Expired,
                SegmentState::Failed {
                    reason: ReasonCode::Blocked,
                },
            ],
        );
        assert_eq!(
            state.state,
            ChatState::Failed {
                segment: 1,
                reason: ReasonCode::Blocked
            }
        );
    }

    #[test]
    fn states_serialise_for_the_store() {
        let s = SegmentState::Failed {
            reason: ReasonCode::SpamFiltered,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"state":"failed","reason":"spam_filtered"}"#);
        assert_eq!(serde_json::from_str::<SegmentState>(&json).unwrap(), s);
        assert_eq!(ChatState::Expired { segment: 0 }.as_str(), "expired");
        assert!(aggregate(ChatState::Sent, &[]).state == ChatState::Sent);
    }
}
