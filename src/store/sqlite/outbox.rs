//! The event outbox: flows append events in the same transaction as the state change
//! they describe, so an event exists exactly when its change does; the connector reads
//! them back and delivers them to the core.
//!
//! Order per conversation: only the lowest undelivered sequence of a conversation (its
//! *head*, flagged in the row) is ever handed out, so event n+1 waits until n is
//! acknowledged, while the heads of different conversations go out in parallel. A
//! partial index over the heads' next attempt times finds what is due without scanning
//! a backlog. Delivered events are deleted (the table holds only what is pending); an
//! event too old to deliver moves to the dead-letter table, from which an operator may
//! replay it.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Row};

use super::SqliteStore;
use crate::connector::{ChatEvent, EventData, EventType, NewEvent, new_id};
use crate::store::StoreError;

/// The most events one read hands out; callers ask for less.
pub const MAX_FETCH: usize = 1_000;
/// The longest `last_error` kept (a core's error page can be large).
const MAX_ERROR_CHARS: usize = 500;

/// An event waiting in the outbox, with its delivery record.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    pub event: ChatEvent,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// When the event entered the outbox (milliseconds since 1970).
    pub created_unix_ms: i64,
    /// Its row in the outbox.
    pub position: i64,
}

impl PendingEvent {
    /// How its delivery's outcome names it back to the outbox.
    pub fn key(&self) -> PendingKey {
        PendingKey {
            position: self.position,
            event_id: self.event.id.clone(),
            conversation_id: self.event.conversation_id.clone(),
        }
    }
}

/// A pending event as the delivery task names it back: its row, found directly, and
/// its id, which the row must still carry; and its conversation, whose next event
/// becomes the head once it is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingKey {
    pub position: i64,
    pub event_id: String,
    pub conversation_id: String,
}

/// An event that could not be delivered before its maximum age.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub event: ChatEvent,
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_unix_ms: i64,
    /// When it was moved to the dead letters (milliseconds since 1970).
    pub dead_unix_ms: i64,
}

/// Milliseconds since 1970, now.
pub fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Appends `event` inside the caller's write (call it from a store operation's
/// `SqliteStore::write` closure). Gives the event its id, time and the next sequence
/// number of its conversation.
pub fn append(conn: &Connection, event: NewEvent) -> Result<ChatEvent, StoreError> {
    let sequence = next_sequence(conn, &event.conversation_id)?;
    let id = new_id();
    let data = EventData::of(&event.data);
    let now = SystemTime::now();
    let time = humantime::format_rfc3339_millis(now).to_string();
    let created = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    // The first pending event of its conversation is its head.
    conn.prepare_cached("INSERT INTO outbox (event_id, conversation_id, sequence, type, time, data, created_unix_ms, head)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,
                 NOT EXISTS (SELECT 1 FROM outbox WHERE conversation_id = ?2))")?.execute((
            &id,
            &event.conversation_id,
            sequence,
            event.ty.as_str(),
            &time,
            data.json(),
            created,
        ),
    )?;
    Ok(ChatEvent {
        id,
        ty: event.ty,
        conversation_id: event.conversation_id,
        sequence: sequence as u64,
        time,
        data,
    })
}

/// Takes the next sequence number of `conversation_id`: a point read, then an update
/// (or the first row). Not one upsert with `RETURNING`: SQLite gathers returned rows in a
/// temporary B-tree it creates and drops for every statement, and the upsert also opened
/// a statement journal; together half of the numbering's cost, which was more than the
/// event's own insert (the writer runs this three times per MT). The writer is the
/// store's only writing connection, so nothing runs between the read and the write.
fn next_sequence(conn: &Connection, conversation_id: &str) -> Result<i64, StoreError> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT last FROM event_sequence WHERE conversation_id = ?1")?
        .query_row([conversation_id], |r| r.get(0))
        .optional()?;
    let next = match last {
        Some(last) => {
            conn.prepare_cached("UPDATE event_sequence SET last = ?2 WHERE conversation_id = ?1")?
                .execute((conversation_id, last + 1))?;
            last + 1
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO event_sequence (conversation_id, last) VALUES (?1, 1)",
            )?
            .execute([conversation_id])?;
            1
        }
    };
    Ok(next)
}

