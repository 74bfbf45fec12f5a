//! The pipeline end to end against the real daemon with its embedded carrier simulator:
//! MT API → store → dispatcher → simulator; simulator MO → store → chat events; consent
//! keywords; idempotency; redelivery; a SIGKILL under load.
//!
//! Events are read from the JSON-lines event log the daemon delivers them to; what the
//! simulator saw is read from its demo stats route.

use std::net::SocketAddr;
use std::time::Instant;

use serde_json::{Value, json};
use smsbridge::reason::ReasonCode;

use crate::connector::{Receiver, core_config, env as webhook_env};
pub(crate) use crate::harness::free_port;
use crate::harness::{Daemon, HANG, Reply, http};

pub(crate) const SENDER: &str = "+18005550100";
pub(crate) const CONTACT: &str = "+14155550123";

/// Receipts held back (far beyond any test), so a message stays `sent`.
const NO_RECEIPTS: &str = "delay = \"24h\"";

fn start() -> Daemon {
    start_with_faults("")
}

/// A daemon whose simulator injects `faults` (lines of `[simulator.faults]`) and sends
/// no receipts.
fn start_with_faults(faults: &str) -> Daemon {
    start_with(faults, NO_RECEIPTS, "", "")
}

/// A daemon whose simulator injects `faults` and sends no receipts, with `sections`
/// (whole tables) added.
fn start_sections(faults: &str, sections: &str) -> Daemon {
    start_full(faults, NO_RECEIPTS, "", "", sections)
}

/// A daemon whose simulator injects `faults`, sends receipts as `receipts` says (lines
/// of `[simulator.receipts]`), answers with ids in `id_format` ("" = its default), and
/// has `numbers` (lines of `[numbers]`) besides a deny list.
pub(crate) fn start_with(faults: &str, receipts: &str, id_format: &str, numbers: &str) -> Daemon {
    start_full(faults, receipts, id_format, numbers, "")
}

/// [`start_with`], with `sections` (whole tables) added.
fn start_full(
    faults: &str,
    receipts: &str,
    id_format: &str,
    numbers: &str,
    sections: &str,
) -> Daemon {
    let config = daemon_config(LOG_CORE, faults, receipts, id_format, numbers, sections);
    Daemon::start(&config, &[])
}

/// Events go to the JSON-lines log `events.jsonl` in the state directory.
const LOG_CORE: &str = "[core]\ndelivery = \"log\"\nevent_log = \"events.jsonl\"\n";

/// The config of a daemon with its embedded simulator and one sender on it: `core` is
/// the whole `[core]` table, the rest as [`start_full`] takes them.
fn daemon_config(
    core: &str,
    faults: &str,
    receipts: &str,
    id_format: &str,
    numbers: &str,
    sections: &str,
) -> String {
    let id_format = match id_format {
        "" => String::new(),
        f => format!("message_id_format = \"{f}\""),
    };
    let port = free_port();
    format!(
        r#"
[store]
synchronous = "normal"

{core}

[simulator]
listen = "127.0.0.1:{port}"
{id_format}

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = {port}
system_id = "gw"
password = "pw"
[carriers.timers]
reconnect_min = "50ms"
reconnect_max = "200ms"

[[senders]]
number = "{SENDER}"
kind = "toll_free"
routes = ["sim"]

[numbers]
deny = ["+14155550199"]
{numbers}

{sections}

[simulator.faults]
{faults}

[simulator.receipts]
{receipts}
"#
    )
}

pub(crate) fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> Reply {
    let mut headers = vec![crate::harness::AUTH, ("Content-Type", "application/json")];
    if let Some(key) = key {
        headers.push(("Idempotency-Key", key));
    }
    http(addr, method, path, &headers, body.to_string().as_bytes())
}

pub(crate) fn send_mt(d: &Daemon, body: Value, key: Option<&str>) -> Reply {
    call(d.api, "POST", "/v1/messages", &body, key)
}

