use super::*;
use crate::store::Store;

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("state/smsbridge.db"), Synchronous::Full, 64, "t").unwrap()
}

/// The conversation a stored message is in (for the tests of the store's modules).
pub(super) async fn conversation_of(store: &SqliteStore, id: &str) -> String {
    store
        .message(id.into())
        .await
        .unwrap()
        .unwrap()
        .conversation_id
}

async fn with_table(store: &SqliteStore) {
    store
        .write(|c| Ok(c.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")?))
        .await
        .unwrap();
}

#[test]
fn opens_migrates_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
    store.ping().unwrap();
    drop(store);
    open(dir.path()).ping().unwrap();
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(SqliteStore::open(&path, Synchronous::Full, 8, "a").unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path, Synchronous::Full, 8, "a")
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
}

#[tokio::test]
async fn an_answered_write_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    with_table(&store).await;
    store
        .write(|c| Ok(c.execute("INSERT INTO t VALUES ('a', 1)", [])?))
        .await
        .unwrap();
    drop(store);
    let again = open(dir.path());
    let v: i64 = again
        .read(|c| Ok(c.query_row("SELECT v FROM t WHERE k = 'a'", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(v, 1);
}

#[tokio::test]
async fn a_failing_request_does_not_undo_its_batch_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    with_table(&store).await;
    let mut pending = Vec::new();
    for i in 0..50 {
        let s = store.clone();
        pending.push(tokio::spawn(async move {
            s.write(move |c| {
                // Every tenth request inserts twice and fails on the primary key after
                // its first row: its savepoint must roll back that row alone.
                c.execute("INSERT INTO t VALUES (?1, ?2)", (format!("k{i}"), i))?;
                if i % 10 == 0 {
                    c.execute("INSERT INTO t VALUES (?1, ?2)", (format!("k{i}"), i))?;
                }
                Ok(i)
            })
            .await
        }));
    }
    let mut failed = 0;
    for p in pending {
        if p.await.unwrap().is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 5);
    let rows: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(rows, 45);
}

/// A store file (in a directory dropped with the first value) with a table `t`, and a
/// connection to it, for driving the writer directly.
fn table_t() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(SqliteStore::open(&path, Synchronous::Full, 8, "a").unwrap());
    let conn = connect(&path, Synchronous::Full).unwrap();
    conn.execute_batch("CREATE TABLE t (k INTEGER)").unwrap();
    (dir, path, conn)
}

/// Queues a write request inserting `i` into `t`; its answer comes on the receiver.
fn send_insert(
    tx: &mpsc::Sender<Box<dyn Job>>,
    i: i64,
) -> oneshot::Receiver<Result<usize, StoreError>> {
    let (reply, answer) = oneshot::channel();
    let job = WriteJob::new(
        move |c: &Connection| Ok(c.execute("INSERT INTO t VALUES (?1)", [i])?),
        reply,
    );
    tx.try_send(Box::new(job)).ok().unwrap();
    answer
}

#[test]
fn queued_requests_share_one_commit() {
    // Requests queued before the writer runs are taken as one batch.
    let (_dir, path, conn) = table_t();
    let (tx, rx) = mpsc::channel::<Box<dyn Job>>(64);
    let mut answers = Vec::new();
    for i in 0..20 {
        answers.push(send_insert(&tx, i));
    }
    drop(tx);
    // batch_max 8: 20 requests make three commits (8 + 8 + 4).
    let no_delay = std::sync::atomic::AtomicU64::new(0);
    let batches = writer::run(
        connect(&path, Synchronous::Full).unwrap(),
        rx,
        8,
        &no_delay,
        &Default::default(),
    );
    assert_eq!(batches, 3);
    for a in answers {
        assert_eq!(a.blocking_recv().unwrap().unwrap(), 1);
    }
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 20);
}

/// Runs one batch of five requests, each inserting its number into `t`, the third then
/// failing with `fail`; the answers and the rows of `t` after it.
fn batch_with_failing_third(
    fail: fn() -> Result<i64, StoreError>,
) -> (Vec<Result<i64, StoreError>>, Vec<i64>) {
    let (_dir, path, conn) = table_t();
    let (tx, rx) = mpsc::channel::<Box<dyn Job>>(64);
    let mut answers = Vec::new();
    for i in 0..5 {
        let (reply, answer) = oneshot::channel();
        let job = WriteJob::new(
            move |c: &Connection| {
                c.execute("INSERT INTO t VALUES (?1)", [i])?;
                if i == 2 {
                    return fail();
                }
                Ok(i)
            },
            reply,
        );
        tx.try_send(Box::new(job)).ok().unwrap();
        answers.push(answer);
    }
    drop(tx);
    let no_delay = std::sync::atomic::AtomicU64::new(0);
    let batches = writer::run(
        connect(&path, Synchronous::Full).unwrap(),
        rx,
        8,
        &no_delay,
        &Default::default(),
    );
    assert_eq!(batches, 1);
    let answers = answers
        .into_iter()
        .map(|a| a.blocking_recv().unwrap())
        .collect();
    let rows = conn
        .prepare("SELECT k FROM t ORDER BY k")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (answers, rows)
}

