//! Inbound state: MOs with their conversation and events, MO parts waiting for the rest
//! of their message ([`PendingParts`], so a restart loses no part a carrier was told is
//! stored), the dedup keys that stop a redelivered MO from becoming a second chat
//! message, and receipts nothing matches yet.
//!
//! An MO and what it carries commit together: its consent keyword's change with its
//! event and reply, and the removal of the parts it was reassembled from. A crash
//! before that write leaves none of it, so the carrier's redelivery of the
//! unacknowledged MO (part) does it all exactly once.

use rusqlite::{Connection, OptionalExtension};
use serde_json::json;

use super::{SqliteStore, consent, conversations, media, messages, outbox};
use crate::connector::{EventType, NewEvent};
use crate::consent::ConsentEventKind;
use crate::store::FinishParts;
use crate::store::StoreError;
use crate::store::model::{MoStored, NewMmsMo, NewMo, RawReceipt, UnixMs, now_ms, part_dedup_key};
use crate::text::{MoPart, PartKey, PendingError, PendingParts, PutOutcome, Reassembled, assemble};

/// Stores an MO unless one of its dedup keys is already recorded, in one write with
/// what it carries: its consent keyword's change (and then the consent event and the
/// reply), and the removal of the parts it was reassembled from. Either way the parts
/// it names are removed: a duplicate's are already in the stored message.
pub(super) fn store_mo(conn: &Connection, mo: &NewMo, now: UnixMs) -> Result<MoStored, StoreError> {
    store_mo_with(conn, mo, None, now)
}

/// Stores an MO MMS unless one of its dedup keys is already recorded: the MO's row and
/// events, its media in `chat.message.received` and as the message's media-store
/// files, and a `chat.media.rejected` per rejected part.
pub(super) fn store_mms_mo(
    conn: &Connection,
    mms: &NewMmsMo,
    now: UnixMs,
) -> Result<MoStored, StoreError> {
    let stored = store_mo_with(conn, &mms.mo, Some(mms), now)?;
    if let MoStored::Stored {
        conversation_id, ..
    } = &stored
    {
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
    if let Some(key) = &mo.pending_parts {
        remove_parts(conn, key, mo)?;
    }
    let latest = conversations::latest(conn, &mo.contact, &mo.sender)?;
    let digest = match mo.dedup_keys.as_slice() {
        [key] if key.starts_with(SINGLE_KEY_PREFIX) && mms.is_none() => {
            let digest = dedup_digest(key);
            if stored_again(conn, latest.as_ref(), mo.dedup_since, digest)? {
                return Ok(MoStored::Duplicate);
            }
            Some(digest)
        }
        _ => {
            if !claim_keys(conn, mo, now)? {
                return Ok(MoStored::Duplicate);
            }
            None
        }
    };
    let conversation_id =
        conversations::open_after(conn, latest, &mo.contact, &mo.sender, "mo", now)?;
    insert_mo(conn, mo, &conversation_id, digest, mms, now)?;
    if let Some(mms) = mms {
        media::record(conn, &mo.message_id, &mms.files)?;
    }
    let consent = match &mo.consent {
        Some(plan) => Some(plan.outcome(consent::apply_request(conn, &plan.request)?)),
        None => None,
    };
    let consent = consent.unwrap_or_default();
    if let Some(event) = &consent.event {
        let ty = match event.kind {
            ConsentEventKind::OptedOut => EventType::ContactOptedOut,
            ConsentEventKind::OptedIn => EventType::ContactOptedIn,
        };
        outbox::append(
            conn,
            NewEvent {
                ty,
                conversation_id: conversation_id.clone(),
                data: serde_json::to_value(event)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
            },
        )?;
    }
    if let Some(reply) = mo.reply.as_ref().filter(|_| consent.reply.is_some()) {
        messages::insert_mt(conn, reply, now)?;
    }
    Ok(MoStored::Stored {
        conversation_id,
        consent_changed: consent.change.map(|c| c.kind()),
    })
}

/// The message row, its dedup keys and `chat.message.received` (with an MMS's subject
/// and media).
fn insert_mo(
    conn: &Connection,
    mo: &NewMo,
    conversation_id: &str,
    digest: Option<i64>,
    mms: Option<&NewMmsMo>,
    now: UnixMs,
) -> Result<(), StoreError> {
    let missing = serde_json::to_string(&mo.missing).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "INSERT INTO message (id, conversation_id, direction, from_addr, to_addr, text,
            encoding, segments, status, reason, route, incomplete, missing,
            created_unix_ms, updated_unix_ms, dedup)
         VALUES (?1, ?2, 'mo', ?3, ?4, ?5, ?6, ?7, 'received', ?8, ?9, ?10, ?11, ?12, ?12, ?13)",
    )?
    .execute(rusqlite::params![
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
        digest,
    ])?;
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
            conversation_id: conversation_id.to_owned(),
            data: received,
        },
    )?;
    Ok(())
}

