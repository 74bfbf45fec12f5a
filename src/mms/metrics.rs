//! Metric names of the MMS side, and the helpers that record them.
//!
//! Labels come from bounded sets: `carrier` (configured names, `unknown` before a
//! request is identified), `operation` (MM7 operation names this side takes),
//! `status` ([`StatusCode::label`]), `reason` (media rejection reasons and MM7 error
//! labels), `mm_status` (the MM7 `MMStatus` values).

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use super::mm7::StatusCode;

/// Counter, MM7 requests answered, by operation and status (`carrier`, `operation`, `status`).
pub const REQUESTS: &str = "smsbridge_mms_requests_total";
/// Counter, MM7 requests refused before they were read (`reason`).
pub const REQUESTS_REFUSED: &str = "smsbridge_mms_requests_refused_total";
/// Histogram, time from a request's first byte to its answer (`operation`).
pub const REQUEST_SECONDS: &str = "smsbridge_mms_request_seconds";
/// Counter, media parts accepted into the media store (`carrier`).
pub const MEDIA_ACCEPTED: &str = "smsbridge_mms_media_accepted_total";
/// Counter, media parts rejected, by reason (`carrier`, `reason`).
pub const MEDIA_REJECTED: &str = "smsbridge_mms_media_rejected_total";
/// Counter, bytes written to the media store.
pub const MEDIA_BYTES: &str = "smsbridge_mms_media_stored_bytes_total";
/// Counter, media downloads by outcome (`outcome`: served, forbidden, missing).
pub const MEDIA_FETCHES: &str = "smsbridge_mms_media_fetches_total";
/// Counter, delivery reports received, by MMStatus (`carrier`, `mm_status`).
pub const DELIVERY_REPORTS: &str = "smsbridge_mms_delivery_reports_total";
/// Counter, media files the media purge deleted (no message names them any more).
pub const MEDIA_PURGED: &str = "smsbridge_mms_media_purged_total";
/// Counter, bytes the media purge freed.
pub const MEDIA_PURGED_BYTES: &str = "smsbridge_mms_media_purged_bytes_total";

/// Registers descriptions and units with the installed recorder.
pub fn describe() {
    describe_counter!(REQUESTS, "MM7 requests answered, by operation and status");
    describe_counter!(
        REQUESTS_REFUSED,
        "MM7 requests refused before they could be read (credentials, format, size)"
    );
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Time from an MM7 request's arrival to its answer"
    );
    describe_counter!(
        MEDIA_ACCEPTED,
        "MMS media parts accepted into the media store"
    );
    describe_counter!(MEDIA_REJECTED, "MMS media parts rejected by validation");
    describe_counter!(MEDIA_BYTES, Unit::Bytes, "Bytes written to the media store");
    describe_counter!(MEDIA_FETCHES, "Signed media URL requests, by outcome");
    describe_counter!(
        DELIVERY_REPORTS,
        "MM7 delivery reports received, by MMStatus"
    );
    describe_counter!(
        MEDIA_PURGED,
        "Media files deleted because no message names them any more"
    );
    describe_counter!(
        MEDIA_PURGED_BYTES,
        Unit::Bytes,
        "Bytes freed in the media store by the media purge"
    );
}

/// One MM7 request answered.
pub fn request(carrier: &str, operation: &'static str, status: StatusCode, seconds: f64) {
    counter!(REQUESTS, "carrier" => carrier.to_owned(), "operation" => operation, "status" => status.label())
        .increment(1);
    histogram!(REQUEST_SECONDS, "operation" => operation).record(seconds);
}

/// One request refused before it was read.
pub fn refused(reason: &'static str) {
    counter!(REQUESTS_REFUSED, "reason" => reason).increment(1);
}

/// One media part rejected.
pub fn media_rejected(carrier: &str, reason: &'static str) {
    counter!(MEDIA_REJECTED, "carrier" => carrier.to_owned(), "reason" => reason).increment(1);
}

/// One media part stored.
pub fn media_accepted(carrier: &str, bytes: u64) {
    counter!(MEDIA_ACCEPTED, "carrier" => carrier.to_owned()).increment(1);
    counter!(MEDIA_BYTES).increment(bytes);
}

/// One signed-URL fetch.
pub fn media_fetch(outcome: &'static str) {
    counter!(MEDIA_FETCHES, "outcome" => outcome).increment(1);
}

/// One delivery report received.
pub fn delivery_report(carrier: &str, mm_status: &str) {
    let mm_status = match mm_status {
        "Expired" | "Retrieved" | "Rejected" | "Indeterminate" | "Forwarded" | "Deferred"
        | "Unrecognised" => mm_status.to_owned(),
        _ => "other".to_owned(),
    };
    counter!(DELIVERY_REPORTS, "carrier" => carrier.to_owned(), "mm_status" => mm_status)
        .increment(1);
}

/// Files the media purge deleted, with their bytes.
pub fn media_purged(files: u64, bytes: u64) {
    counter!(MEDIA_PURGED).increment(files);
    counter!(MEDIA_PURGED_BYTES).increment(bytes);
}
