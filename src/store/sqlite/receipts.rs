//! Receipts matched to segments, in one write each: find the segment by the receipt's
//! id (indexed by every reading of the carrier id, then [`best_match`]), move the
//! segment's state, aggregate the chat message's, and append one `chat.message.status`
//! when that changes. A receipt whose id no segment carries yet is parked, and matched
//! in the write that records the id ([`match_parked`]); parked receipts expire.

use std::collections::HashSet;

use rusqlite::Connection;

use super::messages::segment_status_event;
use crate::receipts::{
    ChatState, MsgIdFormat, ReasonCode, ReceiptState, SegmentReport, SegmentState, apply,
    best_match, index_keys, lookup_keys,
};
use crate::store::StoreError;
use crate::store::model::{ParkedMatch, ReceiptApplied, ReceiptUpdate, SentSegment, UnixMs};

/// Indexes a sent segment's carrier id under the readings its receipts may use.
pub(super) fn index_segment(
    conn: &Connection,
    segment: &SentSegment,
    message_id: &str,
) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO segment_key (carrier, key, message_id, idx) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for key in index_keys(&segment.carrier_message_id, segment.id_format) {
        insert.execute((&segment.carrier, key, message_id, segment.index))?;
    }
    Ok(())
}

/// A segment a receipt may name.
struct Candidate {
    carrier_id: String,
    message_id: String,
    index: u32,
}

fn candidates(
    conn: &Connection,
    carrier: &str,
    keys: &[String],
) -> Result<Vec<Candidate>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.carrier_message_id, k.message_id, k.idx FROM segment_key k
         JOIN segment s ON s.message_id = k.message_id AND s.idx = k.idx
         WHERE k.carrier = ?1 AND k.key = ?2 AND s.carrier_message_id IS NOT NULL
         ORDER BY s.updated_unix_ms DESC",
    )?;
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for key in keys {
        let rows = stmt.query_map((carrier, key), |r| {
            Ok(Candidate {
                carrier_id: r.get(0)?,
                message_id: r.get(1)?,
                index: r.get(2)?,
            })
        })?;
        for c in rows {
            let c = c?;
            if seen.insert((c.message_id.clone(), c.index)) {
                found.push(c);
            }
        }
    }
    Ok(found)
}

/// Applies a receipt to the segment it names, or parks it.
pub(super) fn apply_receipt(
    conn: &Connection,
    update: &ReceiptUpdate,
    now: UnixMs,
) -> Result<ReceiptApplied, StoreError> {
    // Once the carrier's receipts settled on a form, only that form matches (and a
    // parked receipt keeps it): under load a receipt often beats the write of its
    // submit's id, and a tolerant reading would then name another segment.
    let format = update.learner.narrow(update.format);
    for id in &update.ids {
        let found = candidates(conn, &update.carrier, &lookup_keys(id, format))?;
        let ids = found.iter().map(|c| c.carrier_id.as_str());
        if let Some(m) = best_match(id, ids, format, Some(&update.learner)) {
            update.learner.record(m.form);
            let c = &found[m.index];
            let chat_changed = apply_to_segment(conn, &c.message_id, c.index, &update.report, now)?;
            let contact: String = conn
                .prepare_cached("SELECT to_addr FROM message WHERE id = ?1")?
                .query_row([&c.message_id], |r| r.get(0))?;
            return Ok(ReceiptApplied::Matched {
                message_id: c.message_id.clone(),
                contact,
                form: m.form,
                chat_changed,
            });
        }
    }
    park(conn, update, format, now)?;
    Ok(ReceiptApplied::Parked)
}

/// Keeps a receipt nothing matches yet, to be matched in `format` when its id appears.
fn park(
    conn: &Connection,
    update: &ReceiptUpdate,
    format: MsgIdFormat,
    now: UnixMs,
) -> Result<(), StoreError> {
    let ids = serde_json::to_string(&update.ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO parked_receipt (carrier, ids, format, message_state, intermediate, reason,
            received_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute((
        &update.carrier,
        ids,
        format.as_str(),
        update.report.state.message_state(),
        update.report.intermediate,
        update.report.reason.map(ReasonCode::as_str),
        now,
    ))?;
    let receipt = conn.last_insert_rowid();
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO parked_receipt_key (carrier, key, receipt) VALUES (?1, ?2, ?3)",
    )?;
    for id in &update.ids {
        for key in lookup_keys(id, format) {
            insert.execute((&update.carrier, key, receipt))?;
        }
    }
    Ok(())
}

/// A parked receipt read back.
struct Parked {
    id: i64,
    ids: Vec<String>,
    format: MsgIdFormat,
    report: SegmentReport,
}

fn parked_for(
    conn: &Connection,
    carrier: &str,
    keys: &[String],
) -> Result<Vec<Parked>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.ids, p.format, p.message_state, p.intermediate, p.reason
         FROM parked_receipt_key k JOIN parked_receipt p ON p.id = k.receipt
         WHERE k.carrier = ?1 AND k.key = ?2 ORDER BY p.id",
    )?;
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for key in keys {
        let rows = stmt.query_map((carrier, key), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u8>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        for row in rows {
            let (id, ids, format, state, intermediate, reason) = row?;
            if !seen.insert(id) {
                continue;
            }
            let corrupt = |what: &str| StoreError::Corrupt(format!("parked receipt {id}: {what}"));
            found.push(Parked {
                id,
                ids: serde_json::from_str(&ids).map_err(|e| corrupt(&e.to_string()))?,
                format: format.parse().map_err(|_| corrupt("format"))?,
                report: SegmentReport {
                    state: ReceiptState::from_message_state(state)
                        .ok_or_else(|| corrupt("message_state"))?,
                    intermediate,
                    reason: reason
                        .map(|r| r.parse().map_err(|_| corrupt("reason")))
                        .transpose()?,
                },
            });
        }
    }
    Ok(found)
}

