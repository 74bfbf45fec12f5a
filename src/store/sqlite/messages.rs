//! Messages and their segments: MTs from acceptance to `sent`, `failed` or `expired`
//! with their status events, and the views the API shows.

use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::json;

use super::{conversations, media, outbox, receipts};
use crate::connector::{EventType, NewEvent};
use crate::reason::ReasonCode;
use crate::store::StoreError;
use crate::store::model::{
    AttemptRecorded, Direction, DueCursor, DueMt, DuePage, MediaRef, MessageView, MtAccepted,
    MtAttempt, MtReceipt, NewMt, SegmentView, SentSegment, StoredMedia, UnixMs, rfc3339,
};

/// Appends a `chat.message.status` event; a failure's sentence is its reason's, and
/// `carrier_status` (an operator's detail) goes beside it.
pub(super) fn status_event(
    conn: &Connection,
    conversation_id: &str,
    message_id: &str,
    status: &str,
    reason: Option<ReasonCode>,
    carrier_status: Option<u32>,
) -> Result<(), StoreError> {
    let mut data = status_data(
        message_id,
        status,
        reason.map(ReasonCode::as_str),
        reason.map(ReasonCode::sentence),
    );
    if let Some(code) = carrier_status {
        data["carrier_status"] = json!(code);
    }
    append_status(conn, conversation_id, data)
}

/// A `chat.message.status` event; `segment` names the segment (0-based, as in the
/// message's `segment_detail`) whose receipt decided a failure or expiry.
pub(super) fn segment_status_event(
    conn: &Connection,
    conversation_id: &str,
    message_id: &str,
    status: &str,
    reason: Option<&str>,
    sentence: Option<&str>,
    segment: Option<usize>,
) -> Result<(), StoreError> {
    let mut data = status_data(message_id, status, reason, sentence);
    if let Some(segment) = segment {
        data["segment"] = json!(segment);
    }
    append_status(conn, conversation_id, data)
}

fn status_data(
    message_id: &str,
    status: &str,
    reason: Option<&str>,
    sentence: Option<&str>,
) -> serde_json::Value {
    json!({
        "message_id": message_id,
        "status": status,
        "reason": reason,
        "message": sentence,
    })
}

fn append_status(
    conn: &Connection,
    conversation_id: &str,
    data: serde_json::Value,
) -> Result<(), StoreError> {
    outbox::append(
        conn,
        NewEvent {
            ty: EventType::MessageStatus,
            conversation_id: conversation_id.to_owned(),
            data,
        },
    )?;
    Ok(())
}

/// Stores an MT as `accepted` in its (possibly new) conversation, with its events.
pub(super) fn insert_mt(
    conn: &Connection,
    mt: &NewMt,
    now: UnixMs,
) -> Result<MtReceipt, StoreError> {
    let conversation_id = conversations::open_for(conn, &mt.contact, &mt.sender, mt.origin, now)?;
    conn.prepare_cached(
        "INSERT INTO message (id, conversation_id, direction, from_addr, to_addr, text,
            encoding, segments, status, route, reference, validity_deadline_unix_ms,
            next_attempt_unix_ms, created_unix_ms, updated_unix_ms, media)
         VALUES (?1, ?2, 'mt', ?3, ?4, ?5, ?6, ?7, 'accepted', ?8, ?9, ?10, ?11, ?11, ?11, ?12)",
    )?
    .execute(rusqlite::params![
        mt.message_id,
        conversation_id,
        mt.sender,
        mt.contact,
        mt.text,
        mt.encoding,
        mt.segments,
        mt.route,
        mt.reference,
        mt.validity_deadline,
        now,
        media_column(&mt.media)?,
    ])?;
    let mut segment = conn.prepare_cached(
        "INSERT INTO segment (message_id, idx, state, updated_unix_ms) VALUES (?1, ?2, 'pending', ?3)",
    )?;
    for index in 0..mt.segments {
        segment.execute((&mt.message_id, index, now))?;
    }
    media::record(conn, &mt.message_id, &kept_files(mt))?;
    status_event(
        conn,
        &conversation_id,
        &mt.message_id,
        "accepted",
        None,
        None,
    )?;
    Ok(MtReceipt {
        message_id: mt.message_id.clone(),
        conversation_id,
        encoding: mt.encoding.clone(),
        segments: mt.segments,
        status: "accepted",
    })
}

