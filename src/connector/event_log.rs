//! The event log file (`[core] delivery = "log"`): JSON lines that a reader can always
//! parse, every line of them, even after the disk filled up under it.
//!
//! Each delivery's lines are built in one buffer and appended with one `write_all` on a
//! file opened with `O_APPEND`, into room reserved first past the end of the file
//! (`fallocate` keeping its size): on a full disk the reservation fails and nothing is
//! written, so even a reader following the file never sees part of a line. Should a
//! write still be cut short (a file system without reservations, an I/O error), it is
//! undone, the file truncated back to its length before it. Either way the delivery
//! fails and its events stay in the outbox, to be written whole at their retry. Before,
//! the cut-off half of an event stayed, and the retry's whole line was appended to it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Bytes read at a time when looking for the last line's end.
const TAIL_CHUNK: usize = 8 * 1024;

/// The event log, open for appending.
#[derive(Debug)]
pub struct EventLogFile {
    file: File,
    /// The length to cut the file back to before the next write: a cut-short write
    /// whose undo failed too.
    torn_at: Option<u64>,
}

impl EventLogFile {
    /// Opens (creating if needed) the log at `path` for appending. A file that ends in
    /// a partial line (the machine stopped mid-write, or an older smsbridge met a full
    /// disk) is cut back to its last whole line first, so that the next event does not
    /// continue it.
    pub fn open(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        let log = EventLogFile {
            file,
            torn_at: None,
        };
        let len = log.file.metadata()?.len();
        let whole = log.whole_lines_end(len)?;
        if whole < len {
            log.cut_back(whole)?;
            tracing::warn!(
                path = %path.display(),
                bytes = len - whole,
                "the event log ended in a partial line; cut back to its last whole line"
            );
        }
        Ok(log)
    }

    /// Appends `lines` (whole lines, each ending in a newline) with one write, or
    /// leaves the file as it was and answers the error.
    pub fn append(&mut self, lines: &[u8]) -> io::Result<()> {
        if let Some(len) = self.torn_at {
            self.cut_back(len)?;
            self.torn_at = None;
        }
        let before = self.file.metadata()?.len();
        self.reserve(before, lines.len() as u64)?;
        let written = self.file.write_all(lines);
        if written.is_err()
            && let Err(e) = self.cut_back(before)
        {
            // Tried again before the next write, which fails until it succeeds.
            self.torn_at = Some(before);
            tracing::error!(error = %e, "cannot undo a cut-short write to the event log");
        }
        written
    }

    /// Reserves `len` bytes of disk from `at` without changing the file's length, so
    /// that a write there cannot fail for lack of space. A file system that cannot
    /// reserve is written to without (and a cut-short write undone).
    #[cfg(target_os = "linux")]
    fn reserve(&self, at: u64, len: u64) -> io::Result<()> {
        use rustix::fs::{FallocateFlags, fallocate};
        use rustix::io::Errno;
        match fallocate(&self.file, FallocateFlags::KEEP_SIZE, at, len) {
            Err(e) if e == Errno::OPNOTSUPP || e == Errno::NOSYS => Ok(()),
            done => done.map_err(io::Error::from),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn reserve(&self, _at: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }

    /// Truncates the file to `len` if it is longer. Never longer: a file shortened
    /// meanwhile by someone else (a rotation) is left as it is.
    fn cut_back(&self, len: u64) -> io::Result<()> {
        if self.file.metadata()?.len() > len {
            self.file.set_len(len)?;
        }
        Ok(())
    }

    /// Where the last whole line of the first `len` bytes ends (0 when there is none).
    fn whole_lines_end(&self, len: u64) -> io::Result<u64> {
        let mut buf = [0u8; TAIL_CHUNK];
        let mut end = len;
        while end > 0 {
            let start = end.saturating_sub(TAIL_CHUNK as u64);
            let chunk = &mut buf[..(end - start) as usize];
            self.file.read_exact_at(chunk, start)?;
            if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
                return Ok(start + i as u64 + 1);
            }
            end = start;
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_last_line_is_cut_at_open_and_whole_lines_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let whole = "{\"id\":1}\n".repeat(2000);
        std::fs::write(&path, format!("{whole}{{\"id\":2,\"ha")).unwrap();
        let mut log = EventLogFile::open(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
        log.append(b"{\"id\":3}\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("}\n{\"id\":3}\n"),
            "{}",
            &text[text.len() - 30..]
        );

        // A file of one partial line is emptied; a file of whole lines is untouched.
        std::fs::write(&path, "{\"id\":").unwrap();
        drop(EventLogFile::open(&path).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        std::fs::write(&path, "{}\n{}\n").unwrap();
        drop(EventLogFile::open(&path).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n{}\n");
    }
}
