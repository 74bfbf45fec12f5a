//! `[messages]`: the timers and bounds of the message flows — how long an MT may wait
//! for its carrier, how retries back off, how many MTs are in flight, and how long a
//! redelivered MO is recognised.

use std::time::Duration;

use serde::Deserialize;

use super::check::Checker;
use super::error::KeyPath;

const MS: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// `[messages]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMessages {
    pub validity: Option<String>,
    pub retry_min: Option<String>,
    pub retry_max: Option<String>,
    pub in_flight: Option<usize>,
    pub mo_dedup_window: Option<String>,
}

/// `[messages]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Messages {
    /// An MT not accepted by a carrier within this long after intake is `expired`.
    pub validity: Duration,
    /// First retry delay after a throttled or transient failure; doubles per attempt.
    pub retry_min: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// MTs submitted at the same time.
    pub in_flight: usize,
    /// The same MO (part) delivered again within this window is acknowledged without a
    /// second chat message.
    pub mo_dedup_window: Duration,
}

impl Default for Messages {
    fn default() -> Self {
        Messages {
            validity: 48 * HOUR,
            retry_min: SECOND,
            retry_max: 60 * SECOND,
            in_flight: 16,
            mo_dedup_window: 120 * SECOND,
        }
    }
}

pub(super) fn validate_messages(c: &mut Checker, r: &RawMessages) -> Messages {
    let path = KeyPath::root().key("messages");
    let d = Messages::default();
    let validity = c.duration(
        &path.key("validity"),
        r.validity.as_deref(),
        d.validity,
        SECOND,
        30 * DAY,
    );
    let retry_min = c.duration(
        &path.key("retry_min"),
        r.retry_min.as_deref(),
        d.retry_min,
        MS,
        HOUR,
    );
    let retry_max = c.duration(
        &path.key("retry_max"),
        r.retry_max.as_deref(),
        d.retry_max,
        MS,
        DAY,
    );
    if retry_min > retry_max {
        c.error(&path.key("retry_min"), "must not be longer than retry_max");
    }
    Messages {
        validity,
        retry_min,
        retry_max,
        in_flight: c.range(&path.key("in_flight"), r.in_flight, d.in_flight, 1, 4096),
        mo_dedup_window: c.duration(
            &path.key("mo_dedup_window"),
            r.mo_dedup_window.as_deref(),
            d.mo_dedup_window,
            SECOND,
            DAY,
        ),
    }
}
