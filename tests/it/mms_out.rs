//! MT MMS end to end against the real daemon: `POST /v1/messages` with `media` → the
//! attachments fetched from a media server run by the test (the core's stand-in) →
//! SubmitReq to the embedded simulator's MMSC → SubmitRsp → `sent` → the MMSC's
//! DeliveryReportReq at the gateway's MM7 endpoint → `delivered` / `failed`. Also the
//! fallbacks for senders that cannot send MMS, and attachments the route refuses.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::harness::Daemon;
use crate::harness::free_port;
use crate::pipeline::{events, get, poll, send_mt, wait_status};

/// MMS-capable toll-free sender.
const MMS_SENDER: &str = "+18005550100";
/// A toll-free sender without MMS whose fallback is an SMS with links.
const LINK_SENDER: &str = "+18005550111";
/// A longcode without MMS, on the carrier's default fallback (refuse).
const PLAIN_SENDER: &str = "+14155550100";
const CONTACT: &str = "+14155550123";
/// The simulator reports MMS to numbers with this prefix `Rejected`.
const REJECTED_CONTACT: &str = "+14155550166";
/// Bytes the oversized attachment streams (no Content-Length).
const OVERSIZED: usize = 300 * 1024;
/// The route's limit for toll-free senders.
const TOLL_FREE_LIMIT: usize = 100 * 1024;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/mms/media")
}

/// The core's media server: fixture files by name, and `/oversized.jpg` streamed in
/// chunks without a Content-Length.
struct MediaServer {
    addr: SocketAddr,
    _rt: tokio::runtime::Runtime,
}

