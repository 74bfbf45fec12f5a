//! Text: GSM 03.38 and its shift tables, UCS-2/UTF-16, Latin-1 and IA5; planning the
//! segments of an outbound message; decoding and reassembling inbound ones.
//!
//! An agent types up to [`MAX_CHARACTERS`] characters, emoji included; the customer's
//! phone must show exactly that, in as few SMS segments as the route allows. Customers'
//! texts must arrive whole however the carrier split and encoded them.
//!
//! ## Outbound
//!
//! [`plan`] (or [`plan_with_reference`] with a reference from a [`ReferenceAllocator`])
//! normalises the text to NFC, refuses it past 1000 characters ([`TextError::TooLong`]),
//! and picks the encoding with the fewest segments among those the [`RouteProfile`]
//! allows: the carrier's default alphabet (GSM 7-bit with its extension table, Latin-1 or
//! IA5), GSM national language shift tables when enabled and only when they save a
//! segment, and UCS-2 (UTF-16, so emoji outside the BMP take a surrogate pair). Segments
//! never split an escape sequence, a surrogate pair or a grapheme cluster. The [`Plan`]
//! holds what a compose box shows (encoding, characters, segments, units left) and what
//! the binds submit (`short_message` with its UDH, esm_class, SAR values or one
//! `message_payload`). Optional smart encoding replaces typographic look-alikes when that
//! avoids UCS-2, and says so.
//!
//! ## Inbound
//!
//! [`decode`] turns a `deliver_sm`'s data_coding, user data, UDH and TLVs into a
//! [`Decoded`] text; binary data stays octets, and anything undecodable becomes U+FFFD with
//! the raw octets kept in base64. Multi-part messages go through a [`Reassembler`]: it
//! keeps parts in a [`PendingParts`] store (in memory here; the store module makes it
//! durable), joins their raw units before decoding, ignores duplicates, and delivers what
//! arrived, marked incomplete, when a message times out.
//!
//! ```text
//! plan:   text ─NFC─▶ layout::choose (cost per char, greedy cuts on cluster boundaries)
//!              ─▶ Plan { encoding, segments, parts: [short_message = UDH + units] }
//! decode: deliver_sm ─parse─▶ MoPart (coding, UDH/SAR, body) ─Reassembler─▶ decode_parts
//! ```
//!
//! Unicode normalisation and grapheme clusters come from the `unicode-normalization` and
//! `unicode-segmentation` crates (unicode-rs): both follow the current Unicode release,
//! are small, free of unsafe-heavy dependencies and maintained for years; redoing their
//! tables here would only add a way to fall behind Unicode.

mod cli;
mod decode;
mod gsm7;
mod layout;
pub mod metrics;
mod plan;
mod profile;
mod reassembly;
mod reference;
mod smart;
mod tables;
mod udh;

pub use cli::{SegmentArgs, run_segment};
pub use decode::{
    Coding, Decoded, InboundMessage, MoPart, decode, decode_parts, encoding_of, parse,
};
pub use gsm7::Gsm7Tables;
pub use plan::{
    DATA_CODING_DEFAULT, DATA_CODING_UCS2, ESM_CLASS_UDHI, HexDisplay, MAX_CHARACTERS, Plan,
    Segment, Unit, nfc, plan, plan_with_reference,
};
pub use profile::{Alphabet, Concatenation, Encoding, RouteProfile, ShiftLanguage, UnknownName};
pub use reassembly::{
    Accepted, Joined, MemoryPendingParts, PartKey, PendingError, PendingParts, PutOutcome,
    Reassembled, Reassembler, ReassemblyConfig, ReassemblyError, assemble,
};
pub use reference::{DEFAULT_SLOTS, ReferenceAllocator};
pub use smart::Replacement;
pub use udh::{ConcatInfo, Ports, ReferenceWidth, Sar};

/// Why a text cannot be planned or its plan printed.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The text has more than [`MAX_CHARACTERS`] Unicode scalar values after NFC; it is
    /// refused, never truncated (the API answers `text_too_long`).
    #[error("text is {characters} characters long; the limit is {limit}")]
    TooLong {
        /// Characters counted after NFC.
        characters: usize,
        /// The limit.
        limit: usize,
    },
    /// The text is empty: there is nothing to send.
    #[error("text is empty")]
    Empty,
    /// Writing the `segment` command's output failed.
    #[error("cannot write the plan: {0}")]
    Output(#[from] std::io::Error),
}
