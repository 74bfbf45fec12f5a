//! Why a message was not sent or not delivered: the one list of reasons an agent can
//! see, each with the sentence the transcript shows.
//!
//! Every `failed` or `expired` status — from a receipt, from the dispatcher giving up,
//! from an MMSC — carries a [`ReasonCode`], in `chat.message.status` events and in
//! `GET /v1/messages/{id}`. The sentence comes from the code and nothing else, so what an
//! agent reads is written for them, never an internal error or a carrier's status name.
//! What an operator needs beyond the code (the carrier's command_status, the error
//! behind an internal failure) goes to the log or to a field of its own.
//!
//! The codes are stable: programs match on them. The sentences may be reworded.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A reason a message was not sent or not delivered.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    // What a receipt (or an MMSC's delivery report) says.
    /// The handset is off, out of coverage or otherwise absent.
    Unreachable,
    /// The line cannot take SMS (a landline, a data-only SIM).
    NotSmsCapable,
    /// The recipient or the network barred the message.
    Blocked,
    /// A carrier's content filter stopped the message.
    SpamFiltered,
    /// The number does not exist, or the carrier refused the destination address
    /// (ESME_RINVDSTADR, MM7 2002).
    InvalidNumber,
    /// The validity period ran out before the handset could be reached.
    Expired,
    /// The carrier failed after taking the message (system failure, congestion,
    /// deleted at the SMSC).
    CarrierError,
    /// No usable reason was given; also what a stored reason this version does not
    /// know reads as.
    Unknown,

    // What the dispatcher decides before or while handing the message over.
    /// The validity period ran out before the carrier took the message.
    ValidityExpired,
    /// The business number is no longer configured.
    UnknownSender,
    /// No carrier route (or no MMSC, for MMS) is configured for the business number.
    NoRoute,
    /// The stored MT could not be planned into segments, or its segments built as
    /// submit_sm, for its route.
    Unplannable,
    /// The carrier pool could not encode a segment for the wire.
    NotEncodable,
    /// The carrier was asked and never answered; the message may or may not go out.
    UnknownOutcome,
    /// The carrier cannot take the message now (no bind, throttled, a transient
    /// status); the dispatcher tries again. Seen only while the message is `accepted`.
    CarrierUnavailable,

    // A carrier's permanent refusal of the submit.
    /// The carrier refused the business number as a sender (ESME_RINVSRCADR).
    InvalidSender,
    /// The carrier refused the message's length (ESME_RINVMSGLEN).
    MessageTooLong,
    /// The carrier refused the data coding (ESME_RINVDCS).
    EncodingNotSupported,
    /// The carrier refused the message with any other permanent status.
    CarrierRejected,
    /// The MMSC refused the content (MM7 2004).
    ContentRefused,

    // MMS.
    /// No MM7 client runs, so MMS cannot be sent.
    MmsUnavailable,
    /// An attachment is larger than the route takes from the sender's kind.
    MediaTooLarge,
    /// An attachment is gone from the media store, or its URL could not be fetched.
    MediaUnavailable,
    /// An attachment's type is not one MMS may carry here.
    MediaTypeNotAllowed,
    /// An attachment's bytes are damaged or not of its type.
    MediaCorrupt,
    /// An attachment's URL leads to an address fetches may not reach (`[mms]
    /// fetch_allow`).
    MediaUrlForbidden,
}

impl ReasonCode {
    /// Every reason code.
    pub const ALL: [ReasonCode; 26] = [
        Self::Unreachable,
        Self::NotSmsCapable,
        Self::Blocked,
        Self::SpamFiltered,
        Self::InvalidNumber,
        Self::Expired,
        Self::CarrierError,
        Self::Unknown,
        Self::ValidityExpired,
        Self::UnknownSender,
        Self::NoRoute,
        Self::Unplannable,
        Self::NotEncodable,
        Self::UnknownOutcome,
        Self::CarrierUnavailable,
        Self::InvalidSender,
        Self::MessageTooLong,
        Self::EncodingNotSupported,
        Self::CarrierRejected,
        Self::ContentRefused,
        Self::MmsUnavailable,
        Self::MediaTooLarge,
        Self::MediaUnavailable,
        Self::MediaTypeNotAllowed,
        Self::MediaCorrupt,
        Self::MediaUrlForbidden,
    ];

