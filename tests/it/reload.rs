//! What a SIGHUP applies, through the real daemon: consent keywords and replies take
//! effect at once ([consent] and a sender's own); a key that needs a restart is named in
//! the log, in `/status` and by a gauge until the restart.

use serde_json::{Value, json};

use crate::harness::{Daemon, free_port, http_get};
use crate::lifecycle::metric;
use crate::pipeline::{
    CONTACT, SENDER, error_code, events, poll, send_mo, send_mt, sim_stats, transcript_of,
};

/// A daemon with its embedded simulator and one sender on it: `consent` is appended
/// as a whole `[consent]` table when not empty, `sender` as lines of the sender's
/// table. The simulator's port is given, so a rewritten file keeps it.
fn config(port: u16, consent: &str, sender: &str) -> String {
    format!(
        r#"
[store]
synchronous = "normal"

[core]
delivery = "log"
event_log = "events.jsonl"

[simulator]
listen = "127.0.0.1:{port}"

[simulator.receipts]
delay = "24h"

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
{sender}

{consent}
"#
    )
}

/// Rewrites the file and waits until the daemon says it reloaded it.
fn reload(d: &mut Daemon, extra: &str) -> Value {
    d.rewrite_config(extra);
    d.signal("HUP");
    d.wait_for_message("configuration reloaded")
}

/// Sends `word` from the customer and checks it opted them out, confirmed with `reply`,
/// and that the next MT to them is refused.
fn assert_opted_out_by(d: &Daemon, word: &str, reply: &str) {
    send_mo(d, "14155550123", word);
    let opted_out = poll("the opt-out event", || {
        events(d)
            .into_iter()
            .find(|e| e.0 == "chat.contact.opted_out")
    });
    assert_eq!(opted_out.3["keyword"], word);
    poll("the confirmation submitted", || {
        (sim_stats(d)["submits"] == 1).then_some(())
    });
    let sent: Vec<String> = transcript_of(d, CONTACT)
        .iter()
        .filter(|m| m["direction"] == "mt")
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, [reply], "the confirmation is the reloaded reply");
    let refused = send_mt(
        d,
        json!({"from": SENDER, "to": CONTACT, "text": "a deal for you"}),
        None,
    );
    assert_eq!(
        (refused.status, error_code(&refused).as_str()),
        (422, "opted_out"),
        "{}",
        refused.body
    );
}

#[test]
fn consent_keywords_and_replies_reloaded_apply_to_the_next_mo() {
    let port = free_port();
    let mut d = Daemon::start(&config(port, "", ""), &[]);
    reload(
        &mut d,
        &config(
            port,
            "[consent]\n\
             opt_out_keywords = [\"STOP\", \"QUITNOW\"]\n\
             opt_out_reply = \"Acme: you will hear no more from us.\"\n",
            "",
        ),
    );
    assert_opted_out_by(&d, "QUITNOW", "Acme: you will hear no more from us.");
}

#[test]
fn a_senders_own_keywords_and_replies_reloaded_apply_to_the_next_mo() {
    let port = free_port();
    let mut d = Daemon::start(&config(port, "", ""), &[]);
    reload(
        &mut d,
        &config(
            port,
            "",
            "opt_out_keywords = [\"STOP\", \"ARRET\"]\n\
             opt_out_reply = \"Acme support: unsubscribed.\"\n",
        ),
    );
    assert_opted_out_by(&d, "ARRET", "Acme support: unsubscribed.");
}

fn restart_pending(d: &Daemon) -> (Value, Option<f64>) {
    let (_, status) = http_get(d.admin, "/status");
    let status: Value = serde_json::from_str(&status).unwrap();
    let (_, metrics) = http_get(d.admin, "/metrics");
    (
        status["config_restart_pending"].clone(),
        metric(&metrics, "smsbridge_config_restart_pending"),
    )
}

#[test]
fn a_key_that_needs_a_restart_is_named_until_the_restart() {
    let mut d = Daemon::start("", &[]);
    assert_eq!(restart_pending(&d), (json!([]), Some(0.0)));

    let changed = "[numbers]\nunreachable_capacity = 5000\n";
    reload(&mut d, changed);
    let warned = d
        .seen
        .iter()
        .find(|v| v["message"] == "changed in the file but applied only after a restart")
        .expect("a warning naming the key");
    assert!(
        warned["keys"]
            .as_str()
            .unwrap()
            .contains("numbers.unreachable_capacity"),
        "{warned}"
    );
    let pending = (json!(["numbers.unreachable_capacity"]), Some(1.0));
    assert_eq!(restart_pending(&d), pending);

    // A reload that changes only a live key leaves the other waiting: it still does not run.
    reload(&mut d, &format!("{changed}default_region = \"GB\"\n"));
    assert_eq!(restart_pending(&d), pending);

    d.restart(&[]);
    assert_eq!(restart_pending(&d), (json!([]), Some(0.0)));
}
