//! The API against generated hostile input: schemathesis (PyPI, installed in
//! `tests/interop/.venv` by `scripts/test-deps.sh`) reads `/v1/openapi.json` from the
//! running daemon and sends requests built from it, valid and invalid. A client that
//! follows the document must never see a server error, and every answer must match the
//! schema the document promises for it.
//!
//! Bounded so it can run in every `cargo test`: a fixed number of examples per
//! operation, a fixed seed (a failure reproduces), one worker. Every operation is in
//! scope: the carrier is the embedded simulator and events go to a file in the state
//! directory, so nothing leaves the machine.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Daemon, http_get};

/// Examples per API operation and phase; enough to reach every documented parameter
/// and body shape, few enough for a run of seconds.
const EXAMPLES_PER_OPERATION: &str = "25";

/// The fixed seed, so a failure found once is found again.
const SEED: &str = "1";

/// How long the schemathesis process may run before it counts as hung. A guard, not a
/// performance threshold: a healthy run takes a fraction of it.
const HUNG: Duration = Duration::from_secs(300);

/// The bearer token the harness gives the daemon (through `SMSBRIDGE_API_TOKEN`).
fn api_token() -> &'static str {
    crate::harness::TOKEN
}

/// The daemon with its embedded simulator as the carrier, one sender on it, and events
/// written to a file.
fn config() -> String {
    let port = crate::harness::free_port();
    format!(
        r#"
[store]
synchronous = "normal"

[core]
delivery = "log"
event_log = "events.jsonl"

[simulator]
listen = "127.0.0.1:{port}"

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = {port}
system_id = "gw"
password = "pw"

[[senders]]
number = "+18005550100"
kind = "toll_free"
routes = ["sim"]
"#
    )
}

/// The number after `label` in schemathesis's summary (`Tested: 16`, `Selected: 16/16`).
fn summary_count(output: &str, label: &str) -> Option<u32> {
    let rest = &output[output.find(label)? + label.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn schemathesis() -> Command {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/.venv");
    let program = venv.join("bin/schemathesis");
    assert!(
        program.is_file(),
        "the PyPI package schemathesis is missing: run scripts/test-deps.sh"
    );
    Command::new(program)
}

#[test]
fn generated_requests_get_no_server_error_and_answers_match_the_document() {
    let d = Daemon::start(&config(), &[]);
    let schema = format!("http://{}/v1/openapi.json", d.api);
    let auth = format!("Authorization: Bearer {}", api_token());
    let mut child = schemathesis()
        .args(["run", &schema, "--header", &auth])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", EXAMPLES_PER_OPERATION])
        .args(["--seed", SEED, "--workers", "1", "--no-shrink"])
        // Its report files, if any, land in the daemon's temporary directory.
        .current_dir(d.dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("schemathesis starts");
    // Read both pipes on threads so a chatty run cannot block on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + HUNG;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("schemathesis ran longer than {HUNG:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = format!("{}\n{}", stdout.join().unwrap(), stderr.join().unwrap());
    assert!(
        status.success(),
        "schemathesis found failures ({status}):\n{output}"
    );
    // A run that tested nothing also exits 0: make sure every documented operation was
    // reached.
    let selected = summary_count(&output, "Selected:");
    let tested = summary_count(&output, "Tested:");
    assert!(
        selected.is_some_and(|n| n > 0) && tested == selected,
        "not every operation was tested:\n{output}"
    );
    assert_eq!(
        http_get(d.admin, "/healthz").0,
        200,
        "the daemon is still up"
    );
}
