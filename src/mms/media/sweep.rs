//! The media purge: deletes files of the media store that no stored message names any
//! more, once retention has deleted the messages that did (a file shared by several
//! messages stays until the last of them goes).
//!
//! Each round walks at most `[mms] media_purge_batch` files, in name order from where
//! the previous round stopped (wrapping at the end), so a large store costs a bounded
//! stretch of work per `[store] purge_interval` rather than one long scan.
//!
//! Why a file being written for a message not yet committed is never deleted: files
//! are written (or, when the content is already kept, touched) before the write that
//! records the message that names them. Between the two, the file is named by nothing.
//! The purge therefore deletes only files not put for `[mms] media_grace`, a period far
//! longer than any put-to-commit gap (an MM7 request is answered only after both), and
//! it re-checks that age under the store's lock at the moment of deletion. A put
//! racing the purge either touches the file before that check (the file stays) or
//! finds it gone and writes it again (see [`MediaStore`]). Files whose message was
//! never committed (the store refused it) go after the grace period like any other.
//!
//! Files last put before the store began recording which message names which file
//! (schema version 9) are left alone: a message stored before then names its files
//! only in its chat events.

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::store::{MediaFile, MediaStore};
use crate::mms::metrics;
use crate::store::{Store, StoreError};

/// Why a round of the media purge stopped.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    /// The message store could not say which files are named (it is unavailable).
    #[error("cannot read the media records: {0}")]
    Store(#[from] StoreError),
    /// Listing or deleting files failed (permissions, I/O error).
    #[error("cannot purge the media store: {0}")]
    Io(#[from] io::Error),
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Files looked at.
    pub examined: usize,
    /// Files deleted.
    pub files: u64,
    /// Bytes freed.
    pub bytes: u64,
}

/// The media purge's place in the store between rounds.
#[derive(Debug)]
pub struct MediaPurge {
    media: MediaStore,
    grace: Duration,
    batch: usize,
    /// The last file name looked at; `None` starts from the beginning.
    after: Option<String>,
}

impl MediaPurge {
    /// A purge of `media` that leaves files put within `grace` and looks at `batch`
    /// files per round.
    pub fn new(media: MediaStore, grace: Duration, batch: usize) -> MediaPurge {
        MediaPurge {
            media,
            grace,
            batch: batch.max(1),
            after: None,
        }
    }

    /// One round: the next stretch of files, those idle and named by no message
    /// deleted.
    pub async fn round<S: Store>(&mut self, store: &S) -> Result<Purged, PurgeError> {
        let recorded_since =
            UNIX_EPOCH + Duration::from_millis(store.media_recorded_since().await?.max(0) as u64);
        let media = self.media.clone();
        let (after, batch) = (self.after.clone(), self.batch);
        let files = blocking(move || media.list_after(after.as_deref(), batch)).await?;
        self.after = match files.last() {
            Some(last) if files.len() == self.batch => Some(last.hash.clone()),
            // The end of the store: the next round starts again from the beginning.
            _ => None,
        };
        let idle_since = SystemTime::now() - self.grace;
        let candidates = idle(&files, idle_since, recorded_since);
        let mut purged = Purged {
            examined: files.len(),
            ..Purged::default()
        };
        if candidates.is_empty() {
            return Ok(purged);
        }
        let in_use = store.media_in_use(candidates.clone()).await?;
        let unused: Vec<String> = candidates
            .into_iter()
            .filter(|h| !in_use.contains(h))
            .collect();
        let media = self.media.clone();
        let removed = blocking(move || remove_all(&media, &unused, idle_since)).await?;
        purged.files = removed.len() as u64;
        purged.bytes = removed.iter().sum();
        metrics::media_purged(purged.files, purged.bytes);
        Ok(purged)
    }
}

/// The files not put since `idle_since`, and put after the records began.
fn idle(files: &[MediaFile], idle_since: SystemTime, recorded_since: SystemTime) -> Vec<String> {
    files
        .iter()
        .filter(|f| f.modified < idle_since && f.modified >= recorded_since)
        .map(|f| f.hash.clone())
        .collect()
}

/// Deletes each file still idle; the sizes of those deleted.
fn remove_all(
    media: &MediaStore,
    hashes: &[String],
    idle_since: SystemTime,
) -> io::Result<Vec<u64>> {
    let mut removed = Vec::new();
    for hash in hashes {
        if let Some(size) = media.remove_if_idle(hash, idle_since)? {
            removed.push(size);
        }
    }
    Ok(removed)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(hash: &str, secs_ago: u64) -> MediaFile {
        MediaFile {
            hash: hash.into(),
            modified: SystemTime::now() - Duration::from_secs(secs_ago),
        }
    }

    #[test]
    fn only_files_idle_for_the_grace_and_recorded_are_candidates() {
        let now = SystemTime::now();
        let files = [
            file("fresh", 10),
            file("idle", 7200),
            file("ancient", 90_000),
        ];
        let got = idle(
            &files,
            now - Duration::from_secs(3600),
            now - Duration::from_secs(86_400),
        );
        assert_eq!(got, ["idle"]);
    }
}
