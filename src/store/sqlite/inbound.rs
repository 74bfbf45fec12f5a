//! Inbound state: MOs with their conversation and events, MO parts waiting for the rest
//! of their message ([`PendingParts`], so a restart loses no part a carrier was told is
//! stored), the dedup keys that stop a redelivered MO from becoming a second chat
//! message, and receipts nothing matches yet.

use rusqlite::{Connection, OptionalExtension};
use serde_json::json;

use super::{SqliteStore, conversations, messages, outbox};
use crate::connector::{EventType, NewEvent};
use crate::store::StoreError;
use crate::store::model::{MoStored, NewMmsMo, NewMo, RawReceipt, UnixMs, now_ms};
use crate::text::{MoPart, PartKey, PendingError, PendingParts, PutOutcome};

/// Stores an MO unless one of its dedup keys is already recorded.
pub(super) fn store_mo(conn: &Connection, mo: &NewMo, now: UnixMs) -> Result<MoStored, StoreError> {
    store_mo_with(conn, mo, None, now)
}

/// Stores an MO MMS unless one of its dedup keys is already recorded: the MO's row and
/// events, its media in `chat.message.received`, and a `chat.media.rejected` per
/// rejected part.
pub(super) fn store_mms_mo(
    conn: &Connection,
    mms: &NewMmsMo,
    now: UnixMs,
) -> Result<MoStored, StoreError> {
    let stored = store_mo_with(conn, &mms.mo, Some(mms), now)?;
    if let MoStored::Stored { conversation_id } = &stored {
        for rejected in &mms.rejected {
            let mut data = rejected.clone();
            data["message_id"] = json!(mms.mo.message_id);
            data["from"] = json!(mms.mo.contact);
            data["to"] = json!(mms.mo.sender);
            outbox::append(
                conn,
                NewEvent {
                    ty: EventType::MediaRejected,
                    conversation_id: conversation_id.clone(),
                    data,
                },
            )?;
        }
    }
    Ok(stored)
}

fn store_mo_with(
    conn: &Connection,
    mo: &NewMo,
    mms: Option<&NewMmsMo>,
    now: UnixMs,
) -> Result<MoStored, StoreError> {
    for key in &mo.dedup_keys {
        if seen(conn, key, mo.dedup_since)? {
            return Ok(MoStored::Duplicate);
        }
    }
    let conversation_id = conversations::open_for(conn, &mo.contact, &mo.sender, "mo", now)?;
    let missing = serde_json::to_string(&mo.missing).unwrap_or_else(|_| "[]".into());
    conn.execute(
        "INSERT INTO message (id, conversation_id, direction, from_addr, to_addr, text,
            encoding, segments, status, reason, route, incomplete, missing,
            created_unix_ms, updated_unix_ms)
         VALUES (?1, ?2, 'mo', ?3, ?4, ?5, ?6, ?7, 'received', ?8, ?9, ?10, ?11, ?12, ?12)",
        rusqlite::params![
            mo.message_id,
            conversation_id,
            mo.contact,
            mo.sender,
            mo.text,
            mo.encoding,
            mo.segments,
            mo.unknown_destination.then_some("unknown_destination"),
            mo.carrier,
            mo.incomplete,
            missing,
            now,
        ],
    )?;
    let mut remember = conn.prepare_cached(
        "INSERT OR REPLACE INTO mo_seen (key, message_id, seen_unix_ms) VALUES (?1, ?2, ?3)",
    )?;
    for key in &mo.dedup_keys {
        remember.execute((key, &mo.message_id, now))?;
    }
    let mut received = json!({
        "message_id": mo.message_id,
        "from": mo.contact,
        "to": mo.sender,
        "text": mo.text,
        "encoding": mo.encoding,
        "segments": mo.segments,
        "incomplete": mo.incomplete,
        "missing_parts": mo.missing,
        "reason": mo.unknown_destination.then_some("unknown_destination"),
    });
    if let Some(mms) = mms {
        received["subject"] = json!(mms.subject);
        received["media"] = json!(mms.media);
        received["rejected_parts"] = json!(mms.rejected.len());
    }
    outbox::append(
        conn,
        NewEvent {
            ty: EventType::MessageReceived,
            conversation_id: conversation_id.clone(),
            data: received,
        },
    )?;
    for event in &mo.consent_events {
        outbox::append(
            conn,
            NewEvent {
                conversation_id: conversation_id.clone(),
                ..event.clone()
            },
        )?;
    }
    if let Some(reply) = &mo.reply {
        messages::insert_mt(conn, reply, now)?;
    }
    Ok(MoStored::Stored { conversation_id })
}

/// Whether `key` was recorded at or after `since`.
pub(super) fn seen(conn: &Connection, key: &str, since: UnixMs) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM mo_seen WHERE key = ?1 AND seen_unix_ms >= ?2",
            (key, since),
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Keeps a receipt for the receipts flow.
pub(super) fn store_receipt(
    conn: &Connection,
    r: &RawReceipt,
    now: UnixMs,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO unmatched_receipt (carrier, source, destination, short_message,
            receipted_message_id, received_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (
            &r.carrier,
            &r.source,
            &r.destination,
            &r.short_message,
            &r.receipted_message_id,
            now,
        ),
    )?;
    Ok(())
}

fn pending_error(e: impl std::error::Error + Send + Sync + 'static) -> PendingError {
    PendingError(Box::new(e))
}

fn key_text(key: &PartKey) -> Result<String, PendingError> {
    serde_json::to_string(key).map_err(pending_error)
}

/// Parts live in `mo_pending_part`, one row per (message, part number); the primary key
/// makes a second copy of a part a no-op, atomically.
impl PendingParts for SqliteStore {
    async fn put(&self, key: &PartKey, part: MoPart) -> Result<PutOutcome, PendingError> {
        let key = key_text(key)?;
        let seqnum = part.concat.map(|c| c.seqnum).unwrap_or(1);
        let body = serde_json::to_string(&part).map_err(pending_error)?;
        self.write(move |conn| {
            let added = conn.execute(
                "INSERT OR IGNORE INTO mo_pending_part (part_key, seqnum, part, created_unix_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                (&key, seqnum, &body, now_ms()),
            )?;
            if added == 0 {
                return Ok(PutOutcome::Duplicate);
            }
            let held: i64 = conn.query_row(
                "SELECT count(*) FROM mo_pending_part WHERE part_key = ?1",
                [&key],
                |r| r.get(0),
            )?;
            Ok(PutOutcome::Stored {
                held: held as usize,
            })
        })
        .await
        .map_err(pending_error)
    }

    async fn take(&self, key: &PartKey) -> Result<Vec<MoPart>, PendingError> {
        let key = key_text(key)?;
        let rows = self
            .write(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT part FROM mo_pending_part WHERE part_key = ?1 ORDER BY seqnum",
                )?;
                let rows: Vec<String> = stmt
                    .query_map([&key], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                conn.execute("DELETE FROM mo_pending_part WHERE part_key = ?1", [&key])?;
                Ok(rows)
            })
            .await
            .map_err(pending_error)?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(pending_error))
            .collect()
    }

    async fn keys(&self) -> Result<Vec<PartKey>, PendingError> {
        let rows = self
            .read(|conn| {
                let mut stmt = conn.prepare("SELECT DISTINCT part_key FROM mo_pending_part")?;
                let rows: Vec<String> = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .await
            .map_err(pending_error)?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(pending_error))
            .collect()
    }
}
