//! The daemon's lifecycle through the real binary: endpoints, reload, drain, fast stop,
//! the systemd notify protocol and exit codes.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::sync::mpsc;

use serde_json::Value;

use crate::harness::free_port;
use crate::harness::{Daemon, HANG, binary, http_get, http_get_with};

pub(crate) fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn health_readiness_status_and_metrics_answer() {
    let d = Daemon::start("", &[("SMSBRIDGE_API_TOKEN", crate::harness::TOKEN)]);
    let (code, body) = http_get(d.admin, "/healthz");
    assert_eq!((code, body.as_str()), (200, "ok\n"));

    let (code, body) = http_get(d.admin, "/readyz");
    assert_eq!(code, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["checks"]["store"], "ok");

    let (code, body) = http_get(d.admin, "/status");
    assert_eq!(code, 200);
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["instance"], "test");
    assert_eq!(status["config_generation"], 1);

    let (code, body) = http_get(d.admin, "/metrics");
    assert_eq!(code, 200);
    let build = format!(
        "smsbridge_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(metric(&body, &build), Some(1.0), "{body}");
    assert_eq!(metric(&body, "smsbridge_config_generation"), Some(1.0));

    let (code, body) = http_get(d.api, "/v1/nothing-here");
    assert_eq!(code, 401, "the API wants its bearer token");
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["error"]["code"], "unauthorized");
    let (code, body) = http_get_with(d.api, "/v1/nothing-here", &[crate::harness::AUTH]);
    assert_eq!(code, 404);
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["error"]["code"], "not_found");
}

#[test]
fn sighup_applies_a_good_file_and_keeps_running_on_a_broken_one() {
    let mut d = Daemon::start("", &[]);

    d.rewrite_config("[numbers]\ndefault_region = \"GB\"\n");
    d.signal("HUP");
    let reloaded = d.wait_for_message("configuration reloaded");
    assert_eq!(reloaded["generation"], 2);
    let (_, body) = http_get(d.admin, "/status");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["config_generation"], 2);

    d.rewrite_config("[store]\nbatch_max = 0\n");
    d.signal("HUP");
    let refused = d.wait_for_message("configuration reload refused");
    let why = refused["error"].as_str().unwrap();
    assert!(why.contains("store.batch_max: must be between"), "{why}");
    d.wait_for_message("still running on the previous configuration");

    let (_, body) = http_get(d.admin, "/status");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        status["config_generation"], 2,
        "the refused file changed nothing"
    );
    assert_eq!(http_get(d.admin, "/healthz").0, 200);
    assert_eq!(http_get(d.admin, "/readyz").0, 200);
    let (_, metrics) = http_get(d.admin, "/metrics");
    assert_eq!(
        metric(&metrics, "smsbridge_config_reloads_total{result=\"ok\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&metrics, "smsbridge_config_reloads_total{result=\"error\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&metrics, "smsbridge_config_last_reload_successful"),
        Some(0.0)
    );
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let mut d = Daemon::start("", &[]);
    d.signal("TERM");
    d.wait_for_message("draining");
    d.wait_for_message("drain complete");
    d.wait_for_message("stopped");
    assert!(d.wait_exit().success());
    assert!(!d.logged("stopping now"));
}

#[test]
fn sigint_stops_fast_and_exits_zero() {
    let mut d = Daemon::start("", &[]);
    d.signal("INT");
    d.wait_for_message("stopping now");
    d.wait_for_message("stopped");
    assert!(d.wait_exit().success());
    assert!(!d.logged("draining"));
}

/// Collects notify datagrams until STOPPING=1 arrives.
fn listen(socket: UnixDatagram) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    socket.set_read_timeout(Some(HANG)).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = socket.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            let stop = msg.contains("STOPPING=1");
            if tx.send(msg).is_err() || stop {
                return;
            }
        }
    });
    rx
}

fn next_state(rx: &mpsc::Receiver<String>, watchdogs: &mut usize) -> String {
    loop {
        let msg = rx.recv_timeout(HANG).expect("no notify message");
        if msg.trim() == "WATCHDOG=1" {
            *watchdogs += 1;
            continue;
        }
        return msg;
    }
}

#[test]
fn notify_protocol_messages_arrive_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let rx = listen(UnixDatagram::bind(&path).unwrap());
    let path = path.to_str().unwrap().to_string();
    let mut d = Daemon::start("", &[("NOTIFY_SOCKET", &path), ("WATCHDOG_USEC", "200000")]);
    let mut watchdogs = 0;
    let first = next_state(&rx, &mut watchdogs);
    assert!(first.starts_with("READY=1"), "{first}");

    d.signal("HUP");
    let reloading = next_state(&rx, &mut watchdogs);
    assert!(reloading.starts_with("RELOADING=1"), "{reloading}");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    let ready = next_state(&rx, &mut watchdogs);
    assert!(ready.starts_with("READY=1"), "{ready}");
    d.wait_for_message("configuration reloaded");

    // The watchdog pings every 100 ms; wait for one explicitly rather than sleeping.
    while watchdogs == 0 {
        let msg = rx.recv_timeout(HANG).expect("no watchdog ping");
        assert_eq!(msg.trim(), "WATCHDOG=1");
        watchdogs += 1;
    }

    d.signal("TERM");
    let stopping = next_state(&rx, &mut watchdogs);
    assert!(stopping.starts_with("STOPPING=1"), "{stopping}");
    assert!(d.wait_exit().success());
}