/// The columns [`event_row`] reads, in order (the outbox's and the dead letters').
const EVENT_COLUMNS: &str =
    "event_id, conversation_id, sequence, type, time, data, attempts, created_unix_ms";
/// The columns [`pending_row`] reads, in order.
const PENDING_COLUMNS: &str =
    "event_id, conversation_id, sequence, type, time, data, attempts, created_unix_ms, position";

/// The due heads: for each conversation whose lowest undelivered event may be tried at
/// `now_ms`, that event, and whether later events of its conversation may be pending;
/// earliest due first, at most `limit` (capped at [`MAX_FETCH`]).
pub fn due_heads(
    conn: &Connection,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<(PendingEvent, bool)>, StoreError> {
    // The conversation's last sequence number tells whether any event came after the
    // head: usually none did, and the query for followers is then left out.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PENDING_COLUMNS},
            (SELECT last FROM event_sequence s WHERE s.conversation_id = outbox.conversation_id)
         FROM outbox
         WHERE head = 1 AND next_attempt_unix_ms <= ?1
         ORDER BY next_attempt_unix_ms, position LIMIT ?2"
    ))?;
    let rows = stmt.query_map((now_ms, limit.min(MAX_FETCH) as i64), |r| {
        let head = pending_row(r)?;
        let last: Option<i64> = r.get(9)?;
        let followed = last.is_none_or(|last| last as u64 > head.event.sequence);
        Ok((head, followed))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The events of `conversation_id` after `sequence`, in order, at most `limit`: what
/// may follow its head in one ordered batch.
pub fn followers(
    conn: &Connection,
    conversation_id: &str,
    sequence: u64,
    limit: usize,
) -> Result<Vec<PendingEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PENDING_COLUMNS} FROM outbox
         WHERE conversation_id = ?1 AND sequence > ?2
         ORDER BY sequence LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        (
            conversation_id,
            sequence as i64,
            limit.min(MAX_FETCH) as i64,
        ),
        pending_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next head becomes due (milliseconds since 1970), if any event is pending.
pub fn next_due(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT min(next_attempt_unix_ms) FROM outbox WHERE head = 1")?
        .query_row([], |r| r.get(0))?)
}

/// How many events wait in the outbox.
pub fn depth(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM outbox")?
        .query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// Removes acknowledged events; each conversation that lost one gets its lowest
/// pending event as head. Returns how many were still pending.
pub fn delivered(conn: &Connection, events: &[PendingKey]) -> Result<usize, StoreError> {
    let mut removed = 0;
    // Promoted once each, after the deletes: a delivery that acknowledges a run of one
    // conversation would otherwise promote every event of the run in turn. Every
    // conversation that lost an event is promoted, head or not: a delivery always
    // starts with its conversation's head, and promoting sets the flag on the event
    // that is already the lowest. That spares a read of each row before its delete
    // (three per MT), and no `DELETE .. RETURNING` either (see `next_sequence`).
    let mut touched = std::collections::HashSet::new();
    let mut delete =
        conn.prepare_cached("DELETE FROM outbox WHERE position = ?1 AND event_id = ?2")?;
    for key in events {
        if delete.execute((key.position, &key.event_id))? == 1 {
            removed += 1;
            touched.insert(key.conversation_id.as_str());
        }
    }
    for conversation in touched {
        promote_head(conn, conversation)?;
    }
    Ok(removed)
}

/// Records a failed attempt for each event: one more attempt, the error, and when the
/// next attempt may start.
pub fn failed(
    conn: &Connection,
    events: &[PendingKey],
    error: &str,
    next_attempt_unix_ms: i64,
) -> Result<(), StoreError> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let mut stmt = conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?3, next_attempt_unix_ms = ?4
         WHERE position = ?1 AND event_id = ?2",
    )?;
    for key in events {
        stmt.execute((key.position, &key.event_id, &error, next_attempt_unix_ms))?;
    }
    Ok(())
}

