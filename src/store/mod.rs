//! The store: everything smsbridge must not lose (messages and their segments,
//! conversations, pending MO parts, unmatched receipts, the consent list, idempotency
//! keys, the event outbox). Flows see only the store's own types, never SQL.
//!
//! Embedded default: [`sqlite::SqliteStore`], one WAL-mode file under the state
//! directory, with group commit.
//!
//! Every operation that changes state also appends the chat events it causes, in the
//! same transaction: an event exists exactly when its change does.

use std::collections::HashSet;
use std::future::Future;

use crate::text::{MoPart, PartKey, PendingError, PendingParts, PutOutcome, Reassembled};

pub mod model;
pub mod sqlite;

pub use model::{
    AttemptRecorded, Conversation, DueCursor, DueMt, DuePage, MediaRef, MessageMedia, MessageView,
    MoStored, MtAccepted, MtAttempt, MtReceipt, NewMmsMo, NewMo, NewMt, ParkedMatch, ParkedRead,
    ParkedSelection, RawReceipt, ReceiptApplied, ReceiptUpdate, SentSegment, StoredMedia, UnixMs,
};

/// Keeps the last part of a multi-part MO and the message it completes in one write:
/// one commit instead of two on the way to the carrier's answer, and no window in
/// which the parts are handed out but the message is not stored.
pub trait FinishParts: PendingParts {
    /// [`PendingParts::put`]; when `part` completes its message, in the same write the
    /// held parts are removed, the message they make is handed to `finish`, and the MO
    /// it answers is stored as [`Store::store_mo`] would store it; the outcome carries
    /// that MO and how it was stored. An error from `finish` undoes the whole write,
    /// the part too. `finish` may run more than once (a batch run again after another
    /// request failed): only the run that commits counts.
    fn put_finishing<F>(
        &self,
        key: PartKey,
        part: MoPart,
        stored_since: Option<UnixMs>,
        finish: F,
    ) -> impl Future<Output = Result<PutOutcome<(NewMo, MoStored)>, PendingError>> + Send
    where
        F: Fn(Reassembled) -> Result<NewMo, StoreError> + Send + Sync + 'static;
}

