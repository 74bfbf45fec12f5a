//! Metric names of the receipts module, and their descriptions.
//!
//! Labels come from bounded sets: `carrier` (configured names) and `result` (`parsed`
//! or one of the [`ParseError`](super::ParseError) kinds).

/// Counter: receipts read, by `carrier` and `result` (`parsed`, `not_a_receipt`,
/// `not_deliver_or_data`, `malformed_body`, `missing_id`, `bad_id`, `missing_state`,
/// `unknown_state`).
pub const RECEIPTS_PARSED_TOTAL: &str = "smsbridge_receipts_parsed_total";

/// The `result` label of a receipt that parsed.
pub const RESULT_PARSED: &str = "parsed";

/// Describes every metric above to the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        RECEIPTS_PARSED_TOTAL,
        "Delivery receipts read, by carrier and result (parsed, or why not)"
    );
}

pub(crate) fn receipt_read(carrier: &str, result: &'static str) {
    metrics::counter!(
        RECEIPTS_PARSED_TOTAL,
        "carrier" => carrier.to_owned(),
        "result" => result
    )
    .increment(1);
}
