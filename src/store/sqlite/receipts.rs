//! Receipts matched to segments, in one write each: find the segment by the receipt's
//! id (indexed by every reading of the carrier id; [`exact_match`] first, then
//! [`read_tolerant`] once the receipt's own id can no longer appear), move the
//! segment's state, aggregate the chat message's, and append one `chat.message.status`
//! when that changes. A receipt nothing names yet is parked: matched exactly in the
//! write that records its id ([`match_parked`]), read again when the submits before it
//! are recorded or the carrier's form is proven ([`read_parked`]), or expired.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension};

use super::messages::segment_status_event;
use crate::receipts::{
    ChatState, IdForm, IdMatch, MsgIdFormat, Reading, ReasonCode, ReceiptState, SegmentReport,
    SegmentState, apply, canonical_keys, exact_match, index_keys, lookup_keys, read_tolerant,
};
use crate::store::StoreError;
use crate::store::model::{
    ParkedMatch, ParkedRead, ParkedSelection, ReceiptApplied, ReceiptUpdate, SentSegment, UnixMs,
};

/// Indexes a sent segment's carrier id under the readings its receipts may use.
pub(super) fn index_segment(
    conn: &Connection,
    segment: &SentSegment,
    message_id: &str,
) -> Result<(), StoreError> {
    // A carrier that answered without an id gave nothing to match: indexing "" would put
    // every such segment under one key.
    if segment.carrier_message_id.is_empty() {
        return Ok(());
    }
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

/// The segments whose carrier ids are indexed under any of `keys`, most recently
/// updated first per key.
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

/// The one key every id is indexed and looked up under (see [`canonical_keys`]).
fn text_keys(ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| canonical_keys(id, MsgIdFormat::Exact).swap_remove(0))
        .collect()
}

/// What a receipt's ids name.
enum Found {
    Segment(Candidate, IdMatch),
    /// Nothing yet, or nothing that reads one way: park (or stay parked).
    Parked {
        ambiguous: bool,
    },
}

/// Finds the segment `ids` name: exactly, or when `quiet` (the receipt's own id can no
/// longer appear) by the one tolerant reading that names a single segment.
fn find(
    conn: &Connection,
    carrier: &str,
    ids: &[String],
    format: MsgIdFormat,
    proven: Option<IdForm>,
    quiet: bool,
) -> Result<Found, StoreError> {
    // The exact match first, by the one key it needs: nearly every receipt ends here.
    let mut found = candidates(conn, carrier, &text_keys(ids))?;
    if let Some(m) = exact_match(ids, found.iter().map(|c| c.carrier_id.as_str())) {
        return Ok(Found::Segment(found.swap_remove(m.index), m));
    }
    if !quiet || format == MsgIdFormat::Exact {
        return Ok(Found::Parked { ambiguous: false });
    }
    let keys: Vec<String> = ids.iter().flat_map(|id| lookup_keys(id, format)).collect();
    let mut found = candidates(conn, carrier, &keys)?;
    let submit_ids: Vec<&str> = found.iter().map(|c| c.carrier_id.as_str()).collect();
    Ok(match read_tolerant(ids, &submit_ids, format, proven) {
        Reading::Match(m) => Found::Segment(found.swap_remove(m.index), m),
        Reading::Ambiguous => Found::Parked { ambiguous: true },
        Reading::Nothing => Found::Parked { ambiguous: false },
    })
}

/// Applies a receipt to the segment it names, or parks it.
pub(super) fn apply_receipt(
    conn: &Connection,
    update: &ReceiptUpdate,
    now: UnixMs,
) -> Result<ReceiptApplied, StoreError> {
    let found = find(
        conn,
        &update.carrier,
        &update.ids,
        update.format,
        update.proven,
        update.quiet,
    )?;
    let (c, m) = match found {
        Found::Segment(c, m) => (c, m),
        Found::Parked { ambiguous } => {
            let receipt = park(conn, update, now)?;
            return Ok(ReceiptApplied::Parked { receipt, ambiguous });
        }
    };
    let chat_changed = apply_to_segment(conn, &c.message_id, c.index, &update.report, now)?;
    let contact: String = conn
        .prepare_cached("SELECT to_addr FROM message WHERE id = ?1")?
        .query_row([&c.message_id], |r| r.get(0))?;
    Ok(ReceiptApplied::Matched {
        message_id: c.message_id,
        contact,
        form: m.form,
        evidence: m.evidence,
        chat_changed,
    })
}

