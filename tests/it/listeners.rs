//! What a client can hold on the HTTP listeners (API, admin, MM7): a connection that has
//! not sent complete request headers within `header_read_timeout` is closed, so is a
//! kept-alive one with no next request within `idle_timeout`, and past `max_connections`
//! a connection is refused at once with `503 overloaded`; the slots that idle clients
//! held come free with the header timeout, and real clients are served again.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::Value;

use crate::harness::{Daemon, HANG, http, http_get, http_get_with};

/// Short timeouts and a cap of two connections, for any listener's table.
const TIGHT: &str = "header_read_timeout = \"1s\"\nidle_timeout = \"1s\"\nmax_connections = 2\n";

const MM7: &str = r#"
[mms]
enabled = true
listen = "127.0.0.1:0"
url_secret = "media-url-secret-0123456789"
"#;

fn tight_daemon() -> Daemon {
    Daemon::start_with_listeners(TIGHT, TIGHT, "")
}

/// A daemon with the MM7 endpoint on, its listener tight; and that listener's address.
fn tight_mm7() -> (Daemon, SocketAddr) {
    let mut d = Daemon::start(&format!("{MM7}{TIGHT}"), &[]);
    let addr = d.saw_or_wait_for_message("MM7 endpoint listening")["listen"]
        .as_str()
        .expect("the MM7 endpoint logs its address")
        .parse()
        .unwrap();
    (d, addr)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(HANG)).unwrap();
    s
}

/// Reads until the daemon closes the connection; returns what it sent before. Fails when
/// the connection is still open once the hang guard has passed.
fn until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("the daemon kept the connection open ({e}); it sent {got:?}"),
        }
    }
}

/// Opens `max` connections that send nothing, then one more, and returns that one's
/// answer with the `max` holders. Should the header timeout close a holder before the
/// extra connection is accepted (a slow machine), the extra one takes the freed slot and
/// is closed unanswered; then everything is tried again.
fn refused_past(addr: SocketAddr, max: usize) -> (String, Vec<TcpStream>) {
    for _ in 0..5 {
        let holders: Vec<TcpStream> = (0..max).map(|_| connect(addr)).collect();
        let answer = until_closed(&mut connect(addr));
        if !answer.is_empty() {
            return (String::from_utf8(answer).unwrap(), holders);
        }
    }
    panic!("connection {} to {addr} was never refused", max + 1);
}

/// A refusal is a complete HTTP answer an integrator can read: `503`, `Connection:
/// close`, and the API's JSON error with code `overloaded`.
fn assert_overloaded(answer: &str) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(
        head.to_ascii_lowercase().contains("\r\nconnection: close"),
        "{answer}"
    );
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(body["error"]["code"], "overloaded", "{answer}");
}

/// Occupies every slot of `addr` with silent connections, checks that one more is
/// refused, then waits until the header timeout has closed the silent ones.
fn fill_refuse_and_wait_for_release(addr: SocketAddr) {
    let (answer, holders) = refused_past(addr, 2);
    assert_overloaded(&answer);
    for mut holder in holders {
        until_closed(&mut holder);
    }
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let d = tight_daemon();
    for addr in [d.api, d.admin] {
        let answer = until_closed(&mut connect(addr));
        assert!(answer.is_empty(), "{addr}: {answer:?}");
    }
    let (_d, mm7) = tight_mm7();
    assert!(until_closed(&mut connect(mm7)).is_empty());
}

#[test]
fn a_half_sent_request_is_closed_after_the_header_timeout() {
    let d = tight_daemon();
    let (_m, mm7) = tight_mm7();
    for addr in [d.api, d.admin, mm7] {
        let mut s = connect(addr);
        // The request line and one header, never the blank line that ends the headers.
        write!(s, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n").unwrap();
        let answer = until_closed(&mut s);
        assert!(answer.is_empty(), "{addr}: {answer:?}");
    }
}

#[test]
fn a_kept_alive_connection_with_no_next_request_is_closed_after_the_idle_timeout() {
    let d = tight_daemon();
    let mut s = connect(d.admin);
    write!(s, "GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", d.admin).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"\r\n\r\nok\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the answer: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200 "), "{got:?}");
    assert!(until_closed(&mut s).is_empty());
}

#[test]
fn past_max_connections_clients_are_refused_until_the_header_timeout_frees_the_slots() {
    let d = tight_daemon();
    let (_, metrics) = http_get(d.admin, "/metrics");
    for listener in ["api", "admin"] {
        let refused =
            format!("smsbridge_http_connections_refused_total{{listener=\"{listener}\"}}");
        let open = format!("smsbridge_http_connections_open{{listener=\"{listener}\"}}");
        assert_eq!(metric(&metrics, &refused), Some(0.0), "{metrics}");
        assert!(metric(&metrics, &open).is_some(), "{metrics}");
    }

    fill_refuse_and_wait_for_release(d.admin);
    let (code, body) = http_get(d.admin, "/healthz");
    assert_eq!((code, body.as_str()), (200, "ok\n"));

    fill_refuse_and_wait_for_release(d.api);
    let (code, body) = http_get_with(d.api, "/v1/openapi.json", &[crate::harness::AUTH]);
    assert_eq!(code, 200, "{body}");

    let (_, metrics) = http_get(d.admin, "/metrics");
    for listener in ["api", "admin"] {
        let refused =
            format!("smsbridge_http_connections_refused_total{{listener=\"{listener}\"}}");
        assert_eq!(metric(&metrics, &refused), Some(1.0), "{metrics}");
    }
}

#[test]
fn past_max_connections_the_mm7_endpoint_refuses_until_the_header_timeout_frees_the_slots() {
    let (_d, mm7) = tight_mm7();
    fill_refuse_and_wait_for_release(mm7);
    // Served by the endpoint again: it takes only POST.
    let reply = http(mm7, "GET", "/mm7", &[], b"");
    assert_eq!(reply.status, 405, "{reply:?}");
    assert_eq!(reply.header("Allow"), Some("POST"));
}

#[test]
fn sigterm_closes_open_connections_and_the_daemon_exits() {
    // Timeouts far beyond the hang guard: only the shutdown can close these.
    let long = "header_read_timeout = \"10m\"\nidle_timeout = \"1h\"\n";
    let mut d = Daemon::start_with_listeners(long, long, "");
    let silent = [connect(d.api), connect(d.admin)];
    let mut kept = connect(d.admin);
    write!(kept, "GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", d.admin).unwrap();
    let mut buf = [0u8; 1024];
    assert!(kept.read(&mut buf).unwrap() > 0);

    d.signal("TERM");
    let status = d.wait_exit();
    assert!(status.success(), "the daemon stopped with {status}");
    for mut s in silent.into_iter().chain([kept]) {
        until_closed(&mut s);
    }
}