fn smsbridge(args: &[&str]) -> (i32, String, String) {
    // The production example takes its secrets from the environment.
    let out = Command::new(binary())
        .args(args)
        .env("SMSBRIDGE_API_TOKEN", crate::harness::TOKEN)
        .env("SMSBRIDGE_WEBHOOK_SECRET", "w")
        .env("SMSBRIDGE_ACME_PASSWORD", "p")
        .env("SMSBRIDGE_ACME_MMSC_PASSWORD", "m")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn check_config_exit_codes() {
    let root = env!("CARGO_MANIFEST_DIR");
    for good in ["config/demo.toml", "config/smsbridge.toml"] {
        let path = format!("{root}/{good}");
        let (code, out, err) = smsbridge(&["check-config", &path]);
        assert_eq!(code, 0, "{good}: {out}{err}");
        assert!(out.contains("ok"));
    }

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[instance]\n[api]\nlisten = \"nowhere\"\n").unwrap();
    let (code, _, err) = smsbridge(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:3:10: api.listen:"), "{err}");

    let (code, _, err) = smsbridge(&["check-config", "/nonexistent/smsbridge.toml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/smsbridge.toml: cannot read"),
        "{err}"
    );

    let (code, _, _) = smsbridge(&["check-config"]);
    assert_eq!(code, 2, "usage error");
    let (code, _, _) = smsbridge(&["no-such-command"]);
    assert_eq!(code, 2, "usage error");

    let (code, out, _) = smsbridge(&["version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("smsbridge {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn run_exits_2_on_a_bad_config_and_1_when_it_cannot_listen() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[instance]\nbogus = true\n").unwrap();
    let (code, _, err) = smsbridge(&["run", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("instance.bogus: unknown field"), "{err}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let cfg = dir.path().join("busy.toml");
    std::fs::write(
        &cfg,
        format!(
            "[instance]\nstate_dir = \"{}\"\n[admin]\nlisten = \"{addr}\"\n[api]\nlisten = \"127.0.0.1:0\"\nauth = \"none\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let (code, _, err) = smsbridge(&["run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

fn carrier(name: &str, port: u16) -> String {
    format!(
        "\n[[carriers]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\nsystem_id = \"gw\"\npassword = \"pw\"\n[carriers.timers]\nreconnect_min = \"50ms\"\nreconnect_max = \"200ms\"\n"
    )
}

/// Polls an endpoint until `done` holds for its JSON body (readiness changes as binds
/// come up; there is no signal to wait on from outside the process).
fn poll_json(addr: std::net::SocketAddr, path: &str, done: impl Fn(u16, &Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + HANG;
    loop {
        let (code, body) = http_get(addr, path);
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if done(code, &v) {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path}: last answer {code} {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn embedded_simulator_binds_and_readiness_follows_the_carriers() {
    let port = free_port();
    let extra = format!(
        "\n[simulator]\nlisten = \"127.0.0.1:{port}\"\n{}",
        carrier("sim", port)
    );
    let mut d = Daemon::start(&extra, &[]);
    let ready = poll_json(d.admin, "/readyz", |code, _| code == 200);
    assert_eq!(ready["checks"]["carriers"], "ok");
    let status = poll_json(d.admin, "/status", |_, _| true);
    let binds = &status["carriers"][0]["binds"];
    assert_eq!(status["carriers"][0]["name"], "sim");
    assert_eq!(binds[0]["phase"]["session"], "bound_trx", "{status}");
    assert!(
        !status.to_string().contains("\"pw\""),
        "no password in /status"
    );

    d.signal("TERM");
    d.wait_for_message("drain complete");
    assert!(d.wait_exit().success());
}

#[test]
fn readiness_fails_while_a_required_carrier_has_no_bind() {
    let dead = free_port();
    let d = Daemon::start(&carrier("down", dead), &[]);
    let v = poll_json(d.admin, "/readyz", |code, _| code == 503);
    assert_eq!(v["ready"], false);
    assert_eq!(v["checks"]["carriers"], "no bind up for down");
    assert_eq!(v["checks"]["store"], "ok");
    assert_eq!(
        http_get(d.admin, "/healthz").0,
        200,
        "alive though not ready"
    );
}