/// Moves a pending event to the dead letters; its conversation's next event becomes
/// the head. False when the event is no longer pending.
pub fn dead_letter(conn: &Connection, event: &PendingKey, now_ms: i64) -> Result<bool, StoreError> {
    let moved = conn
        .prepare_cached(
            "INSERT INTO outbox_dead (event_id, conversation_id, sequence, type, time, data,
                                  attempts, last_error, created_unix_ms, dead_unix_ms)
         SELECT event_id, conversation_id, sequence, type, time, data,
                attempts, last_error, created_unix_ms, ?3
         FROM outbox WHERE position = ?1 AND event_id = ?2",
        )?
        .execute((event.position, &event.event_id, now_ms))?;
    if moved == 0 {
        return Ok(false);
    }
    delivered(conn, std::slice::from_ref(event))?;
    Ok(true)
}

/// One page of dead letters in event-id order (event ids are time-ordered), starting
/// after `after`; at most `limit` (capped at [`MAX_FETCH`]).
pub fn dead_letters(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<DeadLetter>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS}, last_error, dead_unix_ms FROM outbox_dead
         WHERE event_id > ?1 ORDER BY event_id LIMIT ?2"
    ))?;
    let rows = stmt.query_map((after.unwrap_or(""), limit.min(MAX_FETCH) as i64), |r| {
        let (event, attempts, created_unix_ms) = event_row(r)?;
        Ok(DeadLetter {
            event,
            attempts,
            last_error: r.get(8)?,
            created_unix_ms,
            dead_unix_ms: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Puts a dead letter back in the outbox, due now, with a fresh age and no attempts
/// (its id and sequence are kept, so the core can still de-duplicate and order it). It
/// goes before the later events of its conversation. False when there is no such dead
/// letter.
pub fn replay(conn: &Connection, event_id: &str) -> Result<bool, StoreError> {
    let back: Option<String> = conn
        .prepare_cached(
            "INSERT INTO outbox (event_id, conversation_id, sequence, type, time, data,
                                 created_unix_ms, head)
             SELECT event_id, conversation_id, sequence, type, time, data, ?2, 0
             FROM outbox_dead WHERE event_id = ?1
             RETURNING conversation_id",
        )?
        .query_row((event_id, now_unix_ms()), |r| r.get(0))
        .optional()?;
    let Some(conversation) = back else {
        return Ok(false);
    };
    conn.prepare_cached("DELETE FROM outbox_dead WHERE event_id = ?1")?
        .execute([event_id])?;
    conn.prepare_cached("UPDATE outbox SET head = 0 WHERE conversation_id = ?1 AND head = 1")?
        .execute([&conversation])?;
    promote_head(conn, &conversation)?;
    Ok(true)
}

/// Flags the lowest pending sequence of `conversation_id` as its head (no write when
/// it already is).
fn promote_head(conn: &Connection, conversation_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET head = 1 WHERE head = 0 AND position =
            (SELECT position FROM outbox WHERE conversation_id = ?1 ORDER BY sequence LIMIT 1)",
    )?
    .execute([conversation_id])?;
    Ok(())
}

/// A row read with [`PENDING_COLUMNS`].
fn pending_row(r: &Row<'_>) -> rusqlite::Result<PendingEvent> {
    let (event, attempts, created_unix_ms) = event_row(r)?;
    Ok(PendingEvent {
        event,
        attempts,
        created_unix_ms,
        position: r.get(8)?,
    })
}

/// The event, its failed attempts and when it was created, from a row read with
/// [`EVENT_COLUMNS`] first.
fn event_row(r: &Row<'_>) -> rusqlite::Result<(ChatEvent, u32, i64)> {
    let ty: String = r.get(3)?;
    let ty = EventType::parse(&ty).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown event type {ty:?}").into(),
        )
    })?;
    let data = EventData::from_json(r.get(5)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let event = ChatEvent {
        id: r.get(0)?,
        ty,
        conversation_id: r.get(1)?,
        sequence: r.get::<_, i64>(2)? as u64,
        time: r.get(4)?,
        data,
    };
    Ok((event, r.get::<_, i64>(6)? as u32, r.get(7)?))
}