/// Sends `count` MTs to [`CONTACT`], texts "`prefix` 0", "`prefix` 1"…; their ids.
fn send_numbered(d: &Daemon, prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|n| {
            let reply = send_mt(
                d,
                json!({"from": SENDER, "to": CONTACT, "text": format!("{prefix} {n}")}),
                None,
            );
            assert_eq!(reply.status, 202, "{}", reply.body);
            reply.json()["message_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

pub(crate) fn get(d: &Daemon, path: &str) -> Value {
    let reply = http(d.api, "GET", path, &[crate::harness::AUTH], b"");
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()
}

pub(crate) fn send_mo(d: &Daemon, from: &str, text: &str) {
    let reply = call(
        d.api,
        "POST",
        "/v1/simulator/mo",
        &json!({"from": from, "to": SENDER, "text": text}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
}

pub(crate) fn sim_stats(d: &Daemon) -> Value {
    get(d, "/v1/simulator/stats")
}

/// Polls `probe` until it gives a value; the daemon offers no signal to wait on from
/// outside the process.
pub(crate) fn poll<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + HANG;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// Every event delivered to the core (the JSON-lines event log): (type, conversation,
/// sequence, data), in delivery order. A line being written is left for the next read.
pub(crate) fn events(d: &Daemon) -> Vec<(String, String, i64, Value)> {
    let text = std::fs::read_to_string(d.dir.path().join("events.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
                e["sequence"].as_i64().unwrap(),
                e["data"].clone(),
            )
        })
        .collect()
}

/// The events delivered, once per event id (a delivery cut short by a crash is
/// repeated with the same id; the core de-duplicates by it): id → (type, data).
fn distinct_events(d: &Daemon) -> std::collections::HashMap<String, (String, Value)> {
    let text = std::fs::read_to_string(d.dir.path().join("events.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|e| {
            let id = e["id"].as_str().unwrap().to_owned();
            (
                id,
                (e["type"].as_str().unwrap().to_owned(), e["data"].clone()),
            )
        })
        .collect()
}

fn received(d: &Daemon) -> Vec<Value> {
    events(d)
        .into_iter()
        .filter(|e| e.0 == "chat.message.received")
        .map(|e| e.3)
        .collect()
}

/// Every message of every conversation of `contact`, from the store (the API).
pub(crate) fn transcript_of(d: &Daemon, contact: &str) -> Vec<Value> {
    let listed = get(
        d,
        &format!("/v1/conversations?contact={}", contact.replace('+', "%2B")),
    );
    let mut messages = Vec::new();
    for c in listed["conversations"].as_array().unwrap() {
        let t = get(
            d,
            &format!("/v1/conversations/{}/messages", c["id"].as_str().unwrap()),
        );
        messages.extend(t["messages"].as_array().unwrap().iter().cloned());
    }
    messages
}

pub(crate) fn wait_status(d: &Daemon, id: &str, status: &str) -> Value {
    poll(&format!("message {id} {status}"), || {
        let m = get(d, &format!("/v1/messages/{id}"));
        (m["status"] == status).then_some(m)
    })
}

pub(crate) fn error_code(reply: &Reply) -> String {
    reply.json()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn an_mt_is_stored_submitted_and_reported_sent() {
    let d = start();
    let reply = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "Your order shipped"}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["encoding"], "gsm7");
    assert_eq!(body["segments"], 1);
    let id = body["message_id"].as_str().unwrap();
    let conversation = body["conversation_id"].as_str().unwrap();

    let message = wait_status(&d, id, "sent");
    let segment = &message["segment_detail"][0];
    assert_eq!(segment["state"], "sent");
    assert_eq!(segment["carrier"], "sim");
    assert!(!segment["carrier_message_id"].as_str().unwrap().is_empty());
    assert_eq!(sim_stats(&d)["submits"], 1);

    let of_conversation = poll("three events delivered", || {
        let of: Vec<_> = events(&d)
            .into_iter()
            .filter(|e| e.1 == conversation)
            .map(|e| (e.0, e.2, e.3["status"].clone()))
            .collect();
        (of.len() >= 3).then_some(of)
    });
    assert_eq!(
        of_conversation,
        vec![
            ("chat.conversation.started".into(), 1, Value::Null),
            ("chat.message.status".into(), 2, json!("accepted")),
            ("chat.message.status".into(), 3, json!("sent")),
        ]
    );
    // The transcript shows it, and the next MT joins the same conversation.
    let transcript = get(&d, &format!("/v1/conversations/{conversation}/messages"));
    assert_eq!(transcript["messages"][0]["message_id"], id);
    let again = send_mt(
        &d,
        json!({"conversation_id": conversation, "text": "Tracking: 123"}),
        None,
    );
    assert_eq!(again.json()["conversation_id"], conversation);
}

#[test]
fn held_receipts_go_out_when_the_demo_route_releases_them() {
    let d = start_with("", "hold = true\ndelay = \"0s\"", "", "");
    let reply = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "Your table is ready"}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.json()["message_id"].as_str().unwrap().to_owned();
    wait_status(&d, &id, "sent");
    poll("the receipt held", || {
        (sim_stats(&d)["receipts_held"] == 1).then_some(())
    });
    assert_eq!(get(&d, &format!("/v1/messages/{id}"))["status"], "sent");

    let released = call(
        d.api,
        "POST",
        "/v1/simulator/receipts/release",
        &json!({}),
        None,
    );
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(released.json()["released"], 1);
    wait_status(&d, &id, "delivered");
    assert_eq!(sim_stats(&d)["receipts_held"], 0);
    let again = call(
        d.api,
        "POST",
        "/v1/simulator/receipts/release",
        &json!({}),
        None,
    );
    assert_eq!(again.json()["released"], 0);
}

#[test]
fn a_long_unicode_mt_goes_out_in_ordered_segments() {
    let d = start();
    let text = "Grüße 😀 ".repeat(20);
    let reply = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": text}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["encoding"], "ucs2");
    let segments = body["segments"].as_u64().unwrap();
    assert!(segments > 1);
    let message = wait_status(&d, body["message_id"].as_str().unwrap(), "sent");
    assert_eq!(
        message["segment_detail"].as_array().unwrap().len() as u64,
        segments
    );
    assert_eq!(sim_stats(&d)["submits"].as_u64().unwrap(), segments);
}

#[test]
fn every_validation_error_has_its_code_and_status() {
    let d = start();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"from": SENDER, "to": CONTACT}),
            400,
            "bad_request",
            "",
        ),
        (
            json!({"from": SENDER, "to": CONTACT, "text": "é".repeat(1001)}),
            422,
            "text_too_long",
            "text",
        ),
        (
            json!({"from": "+18005550999", "to": CONTACT, "text": "hi"}),
            422,
            "unknown_sender",
            "from",
        ),
        (
            json!({"from": SENDER, "to": "hello", "text": "hi"}),
            422,
            "invalid_destination",
            "to",
        ),
        (
            json!({"from": SENDER, "to": "+14155550199", "text": "hi"}),
            422,
            "destination_not_sms_capable",
            "to",
        ),
        (
            json!({"from": SENDER, "to": CONTACT, "text": "hi",
                "media": [{"url": "https://core.example/a.jpg"}]}),
            422,
            "media_not_supported",
            "media",
        ),
        (json!({"text": "hi"}), 400, "bad_request", ""),
        (
            json!({"conversation_id": "nope", "text": "hi"}),
            404,
            "not_found",
            "conversation_id",
        ),
    ];
    for (body, status, code, field) in cases {
        let reply = send_mt(&d, body.clone(), None);
        assert_eq!(
            (reply.status, error_code(&reply).as_str()),
            (status, code),
            "{body}: {}",
            reply.body
        );
        let error = &reply.json()["error"];
        if !field.is_empty() {
            assert_eq!(error["field"], field, "{body}");
        }
    }
    // The count is in the sentence; the earlier check wins when several fail.
    let long = send_mt(
        &d,
        json!({"from": "+18005550999", "to": "hello", "text": "x".repeat(1200)}),
        None,
    );
    assert_eq!(error_code(&long), "text_too_long");
    assert!(
        long.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1200")
    );
    let both = send_mt(
        &d,
        json!({"from": "+18005550999", "to": "hello", "text": "hi"}),
        None,
    );
    assert_eq!(error_code(&both), "unknown_sender");
    let no_token = http(d.api, "POST", "/v1/messages", &[], b"{}");
    assert_eq!(
        (no_token.status, error_code(&no_token).as_str()),
        (401, "unauthorized")
    );
    // Nothing refused was stored or sent.
    assert!(events(&d).is_empty());
    assert_eq!(sim_stats(&d)["submits"], 0);
}

