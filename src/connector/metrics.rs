//! The connector's metrics.

/// Counter: events acknowledged by the core (or written by the log connector), by `sink`.
pub const EVENTS_DELIVERED_TOTAL: &str = "smsbridge_events_delivered_total";
/// Counter: delivery attempts by `sink` and `result` (`ok`, `rejected` = a non-2xx
/// answer, `timeout`, `connect`, `error`).
pub const DELIVERY_ATTEMPTS_TOTAL: &str = "smsbridge_event_delivery_attempts_total";
/// Histogram: time from sending a delivery to its answer, by `sink`.
pub const DELIVERY_SECONDS: &str = "smsbridge_event_delivery_seconds";
/// Gauge: events waiting in the outbox.
pub const OUTBOX_DEPTH: &str = "smsbridge_outbox_depth";
/// Counter: events moved to the dead letters (too old to deliver).
pub const DEAD_LETTERS_TOTAL: &str = "smsbridge_event_dead_letters_total";
/// Counter: dead letters put back in the outbox by an operator.
pub const DEAD_LETTER_REPLAYS_TOTAL: &str = "smsbridge_event_dead_letter_replays_total";

/// Describes this module's metrics.
pub fn describe() {
    metrics::describe_counter!(
        EVENTS_DELIVERED_TOTAL,
        "Chat events acknowledged by the core, by sink (webhook, log)."
    );
    metrics::describe_counter!(
        DELIVERY_ATTEMPTS_TOTAL,
        "Event deliveries by sink and result (ok, rejected, timeout, connect, error)."
    );
    metrics::describe_histogram!(
        DELIVERY_SECONDS,
        metrics::Unit::Seconds,
        "Time from sending a delivery to its answer."
    );
    metrics::describe_gauge!(OUTBOX_DEPTH, "Chat events waiting in the outbox.");
    metrics::describe_counter!(
        DEAD_LETTERS_TOTAL,
        "Chat events moved to the dead letters after their maximum age."
    );
    metrics::describe_counter!(
        DEAD_LETTER_REPLAYS_TOTAL,
        "Dead letters put back in the outbox by an operator."
    );
}