#[test]
fn a_failed_request_is_undone_alone_when_its_batch_runs_again() {
    // The batch ran without savepoints first, so it runs again with them: every other
    // request's row is there once, the failed one's not at all, and each caller hears
    // its own answer.
    let (answers, rows) =
        batch_with_failing_third(|| Err(StoreError::Invalid("request 2 fails".into())));
    assert!(matches!(answers[2], Err(StoreError::Invalid(_))));
    let ok: Vec<i64> = answers.into_iter().filter_map(Result::ok).collect();
    assert_eq!(ok, [0, 1, 3, 4]);
    assert_eq!(rows, [0, 1, 3, 4]);
}

#[test]
fn a_request_that_panics_is_undone_alone_and_the_writer_goes_on() {
    let (answers, rows) = batch_with_failing_third(|| panic!("request 2 panics"));
    match &answers[2] {
        Err(StoreError::Invalid(why)) => assert!(why.contains("request 2 panics"), "{why}"),
        other => panic!("answer: {other:?}"),
    }
    let ok: Vec<i64> = answers.into_iter().filter_map(Result::ok).collect();
    assert_eq!(ok, [0, 1, 3, 4]);
    assert_eq!(rows, [0, 1, 3, 4]);
}

#[test]
fn a_small_batch_waits_the_commit_delay_for_more_requests() {
    let (_dir, path, _) = table_t();
    let (tx, rx) = mpsc::channel::<Box<dyn Job>>(64);
    // A generous delay: the second request, sent 100 ms after the first, must join it.
    let delay = std::sync::atomic::AtomicU64::new(2_000_000);
    let writer = std::thread::spawn(move || {
        writer::run(
            connect(&path, Synchronous::Full).unwrap(),
            rx,
            8,
            &delay,
            &Default::default(),
        )
    });
    let mut answers = Vec::new();
    for i in 0..2 {
        if i > 0 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        answers.push(send_insert(&tx, i));
    }
    drop(tx);
    for a in answers {
        assert_eq!(a.blocking_recv().unwrap().unwrap(), 1);
    }
    assert_eq!(writer.join().unwrap(), 1, "one commit for both");
}

#[tokio::test]
async fn a_full_store_refuses_writes_until_its_limit_is_raised() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    with_table(&store).await;
    // A limit below the current size holds the file at its current size.
    let held = store.set_max_size(Some(1)).await.unwrap();
    assert!(held > 0);
    let fill = |store: SqliteStore, n: i64| async move {
        store
            .write(move |c| {
                let blob = "x".repeat(64 * 1024);
                Ok(c.execute("INSERT INTO t VALUES (?1, ?2)", rusqlite::params![blob, n])?)
            })
            .await
    };
    store.ping().unwrap();
    let refused = fill(store.clone(), 1).await.unwrap_err();
    assert!(refused.to_string().contains("full"), "{refused}");
    // Not ready while writes are refused, and the readiness answer says why.
    let unready = store.ping().unwrap_err();
    assert_eq!(
        unready.to_string(),
        "store refuses writes: size limit reached"
    );
    // The refused write left the store working: a limit raised takes the write.
    store.set_max_size(None).await.unwrap();
    fill(store.clone(), 2).await.unwrap();
    store.ping().unwrap();
}

#[tokio::test]
async fn a_request_refused_by_the_file_system_marks_the_store_unready() {
    // A request that meets a full disk part-way (SQLite spilling pages) fails alone and
    // the rest of its batch commits; the store still refuses writes.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // SQLITE_FULL, as a statement that needs a new page on a full disk answers.
    let full = || rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(13), None);
    let err = store.write(move |_| Err::<(), _>(full().into())).await;
    assert!(err.is_err());
    assert_eq!(
        store.writes_refused(),
        Some(crate::store::WriteRefusal::DiskFull)
    );
    assert!(store.ping().unwrap_err().to_string().contains("disk full"));
    // A request that is wrong in itself says nothing about the disk.
    store.write(|_| Ok(())).await.unwrap();
    store.ping().unwrap();
    let wrong = store
        .write(|_| Err::<(), _>(StoreError::Invalid("no".into())))
        .await;
    assert!(wrong.is_err());
    store.ping().unwrap();
}

