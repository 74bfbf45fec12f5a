//! Receipt matching against a third-party SMSC (the npm `smpp` server,
//! `tests/interop/node_smsc_receipts.js`) writing ids as carriers do: zero-padded hex
//! (`%08x`), decimal receipts for hex ids and the reverse, some receipts before their
//! submit's response, and a first batch of MTs that never get a receipt, sent on a
//! session before the one the receipts come on. With the default `msg_id_format =
//! "auto"`, no MT may read `delivered` without its own receipt, and every MT whose
//! receipt came must read `delivered`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Daemon, HANG, http_get};
use crate::pipeline::{CONTACT, SENDER, get, send_mt, wait_status};

/// MTs sent on the first session, which the SMSC never sends receipts for.
const SILENT: usize = 60;
/// MTs sent on the second session, each followed by its receipt.
const RECEIPTED: usize = 300;
/// The pace of the second batch: 50 MTs a second, as a contact center's agents send.
const PACE: Duration = Duration::from_millis(20);

/// The npm `smpp` SMSC, and the JSON lines it prints.
pub(crate) struct Smsc {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Smsc {
    pub(crate) fn start(env: &[(&str, &str)]) -> Smsc {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
        assert!(
            dir.join("node_modules/smpp").is_dir(),
            "the npm package smpp is missing: run scripts/test-deps.sh"
        );
        let mut child = Command::new("node")
            .arg("node_smsc_receipts.js")
            .current_dir(&dir)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("the SMSC printed a non-JSON line: {line}"));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Smsc { child, lines }
    }

    /// Waits for a line for which `want` holds.
    pub(crate) fn wait(&self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(HANG)
                .unwrap_or_else(|_| panic!("the SMSC never printed {what}"));
            if want(&line) {
                return line;
            }
        }
    }

    pub(crate) fn port(&self) -> u16 {
        let line = self.wait("its port", |v| v["event"] == "listening");
        line["port"].as_u64().unwrap() as u16
    }

    pub(crate) fn wait_bind(&self, n: u64) {
        self.wait(&format!("bind {n}"), |v| {
            v["event"] == "bound" && v["binds"] == n
        });
    }
}

impl Drop for Smsc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A daemon config with the SMSC at `port` as carrier `smsc` (`carrier` adds lines to
/// its table) and one sender routed to it; events go to `events.jsonl`.
pub(crate) fn config_with(port: u16, carrier: &str) -> String {
    format!(
        r#"
[store]
synchronous = "normal"

[core]
delivery = "log"
event_log = "events.jsonl"

[[carriers]]
name = "smsc"
host = "127.0.0.1"
port = {port}
system_id = "smsbridge"
password = "secret"
{carrier}
[carriers.timers]
reconnect_min = "50ms"
reconnect_max = "200ms"

[[senders]]
number = "{SENDER}"
kind = "toll_free"
routes = ["smsc"]
"#
    )
}

fn config(port: u16) -> String {
    config_with(port, "")
}

pub(crate) fn send(d: &Daemon, text: String) -> String {
    let reply = send_mt(
        d,
        json!({"from": SENDER, "to": CONTACT, "text": text}),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.json()["message_id"].as_str().unwrap().to_owned()
}

/// The value of `name{…labels…}` in the daemon's metrics, 0 when absent.
pub(crate) fn metric(d: &Daemon, name: &str, labels: &str) -> u64 {
    let (status, text) = http_get(d.admin, "/metrics");
    assert_eq!(status, 200);
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(labels))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// Receipts matched by `form`, at once or after waiting parked.
fn matched_by(d: &Daemon, form: &str) -> u64 {
    let label = format!("result=\"{form}\"");
    metric(d, "smsbridge_receipts_matched_total", &label)
        + metric(d, "smsbridge_receipts_parked_matched_total", &label)
}

/// Runs the two batches against an SMSC started with `env`: [`SILENT`] MTs with no
/// receipts, then, on a fresh session, [`RECEIPTED`] MTs at [`PACE`], each followed by
/// its receipt (every third before its response). Checks that every receipted MT is
/// delivered and no silent one is; returns the daemon for further checks.
fn two_batches(env: &[(&str, &str)]) -> Daemon {
    let mut env = env.to_vec();
    let silent = SILENT.to_string();
    env.extend([
        ("SMSC_SILENT", silent.as_str()),
        ("SMSC_RECEIPT_FIRST_EVERY", "3"),
    ]);
    let smsc = Smsc::start(&env);
    let d = Daemon::start(&config(smsc.port()), &[]);
    smsc.wait_bind(1);
    let silent: Vec<String> = (0..SILENT)
        .map(|n| send(&d, format!("first {n}")))
        .collect();
    for id in &silent {
        wait_status(&d, id, "sent");
    }
    // The SMSC closed the first session after the last of them: the next MTs go on a
    // fresh one.
    smsc.wait_bind(2);
    let receipted: Vec<String> = (0..RECEIPTED)
        .map(|n| {
            let id = send(&d, format!("second {n}"));
            std::thread::sleep(PACE);
            id
        })
        .collect();
    for id in &receipted {
        wait_status(&d, id, "delivered");
    }
    // Every receipt was taken in: a false match would have shown by now.
    let delivered: Vec<&String> = silent
        .iter()
        .filter(|id| get(&d, &format!("/v1/messages/{id}"))["status"] != "sent")
        .collect();
    assert!(
        delivered.is_empty(),
        "{} MTs without a receipt changed state: {delivered:?}",
        delivered.len()
    );
    d
}

#[test]
fn zero_padded_hex_ids_never_deliver_a_message_that_got_no_receipt() {
    let d = two_batches(&[("SMSC_SUBMIT_IDS", "hex8"), ("SMSC_RECEIPT_IDS", "same")]);
    // Each receipt named its own segment exactly.
    let tolerant = ["folded", "hex_to_decimal", "decimal_to_hex"]
        .iter()
        .map(|form| matched_by(&d, form))
        .sum::<u64>();
    assert_eq!(tolerant, 0);
    assert_eq!(matched_by(&d, "exact"), RECEIPTED as u64);
}

#[test]
fn decimal_receipts_of_hex_ids_from_another_node_match_their_own_messages() {
    // The first batch's ids (0x100 on) are written with digits only, as the second
    // batch's decimal receipts are: `00000100` folded is `100`, the receipt of 0x64.
    let d = two_batches(&[
        ("SMSC_SUBMIT_IDS", "hex8"),
        ("SMSC_RECEIPT_IDS", "dec"),
        ("SMSC_FIRST_ID", "256"),
        ("SMSC_NEXT_ID", "1"),
    ]);
    assert!(matched_by(&d, "hex_to_decimal") > 0);
}

#[test]
fn hex_receipts_of_decimal_ids_wait_until_the_carriers_form_is_proven() {
    // `00000040` is the receipt of 64 in hex, and 40 (a first-batch id) folded: such
    // receipts come before enough unambiguous ones (`0000003d`) prove the form.
    let d = two_batches(&[("SMSC_SUBMIT_IDS", "dec"), ("SMSC_RECEIPT_IDS", "hex8")]);
    assert!(metric(&d, "smsbridge_receipts_ambiguous_total", "carrier=\"smsc\"") > 0);
    assert_eq!(matched_by(&d, "folded"), 0);
    assert!(matched_by(&d, "decimal_to_hex") > 0);
}
