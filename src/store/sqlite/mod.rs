//! The SQLite store: one file in WAL mode, schema migrations embedded in the binary and
//! applied at start, one writer thread with group commit ([`writer`]) and a few reader
//! connections that never wait for the writer (WAL lets readers run beside it).
//!
//! The store's operations live beside the schema they touch: `consent` holds the
//! suppression list ([`crate::consent::SuppressionList`] on [`SqliteStore`]);
//! `messages`, `conversations`, `inbound` and `media` implement [`crate::store::Store`] and
//! [`crate::text::PendingParts`].

mod consent;
mod conversations;
mod inbound;
mod media;
mod messages;
mod operations;
pub mod outbox;
mod receipts;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use tokio::sync::{mpsc, oneshot};

pub use writer::{BATCH_SIZE, COMMIT_SECONDS, COMMITS_TOTAL, describe};

use super::StoreError;
use crate::config::Synchronous;
use writer::{Job, WriteHealth, WriteJob};

/// Schema migrations, applied in order; the index + 1 is the schema version.
/// Never edit a released migration: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the instance that owns this file, so a copied database is recognisable.
    "CREATE TABLE instance (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );",
    // 2: the suppression list (see `consent`). `scope` is a sender address or
    // `brand:NAME`; `scope_rank` orders scopes by kind; times are nanoseconds since 1970.
    "CREATE TABLE consent_opt_out (
        contact TEXT NOT NULL,
        scope_rank INTEGER NOT NULL,
        scope TEXT NOT NULL,
        keyword TEXT,
        source TEXT NOT NULL,
        at_unix_ns INTEGER NOT NULL,
        PRIMARY KEY (contact, scope_rank, scope)
    ) WITHOUT ROWID;
    CREATE INDEX consent_opt_out_by_scope ON consent_opt_out (scope_rank, scope, contact);",
    // 3: the event outbox. `position` orders all events; `sequence` numbers the events of
    // one conversation (`event_sequence` holds the last one given); delivery state lives
    // beside each event so the connector can resume after a restart.
    "CREATE TABLE outbox (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        type TEXT NOT NULL,
        time TEXT NOT NULL,
        data TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_unix_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_unix_ms INTEGER NOT NULL,
        UNIQUE (conversation_id, sequence)
    );
    CREATE TABLE event_sequence (
        conversation_id TEXT PRIMARY KEY,
        last INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 4: outbox delivery. `head` marks the lowest undelivered sequence of each
    // conversation, the only event of it that may be sent (order per conversation);
    // `outbox_due` finds the heads that are due without scanning a backlog. Events too
    // old to deliver move to `outbox_dead` until an operator replays them.
    "ALTER TABLE outbox ADD COLUMN head INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET head = 1 WHERE sequence =
        (SELECT min(p.sequence) FROM outbox p WHERE p.conversation_id = outbox.conversation_id);
    CREATE INDEX outbox_due ON outbox (next_attempt_unix_ms) WHERE head = 1;
    CREATE TABLE outbox_dead (
        event_id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        type TEXT NOT NULL,
        time TEXT NOT NULL,
        data TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT,
        created_unix_ms INTEGER NOT NULL,
        dead_unix_ms INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 5: conversations, messages and their segments, idempotency keys, MO parts awaiting
    // reassembly, MO dedup keys and receipts not matched yet (see `messages`,
    // `conversations`, `inbound`). Times are milliseconds since 1970. At most one open
    // conversation per (contact, sender).
    "CREATE TABLE conversation (
        id TEXT PRIMARY KEY,
        contact TEXT NOT NULL,
        sender TEXT NOT NULL,
        previous_id TEXT,
        started_unix_ms INTEGER NOT NULL,
        closed_unix_ms INTEGER
    );
    CREATE UNIQUE INDEX conversation_open ON conversation (contact, sender)
        WHERE closed_unix_ms IS NULL;
    CREATE INDEX conversation_by_contact ON conversation (contact, started_unix_ms);
    CREATE TABLE message (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversation (id),
        direction TEXT NOT NULL,
        from_addr TEXT NOT NULL,
        to_addr TEXT NOT NULL,
        text TEXT NOT NULL,
        encoding TEXT NOT NULL,
        segments INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        reason_message TEXT,
        route TEXT,
        reference INTEGER,
        validity_deadline_unix_ms INTEGER,
        next_attempt_unix_ms INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        incomplete INTEGER NOT NULL DEFAULT 0,
        missing TEXT,
        created_unix_ms INTEGER NOT NULL,
        updated_unix_ms INTEGER NOT NULL
    );
    CREATE INDEX message_by_conversation ON message (conversation_id, id);
    CREATE INDEX message_due ON message (next_attempt_unix_ms) WHERE status = 'accepted';
    CREATE TABLE segment (
        message_id TEXT NOT NULL REFERENCES message (id),
        idx INTEGER NOT NULL,
        state TEXT NOT NULL,
        carrier TEXT,
        carrier_message_id TEXT,
        updated_unix_ms INTEGER NOT NULL,
        PRIMARY KEY (message_id, idx)
    ) WITHOUT ROWID;
    CREATE INDEX segment_by_carrier_id ON segment (carrier, carrier_message_id);
    CREATE TABLE idempotency_key (
        key TEXT PRIMARY KEY,
        response TEXT NOT NULL,
        created_unix_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE mo_pending_part (
        part_key TEXT NOT NULL,
        seqnum INTEGER NOT NULL,
        part TEXT NOT NULL,
        created_unix_ms INTEGER NOT NULL,
        PRIMARY KEY (part_key, seqnum)
    ) WITHOUT ROWID;
    CREATE TABLE mo_seen (
        key TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        seen_unix_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE unmatched_receipt (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        carrier TEXT NOT NULL,
        source TEXT NOT NULL,
        destination TEXT NOT NULL,
        short_message BLOB NOT NULL,
        receipted_message_id TEXT,
        received_unix_ms INTEGER NOT NULL
    );",
    // 6: receipts matched to segments (see `receipts`). `segment_key` indexes each
    // segment's carrier id under the readings of it receipts may use (`receipts::index_keys`);
    // `receipt_state` is the segment's state as receipts tell it (JSON). Receipts that
    // arrive before their id is recorded wait in `parked_receipt`, found by the same keys.
    "CREATE TABLE segment_key (
        carrier TEXT NOT NULL,
        key TEXT NOT NULL,
        message_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        PRIMARY KEY (carrier, key, message_id, idx)
    ) WITHOUT ROWID;
    CREATE INDEX segment_key_by_message ON segment_key (message_id);
    ALTER TABLE segment ADD COLUMN receipt_state TEXT;
    CREATE TABLE parked_receipt (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        carrier TEXT NOT NULL,
        ids TEXT NOT NULL,
        format TEXT NOT NULL,
        message_state INTEGER NOT NULL,
        intermediate INTEGER NOT NULL,
        reason TEXT,
        received_unix_ms INTEGER NOT NULL
    );
    CREATE INDEX parked_receipt_by_age ON parked_receipt (received_unix_ms);
    CREATE TABLE parked_receipt_key (
        carrier TEXT NOT NULL,
        key TEXT NOT NULL,
        receipt INTEGER NOT NULL REFERENCES parked_receipt (id) ON DELETE CASCADE,
        PRIMARY KEY (carrier, key, receipt)
    ) WITHOUT ROWID;",
    // 7: an idempotency key remembers the SHA-256 of the request it answered, so the same
    // key with another request is refused (NULL for keys recorded before: compared with
    // nothing). A pending MO part handed out for reassembly stays, `taken`, until the MO
    // made of it is stored (see `inbound`).
    "ALTER TABLE idempotency_key ADD COLUMN request_sha256 TEXT;
    ALTER TABLE mo_pending_part ADD COLUMN taken INTEGER NOT NULL DEFAULT 0;",
    // 8: MT MMS. `media` is the attachment list the core gave (JSON: url, content_type,
    // filename), NULL for SMS. An MMS has one segment; its carrier_message_id is the
    // MMSC's MM7 MessageID, indexed like any carrier id so DeliveryReportReq finds it.
    "ALTER TABLE message ADD COLUMN media TEXT;",
    // 9: the files a message has in the media store (see `media`), in message order:
    // an MO MMS's accepted parts, an MT's attachments when kept there. The media purge
    // deletes a file once no row names it. `media_record` holds when this record began:
    // files written before may belong to messages stored without rows, and are left.
    "CREATE TABLE message_media (
        message_id TEXT NOT NULL REFERENCES message (id),
        idx INTEGER NOT NULL,
        hash TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        filename TEXT,
        PRIMARY KEY (message_id, idx)
    ) WITHOUT ROWID;
    CREATE INDEX message_media_by_hash ON message_media (hash);
    CREATE TABLE media_record (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        since_unix_ms INTEGER NOT NULL
    );
    INSERT INTO media_record (id, since_unix_ms)
        VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));",
    // 10: single-part MO dedup keys become digests of what they described
    // (`model::single_dedup_key`; `single_dedup_key()` is the same function, registered
    // for the migration), so a redelivery of an MO stored before the upgrade is still
    // recognised. A digest key has no second colon.
    "UPDATE OR REPLACE mo_seen SET key = single_dedup_key(key) WHERE key GLOB 'single:*:*';",
    // 11: a single-part MO's dedup key is kept as a 64-bit digest (`dedup_digest()`,
    // registered for the migration: `inbound::dedup_digest`) in its message row and in
    // the conversation's message index, and a redelivery is looked for among the
    // conversation's messages of the window (`inbound::stored_again`) instead of in
    // `mo_seen`, which keeps the keys of MO parts and MMS. The keys recorded so far move
    // to their messages, so a redelivery after the upgrade is still recognised.
    "ALTER TABLE message ADD COLUMN dedup INTEGER;
    DROP INDEX message_by_conversation;
    CREATE INDEX message_by_conversation ON message (conversation_id, id, dedup);
    UPDATE message SET dedup = (SELECT dedup_digest(s.key) FROM mo_seen s
                                WHERE s.message_id = message.id AND s.key GLOB 'single:*' LIMIT 1)
        WHERE id IN (SELECT message_id FROM mo_seen WHERE key GLOB 'single:*');
    DELETE FROM mo_seen WHERE key GLOB 'single:*';",
    // 12: receipts find segments through `segment_key` (migration 6); the index of
    // segments by carrier id had no reader left, and every recorded submit moved an entry
    // in it.
    "DROP INDEX IF EXISTS segment_by_carrier_id;",
    // 13: the outbox's `position` without AUTOINCREMENT: a new row still takes one more
    // than the largest present, which is all the ordering of pending events needs, and
    // no insert has to update `sqlite_sequence` besides (three per MT). Without the
    // index of event ids either: the delivery task names an event back by its position
    // (and checks the id in the row), and every id is a fresh UUIDv7. Each event had
    // an entry in it inserted and deleted. The rows keep their positions.
    "CREATE TABLE outbox_next (
        position INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        type TEXT NOT NULL,
        time TEXT NOT NULL,
        data TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_unix_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_unix_ms INTEGER NOT NULL,
        head INTEGER NOT NULL DEFAULT 0,
        UNIQUE (conversation_id, sequence)
    );
    INSERT INTO outbox_next (position, event_id, conversation_id, sequence, type, time, data,
                             attempts, next_attempt_unix_ms, last_error, created_unix_ms, head)
        SELECT position, event_id, conversation_id, sequence, type, time, data,
               attempts, next_attempt_unix_ms, last_error, created_unix_ms, head
        FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_next RENAME TO outbox;
    CREATE INDEX outbox_due ON outbox (next_attempt_unix_ms) WHERE head = 1;
    DELETE FROM sqlite_sequence WHERE name = 'outbox';",
    // 14: a segment the carrier never answered (resent once, or failed as
    // `unknown_outcome`) is marked, so an operator can tell which message may have
    // reached the handset twice, or not at all.
    "ALTER TABLE segment ADD COLUMN unknown_outcome INTEGER NOT NULL DEFAULT 0;",
];

