//! The flows' metric names and descriptions.

/// Counter: MT submit attempts by `result` (`sent`, `retry`, `failed`, `expired`).
pub const MT_ATTEMPTS_TOTAL: &str = "smsbridge_mt_attempts_total";
/// Counter: MT requests by `result` (`accepted`, `replayed`, `refused`, `overloaded`).
pub const MT_REQUESTS_TOTAL: &str = "smsbridge_mt_requests_total";
/// Counter: inbound deliver_sm by `kind` (`mo`, `receipt`) and `result` (`stored`,
/// `pending`, `duplicate`, `unknown_destination`, `unparsed`, `retry_later`).
pub const INBOUND_TOTAL: &str = "smsbridge_inbound_total";
/// Counter: parsed receipts by `carrier` and `result`: the id form that matched
/// (`exact`, `folded`, `hex_to_decimal`, `decimal_to_hex`) or `parked`.
pub const RECEIPTS_MATCHED_TOTAL: &str = "smsbridge_receipts_matched_total";
/// Counter: parked receipts matched once their segment's carrier id was recorded, by
/// `carrier` and `result`: the id form that matched.
pub const RECEIPTS_PARKED_MATCHED_TOTAL: &str = "smsbridge_receipts_parked_matched_total";
/// Counter: parked receipts whose id never appeared, removed after `receipt_park`.
pub const RECEIPTS_EXPIRED_TOTAL: &str = "smsbridge_receipts_expired_total";

/// Describes the flows' metrics.
pub fn describe() {
    metrics::describe_counter!(MT_ATTEMPTS_TOTAL, "MT submit attempts by result.");
    metrics::describe_counter!(MT_REQUESTS_TOTAL, "MT API requests by result.");
    metrics::describe_counter!(INBOUND_TOTAL, "Inbound deliver_sm by kind and result.");
    metrics::describe_counter!(
        RECEIPTS_MATCHED_TOTAL,
        "Parsed receipts by carrier and how their id matched (or parked)."
    );
    metrics::describe_counter!(
        RECEIPTS_PARKED_MATCHED_TOTAL,
        "Parked receipts matched once their message id was recorded, by carrier and id form."
    );
    metrics::describe_counter!(
        RECEIPTS_EXPIRED_TOTAL,
        "Parked receipts that expired without their message id appearing."
    );
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

pub(crate) fn receipt_matched(carrier: &str, result: &'static str) {
    metrics::counter!(RECEIPTS_MATCHED_TOTAL, "carrier" => carrier.to_owned(), "result" => result)
        .increment(1);
}

pub(crate) fn parked_receipt_matched(carrier: &str, form: &'static str) {
    metrics::counter!(
        RECEIPTS_PARKED_MATCHED_TOTAL,
        "carrier" => carrier.to_owned(),
        "result" => form
    )
    .increment(1);
}

pub(crate) fn receipts_expired(n: usize) {
    metrics::counter!(RECEIPTS_EXPIRED_TOTAL).increment(n as u64);
}
