//! The MT flow's view of a carrier: submit a message's segments in order, get the
//! carrier's message id for each, or an error classified for the retry decision.

use rusmpp::CommandStatus;
use rusmpp::pdus::SubmitSm;
use serde::Serialize;

use crate::smpp::frame::EncodeError;

/// One message to submit: its segments, in order. Each is a complete submit_sm body
/// (built by the MT flow from the text plan; [`crate::carrier::SegmentFields`] helps).
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    /// The segments, first to last. They are submitted one after the other: segment
    /// n+1 leaves only once segment n is acknowledged, so retries never reorder them.
    pub segments: Vec<SubmitSm>,
}

/// What happened to one accepted segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentOutcome {
    /// The carrier's message id from submit_sm_resp (empty if the carrier sent none).
    pub message_id: String,
    /// The bind that carried it.
    pub bind: String,
    /// Attempts it took (1 when the first one was accepted).
    pub attempts: u32,
    /// True when an earlier attempt was written and never answered, then sent again:
    /// the handset may receive it twice.
    pub resent_after_no_response: bool,
}

/// Every segment accepted by the carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmitOutcome {
    /// One entry per segment, in order.
    pub segments: Vec<SegmentOutcome>,
}

/// How the MT flow should treat a failed submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The carrier refused the message itself; retrying cannot help.
    Permanent,
    /// A temporary fault (no bind up, RSYSERR repeated): retry later.
    Transient,
    /// The carrier kept throttling beyond the retry budget: retry later, slower.
    Throttled,
    /// A segment was sent and never answered: it may have been delivered. Do not resend
    /// blindly; report it.
    UnknownOutcome,
}

impl ErrorClass {
    /// A label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permanent => "permanent",
            Self::Transient => "transient",
            Self::Throttled => "throttled",
            Self::UnknownOutcome => "unknown_outcome",
        }
    }
}

/// Why a segment failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitFailure {
    /// The carrier answered with a permanent error status (or generic_nack).
    #[error("refused by the carrier with {0:?}")]
    Refused(CommandStatus),
    /// ESME_RTHROTTLED / ESME_RMSGQFUL beyond the retry budget.
    #[error("still throttled ({0:?}) after the retry budget")]
    Throttled(CommandStatus),
    /// A transient status (RSYSERR, …) on every attempt within the retry budget.
    #[error("transient error {0:?} on every attempt")]
    TransientStatus(CommandStatus),
    /// No transmitting bind was up within the wait.
    #[error("no bind up")]
    NoBind,
    /// The segment was written and not answered (timeout or connection lost), and the
    /// one resend the policy allows was used or disabled.
    #[error("sent but never answered; outcome unknown")]
    UnknownOutcome,
    /// The segment cannot be encoded (a message_payload over 65,535 octets, …).
    #[error("segment not encodable: {0}")]
    Invalid(EncodeError),
    /// The pool is shutting down.
    #[error("carrier pool is shutting down")]
    ShuttingDown,
}

impl SubmitFailure {
    /// The class that drives the MT flow's decision.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Refused(_) | Self::Invalid(_) => ErrorClass::Permanent,
            Self::Throttled(_) => ErrorClass::Throttled,
            Self::TransientStatus(_) | Self::NoBind | Self::ShuttingDown => ErrorClass::Transient,
            Self::UnknownOutcome => ErrorClass::UnknownOutcome,
        }
    }
}

/// A submit that did not complete. Segments before `segment` were accepted (their
/// outcomes are in `accepted`); the ones after it were not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("segment {segment} of carrier {carrier}: {failure}")]
pub struct SubmitError {
    /// The carrier.
    pub carrier: String,
    /// Index of the failed segment.
    pub segment: usize,
    /// Outcomes of the segments before it.
    pub accepted: Vec<SegmentOutcome>,
    /// What went wrong.
    pub failure: SubmitFailure,
}

impl SubmitError {
    /// The class that drives the MT flow's decision.
    pub fn class(&self) -> ErrorClass {
        self.failure.class()
    }
}

/// Retry budgets of the submit path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitPolicy {
    /// ESME_RTHROTTLED / RMSGQFUL answers tolerated per segment before giving up.
    pub max_throttle_retries: u32,
    /// Transient answers (RSYSERR, a bind that went away before sending) tolerated per
    /// segment, each retried on another bind when there is one.
    pub max_transient_retries: u32,
    /// Send a segment once more (on another bind) after it went unanswered. The outcome
    /// records it; a second unanswered attempt is reported as unknown outcome.
    pub resend_unanswered_once: bool,
}

impl Default for SubmitPolicy {
    fn default() -> Self {
        Self {
            max_throttle_retries: 10,
            max_transient_retries: 3,
            resend_unanswered_once: true,
        }
    }
}
