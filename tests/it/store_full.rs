//! A store at its size limit (`[store] max_size_bytes`) against the real daemon: MTs are
//! refused `503 overloaded` with a JSON error, MOs are answered ESME_RX_T_APPN (the
//! carrier keeps them), and both work again once the limit is raised by a reload.
//!
//! Chat events go to a webhook nobody listens on, so none is ever delivered and deleted,
//! and the carrier refuses every submit, so no receipt arrives: the store only grows,
//! and nothing but the test's own requests competes for its last pages.

use std::time::Instant;

use serde_json::{Value, json};

use crate::harness::free_port;
use crate::harness::{Daemon, HANG, Reply, http};

const SENDER: &str = "+18005550100";
const CONTACT: &str = "+14155550123";
/// Small enough that a few dozen long MTs fill it.
const LIMIT: u64 = 512 * 1024;

fn config(sim_port: u16, dead_port: u16, limit: u64) -> String {
    format!(
        r#"
[store]
synchronous = "normal"
max_size_bytes = {limit}

[core]
delivery = "webhook"
url = "http://127.0.0.1:{dead_port}/events"
secret = "webhook-secret"
retry_min = "1h"
retry_max = "1h"

[simulator]
listen = "127.0.0.1:{sim_port}"

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = {sim_port}
system_id = "gw"
password = "pw"
[carriers.timers]
reconnect_min = "50ms"
reconnect_max = "200ms"

[[senders]]
number = "{SENDER}"
kind = "toll_free"
routes = ["sim"]

[simulator.faults]
reject_prefix = "1"
"#
    )
}

fn call(d: &Daemon, method: &str, path: &str, body: &Value) -> Reply {
    let headers = [crate::harness::AUTH, ("Content-Type", "application/json")];
    http(d.api, method, path, &headers, body.to_string().as_bytes())
}

fn send_mt(d: &Daemon, n: usize, long: bool) -> Reply {
    // Distinct texts: each takes its own pages.
    let text = match long {
        true => format!("{n:04} {}", "fill the store ".repeat(60)),
        false => format!("{n}"),
    };
    call(
        d,
        "POST",
        "/v1/messages",
        &json!({"from": SENDER, "to": CONTACT, "text": text}),
    )
}

fn stats(d: &Daemon) -> Value {
    let reply = http(
        d.api,
        "GET",
        "/v1/simulator/stats",
        &[crate::harness::AUTH],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn send_mo(d: &Daemon, text: &str) {
    let reply = call(
        d,
        "POST",
        "/v1/simulator/mo",
        &json!({"from": CONTACT, "to": SENDER, "text": text}),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
}

/// Polls the simulator's counters until `done` holds; the daemon offers no signal to
/// wait on from outside the process.
fn wait_stats(d: &Daemon, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + HANG;
    loop {
        let s = stats(d);
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s}"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// Posts long MTs, then short ones, until one is refused: the store has no room left
/// for even a small write. Answers how many were accepted and the last refusal.
fn fill(d: &Daemon, first: usize) -> (usize, Reply) {
    let mut n = first;
    for long in [true, false] {
        loop {
            assert!(n < first + 5000, "the store never filled up");
            let reply = send_mt(d, n, long);
            n += 1;
            if reply.status != 202 {
                if long {
                    break;
                }
                return (n, reply);
            }
        }
    }
    unreachable!("the loop over short MTs returns")
}

#[test]
fn a_full_store_refuses_mts_and_mos_and_recovers_when_the_limit_rises() {
    let (sim_port, dead_port) = (free_port(), free_port());
    let mut d = Daemon::start(&config(sim_port, dead_port, LIMIT), &[]);
    wait_stats(&d, "a bind", |s| s["bound"].as_u64() > Some(0));

    let (mut sent, refused) = fill(&d, 0);
    assert!(sent > 2, "the store was full before any MT");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(
        refused.header("content-type"),
        Some("application/json"),
        "{}",
        refused.body
    );
    assert_eq!(refused.json()["error"]["code"], "overloaded");

    // An MO the store cannot take is answered with an error status, not ESME_ROK. An MO
    // is smaller than the smallest MT, so it may still fit in the last free bytes: then
    // the store is filled again and the next MO tried.
    let mut refused_mo = false;
    for round in 0..20 {
        let before = stats(&d);
        send_mo(&d, &format!("anyone there? {round}"));
        let after = wait_stats(&d, "the MO's answer", |s| {
            s["deliveries_failed"].as_u64() > before["deliveries_failed"].as_u64()
                || s["mo_acked"].as_u64() > before["mo_acked"].as_u64()
        });
        if after["mo_acked"] == before["mo_acked"] {
            refused_mo = true;
            break;
        }
        sent = fill(&d, sent).0;
    }
    assert!(refused_mo, "every MO was acknowledged by a full store");

    // Space returns: the limit is raised by a reload, and both directions work again.
    d.rewrite_config(&config(sim_port, dead_port, 64 * LIMIT));
    d.signal("HUP");
    d.wait_for_message("configuration reloaded");
    let reply = send_mt(&d, sent, true);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let before = stats(&d);
    send_mo(&d, "hello again");
    wait_stats(&d, "the MO acknowledged", |s| {
        s["mo_acked"].as_u64() > before["mo_acked"].as_u64()
    });
}
