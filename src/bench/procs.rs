//! The rig's child processes: started from this executable, their output lines handed
//! over a channel, stopped with SIGTERM (killed if they linger or the bench fails), and
//! measured from `/proc`: CPU seconds from `stat`, peak and current RSS from `status`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::BenchError;

/// How long a child gets to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// A child process that is killed when dropped, unless it has already stopped.
pub struct ChildProc {
    what: &'static str,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl ChildProc {
    /// Starts `exe args…`; `watch_stdout` picks the stream whose lines are handed over
    /// (the other is discarded).
    pub fn spawn(
        what: &'static str,
        exe: &Path,
        args: &[&str],
        watch_stdout: bool,
    ) -> Result<Self, BenchError> {
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .stdin(Stdio::null())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC");
        if watch_stdout {
            cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .map_err(|source| BenchError::Spawn { what, source })?;
        let stream: Box<dyn Read + Send> = match (child.stdout.take(), child.stderr.take()) {
            (Some(out), _) => Box::new(out),
            (None, Some(err)) => Box::new(err),
            (None, None) => unreachable!("one stream is piped"),
        };
        // Bounded: a run's lines are few (the gateway logs per event only at debug), and
        // a full channel only stalls this reader, which the child's pipe then absorbs.
        let (tx, lines) = mpsc::sync_channel(4096);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.try_send(line).is_err() {
                    // Nobody reads any more (or too much at once): keep draining the pipe
                    // so the child never blocks on a full one.
                    continue;
                }
            }
        });
        Ok(Self { what, child, lines })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for an output line for which `pick` returns something; fails when the child
    /// exits or `timeout` passes first. Lines seen are returned in the error.
    pub fn wait_line<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, BenchError> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(line) => {
                    if let Some(found) = pick(&line) {
                        return Ok(found);
                    }
                    if seen.len() < 20 {
                        seen.push(line);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        seen.push(format!("(exited: {status})"));
                        return Err(self.not_ready(seen));
                    }
                }
                Err(_) => return Err(self.not_ready(seen)),
            }
        }
    }

    fn not_ready(&self, seen: Vec<String>) -> BenchError {
        BenchError::NotReady {
            what: self.what,
            detail: seen.join("\n"),
        }
    }

    /// Stops the child with SIGTERM, killing it if it is still there after a grace period.
    pub fn stop(mut self) {
        let asked = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .is_ok_and(|s| s.success());
        if asked {
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Drop kills it.
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What `/proc` says about a process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcSample {
    /// User + system CPU time of all its threads, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size now, in bytes.
    pub rss_bytes: u64,
    /// Peak resident set size, in bytes.
    pub peak_rss_bytes: u64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`; `None` when the process is gone.
/// `pid` `None` reads this process.
pub fn sample(pid: Option<u32>, ticks_per_second: f64) -> Option<ProcSample> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_owned(),
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    let ticks = cpu_ticks(&stat)?;
    Some(ProcSample {
        cpu_seconds: ticks as f64 / ticks_per_second,
        rss_bytes: status_kib(&status, "VmRSS:")? * 1024,
        peak_rss_bytes: status_kib(&status, "VmHWM:")? * 1024,
    })
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field
/// 2) is in parentheses and may hold spaces, so fields are counted after its `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; Linux reports
/// 100 on every common configuration, the fallback).
pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_count_past_a_name_with_spaces() {
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 75 0 0 20 0 2 0";
        assert_eq!(cpu_ticks(stat), Some(325));
    }

    #[test]
    fn status_lines_give_kib() {
        let status = "Name:\tsmsbridge\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(51234));
        assert_eq!(status_kib(status, "VmRSS:"), Some(40000));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let s = sample(None, ticks_per_second()).expect("/proc/self");
        assert!(s.peak_rss_bytes >= s.rss_bytes && s.rss_bytes > 0, "{s:?}");
    }
}
