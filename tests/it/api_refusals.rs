//! What the API refuses, and how: every refusal is the JSON error of the README with a
//! stable code and a sentence, never an empty or plain-text body, never the name of one
//! of our Rust types. Against the real daemon with its embedded simulator.

use serde_json::{Value, json};

use crate::harness::{Daemon, Reply, http};
use crate::pipeline::{CONTACT, SENDER, send_mt, start_with};

/// The error of `reply`, checked to be the documented JSON shape with a sentence.
fn error_of(reply: &Reply, status: u16) -> Value {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{}",
        reply.head
    );
    let error = reply.json()["error"].clone();
    assert!(error["code"].is_string(), "{error}");
    assert!(
        !error["message"].as_str().unwrap_or_default().is_empty(),
        "{error}"
    );
    error
}

fn send_to(d: &Daemon, to: &str) -> Reply {
    send_mt(d, json!({"from": SENDER, "to": to, "text": "hi"}), None)
}

fn post_raw(d: &Daemon, path: &str, content_type: Option<&str>, body: &[u8]) -> Reply {
    let mut headers = vec![crate::harness::AUTH];
    if let Some(content_type) = content_type {
        headers.push(("Content-Type", content_type));
    }
    http(d.api, "POST", path, &headers, body)
}

/// Control characters, letters and the sender's own number are refused with
/// `invalid_destination` at `to`; a `tel:` URI and visual separators are read as the
/// number they hold.
#[test]
fn destinations_are_refused_or_normalised() {
    let d = start_with("", "", "", "");
    for (to, says) in [
        ("+14155550123\u{0}", "control character"),
        ("+1-800-FLOWERS", "letters"),
        (SENDER, "a business number cannot text itself"),
    ] {
        let error = error_of(&send_to(&d, to), 422);
        assert_eq!(error["code"], "invalid_destination", "{to:?}: {error}");
        assert_eq!(error["field"], "to", "{to:?}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{to:?}: {error}"
        );
    }
    for to in [
        format!("tel:{CONTACT}"),
        "+1 (415) 555-0123".to_owned(),
        "+1.415.555.0123".to_owned(),
    ] {
        let reply = send_to(&d, &to);
        assert_eq!(reply.status, 202, "{to:?}: {}", reply.body);
    }
}

/// A body that is not declared JSON is refused before it is read, whatever it holds.
#[test]
fn only_json_bodies_are_taken() {
    let d = start_with("", "", "", "");
    let body = json!({"from": SENDER, "to": CONTACT, "text": "hi"}).to_string();
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let reply = post_raw(&d, "/v1/messages", content_type, body.as_bytes());
        let error = error_of(&reply, 415);
        assert_eq!(error["code"], "unsupported_media_type", "{content_type:?}");
        assert_eq!(error["field"], "Content-Type", "{content_type:?}");
    }
    let xml = post_raw(&d, "/v1/messages", Some("application/xml"), b"<send/>");
    assert_eq!(error_of(&xml, 415)["code"], "unsupported_media_type");
    for content_type in ["application/json", "application/json; charset=utf-8"] {
        let reply = post_raw(&d, "/v1/messages", Some(content_type), body.as_bytes());
        assert_eq!(reply.status, 202, "{content_type}: {}", reply.body);
    }
}

/// A body of the wrong shape is described in JSON words, with the field at fault.
#[test]
fn shape_errors_name_no_rust_type() {
    let d = start_with("", "", "", "");
    for (body, field) in [
        ("[]", None),
        ("\"text\"", None),
        (
            r#"{"from": 1, "to": "+14155550123", "text": "hi"}"#,
            Some("from"),
        ),
        (
            r#"{"to": "+14155550123", "text": "hi", "media": [7]}"#,
            Some("media[0]"),
        ),
    ] {
        let reply = post_raw(
            &d,
            "/v1/messages",
            Some("application/json"),
            body.as_bytes(),
        );
        let error = error_of(&reply, 400);
        assert_eq!(error["code"], "bad_request", "{body}");
        let message = error["message"].as_str().unwrap();
        for rust in ["struct", "enum", "SendBody", "MediaItem"] {
            assert!(!message.contains(rust), "{body}: {message}");
        }
        assert_eq!(error["field"].as_str(), field, "{body}: {error}");
    }
    let top = post_raw(&d, "/v1/messages", Some("application/json"), b"[]");
    assert!(
        top.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expected a JSON object"),
        "{}",
        top.body
    );
}

/// Refusals axum makes itself — unknown route, wrong method, body over the limit — are
/// JSON errors with their own codes.
#[test]
fn framework_refusals_are_json_errors() {
    let d = start_with("", "", "", "");
    let token = [crate::harness::AUTH];

    let unknown = http(d.api, "GET", "/v1/nothing-here", &token, b"");
    assert_eq!(error_of(&unknown, 404)["code"], "not_found");

    let wrong_method = http(d.api, "DELETE", "/v1/messages", &token, b"");
    assert_eq!(error_of(&wrong_method, 405)["code"], "method_not_allowed");
    assert!(
        wrong_method
            .header("allow")
            .is_some_and(|a| a.contains("POST")),
        "{}",
        wrong_method.head
    );

    // Over the default `[api] max_body_bytes` of 65536.
    let text = "a".repeat(70_000);
    let big = json!({"from": SENDER, "to": CONTACT, "text": text}).to_string();
    let reply = post_raw(&d, "/v1/messages", Some("application/json"), big.as_bytes());
    let error = error_of(&reply, 413);
    assert_eq!(error["code"], "body_too_large", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("65536") && message.contains("max_body_bytes"),
        "{message}"
    );
}

/// Sends `request` as raw bytes and returns the whole answer (the listener closes).
fn raw(d: &Daemon, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(d.api).unwrap();
    stream.set_read_timeout(Some(crate::harness::HANG)).unwrap();
    // The listener may answer before it has read everything: a write cut short by its
    // close is fine, the answer is what counts.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status and JSON error code of a raw answer.
fn raw_error(answer: &str) -> (u16, String) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer}"
    );
    let json: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    (
        status,
        json["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// Heads the HTTP layer refuses before any route sees them are JSON errors too.
#[test]
fn unparsable_heads_get_json_errors() {
    let d = start_with("", "", "", "");
    let big_header = format!(
        "GET /v1/numbers/+14155550123 HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(512 * 1024)
    );
    let (status, code) = raw_error(&raw(&d, big_header.as_bytes()));
    assert_eq!((status, code.as_str()), (431, "request_too_large"));
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let (status, code) = raw_error(&raw(&d, long_uri.as_bytes()));
    assert_eq!((status, code.as_str()), (414, "request_too_large"));
    let (status, code) = raw_error(&raw(&d, b"NOT HTTP AT ALL\r\n\r\n"));
    assert_eq!((status, code.as_str()), (400, "bad_request"));
}
