//! Validation helpers: they collect every problem with its key path instead of stopping
//! at the first, so an operator fixes a file in one pass.

use std::fmt::Display;
use std::time::Duration;

use super::error::KeyPath;

/// Collects validation errors as (key path, message).
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<(KeyPath, String)>,
}

impl Checker {
    /// A checker with no errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error at `path`.
    pub fn error(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.errors.push((path.clone(), message.into()));
    }

    /// The errors so far.
    pub fn into_errors(self) -> Vec<(KeyPath, String)> {
        self.errors
    }

    /// True when nothing was recorded.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `value` (or `default` when absent), which must lie in `lo..=hi`.
    pub fn range<T>(&mut self, path: &KeyPath, value: Option<T>, default: T, lo: T, hi: T) -> T
    where
        T: PartialOrd + Display + Copy,
    {
        let v = value.unwrap_or(default);
        if v < lo || v > hi {
            self.error(path, format!("must be between {lo} and {hi}"));
            return default;
        }
        v
    }

    /// A human duration such as "30s", "5m" or "1h 30m" (or `default` when absent),
    /// which must lie in `lo..=hi`.
    pub fn duration(
        &mut self,
        path: &KeyPath,
        value: Option<&str>,
        default: Duration,
        lo: Duration,
        hi: Duration,
    ) -> Duration {
        let Some(text) = value else {
            return default;
        };
        match humantime::parse_duration(text) {
            Ok(d) if d < lo || d > hi => {
                self.error(
                    path,
                    format!(
                        "must be between {} and {}",
                        humantime::format_duration(lo),
                        humantime::format_duration(hi)
                    ),
                );
                default
            }
            Ok(d) => d,
            Err(e) => {
                self.error(
                    path,
                    format!("`{text}` is not a duration ({e}); write e.g. \"30s\", \"5m\", \"1h\""),
                );
                default
            }
        }
    }

    /// A string that must not be empty and at most `max` bytes long.
    pub fn text(&mut self, path: &KeyPath, value: &str, max: usize) {
        if value.is_empty() {
            self.error(path, "must not be empty");
        } else if value.len() > max {
            self.error(path, format!("must be at most {max} characters"));
        }
    }

    /// A socket address `host:port`.
    pub fn socket_addr(&mut self, path: &KeyPath, value: &str) -> Option<std::net::SocketAddr> {
        match value.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(
                    path,
                    format!("`{value}` is not an address; write IP:PORT, e.g. \"127.0.0.1:8080\""),
                );
                None
            }
        }
    }
}
