//! Receipts end to end against the real daemon and its embedded simulator: an MT goes
//! `sent` → `delivered` or `failed` with a reason, a long message gets one status for
//! all its segments, and receipt ids written differently from the submit ids still match.

mod held;
mod in_process;
pub(crate) mod third_party;

use serde_json::{Value, json};
use smsbridge::reason::ReasonCode;

use crate::harness::{Daemon, http_get};
use crate::pipeline::{CONTACT, SENDER, events, poll, send_mt, start_with, wait_status};

/// Sends `text` and returns its message id.
fn send(d: &Daemon, text: &str) -> String {
    let reply = send_mt(
        d,
        json!({"from": SENDER, "to": CONTACT, "text": text}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.json()["message_id"].as_str().unwrap().to_owned()
}

/// The `chat.message.status` events delivered for `id`, in order.
fn statuses(d: &Daemon, id: &str) -> Vec<Value> {
    events(d)
        .into_iter()
        .filter(|e| e.0 == "chat.message.status" && e.3["message_id"] == id)
        .map(|e| e.3)
        .collect()
}

/// Waits until `id` has `n` status events delivered, and returns their statuses.
fn wait_statuses(d: &Daemon, id: &str, n: usize) -> Vec<Value> {
    poll(&format!("{n} status events of {id}"), || {
        let s = statuses(d, id);
        (s.len() >= n).then_some(s)
    })
}

fn status_words(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect()
}

#[test]
fn a_delivered_receipt_makes_the_mt_delivered() {
    let d = start_with("", "delivered = 100", "", "");
    let id = send(&d, "Your order shipped");
    let message = wait_status(&d, &id, "delivered");
    assert_eq!(message["segment_detail"][0]["state"], "delivered");
    let events = wait_statuses(&d, &id, 3);
    assert_eq!(status_words(&events), ["accepted", "sent", "delivered"]);
}

#[test]
fn an_undeliverable_receipt_fails_the_mt_with_a_reason_and_a_sentence() {
    let d = start_with("", "delivered = 0\nundeliverable = 100", "", "");
    let id = send(&d, "Nobody home");
    let message = wait_status(&d, &id, "failed");
    assert!(!message["reason"].as_str().unwrap().is_empty());
    let events = wait_statuses(&d, &id, 3);
    assert_eq!(status_words(&events), ["accepted", "sent", "failed"]);
    let failed = &events[2];
    assert_eq!(failed["reason"], message["reason"]);
    let reason: ReasonCode = message["reason"].as_str().unwrap().parse().unwrap();
    assert_eq!(failed["message"], reason.sentence(), "{failed}");
}

#[test]
fn a_three_part_message_failing_in_every_segment_has_one_failed_status() {
    let d = start_with("", "delivered = 0\nundeliverable = 100", "", "");
    let id = send(&d, &"A long message split in parts. ".repeat(12));
    let message = wait_status(&d, &id, "failed");
    let segments = message["segment_detail"].as_array().unwrap();
    assert_eq!(segments.len(), 3);
    // Every segment's receipt arrives; the chat message fails once.
    poll("every segment failed", || {
        let m = crate::pipeline::get(&d, &format!("/v1/messages/{id}"));
        m["segment_detail"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "failed")
            .then_some(())
    });
    let events = wait_statuses(&d, &id, 3);
    assert_eq!(status_words(&events), ["accepted", "sent", "failed"]);
}

/// Sends `n` MTs and waits until every one is delivered; their submit ids.
fn deliver_many(d: &Daemon, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n).map(|i| send(d, &format!("note {i}"))).collect();
    ids.iter()
        .map(|id| {
            let m = wait_status(d, id, "delivered");
            m["segment_detail"][0]["carrier_message_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn a_decimal_receipt_id_matches_a_hex_submit_id() {
    let d = start_with("", "id_form = \"decimal\"", "hex", "");
    // Enough messages for submit ids with hex letters (the simulator counts up), whose
    // decimal receipt ids differ from them.
    let submit_ids = deliver_many(&d, 12);
    assert!(
        submit_ids
            .iter()
            .any(|s| s.chars().any(|c| c.is_ascii_alphabetic())),
        "{submit_ids:?}"
    );
}

#[test]
fn a_zero_padded_receipt_id_matches() {
    let d = start_with("", "id_form = \"zero_padded\"", "", "");
    // Delivered: the padded receipt ids found their segments (whether the receipt came
    // before the submit response was recorded, and was parked, or after).
    deliver_many(&d, 2);
}

/// Submit ids with at least two digits, where hex and decimal readings differ.
fn has_two_digit_ids(ids: &[String]) -> bool {
    ids.iter().any(|id| id.len() >= 2)
}

#[test]
fn a_hex_receipt_id_matches_a_decimal_submit_id() {
    let d = start_with("", "id_form = \"hex\"", "decimal", "");
    assert!(has_two_digit_ids(&deliver_many(&d, 12)));
}

#[test]
fn an_upper_case_receipt_id_matches_a_lower_case_hex_submit_id() {
    let d = start_with("", "id_form = \"hex_upper\"", "hex", "");
    let submit_ids = deliver_many(&d, 12);
    assert!(
        submit_ids
            .iter()
            .any(|s| s.chars().any(|c| c.is_ascii_lowercase())),
        "{submit_ids:?}"
    );
}

#[test]
fn an_upper_case_hex_receipt_id_matches_a_decimal_submit_id() {
    let d = start_with("", "id_form = \"hex_upper\"", "decimal", "");
    assert!(has_two_digit_ids(&deliver_many(&d, 12)));
}

#[test]
fn a_zero_padded_receipt_id_matches_a_decimal_submit_id() {
    let d = start_with("", "id_form = \"zero_padded\"", "decimal", "");
    deliver_many(&d, 2);
}

/// The sum of `name`'s samples whose labels contain `label`, in the daemon's
/// Prometheus text.
fn metric(d: &Daemon, name: &str, label: &str) -> u64 {
    let (status, text) = http_get(d.admin, "/metrics");
    assert_eq!(status, 200);
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) && line.contains(label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

#[test]
fn receipts_before_the_submit_response_are_parked_matched_and_learned_from() {
    // Every receipt is answered before its submit is: it is parked, then matched when
    // the submit's id is recorded. Ids 1–9 read the same in hex and decimal; a–c
    // (10–12) match only by their decimal reading.
    let d = start_with(
        "",
        "id_form = \"decimal\"\nbefore_response = true",
        "hex",
        "",
    );
    deliver_many(&d, 12);
    let parked = "smsbridge_receipts_parked_matched_total";
    assert_eq!(metric(&d, parked, "carrier=\"sim\""), 12);
    assert_eq!(metric(&d, parked, "result=\"hex_to_decimal\""), 3);
    let direct = "smsbridge_receipts_matched_total";
    assert_eq!(metric(&d, direct, "result=\"parked\""), 12);
    assert_eq!(
        metric(&d, direct, "result=\"exact\""),
        0,
        "none matched at once"
    );
}

#[test]
fn a_receipt_error_that_proves_no_sms_refuses_the_next_mt_to_the_number() {
    let d = start_with(
        "",
        "delivered = 0\nundeliverable = 100",
        "",
        "unreachable_errors = [\"sim:001\"]",
    );
    let id = send(&d, "Is this a landline?");
    wait_status(&d, &id, "failed");
    let again = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "again"}),
        None,
    );
    assert_eq!(again.status, 422, "{}", again.body);
    assert_eq!(again.json()["error"]["code"], "destination_not_sms_capable");
}
