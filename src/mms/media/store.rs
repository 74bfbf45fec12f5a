//! The embedded media store: one file per distinct content under `[mms] media_dir`,
//! named by its SHA-256 (`ab/ab12…`), so the same photo sent twice is kept once and a
//! name says what the bytes are.
//!
//! A file is written durably before anyone is told about it: to a temporary name, then
//! fsync, then rename into place, then fsync of the directory. A crash leaves either
//! the whole file or a temporary one (removed at the next start), never half a photo
//! under a real name.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The media store on disk.
#[derive(Debug, Clone)]
pub struct MediaStore {
    dir: PathBuf,
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
        })
    }

    /// The SHA-256 (lower-case hex) that names `bytes`.
    pub fn hash(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// Keeps `bytes` durably; their hash. Blocking: call from a blocking task.
    pub fn put_blocking(&self, bytes: &[u8]) -> io::Result<String> {
        let hash = Self::hash(bytes);
        let path = self.path_of(&hash).expect("a SHA-256 hex is a valid name");
        if path.exists() {
            return Ok(hash);
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
            fs::rename(&temp, &path)?;
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

    /// The file named `hash`, when `hash` is a SHA-256 hex and the file exists.
    pub fn path_of(&self, hash: &str) -> Option<PathBuf> {
        let valid = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.dir.join(&hash[..2]).join(hash))
    }
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
    fn only_hashes_name_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        assert!(store.path_of("../../etc/passwd").is_none());
        assert!(store.path_of(&"A".repeat(64)).is_none());
        assert!(store.path_of(&"a".repeat(64)).is_some());
    }
}