/// The writer's page cache, in KiB (SQLite's default is 2 000). Every write looks up
/// an index at a random place (the MO dedup keys, a conversation's messages and
/// events); with the default the writer read such pages from the file again and again
/// (4 % of the gateway's CPU in a long MO run, 1.5 % with 8 MiB). Kept at 4 MiB when
/// the gateway's peak RSS in the MT load run was near 90 MB; it is about 52 MB since
/// the process keeps to 4 KiB pages (`main.rs`), which leaves room for more.
const WRITER_CACHE_KIB: i64 = 4 * 1024;

/// A reader's page cache, in KiB. A commit by the writer makes every reader drop its
/// cache at its next read, and the writer commits many times a second: more would only
/// hold pages no read uses again, at the cost of memory.
const READER_CACHE_KIB: i64 = 512;

/// How many reader connections serve queries.
const READERS: usize = 4;

/// Requests that may wait for the writer; callers beyond wait for room (backpressure).
const WRITE_QUEUE_PER_BATCH: usize = 4;

/// How often the checkpointer thread copies the WAL back into the database file until
/// [`SqliteStore::set_checkpoint_interval`] says otherwise (`[store] checkpoint_interval`).
const CHECKPOINT_EVERY_MS: u64 = 200;

/// WAL pages after which the writer checkpoints by itself, should the checkpointer fall
/// behind (SQLite's default is 1000; each page is 4 KiB).
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// How often, at most, a store that refuses writes tries a write of its own to learn
/// whether space came back (see [`SqliteStore::ping`]).
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// An open SQLite store; cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writes: mpsc::Sender<Box<dyn Job>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Dropped with the store, which stops the checkpointer thread.
    _checkpoints: std::sync::mpsc::Sender<()>,
    /// The checkpointer's interval in milliseconds.
    checkpoint_every_ms: Arc<std::sync::atomic::AtomicU64>,
    /// The writer's wait for more requests before a small batch, in microseconds.
    commit_delay_us: Arc<std::sync::atomic::AtomicU64>,
    /// Whether the writer's last commit went through.
    health: Arc<WriteHealth>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, sets WAL mode and the
    /// synchronous level, applies pending migrations and starts the writer thread.
    /// Blocking: call it from `spawn_blocking` in async code.
    pub fn open(
        path: &Path,
        sync: Synchronous,
        batch_max: usize,
        instance: &str,
    ) -> Result<Self, StoreError> {
        let open_err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_path_buf(),
            source: e,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(Box::new(e)))?;
        }
        let mut conn = connect(path, sync).map_err(|e| open_err(Box::new(e)))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(
                format!("the file system does not support WAL mode (got {mode})").into(),
            ));
        }
        migrate(&mut conn)?;
        conn.execute(
            "INSERT OR IGNORE INTO instance (id, name) VALUES (1, ?1)",
            [instance],
        )?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = connect(path, sync)?;
                reader.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
                Ok::<_, rusqlite::Error>(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (writes, rx) = mpsc::channel(batch_max.saturating_mul(WRITE_QUEUE_PER_BATCH));
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        let checkpointer = connect(path, sync)?;
        // A checkpoint copies frames without going through the page cache.
        checkpointer.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
        let (checkpoints, stop) = std::sync::mpsc::channel();
        let checkpoint_every_ms = Arc::new(std::sync::atomic::AtomicU64::new(CHECKPOINT_EVERY_MS));
        let every = checkpoint_every_ms.clone();
        let commit_delay_us = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let delay = commit_delay_us.clone();
        let health = Arc::new(WriteHealth::default());
        let writer_health = health.clone();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                writer::run(conn, rx, batch_max, &delay, &writer_health);
            })
            .map_err(|e| open_err(Box::new(e)))?;
        std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || checkpoint_until_dropped(&checkpointer, &every, &stop))
            .map_err(|e| open_err(Box::new(e)))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writes,
                readers,
                next_reader: AtomicUsize::new(0),
                _checkpoints: checkpoints,
                checkpoint_every_ms,
                commit_delay_us,
                health,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` in the next group commit and answers once that commit is durable.
    /// The primitive the store's operations are built on: SQL stays inside `store`.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(WriteJob::new(work, reply));
        self.inner
            .writes
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?
    }

    /// Limits the database to `bytes` (`None`: no limit but the disk's). Past the limit
    /// a write fails with SQLITE_FULL and its caller is told the store is unavailable;
    /// space returns when the purge frees pages or the limit is raised. A limit below
    /// the current size holds the database at its current size. Answers the limit in
    /// force, in bytes.
    pub async fn set_max_size(&self, bytes: Option<u64>) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let page = page.max(1) as u64;
            // SQLite's own ceiling on max_page_count.
            let ceiling = u64::from(u32::MAX - 1);
            let pages = bytes.map_or(ceiling, |b| (b / page).clamp(1, ceiling));
            let set: i64 =
                conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get(0)
                })?;
            Ok(set.max(0) as u64 * page)
        })
        .await
    }

    /// Runs a point read (an indexed lookup of one row or a few: microseconds from the
    /// page cache) on an idle reader connection, on the calling task's thread: handing
    /// such a read to the blocking pool and back costs more than the read itself. When
    /// every reader is busy it waits on the blocking pool as [`Self::read`] does. Longer
    /// reads (listings, exports) use `read`.
    pub async fn read_point<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let first = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..READERS {
            let conn = match self.inner.readers[(first + i) % READERS].try_lock() {
                Ok(conn) => conn,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => continue,
            };
            return work(&conn);
        }
        self.read(work).await
    }

    /// Runs a query on a reader connection (on the blocking pool).
    pub async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(work))
            .await
            .map_err(|e| StoreError::Unavailable(format!("reader task failed: {e}")))?
    }

    /// Sets how often the WAL is checkpointed beside the writer (from the next round).
    pub fn set_checkpoint_interval(&self, every: std::time::Duration) {
        let ms = (every.as_millis() as u64).max(1);
        self.inner.checkpoint_every_ms.store(ms, Ordering::Relaxed);
    }

    /// Sets how long the writer waits for more requests before committing a small
    /// batch (from the next batch); zero commits at once.
    pub fn set_commit_delay(&self, delay: std::time::Duration) {
        let us = delay.as_micros().min(u128::from(u64::MAX)) as u64;
        self.inner.commit_delay_us.store(us, Ordering::Relaxed);
    }

    fn read_blocking<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let i = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % READERS;
        let conn = self.inner.readers[i]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        work(&conn)
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.read_blocking(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
    }

    /// Checks that the database answers a query and takes writes (for `/readyz`).
    /// Blocking, and quick. While the last commit failed it answers why, and asks the
    /// writer for a small write of its own (once per [`PROBE_EVERY`]), so that the store
    /// is seen to take writes again once space returns even when nothing else writes.
    pub fn ping(&self) -> Result<(), StoreError> {
        if self.inner.writes.is_closed() {
            return Err(StoreError::Unavailable(
                "the store writer has stopped".into(),
            ));
        }
        if let Some(cause) = self.inner.health.refusal() {
            if self.inner.health.probe_due(PROBE_EVERY) {
                self.probe_writes();
            }
            return Err(StoreError::RefusesWrites(cause));
        }
        self.read_blocking(|c| {
            c.query_row("SELECT count(*) FROM instance", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
    }

    /// Why the store refuses writes, or `None` when its last commit went through.
    pub fn writes_refused(&self) -> Option<super::WriteRefusal> {
        self.inner.health.refusal()
    }

    /// Queues a write that changes one page and puts it back: a commit that must
    /// append to the WAL, as every real write does. Never waits: with the queue full,
    /// other writes are being tried anyway.
    fn probe_writes(&self) {
        let (reply, _) = oneshot::channel();
        let probe = WriteJob::new(
            |c: &Connection| {
                // A page whose content ends as it began is still written: SQLite skips
                // only an update that changes nothing, hence two.
                c.execute_batch(
                    "UPDATE instance SET name = name || '~' WHERE id = 1;
                     UPDATE instance SET name = substr(name, 1, length(name) - 1) WHERE id = 1;",
                )?;
                Ok(())
            },
            reply,
        );
        let _ = self.inner.writes.try_send(Box::new(probe));
    }
}

/// Copies the WAL back into the database every `every_ms` on its own connection and
/// thread, until the store is dropped. The writer would otherwise do it
/// inside a commit every 1000 pages (6 % of its time in a long MO run, BENCHMARKS.md),
/// holding up every request of that batch; a passive checkpoint runs beside the
/// writer and the readers without blocking them.
fn checkpoint_until_dropped(
    conn: &Connection,
    every_ms: &std::sync::atomic::AtomicU64,
    stop: &std::sync::mpsc::Receiver<()>,
) {
    use std::sync::mpsc::RecvTimeoutError;
    let every = || std::time::Duration::from_millis(every_ms.load(Ordering::Relaxed));
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(every()) {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
        // On a full disk every round fails: one line per interval, with the count.
        if let Err(e) = done {
            crate::rate_limited!(warn!(
                error = %e,
                "WAL checkpoint failed; the writer checkpoints later"
            ));
        }
    }
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

fn connect(path: &Path, sync: Synchronous) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Query-planner stability: without it SQLite (3.54) marks every `column = ?` of a
    // statement as plan-relevant, and the statement cache's clear_bindings then expires
    // the statement, so each cached statement was parsed and planned again on every
    // use. Plans here never depend on bound values (no ANALYZE statistics).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Every statement of the hot paths stays prepared (rusqlite keeps 16 by default,
    // fewer than one MT's life uses).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let level = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        // temp_store: when a request of a group commit failed, the batch runs again with
        // each request in a savepoint, whose sub-journal (the pages as they were before
        // it) is then kept in memory; in a temporary file it cost a write system call
        // per page a request touched.
        "PRAGMA synchronous={level}; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
    ))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    register_migration_functions(conn)?;
    let known = MIGRATIONS.len() as u32;
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as u32 + 1;
        // Some migrations rewrite a table or rebuild an index: on a large store the
        // first start after an upgrade takes a while, and the log says why (a new,
        // empty store is not worth a line per version).
        if found > 0 {
            tracing::info!(version, "migrating the store's schema");
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .and_then(|_| tx.pragma_update(None, "user_version", version))
            .map_err(|source| StoreError::Migrate { version, source })?;
        tx.commit()
            .map_err(|source| StoreError::Migrate { version, source })?;
    }
    Ok(())
}

/// The SQL functions some migrations call.
fn register_migration_functions(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.create_scalar_function(
        "single_dedup_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(crate::store::model::single_dedup_key(
                &ctx.get::<String>(0)?,
            ))
        },
    )?;
    conn.create_scalar_function(
        "dedup_digest",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(inbound::dedup_digest(&ctx.get::<String>(0)?)),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