/// Removes the parts `mo` was reassembled from (not a part of the same key that came
/// after they were taken: it starts a message of its own).
fn remove_parts(conn: &Connection, key: &PartKey, mo: &NewMo) -> Result<(), StoreError> {
    let key = key_text(key).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut delete = conn.prepare_cached(
        "DELETE FROM mo_pending_part WHERE part_key = ?1 AND seqnum = ?2 AND taken = 1",
    )?;
    for seqnum in (1..=mo.segments).filter(|n| !mo.missing.iter().any(|m| u32::from(*m) == *n)) {
        delete.execute((&key, seqnum))?;
    }
    Ok(())
}

/// How a single-part MO's dedup key begins (`model::single_dedup_key`).
const SINGLE_KEY_PREFIX: &str = "single:";

/// Whether a single-part MO with dedup digest `digest` was stored since `since` in a
/// conversation of its contact and sender: `latest` (theirs, the open one if any) unless
/// it ended before the window, and the one before it when `latest` began within the
/// window (a redelivery then still belongs to that one). The digest is kept in the
/// message row and in the conversation's message index, whose leaf page the new
/// message's entry goes to anyway: recording the key in `mo_seen` instead wrote one
/// more page at a random place per MO (a quarter of the pages of a single-part MO's
/// commit). Message ids are UUIDv7, so the window is a range of ids. The scan covers
/// the conversation's messages of the window, a handful unless one contact floods the
/// number.
fn stored_again(
    conn: &Connection,
    latest: Option<&conversations::Latest>,
    since: UnixMs,
    digest: i64,
) -> Result<bool, StoreError> {
    let Some(latest) = latest else {
        return Ok(false);
    };
    let since = since.max(0);
    let first_id = format!("{:08x}-{:04x}", since >> 16, since & 0xffff);
    let mut candidates = Vec::with_capacity(2);
    if latest.closed_unix_ms.is_none_or(|c| c >= since) {
        candidates.push(&latest.id);
    }
    if latest.started_unix_ms >= since {
        candidates.extend(&latest.previous_id);
    }
    let mut find = conn.prepare_cached(
        "SELECT 1 FROM message WHERE conversation_id = ?1 AND id >= ?2 AND dedup = ?3 LIMIT 1",
    )?;
    for conversation in candidates {
        if find.exists((conversation, &first_id, digest))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a single-part MO with dedup key `key` was stored since `since`, in any
/// conversation (a scan of the messages: for inspection and tests, not the flows).
pub(super) fn stored_single(
    conn: &Connection,
    key: &str,
    since: UnixMs,
) -> Result<bool, StoreError> {
    if !key.starts_with(SINGLE_KEY_PREFIX) {
        return Ok(false);
    }
    Ok(conn
        .prepare_cached("SELECT 1 FROM message WHERE dedup = ?1 AND created_unix_ms >= ?2 LIMIT 1")?
        .exists((dedup_digest(key), since))?)
}

/// The 64-bit dedup digest of a single-part MO's key: the first eight octets of its
/// SHA-256. Within one conversation's window a collision is not a concern.
pub(super) fn dedup_digest(key: &str) -> i64 {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    i64::from_be_bytes(first)
}

/// Records the MO's dedup keys unless one was recorded since `mo.dedup_since`; false
/// (and nothing recorded) when one was: the MO is a redelivery.
fn claim_keys(conn: &Connection, mo: &NewMo, now: UnixMs) -> Result<bool, StoreError> {
    if let [key] = mo.dedup_keys.as_slice() {
        // One statement for the usual single key: a row recorded since `dedup_since`
        // stays as it is (no change: a redelivery), an older one is taken over.
        let changed = conn
            .prepare_cached(
                "INSERT INTO mo_seen (key, message_id, seen_unix_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id,
                     seen_unix_ms = excluded.seen_unix_ms
                 WHERE mo_seen.seen_unix_ms < ?4",
            )?
            .execute((key, &mo.message_id, now, mo.dedup_since))?;
        return Ok(changed == 1);
    }
    for key in &mo.dedup_keys {
        if seen(conn, key, mo.dedup_since)? {
            return Ok(false);
        }
    }
    let mut remember = conn.prepare_cached(
        "INSERT OR REPLACE INTO mo_seen (key, message_id, seen_unix_ms) VALUES (?1, ?2, ?3)",
    )?;
    for key in &mo.dedup_keys {
        remember.execute((key, &mo.message_id, now))?;
    }
    Ok(true)
}

/// Whether `key` was recorded at or after `since`.
pub(super) fn seen(conn: &Connection, key: &str, since: UnixMs) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM mo_seen WHERE key = ?1 AND seen_unix_ms >= ?2")?
        .query_row((key, since), |_| Ok(()))
        .optional()?
        .is_some())
}

