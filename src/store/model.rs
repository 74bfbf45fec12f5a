//! The store's own types: what the flows hand to the store and get back. Plain data,
//! with no SQL and no knowledge of carriers or HTTP.

use serde::{Deserialize, Serialize};

use crate::consent::{ConsentEventKind, KeywordPlan};
use crate::reason::ReasonCode;
use crate::text::PartKey;

/// Milliseconds since 1970, the store's clock unit.
pub type UnixMs = i64;

/// The current time in [`UnixMs`].
pub fn now_ms() -> UnixMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The dedup key of a single-part MO, from its full description
/// (`single:<carrier>:<source>:<destination>:<coding>:<hex of the content>`): `single:`
/// and the SHA-256 of that description in hex. The description can be several hundred
/// octets long; as the key of `mo_seen` it made that index large and every insert touch
/// another page. SHA-256 is the same in every build, and a collision is not a concern.
pub fn single_dedup_key(description: &str) -> String {
    use sha2::Digest;
    format!(
        "single:{}",
        hex::encode(sha2::Sha256::digest(description.as_bytes()))
    )
}

/// The dedup key of one part of a concatenated MO: its place in its message.
pub fn part_dedup_key(
    carrier: &str,
    source: &str,
    destination: &str,
    reference: u16,
    total: u8,
    n: u8,
) -> String {
    format!("part:{carrier}:{source}:{destination}:{reference}:{total}:{n}")
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Mobile-originated: the contact wrote to us.
    Mo,
    /// Mobile-terminated: we wrote to the contact.
    Mt,
}

impl Direction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Mo => "mo",
            Direction::Mt => "mt",
        }
    }

    /// The direction stored as `s` (MT for anything but `mo`).
    pub fn parse(s: &str) -> Direction {
        if s == "mo" {
            Direction::Mo
        } else {
            Direction::Mt
        }
    }
}

/// An attachment of an MT MMS: its bytes kept in the media store when the message was
/// accepted (fetched from the core's URL, or uploaded with `POST /v1/media`), sent
/// from there. Stored as JSON in the message row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaRef {
    /// The media store's id of the bytes (their SHA-256, hex). Absent only on messages
    /// accepted before attachments were kept at acceptance: those are fetched from
    /// `url` when they are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The core's URL it was fetched from; absent for an upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Its media type (no parameters, lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Its size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The name the handset shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// A file a message has in the media store: an MO MMS part as received (or an MT
/// attachment kept there). The media purge keeps a file while a message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedia {
    /// The file's SHA-256 (lower-case hex), its name in the media store.
    pub hash: String,
    /// Its media type, lower case, without parameters.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The name the sender gave it.
    pub filename: Option<String>,
}

/// An attachment as the API shows it: `{url, content_type, size, filename, id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MessageMedia {
    /// For a file in the media store, a signed link valid for `[mms] url_ttl` from the
    /// moment of the answer; for an MT attachment not kept there, the URL the core
    /// gave. Null when the media store is not served (`[mms] enabled = false`).
    pub url: Option<String>,
    pub content_type: Option<String>,
    /// Bytes; null when not known (an MT attachment not kept in the media store).
    pub size: Option<u64>,
    pub filename: Option<String>,
    /// The file's id in the media store (its SHA-256, hex), from which the API signs
    /// `url`; a later MT may name the same file as `media[].id`. Null for an MT
    /// attachment not kept there.
    #[serde(rename = "id")]
    pub hash: Option<String>,
}

impl From<StoredMedia> for MessageMedia {
    fn from(m: StoredMedia) -> Self {
        MessageMedia {
            url: None,
            content_type: Some(m.content_type),
            size: Some(m.size),
            filename: m.filename,
            hash: Some(m.hash),
        }
    }
}

impl From<MediaRef> for MessageMedia {
    fn from(m: MediaRef) -> Self {
        // A kept attachment gets a link of ours when shown; one accepted before
        // attachments were kept shows the core's URL.
        MessageMedia {
            url: m.url,
            content_type: m.content_type,
            size: m.size,
            filename: m.filename,
            hash: m.id,
        }
    }
}

