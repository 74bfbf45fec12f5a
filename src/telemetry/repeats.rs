//! Failures that repeat, logged at a bounded rate.
//!
//! A loop that logs each failed try floods the journal when the failure lasts: a full
//! disk made the event delivery write thousands of lines a second, burying the first
//! line that said why. A log site wrapped in [`rate_limited!`](crate::rate_limited)
//! logs the first failure at once and later ones at most once per
//! [`REPEAT_LOG_INTERVAL`]; each line carries in its `repeated` field how many were left
//! out since the line before:
//!
//! ```ignore
//! rate_limited!(warn!(%error, "cannot store an MO"));
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often one log site may log a failure that repeats.
pub const REPEAT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Logs with a `tracing` macro at most once per [`REPEAT_LOG_INTERVAL`] from this call
/// site, adding the field `repeated`: the occurrences left out since the last line.
#[macro_export]
macro_rules! rate_limited {
    ($level:ident!($($arg:tt)*)) => {{
        static SITE: $crate::telemetry::Repeats = $crate::telemetry::Repeats::new();
        if let Some(repeated) = SITE.admit() {
            ::tracing::$level!(repeated, $($arg)*);
        }
    }};
}

/// One log site's window: when it last logged and how many it left out since.
#[derive(Debug)]
pub struct Repeats {
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    last_logged: Option<Instant>,
    left_out: u64,
}

impl Repeats {
    /// A log site that has logged nothing yet.
    pub const fn new() -> Self {
        Repeats {
            window: Mutex::new(Window {
                last_logged: None,
                left_out: 0,
            }),
        }
    }

    /// Whether to log this occurrence: `Some(n)` when it is to be logged, `n` being how
    /// many occurrences were left out since the last line; `None` to stay quiet.
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now(), REPEAT_LOG_INTERVAL)
    }

    fn admit_at(&self, now: Instant, every: Duration) -> Option<u64> {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        match w.last_logged {
            Some(last) if now.saturating_duration_since(last) < every => {
                w.left_out += 1;
                None
            }
            _ => {
                w.last_logged = Some(now);
                Some(std::mem::take(&mut w.left_out))
            }
        }
    }
}

impl Default for Repeats {
    fn default() -> Self {
        Repeats::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_logged_then_one_line_per_interval_with_the_count() {
        let site = Repeats::new();
        let every = Duration::from_secs(10);
        let t0 = Instant::now();
        let at = |s: u64, ms: u64| t0 + Duration::from_secs(s) + Duration::from_millis(ms);
        assert_eq!(site.admit_at(at(0, 0), every), Some(0));
        // A thousand failures within the interval: none logged, all counted.
        for i in 0..1000 {
            assert_eq!(site.admit_at(at(0, i), every), None);
        }
        assert_eq!(site.admit_at(at(9, 999), every), None);
        assert_eq!(site.admit_at(at(10, 0), every), Some(1001));
        assert_eq!(site.admit_at(at(10, 1), every), None);
        // After a quiet spell the next failure is logged at once.
        assert_eq!(site.admit_at(at(60, 0), every), Some(1));
        assert_eq!(site.admit_at(at(60, 1), every), None);
    }

    #[test]
    fn sites_keep_their_own_windows() {
        let (a, b) = (Repeats::new(), Repeats::new());
        let now = Instant::now();
        let every = Duration::from_secs(10);
        assert_eq!(a.admit_at(now, every), Some(0));
        assert_eq!(b.admit_at(now, every), Some(0));
        assert_eq!(a.admit_at(now, every), None);
    }
}