/// Keeps a receipt for the receipts flow.
pub(super) fn store_receipt(
    conn: &Connection,
    r: &RawReceipt,
    now: UnixMs,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO unmatched_receipt (carrier, source, destination, short_message,
            receipted_message_id, received_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute((
        &r.carrier,
        &r.source,
        &r.destination,
        &r.short_message,
        &r.receipted_message_id,
        now,
    ))?;
    Ok(())
}

/// What holding a part did.
enum Held {
    Duplicate,
    Stored(usize),
    /// Every part of the message is held now (not taken).
    Complete,
}

/// A part as [`PendingParts::put`] keeps it.
struct NewPart {
    key: String,
    seqnum: u32,
    total: i64,
    body: String,
    dedup_key: String,
    stored_since: Option<UnixMs>,
}

impl NewPart {
    fn of(
        key: &PartKey,
        part: &MoPart,
        stored_since: Option<UnixMs>,
    ) -> Result<Self, PendingError> {
        let seqnum = part.concat.map(|c| c.seqnum).unwrap_or(1);
        Ok(NewPart {
            key: key_text(key)?,
            seqnum: u32::from(seqnum),
            total: i64::from(key.total),
            body: serde_json::to_string(part).map_err(pending_error)?,
            dedup_key: part_dedup_key(
                &key.carrier,
                &key.source,
                &key.destination,
                key.reference,
                key.total,
                seqnum,
            ),
            stored_since,
        })
    }

    /// Holds the part unless it is a duplicate; whether its message is complete.
    fn hold(&self, conn: &Connection) -> Result<Held, StoreError> {
        let key = &self.key;
        if let Some(since) = self.stored_since
            && seen(conn, &self.dedup_key, since)?
        {
            return Ok(Held::Duplicate);
        }
        let added = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO mo_pending_part (part_key, seqnum, part, created_unix_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute((key, self.seqnum, &self.body, now_ms()))?;
        if added == 0 {
            let revived = conn.execute(
                "UPDATE mo_pending_part SET taken = 0 WHERE part_key = ?1 AND taken = 1
                   AND EXISTS (SELECT 1 FROM mo_pending_part
                               WHERE part_key = ?1 AND seqnum = ?2 AND taken = 1)",
                (key, self.seqnum),
            )?;
            if revived == 0 {
                return Ok(Held::Duplicate);
            }
        }
        let held: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM mo_pending_part WHERE part_key = ?1 AND taken = 0",
            )?
            .query_row([key], |r| r.get(0))?;
        Ok(if held < self.total {
            Held::Stored(held as usize)
        } else {
            Held::Complete
        })
    }
}

/// What a put's write did; the parts are decoded after it.
enum Put {
    Duplicate,
    Stored(usize),
    Complete(Vec<(i64, String)>),
}

/// Marks the parts of `key` taken and returns them (part number, JSON) in order.
fn take_rows(conn: &Connection, key: &str) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE mo_pending_part SET taken = 1 WHERE part_key = ?1 RETURNING seqnum, part",
    )?;
    let mut rows: Vec<(i64, String)> = stmt
        .query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rows.sort_by_key(|(seqnum, _)| *seqnum);
    Ok(rows)
}