/// Matches the parked receipts that name a carrier id just recorded for segment
/// `index` of `message_id`, in receipt order; what matched, and how.
pub(super) fn match_parked(
    conn: &Connection,
    carrier: &str,
    carrier_id: &str,
    message_id: &str,
    index: u32,
    now: UnixMs,
) -> Result<Vec<ParkedMatch>, StoreError> {
    let mut matched = Vec::new();
    // Every reading of the id: a parked receipt is keyed by the readings of its own
    // format, whatever the segment's is now.
    for p in parked_for(conn, carrier, &index_keys(carrier_id, MsgIdFormat::Auto))? {
        let form = p
            .ids
            .iter()
            .find_map(|id| best_match(id, [carrier_id], p.format, None))
            .map(|m| m.form);
        if let Some(form) = form {
            let chat_changed = apply_to_segment(conn, message_id, index, &p.report, now)?;
            conn.prepare_cached("DELETE FROM parked_receipt WHERE id = ?1")?
                .execute([p.id])?;
            matched.push(ParkedMatch {
                carrier: carrier.to_owned(),
                form,
                chat_changed,
            });
        }
    }
    Ok(matched)
}

/// Whether any receipt is parked: one lookup instead of one per key of each segment
/// when, as nearly always, none is.
pub(super) fn any_parked(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM parked_receipt)")?
        .query_row([], |r| r.get(0))?)
}

/// Deletes receipts parked before `before`; how many.
pub(super) fn expire_parked(conn: &Connection, before: UnixMs) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM parked_receipt WHERE received_unix_ms < ?1")?
        .execute([before])?)
}

/// A message's conversation and status, and its segments' states as receipts left them,
/// in one read (the message's row with each of its segments); `None` without the message.
fn message_and_segments(
    conn: &Connection,
    message_id: &str,
) -> Result<Option<(String, String, Vec<SegmentState>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.conversation_id, m.status, s.idx, s.receipt_state
         FROM message m LEFT JOIN segment s ON s.message_id = m.id
         WHERE m.id = ?1 ORDER BY s.idx",
    )?;
    let mut rows = stmt.query([message_id])?;
    let mut found: Option<(String, String, Vec<SegmentState>)> = None;
    while let Some(row) = rows.next()? {
        if found.is_none() {
            found = Some((row.get(0)?, row.get(1)?, Vec::new()));
        }
        // A message without segment rows reads as one row with no segment columns.
        let (Some((_, _, segments)), Some(_index)) = (&mut found, row.get::<_, Option<u32>>(2)?)
        else {
            continue;
        };
        segments.push(match row.get::<_, Option<String>>(3)? {
            None => SegmentState::Sent,
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
        });
    }
    Ok(found)
}

/// The chat state a stored status stands for. Final states stick, so which segment
/// and reason a stored failure had does not matter here.
fn chat_state(status: &str) -> ChatState {
    match status {
        "delivered" => ChatState::Delivered,
        "failed" => ChatState::Failed {
            segment: 0,
            reason: ReasonCode::Unknown,
        },
        "expired" => ChatState::Expired { segment: 0 },
        _ => ChatState::Sent,
    }
}

fn segment_word(state: &SegmentState) -> &'static str {
    match state {
        SegmentState::Sent => "sent",
        SegmentState::InProgress { .. } => "in_progress",
        SegmentState::Delivered => "delivered",
        SegmentState::Failed { .. } => "failed",
        SegmentState::Expired => "expired",
    }
}

/// Applies `report` to one segment and aggregates; true when the chat state changed.
fn apply_to_segment(
    conn: &Connection,
    message_id: &str,
    index: u32,
    report: &SegmentReport,
    now: UnixMs,
) -> Result<bool, StoreError> {
    let Some((conversation_id, status, mut segments)) = message_and_segments(conn, message_id)?
    else {
        return Ok(false);
    };
    let step = apply(chat_state(&status), &mut segments, index as usize, report);
    if step.segment_changed {
        let json =
            serde_json::to_string(&step.segment).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        conn.prepare_cached(
            "UPDATE segment SET state = ?3, receipt_state = ?4, updated_unix_ms = ?5
             WHERE message_id = ?1 AND idx = ?2",
        )?
        .execute((message_id, index, segment_word(&step.segment), json, now))?;
    }
    if !step.chat.changed {
        return Ok(false);
    }
    let state = step.chat.state;
    let (reason, segment) = match state {
        ChatState::Failed { reason, segment } => (Some(reason.as_str()), Some(segment)),
        ChatState::Expired { segment } => (Some(ReasonCode::Expired.as_str()), Some(segment)),
        ChatState::Sent | ChatState::Delivered => (None, None),
    };
    conn.prepare_cached(
        "UPDATE message SET status = ?2, reason = ?3, reason_message = ?4, updated_unix_ms = ?5
         WHERE id = ?1",
    )?
    .execute((message_id, state.as_str(), reason, state.sentence(), now))?;
    segment_status_event(
        conn,
        &conversation_id,
        message_id,
        state.as_str(),
        reason,
        state.sentence(),
        segment,
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests;