/// Keeps a receipt nothing names yet; its row id. It is keyed by every reading of its
/// ids, so the write that records any of them finds it.
fn park(conn: &Connection, update: &ReceiptUpdate, now: UnixMs) -> Result<i64, StoreError> {
    let ids = serde_json::to_string(&update.ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO parked_receipt (carrier, ids, format, message_state, intermediate, reason,
            received_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute((
        &update.carrier,
        ids,
        update.format.as_str(),
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
        for key in lookup_keys(id, update.format) {
            insert.execute((&update.carrier, key, receipt))?;
        }
    }
    Ok(receipt)
}

/// A parked receipt read back.
struct Parked {
    id: i64,
    ids: Vec<String>,
    report: SegmentReport,
}

const PARKED_COLUMNS: &str = "p.id, p.ids, p.message_state, p.intermediate, p.reason";

fn parked_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, u8, bool, Option<String>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn parked(row: (i64, String, u8, bool, Option<String>)) -> Result<Parked, StoreError> {
    let (id, ids, state, intermediate, reason) = row;
    let corrupt = |what: &str| StoreError::Corrupt(format!("parked receipt {id}: {what}"));
    Ok(Parked {
        id,
        ids: serde_json::from_str(&ids).map_err(|e| corrupt(&e.to_string()))?,
        report: SegmentReport {
            state: ReceiptState::from_message_state(state)
                .ok_or_else(|| corrupt("message_state"))?,
            intermediate,
            reason: reason
                .map(|r| r.parse().map_err(|_| corrupt("reason")))
                .transpose()?,
        },
    })
}

fn parked_for(
    conn: &Connection,
    carrier: &str,
    keys: &[String],
) -> Result<Vec<Parked>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PARKED_COLUMNS}
         FROM parked_receipt_key k JOIN parked_receipt p ON p.id = k.receipt
         WHERE k.carrier = ?1 AND k.key = ?2 ORDER BY p.id"
    ))?;
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for key in keys {
        for row in stmt.query_map((carrier, key), parked_row)? {
            let row = row?;
            if seen.insert(row.0) {
                found.push(parked(row)?);
            }
        }
    }
    Ok(found)
}

/// Matches the parked receipts that name, byte for byte, a carrier id just recorded for
/// segment `index` of `message_id`, in receipt order. A tolerant reading waits until
/// the receipt's own id can no longer appear ([`read_parked`]).
pub(super) fn match_parked(
    conn: &Connection,
    carrier: &str,
    carrier_id: &str,
    message_id: &str,
    index: u32,
    now: UnixMs,
) -> Result<Vec<ParkedMatch>, StoreError> {
    let mut matched = Vec::new();
    for p in parked_for(conn, carrier, &text_keys(&[carrier_id.to_owned()]))? {
        let Some(m) = exact_match(&p.ids, [carrier_id]) else {
            continue;
        };
        let chat_changed = apply_to_segment(conn, message_id, index, &p.report, now)?;
        delete_parked(conn, p.id)?;
        matched.push(ParkedMatch {
            carrier: carrier.to_owned(),
            receipt: p.id,
            form: m.form,
            evidence: m.evidence,
            chat_changed,
        });
    }
    Ok(matched)
}

fn delete_parked(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM parked_receipt WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Reads parked receipts of `carrier` again as quiet ones, and applies those that now
/// name one segment.
pub(super) fn read_parked(
    conn: &Connection,
    carrier: &str,
    which: &ParkedSelection,
    format: MsgIdFormat,
    proven: Option<IdForm>,
    limit: usize,
    now: UnixMs,
) -> Result<ParkedRead, StoreError> {
    let mut read = ParkedRead::default();
    let rows = match which {
        ParkedSelection::Receipts(ids) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {PARKED_COLUMNS} FROM parked_receipt p WHERE p.id = ?1 AND p.carrier = ?2"
            ))?;
            let mut rows = Vec::new();
            for id in ids {
                if let Some(row) = stmt.query_row((id, carrier), parked_row).optional()? {
                    rows.push(parked(row)?);
                }
            }
            rows
        }
        ParkedSelection::AllExcept { except, after } => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {PARKED_COLUMNS} FROM parked_receipt p
                 WHERE p.carrier = ?1 AND p.id > ?2 ORDER BY p.id LIMIT ?3"
            ))?;
            let rows = stmt
                .query_map((carrier, after, limit as i64), parked_row)?
                .map(|row| parked(row?))
                .collect::<Result<Vec<_>, _>>()?;
            if rows.len() == limit {
                read.next_after = rows.last().map(|p| p.id);
            }
            rows.into_iter()
                .filter(|p| !except.contains(&p.id))
                .collect()
        }
    };
    for p in rows {
        match find(conn, carrier, &p.ids, format, proven, true)? {
            Found::Segment(c, m) => {
                let chat_changed = apply_to_segment(conn, &c.message_id, c.index, &p.report, now)?;
                delete_parked(conn, p.id)?;
                read.matched.push(ParkedMatch {
                    carrier: carrier.to_owned(),
                    receipt: p.id,
                    form: m.form,
                    evidence: m.evidence,
                    chat_changed,
                });
            }
            Found::Parked { ambiguous } => read.ambiguous += usize::from(ambiguous),
        }
    }
    Ok(read)
}

/// Whether any receipt is parked: one lookup instead of one per key of each segment
/// when, as nearly always, none is.
pub(super) fn any_parked(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM parked_receipt)")?
        .query_row([], |r| r.get(0))?)
}

/// Deletes receipts parked before `before`; how many, per carrier.
pub(super) fn expire_parked(
    conn: &Connection,
    before: UnixMs,
) -> Result<Vec<(String, u64)>, StoreError> {
    let expired = conn
        .prepare_cached(
            "SELECT carrier, count(*) FROM parked_receipt WHERE received_unix_ms < ?1
             GROUP BY carrier ORDER BY carrier",
        )?
        .query_map([before], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
        .collect::<Result<Vec<_>, _>>()?;
    if !expired.is_empty() {
        conn.prepare_cached("DELETE FROM parked_receipt WHERE received_unix_ms < ?1")?
            .execute([before])?;
    }
    Ok(expired)
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
