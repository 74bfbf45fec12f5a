//! The store: everything smsbridge must not lose (messages and their segments,
//! conversations, pending MO parts, unmatched receipts, the consent list, idempotency
//! keys, the event outbox). Flows see only the store's own types, never SQL.
//!
//! Embedded default: [`sqlite::SqliteStore`], one WAL-mode file under the state
//! directory, with group commit. The pipeline issue adds the `Store` trait and its
//! operations.

pub mod sqlite;

/// Why the store cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory or database file cannot be created or opened.
    #[error("cannot open the store at {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A migration failed; the database is left at its previous version.
    #[error("cannot migrate the store to schema version {version}: {source}")]
    Migrate {
        version: u32,
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer smsbridge than this one.
    #[error(
        "the store has schema version {found}, newer than this build knows ({known}); upgrade smsbridge"
    )]
    TooNew { found: u32, known: u32 },
    /// The store cannot take writes now (disk full, I/O error, writer stopped); the
    /// request was not made durable and may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// SQLite reported an error (disk full, I/O error, locked too long, …).
    #[error("store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
