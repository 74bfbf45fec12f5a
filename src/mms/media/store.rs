//! The embedded media store: one file per distinct content under `[mms] media_dir`,
//! named by its SHA-256 (`ab/ab12…`), so the same photo sent twice is kept once and a
//! name says what the bytes are.
//!
//! A file is written durably before anyone is told about it: to a temporary name, then
//! fsync, then rename into place, then fsync of the directory. A crash leaves either
//! the whole file or a temporary one (removed at the next start), never half a photo
//! under a real name.
//!
//! A file's modification time is the last time it was put: putting content already
//! kept touches the file. The media purge ([`super::sweep`]) removes only files not put
//! for a while, and the check and the removal happen under the same lock as the put's
//! look-up, so a put either finds the file and refreshes it before the purge looks, or
//! finds it gone and writes it again.
//!
//! The rest of the crate uses the store through four operations only — [`MediaStore::put`],
//! [`MediaStore::read`], [`MediaStore::list_after`] and [`MediaStore::remove_if_idle`] —
//! and never its paths.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// The media store on disk.
#[derive(Debug, Clone)]
pub struct MediaStore {
    dir: PathBuf,
    /// Held while a name is looked up and refreshed (put) or checked and removed
    /// (purge); never while bytes are written.
    names: Arc<Mutex<()>>,
}

/// A kept file, as the media purge lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub hash: String,
    /// When it was last put.
    pub modified: SystemTime,
}

/// Temporary files start with this; they are never a content hash.
const TEMP_PREFIX: &str = "tmp-";

impl MediaStore {
    /// The store under `dir`, created if needed; temporary files left by a crash are
    /// removed.
    pub fn open(dir: &Path) -> io::Result<MediaStore> {
        fs::create_dir_all(dir)?;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(MediaStore {
            dir: dir.to_path_buf(),
            names: Arc::new(Mutex::new(())),
        })
    }

