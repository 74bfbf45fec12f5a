//! Receipts the test releases: a carrier simulator run by the test (so it outlives the
//! daemon across restarts) holds every receipt until the test releases them, in the
//! order it chose; chat events go to a real webhook receiver.

use std::path::Path;

use serde_json::{Value, json};
use smsbridge::config::simulator::SimulatorConfig;
use smsbridge::reason::ReasonCode;
use smsbridge::smpp::simulator::{self, SimulatorHandle, StatsSnapshot};
use tokio_util::sync::CancellationToken;

use crate::connector::{Receiver, core_config, env};
use crate::harness::{Daemon, HANG};
use crate::pipeline::{CONTACT, SENDER, get, send_mt, wait_status};

/// A carrier simulator in the test process.
struct Carrier {
    handle: SimulatorHandle,
    cancel: CancellationToken,
    rt: tokio::runtime::Runtime,
}

impl Carrier {
    /// A simulator on a free port with `settings` (simulator TOML, tables allowed).
    fn start(settings: &str) -> Carrier {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let text = format!("listen = \"127.0.0.1:0\"\n{settings}");
        let cfg = SimulatorConfig::from_toml(Path::new("sim.toml"), &text).unwrap();
        let cancel = CancellationToken::new();
        let handle = rt.block_on(simulator::start(cfg, cancel.clone())).unwrap();
        Carrier { handle, cancel, rt }
    }

    /// Waits until its counters satisfy `done`.
    fn wait_for(&self, what: &str, done: impl Fn(&StatsSnapshot) -> bool) -> StatsSnapshot {
        let wait = async { tokio::time::timeout(HANG, self.handle.wait_for_stats(done)).await };
        self.rt
            .block_on(wait)
            .unwrap_or_else(|_| panic!("simulator: {what}; {:?}", self.handle.stats()))
    }

    /// Sends the held receipts, each after the previous one was answered.
    fn release(&self) -> usize {
        let release = async { tokio::time::timeout(HANG, self.handle.release_receipts()).await };
        self.rt
            .block_on(release)
            .expect("the receipts were answered")
            .unwrap()
    }
}

impl Drop for Carrier {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A daemon bound to `carrier`, its events going to `receiver`; carrier error 27 reads
/// as "unreachable".
fn start_daemon(carrier: &Carrier, receiver: &Receiver) -> Daemon {
    let port = carrier.handle.local_addr().port();
    let extra = format!(
        r#"
[store]
synchronous = "normal"
{core}
[[carriers]]
name = "acme"
host = "127.0.0.1"
port = {port}
system_id = "gw"
password = "pw"
[carriers.error_map]
"27" = "unreachable"
[carriers.timers]
reconnect_min = "50ms"
reconnect_max = "200ms"

[[senders]]
number = "{SENDER}"
kind = "toll_free"
routes = ["acme"]
"#,
        core = core_config(receiver, "")
    );
    Daemon::start(&extra, &env())
}

fn send(d: &Daemon, text: &str) -> String {
    let reply = send_mt(
        d,
        json!({"from": SENDER, "to": CONTACT, "text": text}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.json()["message_id"].as_str().unwrap().to_owned()
}

/// The `chat.message.status` events the receiver acknowledged for `id`, in order.
fn statuses(events: &[Value], id: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["type"] == "chat.message.status" && e["data"]["message_id"] == id)
        .map(|e| e["data"].clone())
        .collect()
}

/// Sends a marker MT in the same conversation and waits until its `accepted` event was
/// acknowledged: events of a conversation arrive in order, so every event appended
/// before it has arrived too. Returns everything acknowledged by then.
fn settle(d: &Daemon, receiver: &Receiver) -> Vec<Value> {
    let marker = send(d, "marker");
    receiver.wait_for("the marker's accepted event", |events| {
        !statuses(events, &marker).is_empty()
    })
}

fn words(statuses: &[Value]) -> Vec<&str> {
    statuses
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect()
}

#[test]
fn three_parts_with_receipts_reversed_and_the_second_failing_give_one_failed_status() {
    let carrier = Carrier::start(
        r#"
[receipts]
hold = true
order = "reversed"
[[receipts.rules]]
destination = "14155550123"
segments = [2]
outcome = "undeliverable"
err = "027"
"#,
    );
    let receiver = Receiver::start(200);
    let d = start_daemon(&carrier, &receiver);
    let id = send(&d, &"A long message split in three parts. ".repeat(10));
    wait_status(&d, &id, "sent");
    carrier.wait_for("three receipts held", |s| s.receipts_held == 3);

    // Part 3 (delivered), part 2 (failed), part 1 (delivered), each answered in turn.
    assert_eq!(carrier.release(), 3);
    let message = wait_status(&d, &id, "failed");
    let segments: Vec<&str> = message["segment_detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(segments, ["delivered", "failed", "delivered"]);
    assert_eq!(message["reason"], "unreachable");

    let events = settle(&d, &receiver);
    let mine = statuses(&events, &id);
    assert_eq!(words(&mine), ["accepted", "sent", "failed"], "{mine:?}");
    let failed = &mine[2];
    assert_eq!(failed["segment"], 1, "{failed}");
    assert_eq!(failed["reason"], "unreachable");
    assert_eq!(failed["message"], ReasonCode::Unreachable.sentence());
    assert_eq!(get(&d, &format!("/v1/messages/{id}"))["status"], "failed");
}

/// Sends an MT, restarts the daemon with `restart` while the carrier holds its receipt,
/// then releases it: the MT is delivered, and the core hears so once.
fn delivered_once_across(restart: impl FnOnce(&mut Daemon)) {
    let carrier = Carrier::start("[receipts]\nhold = true\n");
    let receiver = Receiver::start(200);
    let mut d = start_daemon(&carrier, &receiver);
    let id = send(&d, "Your order shipped");
    wait_status(&d, &id, "sent");
    let before = carrier.wait_for("the receipt held", |s| s.receipts_held == 1);

    restart(&mut d);
    // The restarted daemon bound again (its old binds are gone).
    carrier.wait_for("the daemon bound again", |s| {
        s.binds_accepted >= before.binds_accepted + before.bound && s.bound == before.bound
    });
    assert_eq!(carrier.release(), 1);
    wait_status(&d, &id, "delivered");
    assert_eq!(carrier.handle.stats().submits, 1, "submitted once");

    let events = settle(&d, &receiver);
    let mine = statuses(&events, &id);
    let delivered = mine.iter().filter(|s| s["status"] == "delivered").count();
    assert_eq!(delivered, 1, "{mine:?}");
    // A crash may make the core see an earlier event twice (same event id); the
    // distinct ones are the MT's whole story.
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "chat.message.status" && e["data"]["message_id"] == id)
        .filter(|e| seen.insert(e["id"].as_str().unwrap().to_owned()))
        .map(|e| e["data"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(distinct, ["accepted", "sent", "delivered"]);
}

#[test]
fn a_receipt_held_across_a_sigkill_still_delivers_the_mt_once() {
    delivered_once_across(|d| d.kill_and_restart_with(&env()));
}

#[test]
fn a_receipt_held_across_a_graceful_restart_still_delivers_the_mt_once() {
    delivered_once_across(|d| d.restart(&env()));
}