#[test]
fn a_retry_with_the_same_idempotency_key_sends_nothing_new() {
    let d = start();
    let body = json!({"from": SENDER, "to": CONTACT, "text": "once"});
    let first = send_mt(&d, body.clone(), Some("order-77"));
    assert_eq!(first.status, 202);
    wait_status(&d, first.json()["message_id"].as_str().unwrap(), "sent");
    let second = send_mt(&d, body, Some("order-77"));
    assert_eq!(second.status, 202);
    assert_eq!(second.json(), first.json());
    // The same request written differently (key order, spacing) is the same request.
    let respelled = http(
        d.api,
        "POST",
        "/v1/messages",
        &[
            crate::harness::AUTH,
            ("Content-Type", "application/json"),
            ("Idempotency-Key", "order-77"),
        ],
        format!(r#"{{ "text": "once",  "to": "{CONTACT}", "from": "{SENDER}" }}"#).as_bytes(),
    );
    assert_eq!(respelled.status, 202, "{}", respelled.body);
    assert_eq!(respelled.json(), first.json());
    // The same key with another request is refused, and sends nothing.
    let reused = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "something else"}),
        Some("order-77"),
    );
    assert_eq!(
        (reused.status, error_code(&reused).as_str()),
        (422, "idempotency_key_reused"),
        "{}",
        reused.body
    );
    assert_eq!(reused.json()["error"]["field"], "Idempotency-Key");
    let other = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "twice"}),
        Some("order-78"),
    );
    wait_status(&d, other.json()["message_id"].as_str().unwrap(), "sent");
    assert_eq!(sim_stats(&d)["submits"], 2);
    assert_eq!(transcript_of(&d, CONTACT).len(), 2);
}

