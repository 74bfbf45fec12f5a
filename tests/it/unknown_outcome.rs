//! A segment the carrier never answered: the npm `smpp` SMSC takes the first submit_sm
//! and drops the connection without a response. By the carrier's `unknown_outcome`,
//! smsbridge sends it once more (the handset may get it twice) or fails the message as
//! `unknown_outcome` (it gets it once or not at all); either way the segment is marked,
//! the status event says so, and a metric counts it. Also what a carrier should not
//! send: an MO with no source address, a submit_sm_resp ESME_ROK without an id.

use serde_json::Value;

use crate::harness::Daemon;
use crate::pipeline::{events, get, wait_status};
use crate::receipts_flow::third_party::{Smsc, config_with, metric, send};

/// Starts the SMSC that drops the first submit and a daemon whose carrier has
/// `carrier` lines; sends one MT and returns it with both.
fn first_submit_dropped(carrier: &str) -> (Smsc, Daemon, String) {
    let smsc = Smsc::start(&[("SMSC_DROP_FIRST_SUBMIT", "1")]);
    let d = Daemon::start(&config_with(smsc.port(), carrier), &[]);
    smsc.wait_bind(1);
    let id = send(&d, "Your table is ready".into());
    (smsc, d, id)
}

/// The submit_sm the SMSC took, in order, up to the one it answered with `last_id`
/// (a later MT's, so every earlier line has been read).
fn submits_until(smsc: &Smsc, last_id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let line = smsc.wait("a submit", |v| v["event"] == "submit");
        let done = line["id"] == last_id;
        seen.push(line);
        if done {
            return seen;
        }
    }
}

fn status_events(d: &Daemon, id: &str) -> Vec<Value> {
    events(d)
        .into_iter()
        .filter(|e| e.0 == "chat.message.status" && e.3["message_id"] == id)
        .map(|e| e.3)
        .collect()
}

fn carrier_id(d: &Daemon, id: &str) -> String {
    let m = get(d, &format!("/v1/messages/{id}"));
    m["segment_detail"][0]["carrier_message_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_unanswered_segment_is_resent_once_and_marked_by_default() {
    let (smsc, d, id) = first_submit_dropped("");
    let message = wait_status(&d, &id, "delivered");
    assert_eq!(
        message["segment_detail"][0]["unknown_outcome"], true,
        "{message}"
    );
    let sent: Vec<Value> = status_events(&d, &id)
        .into_iter()
        .filter(|e| e["status"] == "sent")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["unknown_outcome_segments"], serde_json::json!([0]));
    assert_eq!(
        metric(&d, "smsbridge_smpp_resends_total", "carrier=\"smsc\""),
        1
    );
    // A later MT goes out once and is not marked.
    let next = send(&d, "Thanks for waiting".into());
    wait_status(&d, &next, "delivered");
    let submits = submits_until(&smsc, &carrier_id(&d, &next));
    assert_eq!(
        submits.len(),
        3,
        "dropped, resent, the next MT: {submits:?}"
    );
    assert_eq!(submits[0]["dropped"], true);
    assert_eq!(submits[1]["id"], carrier_id(&d, &id).as_str());
    let next = get(&d, &format!("/v1/messages/{next}"));
    assert_eq!(next["segment_detail"][0]["unknown_outcome"], false);
}

#[test]
fn a_carrier_set_to_fail_never_sends_an_unanswered_segment_twice() {
    let (smsc, d, id) = first_submit_dropped("unknown_outcome = \"fail\"");
    let message = wait_status(&d, &id, "failed");
    assert_eq!(message["reason"], "unknown_outcome");
    assert_eq!(
        message["segment_detail"][0]["unknown_outcome"], true,
        "{message}"
    );
    let failed: Vec<Value> = status_events(&d, &id)
        .into_iter()
        .filter(|e| e["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["reason"], "unknown_outcome");
    assert_eq!(failed[0]["segment"], 0);
    assert_eq!(
        metric(&d, "smsbridge_smpp_resends_total", "carrier=\"smsc\""),
        0
    );
    assert_eq!(
        metric(
            &d,
            "smsbridge_smpp_unknown_outcomes_total",
            "carrier=\"smsc\""
        ),
        1
    );
    // The next MT (on the new session) is the carrier's second submit: none between.
    let next = send(&d, "Thanks for waiting".into());
    wait_status(&d, &next, "delivered");
    let submits = submits_until(&smsc, &carrier_id(&d, &next));
    assert_eq!(submits.len(), 2, "dropped, the next MT: {submits:?}");
}

#[test]
fn an_mo_without_a_source_address_is_refused_as_invalid() {
    let smsc = Smsc::start(&[("SMSC_MO_NO_SOURCE", "1")]);
    let d = Daemon::start(&config_with(smsc.port(), ""), &[]);
    let answered = smsc.wait("the MO's answer", |v| v["event"] == "mo_answered");
    // ESME_RINVSRCADR: a permanent refusal, so the carrier does not retry it.
    assert_eq!(answered["status"], 0x0A);
    assert_eq!(
        metric(&d, "smsbridge_inbound_total", "result=\"invalid_source\""),
        1
    );
    assert!(
        events(&d).iter().all(|e| e.0 != "chat.message.received"),
        "nothing reached the core"
    );
}

#[test]
fn a_submit_answered_without_a_message_id_is_counted() {
    let smsc = Smsc::start(&[("SMSC_EMPTY_IDS", "1")]);
    let d = Daemon::start(&config_with(smsc.port(), ""), &[]);
    smsc.wait_bind(1);
    let id = send(&d, "Your order shipped".into());
    let message = wait_status(&d, &id, "sent");
    assert_eq!(message["segment_detail"][0]["carrier_message_id"], "");
    assert_eq!(
        metric(
            &d,
            "smsbridge_smpp_empty_message_ids_total",
            "carrier=\"smsc\""
        ),
        1
    );
}