/// What the flows and the API ask of durable state.
pub trait Store: Clone + Send + Sync + 'static {
    /// Makes an MT durable: opens a conversation for (contact, sender) if none is open
    /// (`chat.conversation.started`), stores the message and its segments as `accepted`
    /// (`chat.message.status` accepted) and records the answer under the idempotency key
    /// with the request's hash. A key seen before changes nothing: it returns the first
    /// answer for the same request, [`MtAccepted::KeyReused`] for another.
    fn accept_mt(&self, mt: NewMt) -> impl Future<Output = Result<MtAccepted, StoreError>> + Send;

    /// What an idempotency key used before says about a request whose canonical form
    /// hashes to `request_sha256`: [`MtAccepted::Replayed`] with the first answer when
    /// it is the same request, [`MtAccepted::KeyReused`] when it is another; `None` for
    /// a new key.
    fn idempotent_answer(
        &self,
        key: &str,
        request_sha256: Option<&str>,
    ) -> impl Future<Output = Result<Option<MtAccepted>, StoreError>> + Send;

    /// Up to `limit` MTs whose next attempt is due at `now`, oldest first, starting
    /// after `after` (from the oldest when `None`), with where the page stopped and the
    /// time the next one not yet due becomes due.
    fn due_mts(
        &self,
        now: UnixMs,
        after: Option<DueCursor>,
        limit: usize,
    ) -> impl Future<Output = Result<DuePage, StoreError>> + Send;

    /// One MT, read afresh, if it is still due at `now` (the dispatcher checks again
    /// just before submitting, so a list read before an attempt committed cannot send
    /// a message twice).
    fn due_mt(
        &self,
        message_id: String,
        now: UnixMs,
    ) -> impl Future<Output = Result<Option<DueMt>, StoreError>> + Send;

    /// Records an attempt: the segments the carrier accepted (with their ids) and how the
    /// attempt ended, with its status event when the status changed. Receipts parked
    /// for the recorded ids are applied in the same write, and reported.
    /// `conversation_id` is the message's, as the dispatcher holds it with the MT (from
    /// [`Store::due_mt`] or from the write that accepted it); the message is not read again.
    fn record_mt_attempt(
        &self,
        message_id: String,
        conversation_id: String,
        accepted: Vec<SentSegment>,
        attempt: MtAttempt,
    ) -> impl Future<Output = Result<AttemptRecorded, StoreError>> + Send;

    /// Stores an MO with its conversation and `chat.message.received`, unless a dedup key
    /// was seen within the window; in the same write, applies its consent keyword to the
    /// suppression list (with the consent event and the reply MT when the list changed,
    /// the HELP answer always) and removes the pending parts it was reassembled from
    /// (also for a duplicate). A crash before the write leaves none of it.
    fn store_mo(&self, mo: NewMo) -> impl Future<Output = Result<MoStored, StoreError>> + Send;

    /// Stores an MO MMS like [`Store::store_mo`], with its media in
    /// `chat.message.received` and a `chat.media.rejected` per rejected part.
    fn store_mms_mo(
        &self,
        mo: NewMmsMo,
    ) -> impl Future<Output = Result<MoStored, StoreError>> + Send;

    /// Whether an MO dedup key was recorded since `since`.
    fn mo_seen(
        &self,
        key: String,
        since: UnixMs,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Keeps a receipt that nothing matches yet.
    fn store_unmatched_receipt(
        &self,
        receipt: RawReceipt,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Matches a parsed receipt to the segment it names and applies it, in one write:
    /// the segment's state, the chat message's, and one `chat.message.status` when the
    /// chat message's state changes. An exact match is taken; a tolerant reading only
    /// when the update is `quiet` and the reading names one segment
    /// ([`crate::receipts::read_tolerant`]). Otherwise the receipt is parked: matched
    /// exactly when [`Store::record_mt_attempt`] records its id, or read again by
    /// [`Store::read_parked_receipts`].
    fn apply_receipt(
        &self,
        update: ReceiptUpdate,
    ) -> impl Future<Output = Result<ReceiptApplied, StoreError>> + Send;

    /// Reads parked receipts of `carrier` again, as quiet ones (their own ids can no
    /// longer appear), in `format` and the `proven` form; applies those that name one
    /// segment, in one write, at most `limit` receipts.
    fn read_parked_receipts(
        &self,
        carrier: String,
        which: ParkedSelection,
        format: crate::receipts::MsgIdFormat,
        proven: Option<crate::receipts::IdForm>,
        limit: usize,
    ) -> impl Future<Output = Result<ParkedRead, StoreError>> + Send;

    /// Deletes receipts parked before `before` (their ids never appeared, or they never
    /// read one way); how many, per carrier.
    fn expire_parked_receipts(
        &self,
        before: UnixMs,
    ) -> impl Future<Output = Result<Vec<(String, u64)>, StoreError>> + Send;

    /// One message with its segments.
    fn message(
        &self,
        id: String,
    ) -> impl Future<Output = Result<Option<MessageView>, StoreError>> + Send;

    /// One conversation.
    fn conversation(
        &self,
        id: String,
    ) -> impl Future<Output = Result<Option<Conversation>, StoreError>> + Send;

    /// Closes a conversation (no-op when already closed); `None` when unknown.
    fn close_conversation(
        &self,
        id: String,
    ) -> impl Future<Output = Result<Option<Conversation>, StoreError>> + Send;

    /// A contact's conversations, newest first.
    fn conversations_of(
        &self,
        contact: String,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Conversation>, StoreError>> + Send;

    /// A conversation's messages in order, after the message id `after`, at most `limit`.
    fn transcript(
        &self,
        conversation_id: String,
        after: Option<String>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<MessageView>, StoreError>> + Send;

    /// Deletes what retention no longer keeps: idempotency keys, MO dedup keys, and
    /// finished messages (every status but `accepted`) with their segments and their
    /// media records, last changed before `before`; how many rows went. The files
    /// themselves go with the media purge ([`crate::mms::media::sweep`]).
    fn purge(&self, before: UnixMs) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Of `hashes` (media-store file names), those some stored message still names.
    fn media_in_use(
        &self,
        hashes: Vec<String>,
    ) -> impl Future<Output = Result<HashSet<String>, StoreError>> + Send;

    /// Since when the store records which messages name which media files: a file last
    /// written before then may belong to a message stored without that record.
    fn media_recorded_since(&self) -> impl Future<Output = Result<UnixMs, StoreError>> + Send;
}

/// Why the store cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory or database file cannot be created or opened.
    #[error("cannot open the store at {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A migration failed; the database is left at its previous version.
    #[error("cannot migrate the store to schema version {version}: {source}")]
    Migrate {
        version: u32,
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer smsbridge than this one.
    #[error(
        "the store has schema version {found}, newer than this build knows ({known}); upgrade smsbridge"
    )]
    TooNew { found: u32, known: u32 },
    /// The store cannot take writes now (disk full, I/O error, writer stopped); the
    /// request was not made durable and may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A value handed to the store cannot be kept as given (a consent record whose time
    /// is out of range); retrying the same request fails the same way.
    #[error("cannot store the value: {0}")]
    Invalid(String),
    /// A stored value could not be read back (a corrupt row).
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
    /// SQLite reported an error (disk full, I/O error, locked too long, …).
    #[error("store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The last write was refused (disk full, I/O error): nothing new can be made
    /// durable until a write goes through again. The readiness check's answer.
    #[error("store refuses writes: {0}")]
    RefusesWrites(WriteRefusal),
}

/// Why the store's writes are refused, in words an operator acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteRefusal {
    /// The file system holding the store has no space left.
    #[error("disk full")]
    DiskFull,
    /// The store reached its configured size limit (`[store] max_size_bytes`).
    #[error("size limit reached")]
    SizeLimit,
    /// The file system reports I/O errors.
    #[error("I/O error")]
    Io,
    /// The file system or the database file is read-only.
    #[error("read-only file system")]
    ReadOnly,
    /// Anything else that made a commit fail, in the database's words.
    #[error("{0}")]
    Other(String),
}