#[test]
fn single_and_multi_part_mo_each_become_one_chat_message() {
    let d = start();
    send_mo(&d, "14155550123", "Hello, is my order ready?");
    let long = "Part of a long message that the phone splits. ".repeat(8);
    send_mo(&d, "14155550124", &long);
    let got = poll("two MO", || {
        let r = received(&d);
        (r.len() == 2).then_some(r)
    });
    poll("every MO part acknowledged", || {
        (sim_stats(&d)["mo_acked"].as_u64() >= Some(4)).then_some(())
    });
    let short = got.iter().find(|m| m["from"] == "+14155550123").unwrap();
    assert_eq!(short["text"], "Hello, is my order ready?");
    assert_eq!(short["segments"], 1);
    assert_eq!(short["to"], SENDER);
    let multi = got.iter().find(|m| m["from"] == "+14155550124").unwrap();
    assert_eq!(multi["text"], long.as_str());
    assert_eq!(multi["segments"], 3);
    assert_eq!(multi["incomplete"], false);
    // Each contact's first MO opened its own conversation.
    let started = poll("two conversations started", || {
        let n = events(&d)
            .iter()
            .filter(|e| e.0 == "chat.conversation.started")
            .count();
        (n >= 2).then_some(n)
    });
    assert_eq!(started, 2);
    let listed = get(&d, "/v1/conversations?contact=%2B14155550124");
    assert_eq!(listed["conversations"].as_array().unwrap().len(), 1);
}

#[test]
fn a_redelivered_mo_does_not_become_a_second_message() {
    let d = start();
    send_mo(&d, "14155550123", "same words");
    send_mo(&d, "14155550123", "same words");
    poll("both deliveries acknowledged", || {
        (sim_stats(&d)["mo_acked"] == 2).then_some(())
    });
    assert_eq!(transcript_of(&d, CONTACT).len(), 1);
}

/// The two STOPs reach the flow concurrently; whichever of their writes commits first
/// records the opt-out with its event and confirmation (they ride in the MO's own
/// write, after its dedup check), the other is a duplicate. Every wait below is for the
/// specific fact it names, never for a count that a reordering could reach early.
#[test]
fn stop_opts_out_once_and_start_opts_back_in() {
    let d = start();
    send_mo(&d, "14155550123", "STOP");
    send_mo(&d, "14155550123", "STOP");
    poll("both STOP acknowledged", || {
        (sim_stats(&d)["mo_acked"] == 2).then_some(())
    });
    // One STOP message and one confirmation; the second STOP is a redelivery.
    let texts: Vec<_> = transcript_of(&d, CONTACT)
        .iter()
        .map(|m| m["direction"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["mo", "mt"]);
    poll("the opt-out event", || {
        events(&d)
            .iter()
            .any(|e| e.0 == "chat.contact.opted_out")
            .then_some(())
    });
    // The confirmation goes out once.
    poll("the confirmation submitted", || {
        (sim_stats(&d)["submits"] == 1).then_some(())
    });
    let refused = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "deal!"}),
        None,
    );
    assert_eq!(
        (refused.status, error_code(&refused).as_str()),
        (422, "opted_out")
    );

    send_mo(&d, "14155550123", "START");
    poll("opted back in", || {
        events(&d)
            .iter()
            .any(|e| e.0 == "chat.contact.opted_in")
            .then_some(())
    });
    let allowed = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "welcome back"}),
        None,
    );
    assert_eq!(allowed.status, 202, "{}", allowed.body);
    // STOP confirmation, START confirmation, the MT.
    poll("three submits", || {
        (sim_stats(&d)["submits"] == 3).then_some(())
    });
    let received = transcript_of(&d, CONTACT)
        .iter()
        .filter(|m| m["direction"] == "mo")
        .count();
    assert_eq!(received, 2, "the redelivered STOP is no second message");
}

