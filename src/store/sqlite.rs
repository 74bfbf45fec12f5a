//! The SQLite store: one file, WAL mode, schema migrations embedded in the binary and
//! applied at start.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::StoreError;
use crate::config::Synchronous;

/// Schema migrations, applied in order; the index + 1 is the schema version.
/// Never edit a released migration: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the instance that owns this file, so a copied database is recognisable.
    "CREATE TABLE instance (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );",
];

/// An open SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    path: PathBuf,
    // The pipeline issue replaces this with a writer task and reader connections.
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, sets WAL mode and the
    /// synchronous level, and applies pending migrations. Blocking: call it from
    /// `spawn_blocking` in async code.
    pub fn open(path: &Path, sync: Synchronous, instance: &str) -> Result<Self, StoreError> {
        let open_err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_path_buf(),
            source: e,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(Box::new(e)))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(Box::new(e)))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(
                format!("the file system does not support WAL mode (got {mode})").into(),
            ));
        }
        let level = match sync {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous={level}; PRAGMA foreign_keys=ON;"
        ))?;
        let mut conn = conn;
        migrate(&mut conn)?;
        conn.execute(
            "INSERT OR IGNORE INTO instance (id, name) VALUES (1, ?1)",
            [instance],
        )?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Checks that the database answers a query (for `/readyz`). Blocking.
    pub fn ping(&self) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("SELECT count(*) FROM instance", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as u32;
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as u32 + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .and_then(|_| tx.pragma_update(None, "user_version", version))
            .map_err(|source| StoreError::Migrate { version, source })?;
        tx.commit()
            .map_err(|source| StoreError::Migrate { version, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/smsbridge.db");
        let store = SqliteStore::open(&path, Synchronous::Full, "a").unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
        store.ping().unwrap();
        drop(store);
        let again = SqliteStore::open(&path, Synchronous::Normal, "a").unwrap();
        again.ping().unwrap();
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        SqliteStore::open(&path, Synchronous::Full, "a").unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = SqliteStore::open(&path, Synchronous::Full, "a")
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    }
}