/// The outbox's operations for the connector and the admin API, on the store's reader
/// connections and writer.
impl SqliteStore {
    /// Due heads (see [`due_heads`]) of conversations not in `skip`, each followed by
    /// up to `follow` later events of its conversation in order: at most `limit` events
    /// in all, heads first (every due conversation gets its turn before any gets a
    /// second event).
    pub async fn outbox_due(
        &self,
        now_ms: i64,
        limit: usize,
        follow: usize,
        skip: std::collections::HashSet<String>,
    ) -> Result<Vec<Vec<PendingEvent>>, StoreError> {
        self.read(move |c| {
            let limit = limit.min(MAX_FETCH);
            let heads: Vec<_> = due_heads(c, now_ms, limit + skip.len())?
                .into_iter()
                .filter(|(h, _)| !skip.contains(&h.event.conversation_id))
                .take(limit)
                .collect();
            let mut total = heads.len();
            let mut runs = Vec::with_capacity(heads.len());
            for (head, followed) in heads {
                let room = follow.min(limit - total);
                let more = if followed && room > 0 {
                    followers(c, &head.event.conversation_id, head.event.sequence, room)?
                } else {
                    Vec::new()
                };
                total += more.len();
                let mut run = vec![head];
                run.extend(more);
                runs.push(run);
            }
            Ok(runs)
        })
        .await
    }

