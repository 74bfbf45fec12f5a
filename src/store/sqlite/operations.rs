//! [`Store`] on SQLite: each operation is one `write` (one savepoint in a group commit)
//! or one `read` over the functions of `messages`, `conversations`, `inbound` and `media`.

use std::collections::HashSet;

use super::{SqliteStore, conversations, inbound, media, messages, receipts};
use crate::receipts::{IdForm, MsgIdFormat};
use crate::store::model::now_ms;
use crate::store::{
    AttemptRecorded, Conversation, DueCursor, DueMt, DuePage, MessageView, MoStored, MtAccepted,
    MtAttempt, NewMmsMo, NewMo, NewMt, ParkedRead, ParkedSelection, RawReceipt, ReceiptApplied,
    ReceiptUpdate, SentSegment, Store, StoreError, UnixMs,
};

impl Store for SqliteStore {
    async fn accept_mt(&self, mt: NewMt) -> Result<MtAccepted, StoreError> {
        self.write(move |c| messages::accept_mt(c, &mt, now_ms()))
            .await
    }

    async fn idempotent_answer(
        &self,
        key: &str,
        request_sha256: Option<&str>,
    ) -> Result<Option<MtAccepted>, StoreError> {
        let key = key.to_owned();
        let asked = request_sha256.map(str::to_owned);
        self.read_point(move |c| messages::idempotent_answer(c, &key, asked.as_deref()))
            .await
    }

    async fn due_mts(
        &self,
        now: UnixMs,
        after: Option<DueCursor>,
        limit: usize,
    ) -> Result<DuePage, StoreError> {
        self.read(move |c| messages::due(c, now, after.as_ref(), limit))
            .await
    }

    async fn due_mt(&self, message_id: String, now: UnixMs) -> Result<Option<DueMt>, StoreError> {
        self.read_point(move |c| messages::due_one(c, &message_id, now))
            .await
    }

    async fn record_mt_attempt(
        &self,
        message_id: String,
        conversation_id: String,
        accepted: Vec<SentSegment>,
        attempt: MtAttempt,
    ) -> Result<AttemptRecorded, StoreError> {
        self.write(move |c| {
            messages::record_attempt(
                c,
                &message_id,
                &conversation_id,
                &accepted,
                &attempt,
                now_ms(),
            )
        })
        .await
    }

    async fn store_mo(&self, mo: NewMo) -> Result<MoStored, StoreError> {
        self.write(move |c| inbound::store_mo(c, &mo, now_ms()))
            .await
    }

    async fn store_mms_mo(&self, mo: NewMmsMo) -> Result<MoStored, StoreError> {
        self.write(move |c| inbound::store_mms_mo(c, &mo, now_ms()))
            .await
    }

    async fn mo_seen(&self, key: String, since: UnixMs) -> Result<bool, StoreError> {
        self.read_point(move |c| {
            Ok(inbound::seen(c, &key, since)? || inbound::stored_single(c, &key, since)?)
        })
        .await
    }

    async fn store_unmatched_receipt(&self, receipt: RawReceipt) -> Result<(), StoreError> {
        self.write(move |c| inbound::store_receipt(c, &receipt, now_ms()))
            .await
    }

    async fn apply_receipt(&self, update: ReceiptUpdate) -> Result<ReceiptApplied, StoreError> {
        self.write(move |c| receipts::apply_receipt(c, &update, now_ms()))
            .await
    }

    async fn read_parked_receipts(
        &self,
        carrier: String,
        which: ParkedSelection,
        format: MsgIdFormat,
        proven: Option<IdForm>,
        limit: usize,
    ) -> Result<ParkedRead, StoreError> {
        self.write(move |c| {
            receipts::read_parked(c, &carrier, &which, format, proven, limit, now_ms())
        })
        .await
    }

    async fn expire_parked_receipts(
        &self,
        before: UnixMs,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        self.write(move |c| receipts::expire_parked(c, before))
            .await
    }

    async fn message(&self, id: String) -> Result<Option<MessageView>, StoreError> {
        self.read_point(move |c| messages::get(c, &id)).await
    }

    async fn conversation(&self, id: String) -> Result<Option<Conversation>, StoreError> {
        self.read_point(move |c| conversations::get(c, &id)).await
    }

    async fn close_conversation(&self, id: String) -> Result<Option<Conversation>, StoreError> {
        self.write(move |c| conversations::close(c, &id, now_ms()))
            .await
    }

    async fn conversations_of(
        &self,
        contact: String,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.read(move |c| conversations::of_contact(c, &contact, limit))
            .await
    }

    async fn transcript(
        &self,
        conversation_id: String,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<MessageView>, StoreError> {
        self.read(move |c| messages::transcript(c, &conversation_id, after.as_deref(), limit))
            .await
    }

    async fn purge(&self, before: UnixMs) -> Result<usize, StoreError> {
        self.write(move |c| messages::purge(c, before)).await
    }

    async fn media_in_use(&self, hashes: Vec<String>) -> Result<HashSet<String>, StoreError> {
        self.read(move |c| media::in_use(c, &hashes)).await
    }

    async fn media_recorded_since(&self) -> Result<UnixMs, StoreError> {
        self.read(media::recorded_since).await
    }
}

#[cfg(test)]
mod crash_windows;
#[cfg(test)]
mod tests;
