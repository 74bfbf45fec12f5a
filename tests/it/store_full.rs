//! A store at its size limit (`[store] max_size_bytes`) against the real daemon: MTs are
//! refused `503 overloaded` with a JSON error, MOs are answered ESME_RX_T_APPN (the
//! carrier keeps them), and both work again once the limit is raised by a reload.
//!
//! Chat events go to a webhook nobody listens on, so none is ever delivered and deleted,
//! and the carrier refuses every submit, so no receipt arrives: the store only grows,
//! and nothing but the test's own requests competes for its last pages.
//!
//! Then a real full disk: the state directory on a small tmpfs filled with a file (the
//! tests mount it, so they need root, as in CI; without it they say so and skip). The
//! daemon turns unready naming the store, refuses MTs, logs at a bounded rate without
//! spinning, stops within the drain timeout, and recovers when space returns; the
//! JSON-lines event log never keeps a partial line.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::free_port;
use crate::harness::{Daemon, HANG, Reply, Tmpfs, http, http_get, wait_until};

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

/// The size of the tmpfs under a test's state directory.
const DISK: u64 = 8 * 1024 * 1024;
/// `drain_timeout` in the harness's base config.
const DRAIN: Duration = Duration::from_secs(5);
/// What a stop may take beyond the drain timeout before the test calls it hung: the
/// daemon gives its tasks a few seconds more; the rest is room for a slow machine.
const STOP_MARGIN: Duration = Duration::from_secs(30);

/// Mounts a tmpfs of `bytes` on `dir`, or says why the test is skipped.
fn mount(dir: &Path, bytes: u64) -> Option<Tmpfs> {
    match Tmpfs::mount(dir, bytes) {
        Ok(disk) => Some(disk),
        Err(e) => {
            eprintln!("skipped: cannot mount tmpfs: {e}");
            None
        }
    }
}

/// The carrier throttles every submit, so MTs keep retrying (each attempt a write), and
/// events go to a webhook nobody listens on, so they keep retrying too: work that
/// writes to the store all the time.
fn disk_config(sim_port: u16, dead_port: u16) -> String {
    format!(
        r#"
[store]
synchronous = "normal"

[core]
delivery = "webhook"
url = "http://127.0.0.1:{dead_port}/events"
secret = "webhook-secret"
retry_min = "100ms"
retry_max = "200ms"

[messages]
retry_min = "100ms"
retry_max = "200ms"

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
throttle_percent = 100
"#
    )
}

/// Starts the daemon on a fresh tmpfs, leaves MTs retrying, then fills the disk with
/// a file and the store with MTs until one is refused `503 overloaded`. Answers the
/// daemon, the mount, the filler file and the next MT number.
fn start_and_fill_the_disk() -> Option<(Daemon, Tmpfs, PathBuf, usize)> {
    let dir = tempfile::tempdir().unwrap();
    let disk = mount(dir.path(), DISK)?;
    let d = Daemon::start_in(dir, &disk_config(free_port(), free_port()), &[]);
    wait_stats(&d, "a bind", |s| s["bound"].as_u64() > Some(0));
    for n in 0..3 {
        let reply = send_mt(&d, n, false);
        assert_eq!(reply.status, 202, "{}", reply.body);
    }
    let filler = disk.fill();
    // The store may still have room in its write-ahead log: it is filled up too.
    let (next, refused) = fill(&d, 3);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "overloaded");
    Some((d, disk, filler, next))
}

/// Waits until `/readyz` answers 503 because of the store; answers what it says.
fn wait_unready(d: &Daemon) -> Value {
    wait_until("/readyz to fail on the store", || {
        let (code, body) = http_get(d.admin, "/readyz");
        let body: Value = serde_json::from_str(&body).unwrap();
        (code == 503 && body["checks"]["store"] != "ok").then_some(body)
    })
}

/// While the store refuses writes, the log stays quiet and the event delivery waits
/// instead of trying again at once. Measured against the commits that fail meanwhile
/// (MTs posted until a hundred more have failed), between two reloads that mark the
/// window in the log: a line per failure, or a delivery attempt per failed commit
/// (recording each attempt fails), is what a busy loop looks like.
fn assert_quiet_while_refused(d: &mut Daemon, mut next: usize) -> usize {
    let failed = |d: &Daemon| d.metric("smsbridge_store_commits_total", "result=\"error\"");
    let tried = |d: &Daemon| d.metric("smsbridge_event_delivery_attempts_total", "");
    d.signal("HUP");
    d.wait_for_message("configuration reloaded");
    let from = d.seen.len();
    let (failed_before, tried_before) = (failed(d), tried(d));
    let first = next;
    while failed(d) - failed_before < 100.0 {
        assert!(next < first + 5000, "the store took the writes again");
        for _ in 0..10 {
            send_mt(d, next, false);
            next += 1;
        }
    }
    let (commits, attempts) = (failed(d) - failed_before, tried(d) - tried_before);
    d.signal("HUP");
    d.wait_for_message("configuration reloaded");
    let loud: Vec<&Value> = d.seen[from..]
        .iter()
        .filter(|v| v["level"] == "WARN" || v["level"] == "ERROR")
        .collect();
    assert!(
        loud.len() as f64 * 4.0 <= commits,
        "{} warnings and errors for {commits} failed commits; the first ones:\n{}",
        loud.len(),
        loud.iter()
            .take(20)
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        attempts * 4.0 <= commits,
        "{attempts} event delivery attempts for {commits} failed commits"
    );
    next
}

