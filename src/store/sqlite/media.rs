//! Which messages name which media-store files (`message_media`): recorded in the
//! message's own write, read for the API's views of the message, consulted by the
//! media purge before it deletes a file, and deleted with the message by retention.

use std::collections::HashSet;

use rusqlite::Connection;

use crate::store::StoreError;
use crate::store::model::{MessageMedia, MessageView, StoredMedia, UnixMs};

/// Hashes asked about in one statement at most (SQLite's bound-parameter limit is far
/// above; this keeps each statement small).
const IN_USE_CHUNK: usize = 500;

/// Records `files` as the media of `message_id`, in order.
pub(super) fn record(
    conn: &Connection,
    message_id: &str,
    files: &[StoredMedia],
) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO message_media (message_id, idx, hash, content_type, size, filename)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (idx, file) in files.iter().enumerate() {
        insert.execute((
            message_id,
            idx as i64,
            &file.hash,
            &file.content_type,
            file.size as i64,
            &file.filename,
        ))?;
    }
    Ok(())
}

/// The media-store files of `message_id`, in order.
fn of_message(conn: &Connection, message_id: &str) -> Result<Vec<StoredMedia>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT hash, content_type, size, filename FROM message_media
         WHERE message_id = ?1 ORDER BY idx",
    )?;
    let rows = stmt.query_map([message_id], |r| {
        Ok(StoredMedia {
            hash: r.get(0)?,
            content_type: r.get(1)?,
            size: r.get::<_, i64>(2)?.max(0) as u64,
            filename: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Puts a message's media-store files in its view: they replace the attachment list
/// read from the message row (an MT's URLs as the core gave them), since a kept file
/// is what went out and can be linked to.
pub(super) fn fill_view(conn: &Connection, view: &mut MessageView) -> Result<(), StoreError> {
    let files = of_message(conn, &view.message_id)?;
    if !files.is_empty() {
        view.media = files.into_iter().map(MessageMedia::from).collect();
    }
    Ok(())
}

/// Of `hashes`, those a message still names.
pub(super) fn in_use(conn: &Connection, hashes: &[String]) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    for chunk in hashes.chunks(IN_USE_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT DISTINCT hash FROM message_media WHERE hash IN ({marks})"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(chunk), |r| r.get::<_, String>(0))?;
        for row in rows {
            found.insert(row?);
        }
    }
    Ok(found)
}

/// Since when `message_media` is recorded (the schema version that added it).
pub(super) fn recorded_since(conn: &Connection) -> Result<UnixMs, StoreError> {
    Ok(conn.query_row(
        "SELECT since_unix_ms FROM media_record WHERE id = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Deletes the media records of the messages retention deletes (`purge`'s condition).
pub(super) fn purge(conn: &Connection, before: UnixMs) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM message_media WHERE message_id IN (SELECT id FROM message
            WHERE status <> 'accepted' AND updated_unix_ms < ?1)",
        )?
        .execute([before])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn file(hash: &str) -> StoredMedia {
        StoredMedia {
            hash: hash.into(),
            content_type: "image/png".into(),
            size: 3,
            filename: Some("a.png".into()),
        }
    }

    #[tokio::test]
    async fn records_are_found_by_hash_until_their_message_is_purged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(
            &dir.path().join("s.db"),
            crate::config::Synchronous::Normal,
            8,
            "t",
        )
        .unwrap();
        store
            .write(|c| {
                c.execute_batch(
                    "INSERT INTO conversation (id, contact, sender, started_unix_ms)
                        VALUES ('c', '+1', '+2', 0);
                     INSERT INTO message (id, conversation_id, direction, from_addr, to_addr,
                        text, encoding, segments, status, created_unix_ms, updated_unix_ms)
                     VALUES ('old', 'c', 'mo', '+1', '+2', '', 'mms', 1, 'received', 0, 10),
                            ('new', 'c', 'mo', '+1', '+2', '', 'mms', 1, 'received', 0, 99);",
                )?;
                record(c, "old", &[file("aa"), file("bb")])?;
                record(c, "new", &[file("bb")])
            })
            .await
            .unwrap();
        let asked = vec!["aa".to_owned(), "bb".to_owned(), "cc".to_owned()];
        let q = asked.clone();
        let used = store.read(move |c| in_use(c, &q)).await.unwrap();
        assert_eq!(used, HashSet::from(["aa".into(), "bb".into()]));
        let gone = store.write(|c| purge(c, 50)).await.unwrap();
        assert_eq!(gone, 2);
        let used = store.read(move |c| in_use(c, &asked)).await.unwrap();
        assert_eq!(used, HashSet::from(["bb".into()]));
        assert!(store.read(recorded_since).await.unwrap() > 0);
    }
}