/// An MT the API (or the consent flow) accepted, ready to be made durable.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMt {
    /// The message id given to the caller.
    pub message_id: String,
    /// The contact, E.164.
    pub contact: String,
    /// The business sender (canonical address).
    pub sender: String,
    /// The text, NFC.
    pub text: String,
    /// The encoding chosen by the plan (`gsm7`, `ucs2`, …).
    pub encoding: String,
    /// Segments the plan needs.
    pub segments: u32,
    /// The concatenation reference the segments carry (so a retry rebuilds the same parts).
    pub reference: u16,
    /// The carrier route chosen first.
    pub route: String,
    /// After this moment an unsent message is `expired`.
    pub validity_deadline: UnixMs,
    /// The caller's `Idempotency-Key`, if any.
    pub idempotency_key: Option<String>,
    /// The SHA-256 (hex) of the canonical request, kept with the key so that the key
    /// cannot be replayed for another request.
    pub request_sha256: Option<String>,
    /// Where the conversation came from when one is opened for this message (`mt`,
    /// `consent`).
    pub origin: &'static str,
    /// Attachments: present makes the message an MMS (one MM7 submit, one segment whose
    /// carrier id is the MMSC's MessageID).
    pub media: Vec<MediaRef>,
    /// Kept files an SMS links to (the `sms_link` fallback): the media purge keeps them
    /// while the message is kept, so the links work for as long as they are signed.
    pub linked: Vec<MediaRef>,
}

/// What accepting an MT produced.
#[derive(Debug, Clone, PartialEq)]
pub enum MtAccepted {
    /// Stored now; the answer was recorded under the idempotency key.
    Stored(MtReceipt),
    /// The idempotency key was used before for the same request: the first answer,
    /// unchanged.
    Replayed(serde_json::Value),
    /// The idempotency key was used before for another request: nothing stored.
    KeyReused,
}

/// The answer to an accepted MT (the `202` body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MtReceipt {
    pub message_id: String,
    pub conversation_id: String,
    pub encoding: String,
    pub segments: u32,
    pub status: &'static str,
}

/// An MT waiting for the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueMt {
    pub message_id: String,
    pub conversation_id: String,
    pub contact: String,
    pub sender: String,
    pub text: String,
    pub reference: u16,
    pub route: String,
    pub validity_deadline: UnixMs,
    pub attempts: u32,
    /// Segment indexes (0-based) the carrier already accepted.
    pub segments_done: Vec<u32>,
    /// Attachments; present makes it an MMS.
    pub media: Vec<MediaRef>,
}

/// Where a listing of due MTs stopped: the MT listed last, by the order of the listing
/// (its due time, then its id). The next page starts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCursor {
    pub due_at: UnixMs,
    pub message_id: String,
}

/// A page of the MTs due, oldest first: their ids (an MT is read whole only when it is
/// attempted, so a listing costs little even when most of it is in hand already).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DuePage {
    pub message_ids: Vec<String>,
    /// Where the page stopped; `None` when it held every MT due (it was not full).
    pub more_after: Option<DueCursor>,
    /// When the next MT not yet due becomes due.
    pub next_due: Option<UnixMs>,
}

/// One segment the carrier accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSegment {
    /// 0-based index in the message.
    pub index: u32,
    pub carrier: String,
    pub carrier_message_id: String,
    /// How the carrier's receipts are matched now (its `msg_id_format`, narrowed by
    /// what its receipts settled on): the id is indexed under the readings that allows
    /// (see [`crate::receipts::index_keys`]).
    pub id_format: crate::receipts::MsgIdFormat,
    /// Sent once more after the first went unanswered (the carrier's `unknown_outcome =
    /// "resend"`): the handset may have it twice. Marked on the segment and in the
    /// `sent` event.
    pub resent: bool,
}

