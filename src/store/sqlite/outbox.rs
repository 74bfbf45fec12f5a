//! The event outbox: flows append events in the same transaction as the state change
//! they describe, so an event exists exactly when its change does.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension};

use crate::connector::{ChatEvent, NewEvent, new_id};
use crate::store::StoreError;

/// Appends `event` inside the caller's write (call it from a store operation's
/// `SqliteStore::write` closure). Gives the event its id, time and the next sequence
/// number of its conversation.
pub fn append(conn: &Connection, event: NewEvent) -> Result<ChatEvent, StoreError> {
    let last: Option<i64> = conn
        .query_row(
            "SELECT last FROM event_sequence WHERE conversation_id = ?1",
            [&event.conversation_id],
            |r| r.get(0),
        )
        .optional()?;
    let sequence = last.unwrap_or(0) + 1;
    let id = new_id();
    conn.execute(
        "INSERT INTO event_sequence (conversation_id, last) VALUES (?1, ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET last = excluded.last",
        (&event.conversation_id, sequence),
    )?;
    let now = SystemTime::now();
    let time = humantime::format_rfc3339_millis(now).to_string();
    let created = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    conn.execute(
        "INSERT INTO outbox (event_id, conversation_id, sequence, type, time, data, created_unix_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        (
            &id,
            &event.conversation_id,
            sequence,
            event.ty.as_str(),
            &time,
            event.data.to_string(),
            created,
        ),
    )?;
    Ok(ChatEvent {
        id,
        ty: event.ty,
        conversation_id: event.conversation_id,
        sequence: sequence as u64,
        time,
        data: event.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Synchronous;
    use crate::connector::EventType;
    use crate::store::sqlite::SqliteStore;
    use serde_json::json;

    #[tokio::test]
    async fn sequences_count_per_conversation_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = SqliteStore::open(&path, Synchronous::Full, 8, "t").unwrap();
        let ev = |c: &str| NewEvent {
            ty: EventType::MessageReceived,
            conversation_id: c.into(),
            data: json!({}),
        };
        let (a1, b1, a2) = store
            .write(move |c| {
                Ok((
                    append(c, ev("a"))?,
                    append(c, ev("b"))?,
                    append(c, ev("a"))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!((a1.sequence, b1.sequence, a2.sequence), (1, 1, 2));
        assert_ne!(a1.id, a2.id);
        drop(store);
        let store = SqliteStore::open(&path, Synchronous::Full, 8, "t").unwrap();
        let a3 = store.write(move |c| append(c, ev("a"))).await.unwrap();
        assert_eq!(a3.sequence, 3);
    }
}
