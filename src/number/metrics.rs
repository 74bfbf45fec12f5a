//! Metric names of the numbers module, and their descriptions.
//!
//! Labels come from bounded sets (class, reason, kind); numbers never appear in labels.

/// Counter: number checks, by `class` and `reason`.
pub const NUMBER_CHECKS_TOTAL: &str = "smsbridge_number_checks_total";
/// Counter: numbers marked unreachable because a receipt carried a configured error code.
pub const NUMBER_UNREACHABLE_LEARNED_TOTAL: &str = "smsbridge_number_unreachable_learned_total";
/// Gauge: marks kept in the in-process unreachable memory.
pub const NUMBER_UNREACHABLE_REMEMBERED: &str = "smsbridge_number_unreachable_remembered";
/// Counter: MOs addressed to a number that is not one of our senders (accepted and
/// reported, never dropped), by the destination's `kind` as far as it can be told.
pub const MO_UNKNOWN_DESTINATION_TOTAL: &str = "smsbridge_mo_unknown_destination_total";
/// Counter: MTs refused because `from` is not a configured sender.
pub const MT_UNKNOWN_SENDER_TOTAL: &str = "smsbridge_mt_unknown_sender_total";

/// Describes every metric above to the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        NUMBER_CHECKS_TOTAL,
        "Destination number checks, by class and reason"
    );
    metrics::describe_counter!(
        NUMBER_UNREACHABLE_LEARNED_TOTAL,
        "Numbers marked unable to receive SMS from a receipt's error code"
    );
    metrics::describe_gauge!(
        NUMBER_UNREACHABLE_REMEMBERED,
        "Numbers currently remembered as unable to receive SMS"
    );
    metrics::describe_counter!(
        MO_UNKNOWN_DESTINATION_TOTAL,
        "MOs addressed to a number that is not a configured sender, by kind"
    );
    metrics::describe_counter!(
        MT_UNKNOWN_SENDER_TOTAL,
        "MTs refused because the sender is not configured"
    );
}

pub(crate) fn number_checked(class: super::NumberClass, reason: super::Reason) {
    metrics::counter!(NUMBER_CHECKS_TOTAL, "class" => class.as_str(), "reason" => reason.as_str())
        .increment(1);
}

pub(crate) fn unreachable_learned() {
    metrics::counter!(NUMBER_UNREACHABLE_LEARNED_TOTAL).increment(1);
}

pub(crate) fn unreachable_remembered(count: usize) {
    metrics::gauge!(NUMBER_UNREACHABLE_REMEMBERED).set(count as f64);
}

pub(crate) fn mo_unknown_destination(kind: &'static str) {
    metrics::counter!(MO_UNKNOWN_DESTINATION_TOTAL, "kind" => kind).increment(1);
}

pub(crate) fn mt_unknown_sender() {
    metrics::counter!(MT_UNKNOWN_SENDER_TOTAL).increment(1);
}
