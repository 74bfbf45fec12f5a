//! Fuzzes the MM7 request reader: arbitrary bytes, read as a multipart body (the first
//! line of the input is the Content-Type) and as a bare SOAP envelope, must never panic;
//! a body read within the limits keeps every kept part within them; an envelope that
//! reads is answered by a response that reads back with the same TransactionID.
//!
//! cargo +nightly fuzz run mm7_request   (from this directory)

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use smsbridge::mms::mm7::{
    MultipartLimits, Status, StatusCode, parse_deliver, parse_delivery_report, parse_envelope,
    parse_request, write_deliver_rsp,
};

/// Small limits so the fuzzer also explores them.
const LIMITS: MultipartLimits = MultipartLimits {
    max_message_bytes: 64 * 1024,
    max_part_bytes: 2 * 1024,
    max_root_bytes: 16 * 1024,
    max_parts: 8,
};

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"multipart/related; boundary=b"[..], data),
    };
    let content_type = String::from_utf8_lossy(head);
    if let Ok(request) = parse_request(&content_type, Bytes::copy_from_slice(body), LIMITS) {
        for part in &request.attachments {
            assert!(part.body.len() as u64 <= LIMITS.max_message_bytes);
            assert!(!part.oversized || part.body.is_empty());
        }
        let _ = parse_deliver(&request.envelope);
        let _ = parse_delivery_report(&request.envelope);
        if let Ok(deliver) = parse_deliver(&request.envelope) {
            let _ = request.content(deliver.content_href.as_deref(), LIMITS);
        }
    }
    if let Ok(envelope) = parse_envelope(data) {
        let status = Status::new(StatusCode::SUCCESS);
        let answer = write_deliver_rsp(envelope.version, &envelope.transaction_id, &status);
        let read = parse_envelope(answer.as_bytes()).expect("our own response reads");
        assert_eq!(read.transaction_id, envelope.transaction_id.trim());
    }
});
