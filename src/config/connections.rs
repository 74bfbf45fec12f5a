//! The keys every HTTP listener's table has (`[api]`, `[admin]`, `[mms]`): how long a
//! client may take to send a request's headers, how long a kept-alive connection may wait
//! for its next request, and how many connections may be open at once.

use std::time::Duration;

use super::check::Checker;
use super::error::KeyPath;

/// `header_read_timeout` when the file leaves it out.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// `idle_timeout` when the file leaves it out.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// `[api] max_connections` when the file leaves it out: as many as the requests the API
/// handles at once by default (`max_concurrent_requests`).
pub const DEFAULT_API_MAX_CONNECTIONS: usize = 1_024;
/// `[admin] max_connections` when the file leaves it out: scrapers, probes and operators.
pub const DEFAULT_ADMIN_MAX_CONNECTIONS: usize = 64;
/// `[mms] max_connections` when the file leaves it out: a few MMSCs, each with a pool.
pub const DEFAULT_MM7_MAX_CONNECTIONS: usize = 256;

/// A listener's connection limits, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// A connection that has not sent a complete request head within this of connecting
    /// (or of the first byte of its next request, when kept alive) is closed.
    pub header_read_timeout: Duration,
    /// A kept-alive connection that neither starts a new request nor takes its last
    /// answer for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; one more is refused at once.
    pub max_connections: usize,
}

/// The three keys as written in a listener's table.
pub(super) struct RawConnections<'a> {
    pub header_read_timeout: Option<&'a str>,
    pub idle_timeout: Option<&'a str>,
    pub max_connections: Option<usize>,
}

/// Checks the keys of `table`; `default_max` is that listener's `max_connections`
/// default.
pub(super) fn validate_connections(
    c: &mut Checker,
    table: &KeyPath,
    raw: RawConnections<'_>,
    default_max: usize,
) -> Connections {
    Connections {
        header_read_timeout: c.duration(
            &table.key("header_read_timeout"),
            raw.header_read_timeout,
            DEFAULT_HEADER_READ_TIMEOUT,
            Duration::from_millis(100),
            Duration::from_secs(600),
        ),
        idle_timeout: c.duration(
            &table.key("idle_timeout"),
            raw.idle_timeout,
            DEFAULT_IDLE_TIMEOUT,
            Duration::from_millis(100),
            Duration::from_secs(3_600),
        ),
        max_connections: c.range(
            &table.key("max_connections"),
            raw.max_connections,
            default_max,
            1,
            65_536,
        ),
    }
}