/// A parked receipt matched later: exactly when its segment's carrier id was recorded,
/// or read once its own id could no longer appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedMatch {
    /// The carrier the receipt came from.
    pub carrier: String,
    /// Its parked row.
    pub receipt: i64,
    /// How its id matched the carrier id.
    pub form: crate::receipts::IdForm,
    /// Whether the match proves the carrier's form (see [`crate::receipts::IdMatch`]).
    pub evidence: bool,
    /// Whether it changed the chat message's state (a status event was appended).
    pub chat_changed: bool,
}

/// Which parked receipts of a carrier to read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParkedSelection {
    /// These, by their parked row ids.
    Receipts(Vec<i64>),
    /// Every one of the carrier's except `except` (still waiting for submits in
    /// flight), one page from row id `after` on.
    AllExcept { except: Vec<i64>, after: i64 },
}

/// What reading parked receipts again did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParkedRead {
    /// Those that now name one segment, applied.
    pub matched: Vec<ParkedMatch>,
    /// Those that could name several segments (they stay parked).
    pub ambiguous: usize,
    /// Where the next page of an `AllExcept` selection starts, when this one was full.
    pub next_after: Option<i64>,
}

/// What recording an MT attempt did besides recording it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptRecorded {
    /// Parked receipts the recorded carrier ids matched, in receipt order.
    pub parked_matched: Vec<ParkedMatch>,
}

/// How an MT attempt ended, as the dispatcher records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MtAttempt {
    /// Every segment accepted: `sent`.
    Sent,
    /// Not all accepted; try again at `next_attempt` (on `route`).
    Retry {
        next_attempt: UnixMs,
        route: String,
        reason: ReasonCode,
    },
    /// Given up: `failed` or `expired`, for `reason`; the transcript sentence is the
    /// reason's own, so no other text can reach the agent.
    Final {
        status: &'static str,
        reason: ReasonCode,
        /// The carrier's status behind the reason (a refused submit_sm's
        /// command_status, an MMSC's MM7 StatusCode), for operators: the status event
        /// carries it as `carrier_status`, apart from the sentence.
        carrier_status: Option<u32>,
        /// The segment (0-based) that decided it: the unanswered one of an
        /// `unknown_outcome` failure, marked on the segment and named in the event.
        segment: Option<u32>,
    },
}

/// An MO ready to be stored: decoded and, when it was split, reassembled.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMo {
    pub message_id: String,
    /// The contact (the sender of the MO), E.164 or as the carrier gave it.
    pub contact: String,
    /// The business number it was sent to (canonical when ours, raw when not).
    pub sender: String,
    pub carrier: String,
    pub text: String,
    pub encoding: String,
    pub segments: u32,
    pub incomplete: bool,
    pub missing: Vec<u8>,
    /// Keys that identify this MO (or its parts) when a carrier delivers it again.
    pub dedup_keys: Vec<String>,
    /// A key recorded at or after this moment makes the MO a redelivery.
    pub dedup_since: UnixMs,
    /// Not one of our numbers: stored and reported with this reason.
    pub unknown_destination: bool,
    /// The consent keyword it is, applied to the suppression list in the MO's own
    /// write; its event (`chat.contact.opted_out`, …) goes with the message.
    pub consent: Option<KeywordPlan>,
    /// The reply the keyword calls for (a STOP confirmation), queued as an MT in the same
    /// conversation only when the keyword takes effect ([`KeywordPlan::outcome`]).
    pub reply: Option<NewMt>,
    /// The reassembly key of a multi-part MO: its parts stay in the store until this
    /// write, which removes them, so a crash before it loses no part.
    pub pending_parts: Option<PartKey>,
}

