//! Consent: the STOP/START/HELP keywords, the decisions they drive, and the suppression
//! list that remembers who opted out.
//!
//! ## Pieces
//!
//! | file | what it holds |
//! |---|---|
//! | `keywords` | keyword sets and whole-message matching ("STOP." is STOP, "stop it" is not) |
//! | `profile` | per-sender keywords and replies, per-sender or per-brand scope |
//! | `suppression` | the [`SuppressionList`] trait the store implements, and an in-memory list |
//! | `decide` | what an MO keyword records, replies and emits; whether an MT may go |
//! | `csv` | import and export of the list |
//! | `metrics` | metric names and descriptions |
//!
//! ## How the flows use it
//!
//! ```text
//! MO   flow::inbound ─▶ policy.plan_mo(contact, sender, text, at) ─▶ KeywordPlan
//!        ─▶ store_mo applies plan.request in the MO's own write; plan.outcome(change)
//!           ─▶ MoConsent { keyword, change, reply, event }: the reply (once) and the
//!           event go with the message, which is forwarded to the core as usual
//!      (policy.handle_mo(list, …) does both steps against a list on its own)
//! MT   flow::outbound ─▶ policy.check_mt(list, contact, sender) ─▶ Err(opted_out) never
//!        reaches the carrier
//! ```

pub mod csv;
mod decide;
mod keywords;
pub mod metrics;
mod profile;
mod suppression;

use thiserror::Error;

pub use decide::{
    ConsentChange, ConsentEvent, ConsentEventKind, ConsentRequest, KeywordPlan, MoConsent,
    MtRefusal,
};
pub use keywords::{
    Keyword, KeywordKind, KeywordSet, MAX_KEYWORD_CHARS, MAX_WORDS_PER_SET, classify, normalise,
};
pub use profile::{
    ConsentPolicy, ConsentScope, ConsentSettings, KeywordProfile, MAX_REPLY_CHARS,
    ProfileOverrides, Replies,
};
pub use suppression::{
    ListQuery, MAX_LIST_PAGE, MAX_SOURCE_CHARS, MemorySuppressionList, SOURCE_MMS, SOURCE_SMS,
    Scope, SuppressionList, SuppressionRecord,
};

/// Errors of the consent module.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsentError {
    /// A configured keyword is empty once trimmed, or longer than 32 characters.
    #[error("keyword {word:?} in `{set}` is empty or longer than {MAX_KEYWORD_CHARS} characters")]
    BadKeyword {
        /// The set it was in (`opt_out`, `opt_in`, `help`).
        set: &'static str,
        /// The word as written.
        word: String,
    },
    /// A keyword set has more than 32 words.
    #[error("`{set}` has {count} keywords; at most {MAX_WORDS_PER_SET}")]
    TooManyKeywords {
        /// The set.
        set: &'static str,
        /// How many words it has.
        count: usize,
    },
    /// The same word is configured in two sets.
    #[error("keyword {word:?} is in `{first}` and in another set")]
    KeywordInTwoSets {
        /// The word, normalised.
        word: String,
        /// The first set it is in.
        first: &'static str,
    },
    /// A sender has no opt-out keyword, so customers could not stop its messages.
    #[error("the opt-out keyword list cannot be empty")]
    NoOptOutKeyword,
    /// A configured reply is blank or longer than 1000 characters.
    #[error(
        "the `{which}` reply is blank or longer than {MAX_REPLY_CHARS} characters (omit it to send none)"
    )]
    BadReply {
        /// Which reply.
        which: &'static str,
    },
    /// A scope that is neither a sender address nor `brand:NAME`.
    #[error("{0:?} is not a sender address or brand:NAME")]
    BadScope(String),
    /// A record's source is empty, too long, or has control characters.
    #[error("source {0:?} must be 1 to {MAX_SOURCE_CHARS} printable characters")]
    BadSource(String),
    /// The in-memory list is full; the opt-out was not recorded.
    #[error("the suppression list is full ({capacity} entries); the opt-out was not recorded")]
    ListFull {
        /// The list's capacity.
        capacity: usize,
    },
    /// The store behind the list failed.
    #[error("the suppression list store failed: {0}")]
    Store(String),
    /// A record's time is before 1970 or after 2262, which the durable list cannot hold
    /// (it keeps nanoseconds since 1970 in 64 bits).
    #[error("the time of the record is before 1970 or after 2262")]
    TimeOutOfRange,
}
