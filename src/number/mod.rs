//! Numbers: what people type turned into E.164, what kind of line it is, whether it can
//! receive SMS and why; and the inventory of our business senders.
//!
//! ## Pieces
//!
//! | file | what it holds |
//! |---|---|
//! | `e164`, `region`, `class` | the canonical number, the regions with their English names, the classes |
//! | `parse` | typed input → [`ParsedNumber`] (E.164, region, class), short codes by `shortcode` rules |
//! | `policy`, `lists`, `check` | the configurable policy → [`NumberCheck`] (`sms_capable`, reason code, sentence) |
//! | `parse_cache` | a policy's bounded memory of inputs it parsed already |
//! | `unreachable` | numbers that receipts proved unreachable, remembered for a while |
//! | `sender`, `ton_npi`, `inventory` | our senders: validation, TON/NPI, lookups for MT and MO |
//! | `cli` | `smsbridge number` |
//! | `metrics` | metric names and descriptions |
//!
//! ## How the flows use it
//!
//! ```text
//! MT   api ─▶ inventory.sender_for_mt(from)      unknown_sender?
//!          ─▶ policy.check(to, sender.country()) destination_not_sms_capable? (reason, message)
//! MO   flow::inbound ─▶ inventory.destination_of_mo(to)   not ours: accept, report
//! DLR  flow::receipts ─▶ policy.unreachable_rules().mark_for(...) ─▶ memory.remember(mark)
//! ```

mod check;
mod class;
pub mod cli;
mod e164;
mod inventory;
mod lists;
pub mod metrics;
mod parse;
mod parse_cache;
mod policy;
mod region;
mod sender;
mod shortcode;
mod ton_npi;
mod unreachable;

use thiserror::Error;

pub use check::{NumberCheck, Reason};
pub use class::NumberClass;
pub use e164::E164;
pub use inventory::{MoDestination, NotOurs, SenderInventory, SenderLookupError};
pub use lists::{ListVerdict, NumberList, NumberPattern};
pub use parse::{InvalidInput, MAX_INPUT_CHARS, ParsedNumber, parse_number};
pub use policy::{ClassAction, NumberPolicy, NumberPolicySettings};
pub use region::Region;
pub use sender::{
    MAX_ALPHANUMERIC_CHARS, MAX_FALLBACK_ROUTES, MAX_THROUGHPUT, Routes, Sender, SenderAddress,
    SenderError, SenderKind, SenderProblem, SenderSpec,
};
pub use shortcode::{SHORT_CODE_DIGITS, ShortCodeRule, ShortCodeRules};
pub use ton_npi::{Npi, Ton, TonNpi};
pub use unreachable::{
    BoundedUnreachableMemory, UnreachableMark, UnreachableMemory, UnreachableRule, UnreachableRules,
};

/// Errors of the numbers module (senders have their own, [`SenderError`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumberError {
    /// A region code the numbering plan does not know (`"ZZ"`, `"USA"`).
    #[error("{0:?} is not a region code of the numbering plan (use ISO codes such as US, GB, DE)")]
    UnknownRegion(String),
    /// A value that should be in E.164 form (`+` and 4 to 15 digits) is not.
    #[error(
        "{0:?} is not an E.164 number (+ followed by the country code and number, digits only)"
    )]
    NotE164(String),
    /// A class name that is not one of the documented snake_case classes.
    #[error(
        "{0:?} is not a number class (mobile, fixed_line, fixed_line_or_mobile, toll_free, premium_rate, shared_cost, voip, pager, uan, voicemail, personal, short_code, invalid)"
    )]
    UnknownClass(String),
    /// A short-code rule whose lengths are outside 3 to 8 digits or reversed.
    #[error("short codes have between 3 and 8 digits; got {min} to {max}")]
    ShortCodeLengths {
        /// The rule's fewest digits.
        min: usize,
        /// The rule's most digits.
        max: usize,
    },
    /// A short-code range that is reversed or holds values longer than the rule allows.
    #[error("short-code range {range} is reversed or longer than {max_digits} digits")]
    ShortCodeRange {
        /// The range as `low-high`.
        range: String,
        /// The rule's most digits.
        max_digits: usize,
    },
    /// An allow- or deny-list entry that is neither an E.164 number nor `+digits*`.
    #[error(
        "{0:?} is not a list entry (an E.164 number such as +14155550123, or a prefix such as +4420*)"
    )]
    BadPattern(String),
    /// An unreachable-error rule that is not `CODE` or `carrier:CODE`.
    #[error(
        "{0:?} is not a carrier error rule (CODE or carrier:CODE; letters, digits, _ and - in the code)"
    )]
    BadErrorRule(String),
    /// The policy allows the class `invalid`, which would send to numbers that do not exist.
    #[error("the class `invalid` cannot be allowed")]
    InvalidAllowed,
    /// The same entry is on the allow list and the deny list.
    #[error("{0} is on both the allow list and the deny list")]
    ListConflict(String),
    /// The time to remember unreachable numbers is zero.
    #[error("the time to remember unreachable numbers must be more than zero")]
    ZeroRememberFor,
}