/// An MO MMS ready to be stored: the message (its text parts joined as its text) with
/// its media. `chat.message.received` carries `subject` and `media`; each rejected part
/// becomes a `chat.media.rejected` in the same write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMmsMo {
    pub mo: NewMo,
    pub subject: Option<String>,
    /// `{url, content_type, size, filename}` per accepted part, in message order.
    pub media: Vec<serde_json::Value>,
    /// `{reason, message, content_type, size, filename}` per rejected part.
    pub rejected: Vec<serde_json::Value>,
    /// The accepted parts' files in the media store, in message order (the same parts
    /// as `media`), recorded with the message.
    pub files: Vec<StoredMedia>,
}

/// What storing an MO did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoStored {
    /// Stored in this conversation; `consent_changed` when its keyword changed the
    /// suppression list.
    Stored {
        conversation_id: String,
        consent_changed: Option<ConsentEventKind>,
    },
    /// One of its dedup keys was seen within the window: nothing stored.
    Duplicate,
}

/// A conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Conversation {
    pub id: String,
    pub contact: String,
    pub sender: String,
    pub previous_id: Option<String>,
    pub started_at: String,
    pub closed_at: Option<String>,
}

/// A message as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub message_id: String,
    pub conversation_id: String,
    pub direction: Direction,
    pub from: String,
    pub to: String,
    pub text: String,
    pub encoding: String,
    pub segments: u32,
    pub status: String,
    /// An MT's reason: why it failed or expired (while `accepted`, why its last attempt
    /// did not go out), one of the `ReasonCode` values; a row written by an earlier
    /// version reads as today's code. An MO's: `unknown_destination` when it was sent
    /// to a number that is not ours.
    pub reason: Option<String>,
    /// An MT's reason as the sentence for the agent's transcript.
    pub reason_message: Option<String>,
    pub route: Option<String>,
    pub incomplete: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Per-segment detail (MT only; empty for MO).
    pub segment_detail: Vec<SegmentView>,
    /// The message's attachments (MO and MT MMS), in message order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MessageMedia>,
}

/// One MT segment as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SegmentView {
    pub index: u32,
    pub state: String,
    pub carrier: Option<String>,
    pub carrier_message_id: Option<String>,
    /// The carrier never answered a submit of this segment: it was sent once more (and
    /// may reach the handset twice), or the message failed as `unknown_outcome`.
    pub unknown_outcome: bool,
}

/// A raw receipt kept until the receipts flow can match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReceipt {
    pub carrier: String,
    pub source: String,
    pub destination: String,
    pub short_message: Vec<u8>,
    pub receipted_message_id: Option<String>,
}

/// RFC 3339 (milliseconds, UTC) of a [`UnixMs`].
pub fn rfc3339(ms: UnixMs) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// A parsed receipt on its way to its segment.
#[derive(Debug, Clone)]
pub struct ReceiptUpdate {
    /// The carrier it came from (receipt ids are unique per carrier only).
    pub carrier: String,
    /// The ids it names: the TLV's, then the text's when it differs.
    pub ids: Vec<String>,
    /// How the carrier's receipt ids relate to its submit ids.
    pub format: crate::receipts::MsgIdFormat,
    /// What it says about its segment.
    pub report: crate::receipts::SegmentReport,
    /// The form the carrier's receipts are proven to use, if any
    /// ([`crate::receipts::FormLearner::proven`]).
    pub proven: Option<crate::receipts::IdForm>,
    /// Whether every submit sent before the receipt arrived has its response recorded,
    /// so its own id can no longer appear: only then is a tolerant reading tried.
    pub quiet: bool,
}

/// What became of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptApplied {
    /// It named a segment of `message_id`; `chat_changed` when the chat message's
    /// state changed (and one `chat.message.status` was appended).
    Matched {
        message_id: String,
        /// The message's recipient (E.164), whom the receipt is about.
        contact: String,
        form: crate::receipts::IdForm,
        /// Whether the match proves the carrier's form.
        evidence: bool,
        chat_changed: bool,
    },
    /// Kept until its own id is recorded, it can be read one way, or it expires.
    Parked {
        /// Its parked row.
        receipt: i64,
        /// It could name several segments (not merely none yet).
        ambiguous: bool,
    },
}