async fn file(Path(name): Path<String>) -> Response {
    let Ok(body) = std::fs::read(fixtures().join(&name)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = smsbridge::mms::simulator::requests::type_of(&name);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn oversized() -> Response {
    let chunks = (0..OVERSIZED / 1024).map(|_| Ok::<_, std::io::Error>(vec![0xFFu8; 1024]));
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    ([(header::CONTENT_TYPE, "image/jpeg")], body).into_response()
}

impl MediaServer {
    fn start() -> MediaServer {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let app = axum::Router::new()
            .route("/oversized.jpg", axum::routing::get(oversized))
            .route("/media/{name}", axum::routing::get(file));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        MediaServer { addr, _rt: rt }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A daemon with the embedded SMSC and MMSC, an MM7 endpoint, and three senders.
fn start() -> Daemon {
    let smsc = free_port();
    let mmsc = free_port();
    let endpoint = free_port();
    let extra = format!(
        r#"
[store]
synchronous = "normal"

[core]
delivery = "log"
event_log = "events.jsonl"

[mms]
enabled = true
listen = "127.0.0.1:{endpoint}"
url_secret = "media-url-secret-for-tests-only"

[simulator]
listen = "127.0.0.1:{smsc}"

[simulator.receipts]
delay = "24h"

[simulator.mmsc]
listen = "127.0.0.1:{mmsc}"
rejected_prefix = "{REJECTED_CONTACT}"
username = "vasp"
password = "mmsc-pw"
gateway_username = "sim-mmsc"
gateway_password = "mm7-in-pw"

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = {smsc}
system_id = "gw"
password = "pw"
[carriers.timers]
reconnect_min = "50ms"
reconnect_max = "200ms"
[carriers.mm7]
username = "sim-mmsc"
password = "mm7-in-pw"
mmsc_url = "http://127.0.0.1:{mmsc}/mm7"
mmsc_username = "vasp"
mmsc_password = "mmsc-pw"
vasp_id = "test-vasp"
max_message_bytes = 1048576
[carriers.mm7.max_message_bytes_by_kind]
toll_free = {TOLL_FREE_LIMIT}

[[senders]]
number = "{MMS_SENDER}"
kind = "toll_free"
routes = ["sim"]
mms = true

[[senders]]
number = "{LINK_SENDER}"
kind = "toll_free"
routes = ["sim"]
mms_fallback = "sms_link"

[[senders]]
number = "{PLAIN_SENDER}"
kind = "longcode"
routes = ["sim"]
"#
    );
    Daemon::start(&extra, &[])
}

/// The `chat.message.status` events of `message_id`, in order: (status, data).
fn statuses(d: &Daemon, message_id: &str) -> Vec<(String, Value)> {
    events(d)
        .into_iter()
        .filter(|e| e.0 == "chat.message.status" && e.3["message_id"] == message_id)
        .map(|e| (e.3["status"].as_str().unwrap_or("").to_owned(), e.3))
        .collect()
}

fn wait_event(d: &Daemon, message_id: &str, status: &str) -> Value {
    poll(&format!("{status} event of {message_id}"), || {
        statuses(d, message_id)
            .into_iter()
            .find(|(s, _)| s == status)
            .map(|(_, data)| data)
    })
}

fn accepted_id(reply: &crate::harness::Reply) -> String {
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.json()["message_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_picture_with_text_is_submitted_then_reported_sent_and_delivered() {
    let media = MediaServer::start();
    let d = start();
    let reply = send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "text": "Here is your receipt",
            "media": [{"url": media.url("/media/photo.jpg"), "content_type": "image/jpeg"}],
        }),
        None,
    );
    let receipt = reply.json();
    assert_eq!(receipt["encoding"], "mms", "{receipt}");
    assert_eq!(receipt["segments"], 1);
    let id = accepted_id(&reply);
    let sent = wait_event(&d, &id, "sent");
    assert_eq!(sent["reason"], Value::Null, "{sent}");
    let message = wait_status(&d, &id, "delivered");
    let mm7_id = message["segment_detail"][0]["carrier_message_id"]
        .as_str()
        .unwrap();
    assert!(mm7_id.starts_with("sim-mms-"), "{message}");
    assert_eq!(message["media"][0]["url"], media.url("/media/photo.jpg"));
    let order: Vec<String> = statuses(&d, &id).into_iter().map(|(s, _)| s).collect();
    assert_eq!(order, ["accepted", "sent", "delivered"]);
    let mmsc = get(&d, "/v1/simulator/mmsc/stats");
    assert_eq!(mmsc["submits_received"], 1, "{mmsc}");
    assert_eq!(mmsc["submits_refused"], 0, "{mmsc}");
}

#[test]
fn a_rejected_report_fails_the_message_with_a_reason() {
    let media = MediaServer::start();
    let d = start();
    let id = accepted_id(&send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": REJECTED_CONTACT,
            "media": [
                {"url": media.url("/media/logo.png")},
                {"url": media.url("/media/badge.gif"), "filename": "badge.gif"},
            ],
        }),
        None,
    ));
    let failed = wait_event(&d, &id, "failed");
    assert_eq!(failed["reason"], "blocked", "{failed}");
    assert!(
        failed["message"].as_str().unwrap().contains("blocked"),
        "{failed}"
    );
    let order: Vec<String> = statuses(&d, &id).into_iter().map(|(s, _)| s).collect();
    assert_eq!(order, ["accepted", "sent", "failed"]);
}

#[test]
fn an_attachment_over_the_routes_limit_is_refused_clearly() {
    let media = MediaServer::start();
    let d = start();
    let id = accepted_id(&send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "text": "too big",
            "media": [{"url": media.url("/oversized.jpg")}],
        }),
        None,
    ));
    let failed = wait_event(&d, &id, "failed");
    assert_eq!(failed["reason"], "media_too_large", "{failed}");
    let sentence = failed["message"].as_str().unwrap();
    assert!(sentence.contains("oversized.jpg"), "{sentence}");
    assert!(sentence.contains("100 KB"), "{sentence}");
    assert!(sentence.contains("toll-free"), "{sentence}");
    // Nothing reached the MMSC.
    let mmsc = get(&d, "/v1/simulator/mmsc/stats");
    assert_eq!(mmsc["submits_received"], 0, "{mmsc}");
}

