//! Fallback routes through the real daemon: a sender whose primary carrier cannot take
//! an MT (nothing listens where it points, so no bind comes up and the submit fails
//! transiently) has the MT submitted on its next route, the embedded simulator.

use serde_json::json;

use crate::harness::Daemon;
use crate::pipeline::{
    CONTACT, SENDER, events, free_port, get, poll, send_mt, sim_stats, wait_status,
};

/// A daemon whose sender routes `["down", "sim"]`: `down` points at a closed port.
fn start() -> Daemon {
    let sim = free_port();
    let down = free_port();
    let config = format!(
        r#"
[store]
synchronous = "normal"

[core]
delivery = "log"
event_log = "events.jsonl"

[messages]
retry_min = "50ms"
retry_max = "200ms"

[simulator]
listen = "127.0.0.1:{sim}"

[simulator.receipts]
delay = "24h"

[[carriers]]
name = "down"
host = "127.0.0.1"
port = {down}
system_id = "gw"
password = "pw"
required = false
[carriers.timers]
reconnect_min = "50ms"
reconnect_max = "200ms"
bind_wait = "300ms"

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = {sim}
system_id = "gw"
password = "pw"
[carriers.timers]
reconnect_min = "50ms"
reconnect_max = "200ms"

[[senders]]
number = "{SENDER}"
kind = "toll_free"
routes = ["down", "sim"]
"#
    );
    Daemon::start(&config, &[])
}

#[test]
fn an_mt_whose_primary_carrier_is_down_is_sent_on_the_fallback_route() {
    let d = start();
    let reply = send_mt(
        &d,
        json!({"from": SENDER, "to": CONTACT, "text": "Sent the other way"}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.json()["message_id"].as_str().unwrap().to_owned();

    let message = wait_status(&d, &id, "sent");
    assert_eq!(message["route"], "sim", "{message}");
    let segment = &message["segment_detail"][0];
    assert_eq!(segment["state"], "sent", "{message}");
    assert_eq!(segment["carrier"], "sim", "{message}");
    assert!(
        !segment["carrier_message_id"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{message}"
    );
    assert_eq!(sim_stats(&d)["submits"], 1);
    let statuses: Vec<String> = poll("the sent event", || {
        let of: Vec<String> = events(&d)
            .into_iter()
            .filter(|e| e.3["message_id"] == id.as_str())
            .map(|e| e.3["status"].as_str().unwrap_or("").to_owned())
            .collect();
        of.iter().any(|s| s == "sent").then_some(of)
    });
    assert_eq!(statuses, ["accepted", "sent"]);
    // The message shows no error left over from the primary's failure.
    let shown = get(&d, &format!("/v1/messages/{id}"));
    assert_eq!(shown["reason"], serde_json::Value::Null, "{shown}");
}