/// Removes the held parts of `key` and returns them, decoded.
fn remove_held(conn: &Connection, key: &str) -> Result<Vec<MoPart>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM mo_pending_part WHERE part_key = ?1 AND taken = 0 RETURNING part",
    )?;
    let mut rows = stmt.query([key])?;
    let mut parts = Vec::new();
    while let Some(row) = rows.next()? {
        let part = row.get_ref(0)?;
        let part = part
            .as_str()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        parts.push(serde_json::from_str(part).map_err(|e| StoreError::Invalid(e.to_string()))?);
    }
    Ok(parts)
}

fn parts_of(rows: &[(i64, String)]) -> Result<Vec<MoPart>, PendingError> {
    rows.iter()
        .map(|(_, r)| serde_json::from_str(r).map_err(pending_error))
        .collect()
}

fn pending_error(e: impl std::error::Error + Send + Sync + 'static) -> PendingError {
    PendingError(Box::new(e))
}

fn key_text(key: &PartKey) -> Result<String, PendingError> {
    serde_json::to_string(key).map_err(pending_error)
}

/// Parts live in `mo_pending_part`, one row per (message, part number); the primary key
/// makes a second copy of a part a no-op, atomically.
///
/// `take` hands the parts out but keeps them, marked `taken`, until the MO write that
/// uses them removes them ([`store_mo`] with `pending_parts`): the parts and the message
/// they make leave and arrive in one commit. A part delivered again while its row is
/// `taken` means that write never happened (a crash, or a store failure answered with
/// a temporary error): the taken parts are held again and the put counts them, so the
/// reassembler completes the message again from the durable parts instead of starting
/// an incomplete one.
impl PendingParts for SqliteStore {
    async fn put(
        &self,
        key: &PartKey,
        part: MoPart,
        stored_since: Option<UnixMs>,
    ) -> Result<PutOutcome, PendingError> {
        let part = NewPart::of(key, &part, stored_since)?;
        let put = self.write(move |conn| {
            Ok(match part.hold(conn)? {
                Held::Duplicate => Put::Duplicate,
                Held::Stored(held) => Put::Stored(held),
                // The last part: taken in the same write, as `take` does.
                Held::Complete => Put::Complete(take_rows(conn, &part.key)?),
            })
        });
        Ok(match put.await.map_err(pending_error)? {
            Put::Duplicate => PutOutcome::Duplicate,
            Put::Stored(held) => PutOutcome::Stored { held },
            Put::Complete(rows) => PutOutcome::Complete(parts_of(&rows)?),
        })
    }

    async fn take(&self, key: &PartKey) -> Result<Vec<MoPart>, PendingError> {
        let key = key_text(key)?;
        let rows = self
            .write(move |conn| take_rows(conn, &key))
            .await
            .map_err(pending_error)?;
        parts_of(&rows)
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

/// The parts and the message they make leave and arrive in one write: nothing is
/// taken, and no second write (with its commit) follows the last part.
impl FinishParts for SqliteStore {
    async fn put_finishing<F>(
        &self,
        key: PartKey,
        part: MoPart,
        stored_since: Option<UnixMs>,
        finish: F,
    ) -> Result<PutOutcome<(NewMo, MoStored)>, PendingError>
    where
        F: Fn(Reassembled) -> Result<NewMo, StoreError> + Send + Sync + 'static,
    {
        let part = NewPart::of(&key, &part, stored_since)?;
        self.write(move |conn| {
            Ok(match part.hold(conn)? {
                Held::Duplicate => PutOutcome::Duplicate,
                Held::Stored(held) => PutOutcome::Stored { held },
                Held::Complete => {
                    let parts = remove_held(conn, &part.key)?;
                    let mut mo = finish(assemble(key.clone(), parts))?;
                    mo.pending_parts = None;
                    let stored = store_mo_with(conn, &mo, None, now_ms())?;
                    PutOutcome::Complete((mo, stored))
                }
            })
        })
        .await
        .map_err(pending_error)
    }
}