#[test]
fn a_sender_without_mms_sends_the_text_with_links_as_sms() {
    let media = MediaServer::start();
    let d = start();
    let url = media.url("/media/photo.jpg");
    let reply = send_mt(
        &d,
        json!({
            "from": LINK_SENDER,
            "to": CONTACT,
            "text": "Your receipt:",
            "media": [{"url": url}],
        }),
        None,
    );
    assert_ne!(reply.json()["encoding"], "mms", "{}", reply.body);
    let id = accepted_id(&reply);
    let message = wait_status(&d, &id, "sent");
    assert_eq!(
        message["text"],
        format!("Your receipt:\n{url}"),
        "{message}"
    );
    let segments = message["segments"].as_u64().unwrap();
    let smsc = get(&d, "/v1/simulator/stats");
    assert_eq!(smsc["submits"].as_u64().unwrap(), segments, "{smsc}");
    let mmsc = get(&d, "/v1/simulator/mmsc/stats");
    assert_eq!(mmsc["submits_received"], 0, "{mmsc}");
}

#[test]
fn media_the_sender_cannot_send_is_refused_when_the_fallback_says_so() {
    let d = start();
    let reply = send_mt(
        &d,
        json!({
            "from": PLAIN_SENDER,
            "to": CONTACT,
            "text": "hi",
            "media": [{"url": "https://core.example/a.jpg"}],
        }),
        None,
    );
    assert_eq!(reply.status, 422, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "media_not_supported", "{error}");
    assert_eq!(error["field"], "media");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not MMS-capable"),
        "{error}"
    );
    // Malformed media are a bad request whatever the sender.
    let reply = send_mt(
        &d,
        json!({"from": MMS_SENDER, "to": CONTACT, "media": [{"url": "file:///etc/passwd"}]}),
        None,
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    // A type MMS does not carry is refused before anything is stored.
    let reply = send_mt(
        &d,
        json!({"from": MMS_SENDER, "to": CONTACT,
               "media": [{"url": "https://core.example/a.zip", "content_type": "application/zip"}]}),
        None,
    );
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], "media_not_supported");
}