    /// The snake_case code (events, the API, configuration, metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::NotSmsCapable => "not_sms_capable",
            Self::Blocked => "blocked",
            Self::SpamFiltered => "spam_filtered",
            Self::InvalidNumber => "invalid_number",
            Self::Expired => "expired",
            Self::CarrierError => "carrier_error",
            Self::Unknown => "unknown",
            Self::ValidityExpired => "validity_expired",
            Self::UnknownSender => "unknown_sender",
            Self::NoRoute => "no_route",
            Self::Unplannable => "unplannable",
            Self::NotEncodable => "not_encodable",
            Self::UnknownOutcome => "unknown_outcome",
            Self::CarrierUnavailable => "carrier_unavailable",
            Self::InvalidSender => "invalid_sender",
            Self::MessageTooLong => "message_too_long",
            Self::EncodingNotSupported => "encoding_not_supported",
            Self::CarrierRejected => "carrier_rejected",
            Self::ContentRefused => "content_refused",
            Self::MmsUnavailable => "mms_unavailable",
            Self::MediaTooLarge => "media_too_large",
            Self::MediaUnavailable => "media_unavailable",
            Self::MediaTypeNotAllowed => "media_type_not_allowed",
            Self::MediaCorrupt => "media_corrupt",
            Self::MediaUrlForbidden => "media_url_forbidden",
        }
    }

    /// The sentence for the agent's transcript.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::Unreachable => "The message was not delivered because the number is unreachable.",
            Self::NotSmsCapable => {
                "The message was not delivered because the number cannot receive text messages."
            }
            Self::Blocked => {
                "The message was not delivered because the recipient or their carrier blocked it."
            }
            Self::SpamFiltered => {
                "The message was not delivered because the carrier's spam filter stopped it."
            }
            Self::InvalidNumber => {
                "The message was not delivered because the number does not exist or is not valid."
            }
            Self::Expired => {
                "The message was not delivered because the phone could not be reached before the message expired."
            }
            Self::CarrierError => {
                "The message was not delivered because of a problem at the carrier."
            }
            Self::Unknown => "The message was not delivered, and no reason was given.",
            Self::ValidityExpired => {
                "The message was not sent because the carrier could not take it before it expired."
            }
            Self::UnknownSender => {
                "The message was not sent because the business number it is from is no longer set up."
            }
            Self::NoRoute => {
                "The message was not sent because no carrier is set up to send from this business number."
            }
            Self::Unplannable => {
                "The message was not sent because its text could not be prepared for the carrier."
            }
            Self::NotEncodable => {
                "The message was not sent because it could not be converted to the carrier's format."
            }
            Self::UnknownOutcome => {
                "The message may not have been delivered because the carrier did not confirm it."
            }
            Self::CarrierUnavailable => {
                "The message is waiting because the carrier cannot take it right now; it will be tried again."
            }
            Self::InvalidSender => {
                "The message was not sent because the carrier does not accept this business number as a sender."
            }
            Self::MessageTooLong => {
                "The message was not sent because the carrier refused its length."
            }
            Self::EncodingNotSupported => {
                "The message was not sent because the carrier cannot send some of its characters."
            }
            Self::CarrierRejected => "The message was not sent because the carrier refused it.",
            Self::ContentRefused => {
                "The message was not sent because the carrier refused its content."
            }
            Self::MmsUnavailable => {
                "The message was not sent because messages with attachments cannot be sent right now."
            }
            Self::MediaTooLarge => {
                "The message was not sent because an attachment is too large for the carrier."
            }
            Self::MediaUnavailable => {
                "The message was not sent because an attachment could not be retrieved."
            }
            Self::MediaTypeNotAllowed => {
                "The message was not sent because the carrier does not accept the type of an attachment."
            }
            Self::MediaCorrupt => "The message was not sent because an attachment is damaged.",
            Self::MediaUrlForbidden => {
                "The message was not sent because an attachment's link may not be fetched."
            }
        }
    }

    /// The reason a stored `reason` column stands for. Rows written by earlier versions
    /// hold codes since merged or retired, and retry notes with detail after the code;
    /// those read as today's code, anything else as [`ReasonCode::Unknown`], so an old
    /// row always reads.
    pub fn from_stored(stored: &str) -> ReasonCode {
        if let Ok(code) = stored.parse() {
            return code;
        }
        match stored {
            // The dispatcher's name for a refused destination, before it was merged
            // with the receipts' name for the same meaning.
            "invalid_destination" => Self::InvalidNumber,
            // A retry note, "<class>: <detail>".
            s if s.starts_with("transient:") || s.starts_with("throttled:") => {
                Self::CarrierUnavailable
            }
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a reason code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a reason code")]
pub struct UnknownReasonCode(pub String);

impl FromStr for ReasonCode {
    type Err = UnknownReasonCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownReasonCode(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_parses_back() {
        let mut codes: Vec<&str> = ReasonCode::ALL.iter().map(|r| r.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ReasonCode::ALL.len());
        for code in ReasonCode::ALL {
            assert_eq!(code.as_str().parse::<ReasonCode>(), Ok(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
        }
        assert!("spam".parse::<ReasonCode>().is_err());
    }

    /// An agent reads these: a sentence, not an error report or a status name.
    #[test]
    fn every_reason_has_a_sentence_without_internal_jargon() {
        for code in ReasonCode::ALL {
            let sentence = code.sentence();
            assert!(sentence.starts_with("The message "), "{code}: {sentence}");
            assert!(sentence.ends_with('.'), "{code}: {sentence}");
            let lower = sentence.to_lowercase();
            for jargon in [
                "esme", "error", "smpp", "mm7", "mmsc", "submit", "status", "segment", "route",
                "null", "none", "_",
            ] {
                assert!(!lower.contains(jargon), "{code}: {sentence} has {jargon:?}");
            }
            for mark in [':', '(', ')', '{', '}', '[', ']', '"'] {
                assert!(!sentence.contains(mark), "{code}: {sentence} has {mark:?}");
            }
        }
    }

    #[test]
    fn stored_reasons_of_earlier_versions_read_as_todays_codes() {
        for code in ReasonCode::ALL {
            assert_eq!(ReasonCode::from_stored(code.as_str()), code);
        }
        assert_eq!(
            ReasonCode::from_stored("invalid_destination"),
            ReasonCode::InvalidNumber
        );
        assert_eq!(
            ReasonCode::from_stored("transient: transient error EsmeRsyserr on every attempt"),
            ReasonCode::CarrierUnavailable
        );
        assert_eq!(
            ReasonCode::from_stored("throttled: still throttled (EsmeRthrottled)"),
            ReasonCode::CarrierUnavailable
        );
        for other in ["", "something_new", "The carrier refused the message."] {
            assert_eq!(ReasonCode::from_stored(other), ReasonCode::Unknown);
        }
    }

    /// The README's table of reasons is the list integrators read: it names every code.
    #[test]
    fn the_readme_lists_every_code() {
        let readme = include_str!("../README.md");
        let (_, section) = readme
            .split_once(README_SECTION)
            .expect("the README has a section on reasons");
        let section = section.split("\n## ").next().unwrap_or_default();
        for code in ReasonCode::ALL {
            assert!(
                section.contains(&format!("| `{code}` |")),
                "README.md does not list the reason `{code}`"
            );
        }
    }

    const README_SECTION: &str = "\n## Why a message was not sent or delivered\n";
}