    /// The SHA-256 (lower-case hex) that names `bytes`.
    pub fn hash(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.names.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `bytes` durably; their hash. Content already kept is not written again,
    /// only marked as put now. Blocking: call from a blocking task.
    pub fn put_blocking(&self, bytes: &[u8]) -> io::Result<String> {
        let hash = Self::hash(bytes);
        let path = self.path_of(&hash).expect("a SHA-256 hex is a valid name");
        {
            let _names = self.lock();
            if path.exists() {
                File::options()
                    .write(true)
                    .open(&path)?
                    .set_modified(SystemTime::now())?;
                return Ok(hash);
            }
        }
        let shard = path.parent().expect("the path has a shard directory");
        fs::create_dir_all(shard)?;
        let temp = self
            .dir
            .join(format!("{TEMP_PREFIX}{}", uuid::Uuid::now_v7().simple()));
        let written = (|| {
            let mut file = File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            {
                // A concurrent put of the same content may have renamed first: the
                // bytes are the same, so replacing its file changes nothing.
                let _names = self.lock();
                fs::rename(&temp, &path)?;
            }
            File::open(shard)?.sync_all()
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written.map(|_| hash)
    }

    /// Keeps `bytes` durably, off the async threads; their hash.
    pub async fn put(&self, bytes: bytes::Bytes) -> io::Result<String> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.put_blocking(&bytes))
            .await
            .map_err(io::Error::other)?
    }

    /// The content named `hash`; `None` when there is no such file (or `hash` is not a
    /// SHA-256 hex).
    pub async fn read(&self, hash: &str) -> io::Result<Option<bytes::Bytes>> {
        let Some(path) = self.path_of(hash) else {
            return Ok(None);
        };
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The size of the content named `hash`; `None` when there is no such file.
    pub async fn size(&self, hash: &str) -> io::Result<Option<u64>> {
        let Some(path) = self.path_of(hash) else {
            return Ok(None);
        };
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Where the file named `hash` is (whether or not it exists), when `hash` is a
    /// SHA-256 hex.
    fn path_of(&self, hash: &str) -> Option<PathBuf> {
        is_hash(hash).then(|| self.dir.join(&hash[..2]).join(hash))
    }

    /// Up to `limit` kept files whose names sort after `after` (all from the start
    /// without it), in name order: a purge walks the store a bounded stretch at a time.
    /// Blocking.
    pub fn list_after(&self, after: Option<&str>, limit: usize) -> io::Result<Vec<MediaFile>> {
        let first_shard = after.map(|a| a.get(..2).unwrap_or(a)).unwrap_or("");
        let mut shards: Vec<String> = names_in(&self.dir)?
            .into_iter()
            .filter(|s| s.len() == 2 && s.bytes().all(is_hex_digit) && s.as_str() >= first_shard)
            .collect();
        shards.sort();
        let mut files = Vec::new();
        for shard in shards {
            let mut names: Vec<String> = names_in(&self.dir.join(&shard))?
                .into_iter()
                .filter(|n| {
                    is_hash(n) && n.starts_with(&shard) && after.is_none_or(|a| n.as_str() > a)
                })
                .collect();
            names.sort();
            for hash in names.into_iter().take(limit - files.len()) {
                let path = self.dir.join(&shard).join(&hash);
                match fs::metadata(&path).and_then(|m| m.modified()) {
                    Ok(modified) => files.push(MediaFile { hash, modified }),
                    // Removed since the listing: nothing to report.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            if files.len() >= limit {
                break;
            }
        }
        Ok(files)
    }

    /// Removes the file `hash` if it was last put before `idle_since`; its size when
    /// it was removed. Blocking.
    pub fn remove_if_idle(&self, hash: &str, idle_since: SystemTime) -> io::Result<Option<u64>> {
        let Some(path) = self.path_of(hash) else {
            return Ok(None);
        };
        let _names = self.lock();
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if meta.modified()? >= idle_since {
            return Ok(None);
        }
        fs::remove_file(&path)?;
        Ok(Some(meta.len()))
    }
}

fn is_hex_digit(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(is_hex_digit)
}

/// The names of the entries of `dir` (none when it does not exist).
fn names_in(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in entries {
        if let Ok(name) = entry?.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_kept_once_under_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tmp-left-by-a-crash"), b"x").unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        assert!(!dir.path().join("tmp-left-by-a-crash").exists());
        let hash = store.put_blocking(b"photo").unwrap();
        assert_eq!(hash, MediaStore::hash(b"photo"));
        assert_eq!(store.put_blocking(b"photo").unwrap(), hash);
        let path = store.path_of(&hash).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"photo");
        assert!(path.starts_with(dir.path().join(&hash[..2])));
    }

    #[test]
    fn listing_walks_the_store_in_name_order_a_stretch_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        let mut hashes: Vec<String> = (0..5)
            .map(|i| store.put_blocking(format!("file {i}").as_bytes()).unwrap())
            .collect();
        hashes.sort();
        std::fs::write(dir.path().join("README"), b"not media").unwrap();
        let first = store.list_after(None, 3).unwrap();
        let names: Vec<&str> = first.iter().map(|f| f.hash.as_str()).collect();
        assert_eq!(names, hashes[..3]);
        let rest = store.list_after(Some(&hashes[2]), 3).unwrap();
        let names: Vec<&str> = rest.iter().map(|f| f.hash.as_str()).collect();
        assert_eq!(names, hashes[3..]);
        assert!(store.list_after(Some(&hashes[4]), 3).unwrap().is_empty());
    }

    #[test]
    fn only_an_idle_file_is_removed_and_a_put_makes_it_busy_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        let hash = store.put_blocking(b"photo").unwrap();
        let path = store.path_of(&hash).unwrap();
        let long_ago = SystemTime::now() - std::time::Duration::from_secs(7200);
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        // Put again (a new message with the same photo): no longer idle.
        store.put_blocking(b"photo").unwrap();
        assert_eq!(store.remove_if_idle(&hash, hour_ago).unwrap(), None);
        assert!(path.exists());
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        assert_eq!(store.remove_if_idle(&hash, hour_ago).unwrap(), Some(5));
        assert!(!path.exists());
        assert_eq!(store.remove_if_idle(&hash, hour_ago).unwrap(), None);
    }

    #[test]
    fn only_hashes_name_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        assert!(store.path_of("../../etc/passwd").is_none());
        assert!(store.path_of(&"A".repeat(64)).is_none());
        assert!(store.path_of(&"a".repeat(64)).is_some());
    }
}
