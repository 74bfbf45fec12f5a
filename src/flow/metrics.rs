//! The flows' metric names and descriptions.

/// Counter: MT submit attempts by `result` (`sent`, `retry`, `failed`, `expired`).
pub const MT_ATTEMPTS_TOTAL: &str = "smsbridge_mt_attempts_total";
/// Counter: MT requests by `result` (`accepted`, `replayed`, `refused`, `overloaded`).
pub const MT_REQUESTS_TOTAL: &str = "smsbridge_mt_requests_total";
/// Counter: inbound deliver_sm by `kind` (`mo`, `receipt`) and `result` (`stored`,
/// `pending`, `duplicate`, `unknown_destination`, `invalid_source`, `unparsed`,
/// `retry_later`).
pub const INBOUND_TOTAL: &str = "smsbridge_inbound_total";
/// Counter: parsed receipts by `carrier` and `result`: the id form that matched
/// (`exact`, `folded`, `hex_to_decimal`, `decimal_to_hex`) or `parked`.
pub const RECEIPTS_MATCHED_TOTAL: &str = "smsbridge_receipts_matched_total";
/// Counter: parked receipts matched once their segment's carrier id was recorded, by
/// `carrier` and `result`: the id form that matched.
pub const RECEIPTS_PARKED_MATCHED_TOTAL: &str = "smsbridge_receipts_parked_matched_total";
/// Counter: parked receipts, by `carrier`, that expired after `receipt_park`: their id
/// never appeared and no other reading named one message.
pub const RECEIPTS_EXPIRED_TOTAL: &str = "smsbridge_receipts_expired_total";
/// Counter: receipts, by `carrier`, whose id could name several messages once it could
/// no longer be their own exact id; they wait for a proven id form or expire.
pub const RECEIPTS_AMBIGUOUS_TOTAL: &str = "smsbridge_receipts_ambiguous_total";

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
        "Parked receipts that expired without naming one message, by carrier."
    );
    metrics::describe_counter!(
        RECEIPTS_AMBIGUOUS_TOTAL,
        "Receipts whose id could name several messages, by carrier."
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

pub(crate) fn receipts_expired(carrier: &str, n: u64) {
    metrics::counter!(RECEIPTS_EXPIRED_TOTAL, "carrier" => carrier.to_owned()).increment(n);
}

pub(crate) fn receipt_ambiguous(carrier: &str) {
    metrics::counter!(RECEIPTS_AMBIGUOUS_TOTAL, "carrier" => carrier.to_owned()).increment(1);
}

/// The receipt counters an alert watches, at 0 for `carrier` from the start.
pub(crate) fn receipts_zero(carrier: &str) {
    metrics::counter!(RECEIPTS_EXPIRED_TOTAL, "carrier" => carrier.to_owned()).increment(0);
    metrics::counter!(RECEIPTS_AMBIGUOUS_TOTAL, "carrier" => carrier.to_owned()).increment(0);
}