#[test]
fn a_full_disk_makes_the_daemon_unready_and_quiet_and_it_still_stops_in_time() {
    let Some((mut d, _disk, _filler, next)) = start_and_fill_the_disk() else {
        return;
    };
    let ready = wait_unready(&d);
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["checks"]["store"], "store refuses writes: disk full");
    let reply = send_mt(&d, next, false);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], "overloaded");
    assert_quiet_while_refused(&mut d, next + 1);

    // Work that cannot be recorded does not hold the stop up: it ends within the drain
    // timeout and a few seconds, and says what it left behind.
    d.signal("TERM");
    let status = d.wait_exit_within(DRAIN + STOP_MARGIN);
    let left = d.seen.iter().find(|v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("stopping with work left"))
    });
    match left {
        Some(line) => {
            assert_eq!(status.code(), Some(1), "{status}");
            assert_eq!(line["store_refuses_writes"], "disk full", "{line}");
        }
        // Everything in flight managed to stop on its own.
        None => assert!(status.success() && d.logged("stopped"), "{status}"),
    }
}

#[test]
fn restarted_on_a_full_disk_the_daemon_waits_quietly_and_recovers_when_space_returns() {
    let Some((mut d, _disk, filler, next)) = start_and_fill_the_disk() else {
        return;
    };
    // Killed, as a hung daemon was: its events and MTs are due at once on the restart.
    d.kill();
    d.start_again(&[]);
    let ready = wait_unready(&d);
    assert_eq!(ready["checks"]["store"], "store refuses writes: disk full");
    let next = assert_quiet_while_refused(&mut d, next);

    std::fs::remove_file(filler).unwrap();
    wait_until("/readyz to answer 200 again", || {
        (http_get(d.admin, "/readyz").0 == 200).then_some(())
    });
    let reply = send_mt(&d, next, true);
    assert_eq!(reply.status, 202, "{}", reply.body);
    d.signal("TERM");
    let status = d.wait_exit_within(DRAIN + STOP_MARGIN);
    assert!(status.success(), "{status}");
}

#[test]
fn the_event_log_keeps_only_whole_lines_when_its_disk_fills_up() {
    // The event log alone on a tmpfs too small for the events waiting: writing them
    // fills it, and the write that meets the end is cut short by the kernel.
    let events = tempfile::tempdir().unwrap();
    let Some(disk) = mount(events.path(), 64 * 1024) else {
        return;
    };
    let log = events.path().join("events.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let conversations: Vec<String> = (0..600).map(|i| format!("c{}", i % 20)).collect();
    let conversations: Vec<&str> = conversations.iter().map(String::as_str).collect();
    let sent = crate::connector::append(dir.path(), &conversations);
    let d = Daemon::start_in(
        dir,
        &format!(
            r#"
[core]
delivery = "log"
event_log = "{}"
batch_max = 10
poll_interval = "50ms"
retry_min = "50ms"
retry_max = "100ms"
"#,
            log.display()
        ),
        &[],
    );
    wait_until("an event log write to fail", || {
        let failed = d.metric(
            "smsbridge_event_delivery_attempts_total",
            "result=\"error\"",
        );
        (failed > 0.0).then_some(())
    });
    let whole_lines = || {
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "a partial last line"
        );
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect::<Vec<Value>>()
    };
    let written = whole_lines();
    assert!(written.len() < sent.len(), "the disk never filled up");

    // Space returns: the events not written are written whole, each once, in order.
    // (Lines are counted while the daemon writes, and parsed once it is done.)
    disk.resize(4 * 1024 * 1024);
    wait_until("every event in the log", || {
        let text = std::fs::read(&log).unwrap();
        (text.iter().filter(|b| **b == b'\n').count() >= sent.len()).then_some(())
    });
    crate::connector::assert_once_in_order(&whole_lines(), &sent);
}