#[test]
fn a_conversation_closed_by_the_core_is_followed_by_a_new_linked_one() {
    let d = start();
    send_mo(&d, "14155550123", "first");
    let first = poll("first MO", || {
        events(&d)
            .into_iter()
            .find(|e| e.0 == "chat.message.received")
            .map(|e| e.1)
    });
    let closed = call(
        d.api,
        "POST",
        &format!("/v1/conversations/{first}/close"),
        &json!({}),
        None,
    );
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert!(closed.json()["closed_at"].is_string());
    send_mo(&d, "14155550123", "second");
    let started = poll("a second conversation", || {
        let s: Vec<_> = events(&d)
            .into_iter()
            .filter(|e| e.0 == "chat.conversation.started")
            .collect();
        (s.len() == 2).then_some(s)
    });
    assert_eq!(started[1].3["previous_conversation_id"], first.as_str());
}

#[test]
fn closing_a_conversation_reaches_the_core_after_its_other_events() {
    let receiver = Receiver::start(200);
    let config = daemon_config(&core_config(&receiver, ""), "", NO_RECEIPTS, "", "", "");
    let d = Daemon::start(&config, &webhook_env());
    send_mo(&d, "14155550123", "Where is my order?");
    let conversation = poll("the MO stored", || {
        let listed = get(&d, "/v1/conversations?contact=%2B14155550123");
        listed["conversations"][0]["id"].as_str().map(str::to_owned)
    });
    let reply = send_mt(
        &d,
        json!({"conversation_id": conversation, "text": "It ships today"}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    wait_status(&d, reply.json()["message_id"].as_str().unwrap(), "sent");
    let closed = call(
        d.api,
        "POST",
        &format!("/v1/conversations/{conversation}/close"),
        &json!({}),
        None,
    );
    assert_eq!(closed.status, 200, "{}", closed.body);
    let closed_at = closed.json()["closed_at"].clone();
    let got = receiver.wait_for("the closed event", |events| {
        events
            .iter()
            .any(|e| e["type"] == "chat.conversation.closed")
    });
    // The conversation's events reached the core in sequence, the closing one last.
    let of_conversation: Vec<(&str, u64)> = got
        .iter()
        .filter(|e| e["subject"] == conversation.as_str())
        .map(|e| (e["type"].as_str().unwrap(), e["sequence"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        of_conversation,
        [
            ("chat.conversation.started", 1),
            ("chat.message.received", 2),
            ("chat.message.status", 3),
            ("chat.message.status", 4),
            ("chat.conversation.closed", 5),
        ]
    );
    let event = got
        .iter()
        .find(|e| e["type"] == "chat.conversation.closed")
        .unwrap();
    assert_eq!(event["data"]["conversation_id"], conversation.as_str());
    assert_eq!(event["data"]["closed_at"], closed_at);
    // Closing again answers the same and tells the core nothing new.
    let again = call(
        d.api,
        "POST",
        &format!("/v1/conversations/{conversation}/close"),
        &json!({}),
        None,
    );
    assert_eq!(again.json()["closed_at"], closed_at);
    send_mo(&d, "14155550123", "One more thing");
    let after = receiver.wait_for("the next conversation started", |events| {
        events
            .iter()
            .filter(|e| e["type"] == "chat.conversation.started")
            .count()
            == 2
    });
    let closings = after
        .iter()
        .filter(|e| e["type"] == "chat.conversation.closed")
        .count();
    assert_eq!(closings, 1);
}

#[test]
fn every_accepted_mt_is_submitted_after_a_sigkill() {
    let mut d = start();
    let mut ids = Vec::new();
    for n in 0..40 {
        let reply = send_mt(
            &d,
            json!({"from": SENDER, "to": CONTACT, "text": format!("load {n}")}),
            None,
        );
        assert_eq!(reply.status, 202, "{}", reply.body);
        ids.push(reply.json()["message_id"].as_str().unwrap().to_owned());
    }
    d.kill_and_restart();
    for id in &ids {
        wait_status(&d, id, "sent");
    }
    // Each message is announced `sent` by exactly one event.
    let sent = poll("every sent event delivered", || {
        let sent: Vec<Value> = distinct_events(&d)
            .into_values()
            .filter(|(_, data)| data["status"] == "sent")
            .map(|(_, data)| data["message_id"].clone())
            .collect();
        (sent.len() >= ids.len()).then_some(sent)
    });
    let messages: std::collections::HashSet<String> = sent.iter().map(Value::to_string).collect();
    assert_eq!((sent.len(), messages.len()), (ids.len(), ids.len()));
}

/// More MTs than the dispatcher holds: one in flight, one waiting in the hand-over,
/// the rest only in the store. Those are listed past the two in hand and go out in
/// turn, not after the dispatcher's idle wait (a minute).
#[test]
fn mts_beyond_what_the_dispatcher_holds_go_out_without_waiting_for_its_idle_timer() {
    let d = start_sections("response_delay = \"50ms\"", "[messages]\nin_flight = 1\n");
    let ids = send_numbered(&d, "queued", 12);
    // Twelve submits of 50 ms take under a second; half the idle wait is the bound.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    for id in &ids {
        loop {
            if get(&d, &format!("/v1/messages/{id}"))["status"] == "sent" {
                break;
            }
            if Instant::now() >= deadline {
                let all: Vec<Value> = ids
                    .iter()
                    .map(|i| get(&d, &format!("/v1/messages/{i}"))["status"].clone())
                    .collect();
                panic!("message {id} still not sent; the statuses: {all:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
    }
}

/// The agent reads the reason's own sentence, not the carrier's status name; the
/// status goes beside it for operators.
#[test]
fn a_carrier_refusal_fails_the_mt_with_a_reason_and_its_sentence() {
    let d = start_with_faults("reject_prefix = \"1415555017\"");
    let reply = send_mt(
        &d,
        json!({"from": SENDER, "to": "+14155550177", "text": "hi"}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.json()["message_id"].as_str().unwrap().to_owned();
    let message = wait_status(&d, &id, "failed");
    assert_eq!(message["segment_detail"][0]["state"], "failed");
    let failed = poll("the failed event", || {
        events(&d)
            .into_iter()
            .find(|e| e.3["message_id"] == id.as_str() && e.3["status"] == "failed")
    });
    let refused = ReasonCode::InvalidNumber;
    assert_eq!(
        (&failed.3["reason"], &failed.3["message"]),
        (&json!(refused.as_str()), &json!(refused.sentence())),
        "{}",
        failed.3
    );
    // ESME_RINVDSTADR, for operators.
    assert_eq!(failed.3["carrier_status"], 0x0B, "{}", failed.3);
    assert_eq!(
        (&message["reason"], &message["reason_message"]),
        (&json!(refused.as_str()), &json!(refused.sentence())),
        "{message}"
    );
}

/// A stored MT the dispatcher cannot plan for its route — its text over the limit, as
/// an earlier version or a damaged row may leave it — fails with the reason's sentence,
/// not the planner's error.
#[test]
fn an_mt_that_cannot_be_planned_fails_with_the_reasons_sentence() {
    // No bind comes up: the MT stays accepted until the row is changed.
    let no_binds = daemon_config(LOG_CORE, "refuse_binds = true", NO_RECEIPTS, "", "", "");
    let mut d = Daemon::start(&no_binds, &[]);
    let reply = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "hi"}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.json()["message_id"].as_str().unwrap().to_owned();
    d.kill();
    let db = rusqlite::Connection::open(d.dir.path().join("smsbridge.db")).unwrap();
    db.busy_timeout(HANG).unwrap();
    let changed = db
        .execute(
            "UPDATE message SET text = ?2, next_attempt_unix_ms = 0
             WHERE id = ?1 AND status = 'accepted'",
            (&id, "x".repeat(1001)),
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    d.rewrite_config(&daemon_config(LOG_CORE, "", NO_RECEIPTS, "", "", ""));
    d.start_again(&[]);
    let message = wait_status(&d, &id, "failed");
    let failed = poll("the failed event", || {
        events(&d)
            .into_iter()
            .find(|e| e.3["message_id"] == id.as_str() && e.3["status"] == "failed")
    });
    let reason = ReasonCode::Unplannable;
    assert_eq!(
        (&failed.3["reason"], &failed.3["message"]),
        (&json!(reason.as_str()), &json!(reason.sentence())),
        "{}",
        failed.3
    );
    assert_eq!(message["reason_message"], reason.sentence(), "{message}");
    assert_eq!(sim_stats(&d)["submits"], 0);
}

#[test]
fn transient_carrier_errors_are_retried_until_sent() {
    let d = start_with_faults("syserr_percent = 50");
    let ids = send_numbered(&d, "retry", 5);
    for id in &ids {
        wait_status(&d, id, "sent");
    }
}

#[test]
fn an_mt_the_carrier_never_takes_expires_after_its_validity() {
    let d = start_sections(
        "syserr_percent = 100",
        "[messages]\nvalidity = \"1s\"\nretry_min = \"50ms\"\nretry_max = \"200ms\"\n",
    );
    let reply = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "never taken"}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.json()["message_id"].as_str().unwrap().to_owned();
    let message = wait_status(&d, &id, "expired");
    assert_eq!(message["reason"], "validity_expired");
    let expired = poll("the expired event", || {
        events(&d)
            .into_iter()
            .find(|e| e.3["message_id"] == id.as_str() && e.3["status"] == "expired")
    });
    assert_eq!(expired.3["reason"], "validity_expired");
    assert_eq!(expired.3["message"], ReasonCode::ValidityExpired.sentence());
    // The carrier was asked more than once: transient errors were retried until the end.
    let stats = sim_stats(&d);
    assert!(stats["submits"].as_u64().unwrap() > 1, "{stats}");
}

#[test]
fn the_openapi_document_describes_the_routes_and_the_error_schema() {
    let d = start();
    let anonymous = http(d.api, "GET", "/v1/openapi.json", &[], b"");
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let doc = get(&d, "/v1/openapi.json");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/messages",
        "/v1/messages/{id}",
        "/v1/segments",
        "/v1/numbers/{number}",
        "/v1/conversations",
        "/v1/conversations/{id}/close",
        "/v1/conversations/{id}/messages",
        "/v1/optouts",
        "/v1/optouts/{contact}/{sender}",
        "/v1/optouts/export",
        "/v1/optouts/import",
        "/v1/events/dead-letters",
        "/v1/events/dead-letters/{event_id}/replay",
        "/v1/openapi.json",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing: {:?}",
            paths.keys()
        );
    }
    // The API routes its handlers from this document (an undocumented handler cannot be
    // routed), so what it serves is at most what is documented; and every documented
    // operation is served: none falls through to the API's "no such endpoint".
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{number}", "%2B14155550123")
            .replace("{contact}", "%2B14155550123")
            .replace("{sender}", "%2B18005550100")
            .replace(['{', '}'], "");
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let reply = call(d.api, &method, &concrete, &json!({}), None);
            let unrouted = reply.status == 405
                || (reply.status == 404 && reply.body.contains("no such endpoint"));
            assert!(
                !unrouted,
                "{method} {path}: {} {}",
                reply.status, reply.body
            );
            operations += 1;
        }
    }
    assert!(operations >= 15, "{operations} operations");
    let unknown = call(d.api, "GET", "/v1/nowhere", &json!({}), None);
    assert!(
        unknown.body.contains("no such endpoint"),
        "{}",
        unknown.body
    );
    let send = &paths["/v1/messages"]["post"];
    assert!(send["responses"]["202"].is_object(), "{send}");
    let refusals = send["responses"]["422"]["description"].as_str().unwrap();
    assert!(refusals.contains("idempotency_key_reused"), "{refusals}");
    assert_eq!(
        send["responses"]["503"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    // The error schema is the shape the routes answer.
    let schemas = &doc["components"]["schemas"];
    let detail = &schemas["ErrorDetail"];
    for field in ["code", "message", "field"] {
        assert!(detail["properties"][field].is_object(), "{detail}");
    }
    let refused = send_mt(&d, json!({"from": SENDER, "to": CONTACT}), None);
    let error = refused.json()["error"].as_object().unwrap().clone();
    let answered: Vec<&String> = error.keys().collect();
    let documented: Vec<&String> = detail["properties"].as_object().unwrap().keys().collect();
    assert_eq!(answered.len(), documented.len(), "{error:?} vs {detail}");
    assert!(
        answered.iter().all(|k| documented.contains(k)),
        "{error:?} vs {detail}"
    );
    let body = &schemas["SendBody"]["properties"];
    assert!(
        body["text"].is_object() && body["conversation_id"].is_object(),
        "{body}"
    );
    // Every reason a failed message can carry is listed.
    let listed = &schemas["ReasonCode"]["enum"];
    let codes: Vec<&str> = ReasonCode::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(listed, &json!(codes), "{}", schemas["ReasonCode"]);
}

#[test]
fn an_mt_is_planned_with_its_carriers_text_profile() {
    // Curly quotes are not GSM7: UCS-2 on a default carrier, GSM7 where the carrier's
    // profile turns on smart encoding.
    let text = "\u{201c}On my way\u{201d}";
    let plain = start();
    let smart = start_sections("", "[carriers.text]\nsmart_encoding = true\n");
    for (d, encoding) in [(&plain, "ucs2"), (&smart, "gsm7")] {
        let reply = send_mt(
            d,
            json!({"from": SENDER, "to": CONTACT, "text": text}),
            None,
        );
        assert_eq!(reply.status, 202, "{}", reply.body);
        assert_eq!(reply.json()["encoding"], encoding, "{}", reply.body);
        let id = reply.json()["message_id"].as_str().unwrap().to_owned();
        let sent = wait_status(d, &id, "sent");
        assert_eq!(sent["encoding"], encoding, "{sent}");
        // The compose box's preview plans it the same way for that sender.
        let preview = call(
            d.api,
            "POST",
            "/v1/segments",
            &json!({"text": text, "from": SENDER}),
            None,
        );
        assert_eq!(preview.status, 200, "{}", preview.body);
        let preview = preview.json();
        assert_eq!(preview["encoding"], encoding, "{preview}");
        assert_eq!(preview["segments"], 1, "{preview}");
        assert_eq!(preview["characters"], 11, "{preview}");
        assert_eq!(preview["characters_remaining"], 989, "{preview}");
    }
}

#[test]
fn the_segments_preview_counts_and_refuses_like_the_intake() {
    let d = start();
    let preview = |body: Value| call(d.api, "POST", "/v1/segments", &body, None);
    // 161 GSM7 characters: two segments of 153, 145 septets left in the second.
    let long = preview(json!({"text": "a".repeat(161)}));
    assert_eq!(long.status, 200, "{}", long.body);
    let long = long.json();
    assert_eq!(
        (long["encoding"].as_str(), long["segments"].as_u64()),
        (Some("gsm7"), Some(2))
    );
    assert_eq!(long["units_per_segment"], 153);
    assert_eq!(long["units_remaining"], 145);
    let unknown = preview(json!({"text": "hi", "from": "+18005550999"}));
    assert_eq!(
        (unknown.status, error_code(&unknown).as_str()),
        (422, "unknown_sender")
    );
    let too_long = preview(json!({"text": "a".repeat(1001)}));
    assert_eq!(
        (too_long.status, error_code(&too_long).as_str()),
        (422, "text_too_long")
    );
    let not_json = http(
        d.api,
        "POST",
        "/v1/segments",
        &[crate::harness::AUTH, ("Content-Type", "application/json")],
        b"{",
    );
    assert_eq!(
        (not_json.status, error_code(&not_json).as_str()),
        (400, "bad_request")
    );
}

#[test]
fn every_acknowledged_mo_is_present_after_a_sigkill() {
    let mut d = start();
    for n in 0..20 {
        send_mo(
            &d,
            &format!("1415555{:04}", 1000 + n),
            &format!("question {n}"),
        );
    }
    let acked = poll("some MO acknowledged", || {
        let n = sim_stats(&d)["mo_acked"].as_u64().unwrap();
        (n >= 5).then_some(n)
    });
    d.kill_and_restart();
    // Every acknowledged MO reaches the core, each as one chat message (one event id).
    let stored: Vec<Value> = poll("the acknowledged MO delivered", || {
        let stored: Vec<Value> = distinct_events(&d)
            .into_values()
            .filter(|(ty, _)| ty == "chat.message.received")
            .map(|(_, data)| data)
            .collect();
        (stored.len() as u64 >= acked).then_some(stored)
    });
    let senders: std::collections::HashSet<_> =
        stored.iter().map(|m| m["from"].to_string()).collect();
    assert_eq!(senders.len(), stored.len(), "no MO stored twice");
}
