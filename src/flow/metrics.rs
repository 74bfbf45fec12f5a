//! The flows' metric names and descriptions.

/// Counter: MT submit attempts by `result` (`sent`, `retry`, `failed`, `expired`).
pub const MT_ATTEMPTS_TOTAL: &str = "smsbridge_mt_attempts_total";
/// Counter: MT requests by `result` (`accepted`, `replayed`, `refused`, `overloaded`).
pub const MT_REQUESTS_TOTAL: &str = "smsbridge_mt_requests_total";
/// Counter: inbound deliver_sm by `kind` (`mo`, `receipt`) and `result` (`stored`,
/// `pending`, `duplicate`, `unknown_destination`, `retry_later`).
pub const INBOUND_TOTAL: &str = "smsbridge_inbound_total";

/// Describes the flows' metrics.
pub fn describe() {
    metrics::describe_counter!(MT_ATTEMPTS_TOTAL, "MT submit attempts by result.");
    metrics::describe_counter!(MT_REQUESTS_TOTAL, "MT API requests by result.");
    metrics::describe_counter!(INBOUND_TOTAL, "Inbound deliver_sm by kind and result.");
}

pub(crate) fn mt_attempt(result: &'static str) {
    metrics::counter!(MT_ATTEMPTS_TOTAL, "result" => result).increment(1);
}

pub(crate) fn mt_request(result: &'static str) {
    metrics::counter!(MT_REQUESTS_TOTAL, "result" => result).increment(1);
}

pub(crate) fn inbound(kind: &'static str, result: &'static str) {
    metrics::counter!(INBOUND_TOTAL, "kind" => kind, "result" => result).increment(1);
}