/// What the key says about a request whose canonical form hashes to `request_sha256`:
/// the first answer again when it is the request the key answered, `KeyReused` when it
/// is another, `None` when the key is new. A key recorded before hashes were kept, or a
/// request given without one, cannot be compared and replays the first answer.
pub(super) fn idempotent_answer(
    conn: &Connection,
    key: &str,
    request_sha256: Option<&str>,
) -> Result<Option<MtAccepted>, StoreError> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT response, request_sha256 FROM idempotency_key WHERE key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((response, answered)) = row else {
        return Ok(None);
    };
    if let (Some(answered), Some(asked)) = (answered.as_deref(), request_sha256)
        && answered != asked
    {
        return Ok(Some(MtAccepted::KeyReused));
    }
    let first = serde_json::from_str(&response).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(MtAccepted::Replayed(first)))
}

/// Accepts an MT once per idempotency key (and refuses the key for another request).
pub(super) fn accept_mt(
    conn: &Connection,
    mt: &NewMt,
    now: UnixMs,
) -> Result<MtAccepted, StoreError> {
    if let Some(key) = &mt.idempotency_key
        && let Some(earlier) = idempotent_answer(conn, key, mt.request_sha256.as_deref())?
    {
        return Ok(earlier);
    }
    let receipt = insert_mt(conn, mt, now)?;
    if let Some(key) = &mt.idempotency_key {
        let response =
            serde_json::to_string(&receipt).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        conn.prepare_cached(
            "INSERT INTO idempotency_key (key, response, created_unix_ms, request_sha256)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute((key, response, now, &mt.request_sha256))?;
    }
    Ok(MtAccepted::Stored(receipt))
}

const DUE_COLUMNS: &str = "id, conversation_id, to_addr, from_addr, text, reference, route,
    validity_deadline_unix_ms, attempts, media";

/// The media-store files an MT names: its attachments and the files its text links to.
fn kept_files(mt: &NewMt) -> Vec<StoredMedia> {
    mt.media
        .iter()
        .chain(&mt.linked)
        .filter_map(|m| {
            Some(StoredMedia {
                hash: m.id.clone()?,
                content_type: m.content_type.clone()?,
                size: m.size?,
                filename: m.filename.clone(),
            })
        })
        .collect()
}

/// The `media` column of an attachment list: NULL for none.
fn media_column(media: &[MediaRef]) -> Result<Option<String>, StoreError> {
    if media.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(media)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The attachment list of a `media` column; a corrupt one reads as a conversion error.
fn media_of(row: &Row<'_>, column: usize) -> rusqlite::Result<Vec<MediaRef>> {
    let Some(text) = row.get::<_, Option<String>>(column)? else {
        return Ok(Vec::new());
    };
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn due_mt(r: &Row<'_>) -> rusqlite::Result<DueMt> {
    Ok(DueMt {
        message_id: r.get(0)?,
        conversation_id: r.get(1)?,
        contact: r.get(2)?,
        sender: r.get(3)?,
        text: r.get(4)?,
        reference: r.get(5)?,
        route: r.get(6)?,
        validity_deadline: r.get(7)?,
        attempts: r.get(8)?,
        segments_done: Vec::new(),
        media: media_of(r, 9)?,
    })
}

fn with_segments_done(conn: &Connection, mut mt: DueMt) -> Result<DueMt, StoreError> {
    let mut done = conn.prepare_cached(
        // A segment the carrier accepted has its id, whatever receipts said since.
        "SELECT idx FROM segment WHERE message_id = ?1 AND carrier_message_id IS NOT NULL
         ORDER BY idx",
    )?;
    mt.segments_done = done
        .query_map([&mt.message_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(mt)
}

/// A page of the MTs due at `now` (oldest first, after `after`), where it stopped, and
/// when the next later one is due.
pub(super) fn due(
    conn: &Connection,
    now: UnixMs,
    after: Option<&DueCursor>,
    limit: usize,
) -> Result<DuePage, StoreError> {
    // Paged by (due time, id) rather than by offset: the dispatcher pages past the MTs
    // it has in hand, and a page does not move when an earlier MT leaves the list.
    let mut stmt = conn.prepare_cached(
        "SELECT id, next_attempt_unix_ms FROM message
         WHERE status = 'accepted' AND next_attempt_unix_ms <= ?1
           AND next_attempt_unix_ms >= ?3 AND (next_attempt_unix_ms, id) > (?3, ?4)
         ORDER BY next_attempt_unix_ms, id LIMIT ?2",
    )?;
    let (from, from_id) = after.map_or((UnixMs::MIN, ""), |c| (c.due_at, &c.message_id));
    let listed = stmt
        .query_map((now, limit as i64, from, from_id), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, UnixMs>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let more_after = listed
        .last()
        .filter(|_| listed.len() >= limit)
        .map(|(id, due_at)| DueCursor {
            due_at: *due_at,
            message_id: id.clone(),
        });
    let next_due: Option<UnixMs> = conn
        .prepare_cached(
            "SELECT min(next_attempt_unix_ms) FROM message
         WHERE status = 'accepted' AND next_attempt_unix_ms > ?1",
        )?
        .query_row([now], |r| r.get(0))?;
    Ok(DuePage {
        message_ids: listed.into_iter().map(|(id, _)| id).collect(),
        more_after,
        next_due,
    })
}

/// One MT if it is still due at `now`.
pub(super) fn due_one(
    conn: &Connection,
    id: &str,
    now: UnixMs,
) -> Result<Option<DueMt>, StoreError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {DUE_COLUMNS} FROM message
                 WHERE id = ?1 AND status = 'accepted' AND next_attempt_unix_ms <= ?2"
        ))?
        .query_row((id, now), due_mt)
        .optional()?;
    found.map(|mt| with_segments_done(conn, mt)).transpose()
}

/// Records an attempt's accepted segments (indexed for their receipts, and matched to
/// receipts that came first) and its end. `conversation_id` is the message's, which the
/// dispatcher read with it: the message is not read again here.
pub(super) fn record_attempt(
    conn: &Connection,
    message_id: &str,
    conversation_id: &str,
    accepted: &[SentSegment],
    attempt: &MtAttempt,
    now: UnixMs,
) -> Result<AttemptRecorded, StoreError> {
    let mut segment = conn.prepare_cached(
        "UPDATE segment SET state = 'sent', carrier = ?3, carrier_message_id = ?4,
            updated_unix_ms = ?5, unknown_outcome = unknown_outcome OR ?6
         WHERE message_id = ?1 AND idx = ?2",
    )?;
    for s in accepted {
        segment.execute((
            message_id,
            s.index,
            &s.carrier,
            &s.carrier_message_id,
            now,
            s.resent,
        ))?;
        receipts::index_segment(conn, s, message_id)?;
    }
    let resent: Vec<u32> = accepted
        .iter()
        .filter(|s| s.resent)
        .map(|s| s.index)
        .collect();
    record_end(conn, conversation_id, message_id, attempt, &resent, now)?;
    let mut recorded = AttemptRecorded::default();
    if !receipts::any_parked(conn)? {
        return Ok(recorded);
    }
    for s in accepted {
        recorded.parked_matched.extend(receipts::match_parked(
            conn,
            &s.carrier,
            &s.carrier_message_id,
            message_id,
            s.index,
            now,
        )?);
    }
    Ok(recorded)
}

/// Ends the attempt on the message while it is still `accepted`, with its status event
/// when the status changed. A receipt for a segment sent earlier may have settled the
/// message while this attempt was out (one segment failed): that status stands, and no
/// second one follows (each update changes no row then).
/// `resent`: the segments this attempt sent once more after they went unanswered.
fn record_end(
    conn: &Connection,
    conversation_id: &str,
    message_id: &str,
    attempt: &MtAttempt,
    resent: &[u32],
    now: UnixMs,
) -> Result<(), StoreError> {
    match attempt {
        MtAttempt::Sent => {
            let changed = conn
                .prepare_cached(
                    "UPDATE message SET status = 'sent', attempts = attempts + 1,
                        updated_unix_ms = ?2, reason = NULL, reason_message = NULL
                     WHERE id = ?1 AND status = 'accepted'",
                )?
                .execute((message_id, now))?;
            if changed == 0 {
                return Ok(());
            }
            let mut data = status_data(message_id, "sent", None, None);
            if !resent.is_empty() {
                // The agent's transcript may show it once; the handset may have it twice.
                data["unknown_outcome_segments"] = json!(resent);
            }
            append_status(conn, conversation_id, data)
        }
        MtAttempt::Retry {
            next_attempt,
            route,
            reason,
        } => {
            conn.prepare_cached(
                "UPDATE message SET attempts = attempts + 1, next_attempt_unix_ms = ?2,
                    route = ?3, reason = ?4, updated_unix_ms = ?5
                 WHERE id = ?1 AND status = 'accepted'",
            )?
            .execute((message_id, next_attempt, route, reason.as_str(), now))?;
            Ok(())
        }
        MtAttempt::Final {
            status,
            reason,
            carrier_status,
            segment,
        } => {
            // reason_message is written for readers of the row; views read the reason.
            let changed = conn
                .prepare_cached(
                    "UPDATE message SET status = ?2, attempts = attempts + 1, reason = ?3,
                        reason_message = ?4, updated_unix_ms = ?5
                     WHERE id = ?1 AND status = 'accepted'",
                )?
                .execute((message_id, status, reason.as_str(), reason.sentence(), now))?;
            if changed == 0 {
                return Ok(());
            }
            conn.prepare_cached(
                "UPDATE segment SET state = ?2, updated_unix_ms = ?3
                 WHERE message_id = ?1 AND state = 'pending'",
            )?
            .execute((message_id, status, now))?;
            let mut data = status_data(
                message_id,
                status,
                Some(reason.as_str()),
                Some(reason.sentence()),
            );
            if let Some(code) = carrier_status {
                data["carrier_status"] = json!(code);
            }
            if let Some(index) = segment {
                if *reason == ReasonCode::UnknownOutcome {
                    conn.prepare_cached(
                        "UPDATE segment SET unknown_outcome = 1 WHERE message_id = ?1 AND idx = ?2",
                    )?
                    .execute((message_id, index))?;
                }
                data["segment"] = json!(index);
            }
            append_status(conn, conversation_id, data)
        }
    }
}

const VIEW_COLUMNS: &str = "id, conversation_id, direction, from_addr, to_addr, text, encoding,
    segments, status, reason, reason_message, route, incomplete, created_unix_ms, updated_unix_ms,
    media";

fn view(row: &Row<'_>) -> rusqlite::Result<MessageView> {
    let direction: String = row.get(2)?;
    let direction = Direction::parse(&direction);
    let stored: Option<String> = row.get(9)?;
    // An MT's reason is read as a code and shown with its sentence, never with the text
    // stored beside it: earlier versions stored sentences with internal detail in them.
    let (reason, reason_message) = match (direction, stored) {
        (Direction::Mt, Some(stored)) => {
            let code = ReasonCode::from_stored(&stored);
            (
                Some(code.as_str().to_owned()),
                Some(code.sentence().to_owned()),
            )
        }
        (_, stored) => (stored, row.get(10)?),
    };
    Ok(MessageView {
        message_id: row.get(0)?,
        conversation_id: row.get(1)?,
        direction,
        from: row.get(3)?,
        to: row.get(4)?,
        text: row.get(5)?,
        encoding: row.get(6)?,
        segments: row.get(7)?,
        status: row.get(8)?,
        reason,
        reason_message,
        route: row.get(11)?,
        incomplete: row.get(12)?,
        created_at: rfc3339(row.get(13)?),
        updated_at: rfc3339(row.get(14)?),
        segment_detail: Vec::new(),
        media: media_of(row, 15)?.into_iter().map(Into::into).collect(),
    })
}

fn segments(conn: &Connection, message_id: &str) -> Result<Vec<SegmentView>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT idx, state, carrier, carrier_message_id, unknown_outcome FROM segment
         WHERE message_id = ?1 ORDER BY idx",
    )?;
    let rows = stmt.query_map([message_id], |r| {
        Ok(SegmentView {
            index: r.get(0)?,
            state: r.get(1)?,
            carrier: r.get(2)?,
            carrier_message_id: r.get(3)?,
            unknown_outcome: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One message with its segment detail.
pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<MessageView>, StoreError> {
    let found = conn
        .prepare_cached(&format!("SELECT {VIEW_COLUMNS} FROM message WHERE id = ?1"))?
        .query_row([id], view)
        .optional()?;
    let Some(mut message) = found else {
        return Ok(None);
    };
    message.segment_detail = segments(conn, id)?;
    media::fill_view(conn, &mut message)?;
    Ok(Some(message))
}

/// A page of a conversation's messages, in order (ids are time-ordered).
pub(super) fn transcript(
    conn: &Connection,
    conversation_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<MessageView>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VIEW_COLUMNS} FROM message WHERE conversation_id = ?1 AND id > ?2
         ORDER BY id LIMIT ?3"
    ))?;
    let rows = stmt.query_map((conversation_id, after.unwrap_or(""), limit as i64), view)?;
    let mut messages: Vec<MessageView> = rows.collect::<Result<_, _>>()?;
    for message in &mut messages {
        media::fill_view(conn, message)?;
    }
    Ok(messages)
}

/// Deletes keys and finished messages last changed before `before`.
pub(super) fn purge(conn: &Connection, before: UnixMs) -> Result<usize, StoreError> {
    let mut gone = conn
        .prepare_cached("DELETE FROM idempotency_key WHERE created_unix_ms < ?1")?
        .execute([before])?;
    gone += conn
        .prepare_cached("DELETE FROM mo_seen WHERE seen_unix_ms < ?1")?
        .execute([before])?;
    gone += conn
        .prepare_cached(
            "DELETE FROM segment_key WHERE message_id IN (SELECT id FROM message
            WHERE status <> 'accepted' AND updated_unix_ms < ?1)",
        )?
        .execute([before])?;
    gone += conn
        .prepare_cached(
            "DELETE FROM segment WHERE message_id IN (SELECT id FROM message
            WHERE status <> 'accepted' AND updated_unix_ms < ?1)",
        )?
        .execute([before])?;
    gone += media::purge(conn, before)?;
    gone += conn
        .prepare_cached("DELETE FROM message WHERE status <> 'accepted' AND updated_unix_ms < ?1")?
        .execute([before])?;
    Ok(gone)
}
