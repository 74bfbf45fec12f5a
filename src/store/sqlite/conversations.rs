//! Conversations: (contact, business sender) → the open conversation. The first message
//! with none open starts one (`chat.conversation.started`), linking the previous one
//! so the core can show the history; closing is the core's decision
//! (`chat.conversation.closed`).

use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::json;

use super::outbox;
use crate::connector::{EventType, NewEvent, new_id};
use crate::store::StoreError;
use crate::store::model::{Conversation, UnixMs, rfc3339};

const COLUMNS: &str = "id, contact, sender, previous_id, started_unix_ms, closed_unix_ms";

fn conversation(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    let closed: Option<UnixMs> = row.get(5)?;
    Ok(Conversation {
        id: row.get(0)?,
        contact: row.get(1)?,
        sender: row.get(2)?,
        previous_id: row.get(3)?,
        started_at: rfc3339(row.get(4)?),
        closed_at: closed.map(rfc3339),
    })
}

/// The latest conversation of (contact, sender): the open one when there is one.
pub(super) struct Latest {
    pub id: String,
    pub previous_id: Option<String>,
    pub started_unix_ms: UnixMs,
    pub closed_unix_ms: Option<UnixMs>,
}

/// The latest conversation of (contact, sender), if it ever had one.
pub(super) fn latest(
    conn: &Connection,
    contact: &str,
    sender: &str,
) -> Result<Option<Latest>, StoreError> {
    let row = |r: &Row<'_>| {
        Ok(Latest {
            id: r.get(0)?,
            previous_id: r.get(1)?,
            started_unix_ms: r.get(2)?,
            closed_unix_ms: r.get(3)?,
        })
    };
    // The open one by its own index; only without one the history is looked at.
    let open = conn
        .prepare_cached(
            "SELECT id, previous_id, started_unix_ms, closed_unix_ms FROM conversation
             WHERE contact = ?1 AND sender = ?2 AND closed_unix_ms IS NULL",
        )?
        .query_row((contact, sender), row)
        .optional()?;
    if open.is_some() {
        return Ok(open);
    }
    Ok(conn
        .prepare_cached(
            "SELECT id, previous_id, started_unix_ms, closed_unix_ms FROM conversation
             WHERE contact = ?1 AND sender = ?2
             ORDER BY started_unix_ms DESC, id DESC LIMIT 1",
        )?
        .query_row((contact, sender), row)
        .optional()?)
}

/// The open conversation of (contact, sender), opened now (with its started event) when
/// there is none. `origin` says what opened it (`mo`, `mt`).
pub(super) fn open_for(
    conn: &Connection,
    contact: &str,
    sender: &str,
    origin: &str,
    now: UnixMs,
) -> Result<String, StoreError> {
    let found = latest(conn, contact, sender)?;
    open_after(conn, found, contact, sender, origin, now)
}

/// [`open_for`] with the latest conversation of (contact, sender) already looked up.
pub(super) fn open_after(
    conn: &Connection,
    latest: Option<Latest>,
    contact: &str,
    sender: &str,
    origin: &str,
    now: UnixMs,
) -> Result<String, StoreError> {
    let previous = match latest {
        Some(open) if open.closed_unix_ms.is_none() => return Ok(open.id),
        other => other.map(|l| l.id),
    };
    let id = new_id();
    conn.prepare_cached(
        "INSERT INTO conversation (id, contact, sender, previous_id, started_unix_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute((&id, contact, sender, &previous, now))?;
    outbox::append(
        conn,
        NewEvent {
            ty: EventType::ConversationStarted,
            conversation_id: id.clone(),
            data: json!({
                "conversation_id": id,
                "contact": contact,
                "sender": sender,
                "origin": origin,
                "previous_conversation_id": previous,
            }),
        },
    )?;
    Ok(id)
}

/// One conversation by id.
pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<Conversation>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM conversation WHERE id = ?1"))?
        .query_row([id], conversation)
        .optional()?)
}

/// Closes a conversation if open, appending `chat.conversation.closed` (the
/// conversation's next sequence) in the same write; the row as it is afterwards. Closing
/// a closed conversation changes nothing and emits nothing.
pub(super) fn close(
    conn: &Connection,
    id: &str,
    now: UnixMs,
) -> Result<Option<Conversation>, StoreError> {
    let closed = conn
        .prepare_cached(
            "UPDATE conversation SET closed_unix_ms = ?2 WHERE id = ?1 AND closed_unix_ms IS NULL",
        )?
        .execute((id, now))?;
    let conversation = get(conn, id)?;
    if let Some(c) = conversation.as_ref().filter(|_| closed == 1) {
        outbox::append(
            conn,
            NewEvent {
                ty: EventType::ConversationClosed,
                conversation_id: c.id.clone(),
                data: json!({
                    "conversation_id": c.id,
                    "contact": c.contact,
                    "sender": c.sender,
                    "closed_at": c.closed_at,
                }),
            },
        )?;
    }
    Ok(conversation)
}

/// A contact's conversations, newest first.
pub(super) fn of_contact(
    conn: &Connection,
    contact: &str,
    limit: usize,
) -> Result<Vec<Conversation>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversation WHERE contact = ?1
         ORDER BY started_unix_ms DESC, id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map((contact, limit as i64), conversation)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
