//! Metric names of the text module and their descriptions. Labels come from fixed sets.

/// MO parts taken by the reassembler, by `outcome`: `single`, `pending`, `completing`,
/// `duplicate`.
pub const MO_PARTS_TOTAL: &str = "smsbridge_text_mo_parts_total";
/// Multi-part MO messages delivered, by `result`: `complete` or `timed_out`.
pub const MO_REASSEMBLED_TOTAL: &str = "smsbridge_text_mo_reassembled_total";
/// MO parts refused or left pending by a failure, by `reason`: `full` or `store`.
pub const MO_REJECTED_TOTAL: &str = "smsbridge_text_mo_rejected_total";
/// Multi-part MO messages waiting for parts.
pub const MO_PENDING: &str = "smsbridge_text_mo_pending";

/// Describes every metric of the module to the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        MO_PARTS_TOTAL,
        "MO parts taken by the reassembler, by outcome"
    );
    metrics::describe_counter!(
        MO_REASSEMBLED_TOTAL,
        "Multi-part MO messages delivered, by result"
    );
    metrics::describe_counter!(
        MO_REJECTED_TOTAL,
        "MO parts refused or left pending by a failure, by reason"
    );
    metrics::describe_gauge!(MO_PENDING, "Multi-part MO messages waiting for parts");
}

pub(crate) fn part(outcome: &'static str) {
    metrics::counter!(MO_PARTS_TOTAL, "outcome" => outcome).increment(1);
}

pub(crate) fn reassembled(result: &'static str) {
    metrics::counter!(MO_REASSEMBLED_TOTAL, "result" => result).increment(1);
}

pub(crate) fn rejected(reason: &'static str) {
    metrics::counter!(MO_REJECTED_TOTAL, "reason" => reason).increment(1);
}

pub(crate) fn set_pending(count: usize) {
    metrics::gauge!(MO_PENDING).set(count as f64);
}