#[tokio::test]
async fn the_checkpointer_copies_committed_pages_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    with_table(&store).await;
    store.set_checkpoint_interval(std::time::Duration::from_millis(10));
    let file = dir.path().join("state/smsbridge.db");
    let before = std::fs::metadata(&file).unwrap().len();
    // About 200 pages: far below the writer's own checkpoint threshold, so only the
    // checkpointer can move them from the WAL into the file.
    store
        .write(|c| {
            let mut insert = c.prepare("INSERT INTO t VALUES (?1, ?2)")?;
            for i in 0..2_000 {
                insert.execute((format!("{i:0>400}"), i))?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::metadata(&file).unwrap().len() < before + 400 * 1024 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file never grew: nothing checkpointed the WAL"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn dedup_keys_recorded_before_digests_still_recognise_a_redelivery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    // A store as migration 9 left it: a stored single-part MO with its key in the long
    // form, and a part key.
    let conn = Connection::open(&path).unwrap();
    for sql in &MIGRATIONS[..9] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 9).unwrap();
    let (contact, sender) = ("+14155550123", "+18005550100");
    let now = crate::store::model::now_ms();
    let stored = crate::connector::new_id();
    conn.execute(
        "INSERT INTO conversation (id, contact, sender, started_unix_ms) VALUES ('c', ?1, ?2, 0)",
        (contact, sender),
    )
    .unwrap();
    conn.execute(
        "INSERT INTO message (id, conversation_id, direction, from_addr, to_addr, text,
            encoding, segments, status, created_unix_ms, updated_unix_ms)
         VALUES (?1, 'c', 'mo', ?2, ?3, 'Hello', 'gsm7', 1, 'received', ?4, ?4)",
        (&stored, contact, sender, now),
    )
    .unwrap();
    let long = "single:sim:14155550123:18005550100:0:48656c6c6f";
    let part = "part:sim:14155550123:18005550100:7:3:1";
    for key in [long, part] {
        conn.execute(
            "INSERT INTO mo_seen (key, message_id, seen_unix_ms) VALUES (?1, ?2, ?3)",
            (key, &stored, now),
        )
        .unwrap();
    }
    drop(conn);

    let store = SqliteStore::open(&path, Synchronous::Full, 8, "t").unwrap();
    let since = now - 60_000;
    let digest = crate::store::model::single_dedup_key(long);
    assert_ne!(digest, long);
    assert!(store.mo_seen(digest.clone(), since).await.unwrap());
    assert!(!store.mo_seen(long.into(), since).await.unwrap());
    assert!(
        store.mo_seen(part.into(), since).await.unwrap(),
        "kept as it was"
    );
    // The carrier delivers the MO again: it is known.
    let again = crate::store::model::NewMo {
        message_id: crate::connector::new_id(),
        contact: contact.into(),
        sender: sender.into(),
        carrier: "sim".into(),
        text: "Hello".into(),
        encoding: "gsm7".into(),
        segments: 1,
        incomplete: false,
        missing: Vec::new(),
        dedup_keys: vec![digest],
        dedup_since: since,
        unknown_destination: false,
        consent: None,
        reply: None,
        pending_parts: None,
    };
    assert_eq!(
        store.store_mo(again).await.unwrap(),
        crate::store::model::MoStored::Duplicate
    );
}

#[tokio::test]
async fn pending_events_keep_their_order_when_the_outbox_loses_autoincrement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    // An outbox as migration 12 left it: two pending events of one conversation, and
    // the largest position ever given (7) already delivered.
    let conn = Connection::open(&path).unwrap();
    register_migration_functions(&conn).unwrap();
    for sql in &MIGRATIONS[..12] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 12).unwrap();
    for (position, id, sequence, head) in [(5, "e5", 1, 1), (6, "e6", 2, 0), (7, "e7", 3, 0)] {
        conn.execute(
            "INSERT INTO outbox (position, event_id, conversation_id, sequence, type, time,
                                 data, created_unix_ms, head)
             VALUES (?1, ?2, 'c', ?3, 'chat.message.status', 't', '{}', 0, ?4)",
            (position, id, sequence, head),
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO event_sequence (conversation_id, last) VALUES ('c', 3)",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM outbox WHERE event_id = 'e7'", [])
        .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path, Synchronous::Full, 8, "t").unwrap();
    let appended = store
        .write(|c| {
            outbox::append(
                c,
                crate::connector::NewEvent {
                    ty: crate::connector::EventType::MessageStatus,
                    conversation_id: "c".into(),
                    data: serde_json::json!({}),
                },
            )
        })
        .await
        .unwrap();
    assert_eq!(appended.sequence, 4);
    let rows: Vec<(i64, String, bool)> = store
        .read(|c| {
            let mut stmt =
                c.prepare("SELECT position, event_id, head FROM outbox ORDER BY position")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (5, "e5".to_string(), true),
            (6, "e6".to_string(), false),
            (7, appended.id.clone(), false),
        ]
    );
    let autoincrement: bool = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT sql LIKE '%AUTOINCREMENT%' FROM sqlite_master WHERE name = 'outbox'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert!(!autoincrement);
}