    /// When the next head is due (milliseconds since 1970); `None` when nothing is
    /// pending.
    pub async fn outbox_next_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(next_due).await
    }

    /// How many events are pending.
    pub async fn outbox_depth(&self) -> Result<u64, StoreError> {
        self.read(depth).await
    }

    /// See [`delivered`].
    pub async fn outbox_delivered(&self, events: Vec<PendingKey>) -> Result<usize, StoreError> {
        self.write(move |c| delivered(c, &events)).await
    }

    /// See [`failed`].
    pub async fn outbox_failed(
        &self,
        events: Vec<PendingKey>,
        error: String,
        next_attempt_unix_ms: i64,
    ) -> Result<(), StoreError> {
        self.write(move |c| failed(c, &events, &error, next_attempt_unix_ms))
            .await
    }

    /// See [`dead_letter`].
    pub async fn outbox_dead_letter(&self, event: PendingKey) -> Result<bool, StoreError> {
        self.write(move |c| dead_letter(c, &event, now_unix_ms()))
            .await
    }

    /// See [`dead_letters`].
    pub async fn dead_letters(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        self.read(move |c| dead_letters(c, after.as_deref(), limit))
            .await
    }

    /// See [`replay`].
    pub async fn replay_dead_letter(&self, event_id: String) -> Result<bool, StoreError> {
        self.write(move |c| replay(c, &event_id)).await
    }
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

    fn ids(runs: &[Vec<PendingEvent>]) -> Vec<Vec<(String, u64)>> {
        runs.iter()
            .map(|r| {
                r.iter()
                    .map(|p| (p.event.conversation_id.clone(), p.event.sequence))
                    .collect()
            })
            .collect()
    }

    /// Four events appended (a1, b1, a2, a3), and their keys in the same order.
    async fn filled() -> (
        tempfile::TempDir,
        SqliteStore,
        Vec<ChatEvent>,
        Vec<PendingKey>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db"), Synchronous::Full, 8, "t").unwrap();
        let events = store
            .write(|c| {
                ["a", "b", "a", "a"]
                    .into_iter()
                    .map(|conv| {
                        append(
                            c,
                            NewEvent {
                                ty: EventType::MessageReceived,
                                conversation_id: conv.into(),
                                data: json!({"n": 1}),
                            },
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .unwrap();
        let keys = store
            .read(|c| {
                let mut stmt = c.prepare(
                    "SELECT position, event_id, conversation_id FROM outbox ORDER BY position",
                )?;
                let rows = stmt.query_map([], |r| {
                    Ok(PendingKey {
                        position: r.get(0)?,
                        event_id: r.get(1)?,
                        conversation_id: r.get(2)?,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
            .unwrap();
        let ids: Vec<&str> = keys.iter().map(|k| k.event_id.as_str()).collect();
        assert_eq!(
            ids,
            events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>()
        );
        (dir, store, events, keys)
    }

    #[tokio::test]
    async fn only_the_head_of_each_conversation_is_due_until_acknowledged() {
        let (_dir, store, _, keys) = filled().await;
        let now = now_unix_ms();
        let runs = store
            .outbox_due(now, 10, 0, Default::default())
            .await
            .unwrap();
        assert_eq!(ids(&runs), [vec![("a".into(), 1)], vec![("b".into(), 1)]]);
        let with_followers = store
            .outbox_due(now, 10, 5, Default::default())
            .await
            .unwrap();
        assert_eq!(
            ids(&with_followers)[0],
            [("a".into(), 1), ("a".into(), 2), ("a".into(), 3)]
        );
        store.outbox_delivered(vec![keys[0].clone()]).await.unwrap();
        let runs = store
            .outbox_due(now, 10, 0, Default::default())
            .await
            .unwrap();
        assert_eq!(ids(&runs), [vec![("b".into(), 1)], vec![("a".into(), 2)]]);
        assert_eq!(store.outbox_depth().await.unwrap(), 3);
        let skip = ["b".to_string()].into_iter().collect();
        let runs = store.outbox_due(now, 2, 5, skip).await.unwrap();
        assert_eq!(ids(&runs), [vec![("a".into(), 2), ("a".into(), 3)]]);
    }

    #[tokio::test]
    async fn a_run_acknowledged_at_once_leaves_the_next_event_as_the_only_head() {
        let (_dir, store, _, keys) = filled().await;
        let now = now_unix_ms();
        // a1 and a2 in one delivery, with b1 from another.
        let acknowledged = [0, 2, 1].map(|i| keys[i].clone()).to_vec();
        assert_eq!(store.outbox_delivered(acknowledged).await.unwrap(), 3);
        let runs = store
            .outbox_due(now, 10, 5, Default::default())
            .await
            .unwrap();
        assert_eq!(ids(&runs), [vec![("a".into(), 3)]]);
        let heads: i64 = store
            .read(|c| Ok(c.query_row("SELECT sum(head) FROM outbox", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(heads, 1);
    }

    #[tokio::test]
    async fn a_failed_head_waits_for_its_next_attempt_and_keeps_its_followers_back() {
        let (_dir, store, _, keys) = filled().await;
        let now = now_unix_ms();
        store
            .outbox_failed(vec![keys[0].clone()], "503".into(), now + 60_000)
            .await
            .unwrap();
        let runs = store
            .outbox_due(now, 10, 0, Default::default())
            .await
            .unwrap();
        assert_eq!(ids(&runs), [vec![("b".into(), 1)]]);
        let runs = store
            .outbox_due(now + 60_000, 10, 0, Default::default())
            .await
            .unwrap();
        assert_eq!(ids(&runs), [vec![("b".into(), 1)], vec![("a".into(), 1)]]);
        assert_eq!(runs[1][0].attempts, 1);
        assert_eq!(store.outbox_next_due().await.unwrap(), Some(0));
    }

    #[tokio::test]
    async fn dead_letters_are_listed_in_pages_and_replayed_before_their_followers() {
        let (_dir, store, events, keys) = filled().await;
        store
            .outbox_failed(vec![keys[0].clone()], "timeout".into(), 0)
            .await
            .unwrap();
        assert!(store.outbox_dead_letter(keys[0].clone()).await.unwrap());
        assert!(store.outbox_dead_letter(keys[1].clone()).await.unwrap());
        assert!(!store.outbox_dead_letter(keys[1].clone()).await.unwrap());
        let runs = store
            .outbox_due(now_unix_ms(), 10, 0, Default::default())
            .await
            .unwrap();
        assert_eq!(ids(&runs), [vec![("a".into(), 2)]]);

        let page = store.dead_letters(None, 1).await.unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].event, events[0]);
        assert_eq!(page[0].last_error.as_deref(), Some("timeout"));
        let next = store
            .dead_letters(Some(page[0].event.id.clone()), 10)
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].event.id, events[1].id);

        assert!(
            store
                .replay_dead_letter(events[0].id.clone())
                .await
                .unwrap()
        );
        assert!(
            !store
                .replay_dead_letter(events[0].id.clone())
                .await
                .unwrap()
        );
        let runs = store
            .outbox_due(now_unix_ms(), 10, 0, Default::default())
            .await
            .unwrap();
        assert_eq!(ids(&runs), [vec![("a".into(), 1)]]);
        assert_eq!(runs[0][0].attempts, 0);
        assert_eq!(store.dead_letters(None, 10).await.unwrap().len(), 1);
    }
}