/// A SubmitReq with text and two attachments, as Python's standard `email` package
/// reads it (tests/interop/mm7_mime_tree.py): the envelope first as the `start` part,
/// then the content as a nested multipart/related with SMIL as its root, each part
/// byte for byte.
#[test]
fn python_email_reads_the_submit_req_multipart_as_written() {
    use sha2::{Digest, Sha256};
    use smsbridge::mms::fetch::FetchedMedia;
    use smsbridge::mms::mm7::{Address, Mm7Version};
    use smsbridge::mms::submit::SubmitReq;
    use std::io::Write;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let python = dir.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "the interop Python environment is missing: run scripts/test-deps.sh"
    );
    let photo = std::fs::read(fixtures().join("photo.jpg")).unwrap();
    let logo = std::fs::read(fixtures().join("logo.png")).unwrap();
    let part = |content_type: &str, name: &str, body: &[u8]| FetchedMedia {
        content_type: content_type.into(),
        filename: Some(name.into()),
        body: body.to_vec().into(),
    };
    let request = SubmitReq {
        version: Mm7Version::Rel6,
        transaction_id: "interop-1".into(),
        vasp_id: Some("vasp".into()),
        vas_id: None,
        sender: Address::Number(MMS_SENDER.into()),
        recipient: Address::Number(CONTACT.into()),
        subject: None,
        text: "Grüße — your receipt".into(),
        media: vec![
            part("image/jpeg", "photo.jpg", &photo),
            part("image/png", "logo.png", &logo),
        ],
    }
    .build();
    let mut child = std::process::Command::new(python)
        .arg(dir.join("mm7_mime_tree.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    write!(
        stdin,
        "MIME-Version: 1.0\r\nContent-Type: {}\r\n\r\n",
        request.content_type
    )
    .unwrap();
    stdin.write_all(&request.body).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let tree: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sha = |b: &[u8]| hex::encode(Sha256::digest(b));

    assert_eq!(tree["content_type"], "multipart/related", "{tree}");
    assert_eq!(tree["type"], "text/xml");
    assert_eq!(tree["defects"], json!([]), "{tree}");
    let envelope = &tree["parts"][0];
    assert_eq!(tree["start"], envelope["content_id"], "{tree}");
    assert_eq!(
        envelope["operation"],
        "{http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4}SubmitReq"
    );
    let content = &tree["parts"][1];
    assert_eq!(content["content_type"], "multipart/related", "{content}");
    assert_eq!(content["type"], "application/smil");
    assert_eq!(content["defects"], json!([]), "{content}");
    let inner = content["parts"].as_array().unwrap();
    let types: Vec<&str> = inner
        .iter()
        .map(|p| p["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["application/smil", "text/plain", "image/jpeg", "image/png"]
    );
    assert_eq!(content["start"], inner[0]["content_id"]);
    assert_eq!(
        inner[1]["sha256"],
        sha("Grüße — your receipt".as_bytes()),
        "{}",
        inner[1]
    );
    assert_eq!(inner[2]["sha256"], sha(&photo), "{}", inner[2]);
    assert_eq!(inner[2]["content_location"], "photo.jpg");
    assert_eq!(inner[3]["sha256"], sha(&logo));
}

/// The MM7 client against the simulator's MMSC over loopback: the right credentials get
/// a MessageID, wrong ones a permanent 4001 refusal.
#[tokio::test]
async fn the_mm7_client_submits_with_basic_auth_and_reads_refusals() {
    use smsbridge::config::mmsc_sim::{MmscConfig, RawMmsc};
    use smsbridge::config::{Mm7Version, Mmsc, Secret};
    use smsbridge::mms::client::{ClientError, Mm7Client, Retry};
    use smsbridge::mms::fetch::FetchedMedia;
    use smsbridge::mms::mm7::{self, Address};
    use smsbridge::mms::submit::{SubmitReq, read_submit_rsp};
    use std::time::Duration;

    let mut config = MmscConfig::try_from(RawMmsc {
        username: Some("vasp".into()),
        password: Some("right".into()),
        ..RawMmsc::default()
    })
    .unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let sim = smsbridge::mms::simulator::start(config, None, cancel.clone())
        .await
        .unwrap();
    let mmsc = |password: &str| Mmsc {
        url: format!("http://{}/mm7", sim.local_addr()),
        username: Some("vasp".into()),
        password: Some(Secret::new(password)),
        vasp_id: None,
        vas_id: None,
        version: Mm7Version::Rel5,
        max_message_bytes: 1 << 20,
        max_message_bytes_by_kind: Default::default(),
        max_attachments: 10,
        submit_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        max_response_bytes: 65_536,
    };
    let request = SubmitReq {
        version: mm7::Mm7Version::Rel5,
        transaction_id: "t-1".into(),
        vasp_id: None,
        vas_id: None,
        sender: Address::ShortCode("72404".into()),
        recipient: Address::Number(CONTACT.into()),
        subject: Some("Receipt".into()),
        text: String::new(),
        media: vec![FetchedMedia {
            content_type: "image/gif".into(),
            filename: None,
            body: std::fs::read(fixtures().join("badge.gif")).unwrap().into(),
        }],
    }
    .build();

    let client = Mm7Client::new(&mmsc("right")).unwrap();
    let answer = client.post(request.clone()).await.unwrap();
    let id = read_submit_rsp(&answer).unwrap();
    assert!(id.starts_with("sim-mms-"), "{id}");

    let client = Mm7Client::new(&mmsc("wrong")).unwrap();
    let answer = client.post(request).await.unwrap();
    let refused = read_submit_rsp(&answer).unwrap_err();
    assert!(
        matches!(refused, ClientError::Refused { code: 4001, .. }),
        "{refused}"
    );
    assert_eq!(refused.retry(), Retry::Permanent);
    assert_eq!(sim.stats().submits_received, 1);
    assert_eq!(sim.stats().submits_refused, 1);
    cancel.cancel();
    sim.wait().await;
}

/// The simulator's MMSC sends the gateway a DeliverReq with fixture files, broken ones
/// included: the good picture arrives with the text, each broken file becomes a
/// `chat.media.rejected` with its reason, and the picture's signed URL serves it.
#[test]
fn the_simulated_mmsc_delivers_an_mo_mms_with_broken_files_flagged() {
    let d = start();
    let reply = crate::harness::http(
        d.api,
        "POST",
        "/v1/simulator/mms",
        &[
            ("Authorization", "Bearer tok"),
            ("Content-Type", "application/json"),
        ],
        json!({
            "from": CONTACT,
            "to": MMS_SENDER,
            "text": "The box arrived damaged",
            "files": ["photo.jpg", "truncated.jpg", "not-an-image.png"],
        })
        .to_string()
        .as_bytes(),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    // Partial success: the message is kept, two of its parts are not.
    assert_eq!(reply.json()["status"], 1100, "{}", reply.body);

    let received = poll("chat.message.received", || {
        events(&d)
            .into_iter()
            .find(|e| e.0 == "chat.message.received")
            .map(|e| e.3)
    });
    assert_eq!(received["text"], "The box arrived damaged", "{received}");
    let media = received["media"].as_array().unwrap();
    assert_eq!(media.len(), 1, "{received}");
    assert_eq!(media[0]["filename"], "photo.jpg");
    let rejected = poll("two chat.media.rejected", || {
        let all: Vec<Value> = events(&d)
            .into_iter()
            .filter(|e| e.0 == "chat.media.rejected")
            .map(|e| e.3)
            .collect();
        (all.len() == 2).then_some(all)
    });
    let mut reasons: Vec<(String, String)> = rejected
        .iter()
        .map(|r| {
            (
                r["filename"].as_str().unwrap_or("").to_owned(),
                r["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            (
                "not-an-image.png".to_owned(),
                "content_type_mismatch".to_owned()
            ),
            ("truncated.jpg".to_owned(), "corrupt".to_owned()),
        ]
    );

    // The picture's URL (signed, on the API listener) serves the very bytes.
    let url = media[0]["url"].as_str().unwrap();
    let path = &url[url.find("/v1/media/").unwrap()..];
    let served = get_bytes(d.api, path);
    let photo = std::fs::read(fixtures().join("photo.jpg")).unwrap();
    assert!(served.starts_with(b"HTTP/1.1 200"), "{url}");
    assert!(served.ends_with(&photo), "{url}: the photo's bytes");
    let mmsc = get(&d, "/v1/simulator/mmsc/stats");
    assert_eq!(mmsc["delivers_sent"], 1, "{mmsc}");
}

/// A GET whose answer (head and body) may be binary.
fn get_bytes(addr: SocketAddr, path: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(crate::harness::HANG)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    raw
}

/// An attachment whose bytes are not the picture it claims to be is refused before
/// anything goes to the MMSC.
#[test]
fn a_damaged_attachment_fails_the_message_before_the_mmsc() {
    let media = MediaServer::start();
    let d = start();
    let id = accepted_id(&send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "media": [{"url": media.url("/media/truncated.jpg")}],
        }),
        None,
    ));
    let failed = wait_event(&d, &id, "failed");
    assert_eq!(failed["reason"], "media_corrupt", "{failed}");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("truncated.jpg"),
        "{failed}"
    );
    let mmsc = get(&d, "/v1/simulator/mmsc/stats");
    assert_eq!(mmsc["submits_received"], 0, "{mmsc}");
}
