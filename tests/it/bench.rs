//! `smsbridge bench` as a command: a short run of each kind against the real rig (the
//! simulator and the gateway as child processes, the command's own webhook receiver).
//! The counts must add up; no timing is asserted.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{HANG, binary};

/// Runs `smsbridge bench <args> --json` (at most 60 s of sending unless `args` say
/// otherwise), waits for it (failing the test if it hangs), and returns its JSON
/// summary line.
fn bench(args: &[&str]) -> Value {
    let mut child = Command::new(binary())
        .arg("bench")
        .args(args)
        .args(["--json", "--drain", "60s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + HANG * 2;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("smsbridge bench {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON summary in:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// A process's cost is there and plausible: some CPU, a resident size.
fn assert_cost(summary: &Value, process: &str) {
    let cost = &summary[process];
    assert!(
        cost["cpu_seconds"].as_f64().unwrap() > 0.0,
        "{process}: {cost}"
    );
    assert!(
        cost["peak_rss_mb"].as_f64().unwrap() > 1.0,
        "{process}: {cost}"
    );
}

#[test]
fn bench_mt_sends_every_message_and_counts_its_events() {
    let s = bench(&[
        "mt",
        "--duration",
        "60s",
        "--count",
        "40",
        "--clients",
        "4",
        "--contacts",
        "10",
        "--rss-every",
        "100ms",
    ]);
    assert_eq!(s["bench"], "mt");
    assert_eq!(s["complete"], true, "{s}");
    assert_eq!(u(&s["accepted"]["total"]), 40, "{s}");
    assert_eq!(u(&s["refused"]), 0);
    assert_eq!(u(&s["submits"]["total"]), 40, "{s}");
    assert_eq!(u(&s["receipts"]["total"]), 40, "{s}");
    let e = &s["event_counts"];
    // Each message: accepted, sent, delivered; each of the 10 contacts: one conversation.
    assert_eq!(u(&e["accepted"]), 40, "{e}");
    assert_eq!(u(&e["sent"]), 40, "{e}");
    assert_eq!(u(&e["delivered"]), 40, "{e}");
    assert_eq!(u(&e["conversations_started"]), 10, "{e}");
    assert_eq!(u(&e["total"]), 130, "{e}");
    assert_eq!(u(&s["events"]["total"]), 130);
    for latency in ["api", "post_to_sent", "post_to_delivered"] {
        let l = &s["latency"][latency];
        assert_eq!(u(&l["count"]), 40, "{latency}: {l}");
        assert!(
            l["p50_ms"].as_f64().unwrap() <= l["p99_ms"].as_f64().unwrap()
                && l["p99_ms"].as_f64().unwrap() <= l["max_ms"].as_f64().unwrap(),
            "{latency}: {l}"
        );
    }
    assert!(s["latency"]["ack_to_event"].is_null());
    assert!(s["accepted"]["per_second"].as_f64().unwrap() > 0.0);
    assert_cost(&s, "gateway");
    assert_cost(&s, "simulator");
    assert!(!s["rss_samples"].as_array().unwrap().is_empty(), "{s}");
}

#[test]
fn bench_mt_paced_sends_at_most_what_the_rate_allows_in_the_time() {
    // 20 messages/s for at most 1 s: the run stops by time, well before the count.
    let s = bench(&[
        "mt",
        "--count",
        "1000",
        "--clients",
        "2",
        "--rate",
        "20",
        "--contacts",
        "5",
        "--duration",
        "1s",
    ]);
    let accepted = u(&s["accepted"]["total"]);
    assert!((1..=20).contains(&accepted), "{s}");
    assert_eq!(u(&s["event_counts"]["delivered"]), accepted, "{s}");
    assert_eq!(s["settings"]["rate"], 20.0);
}

#[test]
fn bench_mo_turns_every_part_into_chat_messages() {
    for (parts, count) in [("1", 30u64), ("3", 12)] {
        let count_arg = count.to_string();
        let s = bench(&[
            "mo",
            "--count",
            &count_arg,
            "--parts",
            parts,
            "--duration",
            "60s",
        ]);
        let parts: u64 = parts.parse().unwrap();
        assert_eq!(s["bench"], "mo");
        assert_eq!(s["complete"], true, "{s}");
        assert_eq!(u(&s["mo_parts"]["total"]), count * parts, "{s}");
        assert_eq!(u(&s["mo_messages"]["total"]), count, "{s}");
        let e = &s["event_counts"];
        assert_eq!(u(&e["received"]), count, "{e}");
        // One subscriber per message (fewer than --contacts): each starts a conversation.
        assert_eq!(u(&e["conversations_started"]), count, "{e}");
        assert_eq!(u(&e["total"]), 2 * count, "{e}");
        assert_eq!(u(&e["unreadable"]), 0, "{e}");
        assert_eq!(u(&s["latency"]["ack_to_event"]["count"]), count, "{s}");
        assert_eq!(u(&s["submits"]["total"]), 0);
        assert_cost(&s, "gateway");
    }
}
