//! MT MMS end to end against the real daemon: `POST /v1/messages` with `media` → the
//! attachments fetched from a media server run by the test (the core's stand-in),
//! checked and kept before the `202` (or uploaded beforehand with `POST /v1/media`) →
//! SubmitReq to the simulator's MMSC → SubmitRsp → `sent` → the MMSC's
//! DeliveryReportReq at the gateway's MM7 endpoint → `delivered` / `failed`. Also the
//! fallbacks for senders that cannot send MMS, attachments refused at acceptance, and
//! restarts: before the submit, and between SubmitRsp and the delivery report; and
//! attachment URLs that lead inside the network ([`forbidden`]).

mod forbidden;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use smsbridge::reason::ReasonCode;

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
/// `[mms] max_message_bytes`: what links may point at, the largest upload.
const LINK_LIMIT: usize = 2 * 1_048_576;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/mms/media")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The core's media server: fixture files by name (`/media/{name}`; `/once/{name}`
/// serves a file the first time and answers 410 after), `/oversized.jpg` streamed in
/// chunks without a Content-Length, `/busy` (503), `/hang` (never answers), and
/// `/redirect?to=URL` (302 to the URL). It counts the requests it gets.
struct MediaServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

async fn file(Path(name): Path<String>) -> Response {
    let Ok(body) = std::fs::read(fixtures().join(&name)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = smsbridge::mms::simulator::requests::type_of(&name);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn once(State(served): State<Arc<AtomicUsize>>, name: Path<String>) -> Response {
    match served.fetch_add(1, Ordering::SeqCst) {
        0 => file(name).await,
        _ => StatusCode::GONE.into_response(),
    }
}

async fn oversized() -> Response {
    let chunks = (0..OVERSIZED / 1024).map(|_| Ok::<_, std::io::Error>(vec![0xFFu8; 1024]));
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    ([(header::CONTENT_TYPE, "image/jpeg")], body).into_response()
}

async fn redirect(
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let to = query.get("to").cloned().unwrap_or_default();
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

impl MediaServer {
    fn start() -> MediaServer {
        MediaServer::start_on("127.0.0.1")
    }

    /// A server on the loopback address `ip` (any of `127.0.0.0/8` on Linux).
    fn start_on(ip: &str) -> MediaServer {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new()
            .route("/oversized.jpg", axum::routing::get(oversized))
            .route("/media/{name}", axum::routing::get(file))
            .route(
                "/once/{name}",
                axum::routing::get(once).with_state(Arc::new(AtomicUsize::new(0))),
            )
            .route(
                "/busy",
                axum::routing::get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
            )
            .route("/hang", axum::routing::get(std::future::pending::<()>))
            .route("/redirect", axum::routing::get(redirect))
            .layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(req)
                },
            ));
        let listener = rt.block_on(tokio::net::TcpListener::bind((ip, 0))).unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        MediaServer {
            addr,
            hits,
            _rt: rt,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests served so far.
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// An MMSC simulator run by the test, outside the daemon, so it outlives a killed
/// gateway: it holds its delivery reports until released, and retries each until the
/// gateway takes it.
struct OutsideMmsc {
    handle: smsbridge::mms::simulator::MmscHandle,
    cancel: tokio_util::sync::CancellationToken,
    rt: tokio::runtime::Runtime,
}

impl OutsideMmsc {
    /// Listening on `port`, reporting to the gateway's MM7 endpoint on `endpoint` as
    /// carrier `sim`'s MMSC.
    fn start(port: u16, endpoint: u16) -> OutsideMmsc {
        OutsideMmsc::start_as(port, endpoint, ("sim-mmsc", "mm7-in-pw"))
    }

    /// [`OutsideMmsc::start`], identifying itself to the gateway with `credentials`.
    fn start_as(port: u16, endpoint: u16, credentials: (&str, &str)) -> OutsideMmsc {
        use smsbridge::config::mmsc_sim::{MmscConfig, RawMmsc};
        let config = MmscConfig::try_from(RawMmsc {
            listen: Some(format!("127.0.0.1:{port}")),
            gateway_url: Some(format!("http://127.0.0.1:{endpoint}/mm7")),
            gateway_username: Some(credentials.0.into()),
            gateway_password: Some(credentials.1.into()),
            username: Some("vasp".into()),
            password: Some("mmsc-pw".into()),
            hold_reports: Some(true),
            // Retried far beyond a restart (every 100ms, for hours).
            report_attempts: Some(100_000),
            report_retry: Some("20ms".into()),
            report_retry_max: Some("100ms".into()),
            ..RawMmsc::default()
        })
        .unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let cancel = tokio_util::sync::CancellationToken::new();
        let handle = rt
            .block_on(smsbridge::mms::simulator::start(
                config,
                None,
                cancel.clone(),
            ))
            .unwrap();
        OutsideMmsc { handle, cancel, rt }
    }

    fn stats(&self) -> smsbridge::mms::simulator::MmscStats {
        self.handle.stats()
    }
}

impl Drop for OutsideMmsc {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.rt.block_on(self.handle.wait());
    }
}

/// Where the daemon's MMSC runs.
#[derive(Clone, Copy)]
enum Mmsc {
    /// The embedded simulator's (`[simulator.mmsc]`).
    Embedded,
    /// An [`OutsideMmsc`] on this port (started by the test, maybe later).
    Outside(u16),
}

/// A daemon with the embedded SMSC and MMSC, an MM7 endpoint, and three senders.
fn start() -> Daemon {
    start_with(Mmsc::Embedded, free_port(), "")
}

/// `[mms] fetch_allow` for the media servers the tests run on loopback (fetches reach
/// only public addresses without it).
const FETCH_LOOPBACK: &str = r#"fetch_allow = ["127.0.0.0/8"]"#;

/// A daemon with the embedded SMSC, the MMSC `mmsc`, its MM7 endpoint on `endpoint`,
/// three senders, and `extra` (whole tables) added; fetches may reach loopback.
fn start_with(mmsc: Mmsc, endpoint: u16, extra: &str) -> Daemon {
    start_fetching(mmsc, endpoint, FETCH_LOOPBACK, extra)
}

/// [`start_with`], with `fetch_keys` (lines of `[mms]`) deciding where fetches may go.
fn start_fetching(mmsc: Mmsc, endpoint: u16, fetch_keys: &str, extra: &str) -> Daemon {
    let smsc = free_port();
    let (mmsc_port, embedded) = match mmsc {
        Mmsc::Embedded => {
            let port = free_port();
            let table = format!(
                r#"
[simulator.mmsc]
listen = "127.0.0.1:{port}"
rejected_prefix = "{REJECTED_CONTACT}"
username = "vasp"
password = "mmsc-pw"
gateway_username = "sim-mmsc"
gateway_password = "mm7-in-pw"
"#
            );
            (port, table)
        }
        Mmsc::Outside(port) => (port, String::new()),
    };
    let config = format!(
        r#"
[store]
synchronous = "normal"

[core]
delivery = "log"
event_log = "events.jsonl"

[messages]
retry_min = "50ms"
retry_max = "200ms"

[mms]
enabled = true
listen = "127.0.0.1:{endpoint}"
url_secret = "media-url-secret-for-tests-only"
fetch_total_timeout = "2s"
max_message_bytes = {LINK_LIMIT}
{fetch_keys}

[simulator]
listen = "127.0.0.1:{smsc}"

[simulator.receipts]
delay = "24h"
{embedded}
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
mmsc_url = "http://127.0.0.1:{mmsc_port}/mm7"
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
{extra}
"#
    );
    Daemon::start(&config, &[])
}

/// The files in the daemon's media store.
fn stored_files(d: &Daemon) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(shards) = std::fs::read_dir(d.dir.path().join("media")) else {
        return names;
    };
    for shard in shards.flatten().filter(|e| e.path().is_dir()) {
        for file in std::fs::read_dir(shard.path()).unwrap().flatten() {
            names.push(file.file_name().to_string_lossy().into_owned());
        }
    }
    names
}

/// The API's answer as an error: (status, code, field, reason, message).
fn error_of(reply: &crate::harness::Reply) -> (u16, String, String, String, String) {
    let e = &reply.json()["error"];
    let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
    (
        reply.status,
        text("code"),
        text("field"),
        text("reason"),
        text("message"),
    )
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
    // Fetched once, at acceptance, and kept: the message names the stored copy and
    // links to it, not to the core's URL.
    let kept = &message["media"][0];
    let hash = sha256(&fixture("photo.jpg"));
    let link = kept["url"].as_str().unwrap_or_default();
    assert!(link.contains(&format!("/v1/media/{hash}?")), "{message}");
    assert_eq!(kept["id"], hash, "{message}");
    assert_eq!(kept["size"], fixture("photo.jpg").len(), "{message}");
    assert_eq!(media.hits(), 1);
    // The event log may trail the store: wait for the last event before reading them.
    wait_event(&d, &id, "delivered");
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
    assert_eq!(
        failed["message"],
        ReasonCode::Blocked.sentence(),
        "{failed}"
    );
    let order: Vec<String> = statuses(&d, &id).into_iter().map(|(s, _)| s).collect();
    assert_eq!(order, ["accepted", "sent", "failed"]);
}

#[test]
fn an_attachment_over_the_routes_limit_is_refused_before_the_answer() {
    let media = MediaServer::start();
    let d = start();
    let reply = send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "text": "too big",
            "media": [
                {"url": media.url("/media/photo.jpg")},
                {"url": media.url("/oversized.jpg")},
            ],
        }),
        None,
    );
    let (status, code, field, reason, message) = error_of(&reply);
    assert_eq!(
        (status, code.as_str(), field.as_str(), reason.as_str()),
        (422, "media_rejected", "media[1]", "too_large"),
        "{}",
        reply.body
    );
    assert!(message.contains("oversized.jpg"), "{message}");
    assert!(message.contains("100 KB"), "{message}");
    assert!(message.contains("toll-free"), "{message}");
    // Nothing was kept (not even the good first attachment), stored or sent.
    assert_eq!(stored_files(&d), Vec::<String>::new());
    let stats = get(&d, "/v1/simulator/mmsc/stats");
    assert_eq!(stats["submits_received"], 0, "{stats}");
    assert!(
        events(&d).iter().all(|e| e.0 != "chat.message.status"),
        "no message was accepted"
    );
}

/// The link fallback points the customer at our signed copy of the attachment, which
/// serves the very bytes, not at the core's URL.
#[test]
fn a_sender_without_mms_sends_the_text_with_links_to_our_copy_as_sms() {
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
    let text = message["text"].as_str().unwrap();
    let link = text.strip_prefix("Your receipt:\n").expect(text);
    assert!(!text.contains(&url), "{text}");
    let photo = fixture("photo.jpg");
    let ours = format!(
        "http://{}/v1/media/{}?ct=image%2Fjpeg&",
        d.api,
        sha256(&photo)
    );
    assert!(link.starts_with(&ours), "{link}");
    let path = &link[link.find("/v1/media/").unwrap()..];
    let served = get_bytes(d.api, path);
    assert!(served.starts_with(b"HTTP/1.1 200"), "{link}");
    assert!(served.ends_with(&photo), "{link}: the photo's bytes");
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
        &[crate::harness::AUTH, ("Content-Type", "application/json")],
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

/// An attachment whose bytes are not the picture it claims to be is refused in the
/// answer, before anything is stored or goes to the MMSC.
#[test]
fn a_damaged_attachment_is_refused_in_the_answer() {
    let media = MediaServer::start();
    let d = start();
    let reply = send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "media": [{"url": media.url("/media/truncated.jpg")}],
        }),
        None,
    );
    let (status, code, field, reason, message) = error_of(&reply);
    assert_eq!(
        (status, code.as_str(), field.as_str(), reason.as_str()),
        (422, "media_rejected", "media[0]", "corrupt"),
        "{}",
        reply.body
    );
    assert!(message.contains("truncated.jpg"), "{message}");
    let reply = send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "media": [{"url": media.url("/media/not-an-image.png")}],
        }),
        None,
    );
    let (status, code, _, reason, _) = error_of(&reply);
    assert_eq!(
        (status, code.as_str(), reason.as_str()),
        (422, "media_rejected", "content_type_mismatch"),
        "{}",
        reply.body
    );
    assert_eq!(stored_files(&d), Vec::<String>::new());
    let mmsc = get(&d, "/v1/simulator/mmsc/stats");
    assert_eq!(mmsc["submits_received"], 0, "{mmsc}");
}

/// URLs that cannot be fetched: a file the server does not have is the core's mistake
/// (422), a server that fails or does not answer in time may recover (502).
#[test]
fn urls_that_cannot_be_fetched_are_refused_with_what_went_wrong() {
    let media = MediaServer::start();
    let d = start();
    let send = |path: &str| {
        send_mt(
            &d,
            json!({"from": MMS_SENDER, "to": CONTACT, "text": "hi",
                   "media": [{"url": media.url(path), "content_type": "image/jpeg"}]}),
            Some(path),
        )
    };
    let missing = send("/media/no-such-file.jpg");
    let (status, code, field, _, message) = error_of(&missing);
    assert_eq!(
        (status, code.as_str(), field.as_str()),
        (422, "media_unavailable", "media[0]"),
        "{}",
        missing.body
    );
    assert!(message.contains("404"), "{message}");
    let busy = send("/busy");
    let (status, code, field, _, _) = error_of(&busy);
    assert_eq!(
        (status, code.as_str(), field.as_str()),
        (502, "media_unreachable", "media[0]"),
        "{}",
        busy.body
    );
    // The server never answers: the fetches' time limit ends the wait.
    let hung = send("/hang");
    let (status, code, _, _, message) = error_of(&hung);
    assert_eq!(
        (status, code.as_str()),
        (502, "media_unreachable"),
        "{}",
        hung.body
    );
    assert!(message.contains("fetch_total_timeout"), "{message}");
    assert_eq!(stored_files(&d), Vec::<String>::new());
}

/// A retry with the same Idempotency-Key gets the first answer without fetching again;
/// the send reads the kept copy (the URL answers 410 after its first fetch).
#[test]
fn a_replay_and_the_send_never_fetch_again() {
    let media = MediaServer::start();
    let d = start();
    let body = json!({
        "from": MMS_SENDER,
        "to": CONTACT,
        "text": "once",
        "media": [{"url": media.url("/once/photo.jpg")}],
    });
    let first = send_mt(&d, body.clone(), Some("mms-once"));
    let id = accepted_id(&first);
    let again = send_mt(&d, body, Some("mms-once"));
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.json(), first.json());
    wait_status(&d, &id, "delivered");
    assert_eq!(media.hits(), 1);
}

/// An MMS accepted while its MMSC is down is sent after a SIGKILL and a restart, from
/// the kept copy: the core's URL is not fetched again.
#[test]
fn an_mms_accepted_before_a_restart_is_sent_from_the_kept_copy() {
    let media = MediaServer::start();
    let (mmsc_port, endpoint) = (free_port(), free_port());
    let mut d = start_with(Mmsc::Outside(mmsc_port), endpoint, "");
    let id = accepted_id(&send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "text": "after the restart",
            "media": [{"url": media.url("/once/photo.jpg")}],
        }),
        None,
    ));
    d.kill();
    let mmsc = OutsideMmsc::start(mmsc_port, endpoint);
    mmsc.handle.release_reports();
    d.start_again(&[]);
    let message = wait_status(&d, &id, "delivered");
    assert_eq!(message["media"][0]["id"], sha256(&fixture("photo.jpg")));
    assert_eq!(mmsc.stats().submits_received, 1);
    assert_eq!(media.hits(), 1);
}

/// The gateway is killed (SIGKILL) after the MMSC answered SubmitRsp and before its
/// DeliveryReportReq: the MMSC retries the report until the restarted gateway takes
/// it, and the core hears `delivered` exactly once, with no second SubmitReq.
#[test]
fn a_restart_between_submit_rsp_and_the_delivery_report_loses_nothing() {
    let media = MediaServer::start();
    let (mmsc_port, endpoint) = (free_port(), free_port());
    let mmsc = OutsideMmsc::start(mmsc_port, endpoint);
    let mut d = start_with(Mmsc::Outside(mmsc_port), endpoint, "");
    let id = accepted_id(&send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "media": [{"url": media.url("/media/logo.png")}],
        }),
        None,
    ));
    // `sent` in the event log: the SubmitRsp's MessageID is durable.
    wait_event(&d, &id, "sent");
    poll("the MMSC holding its report", || {
        (mmsc.stats().reports_held == 1).then_some(())
    });
    d.kill();
    assert_eq!(mmsc.handle.release_reports(), 1);
    poll("a report attempt at the dead gateway", || {
        (mmsc.stats().report_retries > 0).then_some(())
    });
    d.start_again(&[]);
    wait_event(&d, &id, "delivered");
    let stats = poll("the MMSC to hear its report was taken", || {
        let stats = mmsc.stats();
        (stats.reports_sent > 0).then_some(stats)
    });
    assert_eq!(stats.reports_sent, 1, "{stats:?}");
    assert_eq!(stats.submits_received, 1, "{stats:?}");
    let delivered = statuses(&d, &id)
        .into_iter()
        .filter(|(s, _)| s == "delivered")
        .count();
    assert_eq!(delivered, 1);
    assert!(statuses(&d, &id).iter().all(|(s, _)| s != "failed"));
}

/// `POST /v1/media` with the photo's bytes.
fn upload(d: &Daemon, content_type: &str, body: &[u8]) -> crate::harness::Reply {
    crate::harness::http(
        d.api,
        "POST",
        "/v1/media",
        &[crate::harness::AUTH, ("Content-Type", content_type)],
        body,
    )
}

/// A media URL with a wrong signature, or with none, is refused with the JSON error
/// `forbidden`; a method the route does not take with `method_not_allowed`.
#[test]
fn a_media_url_that_is_not_signed_right_is_a_json_forbidden() {
    let d = start();
    let photo = fixture("photo.jpg");
    let reply = upload(&d, "image/jpeg", &photo);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let url = reply.json()["url"].as_str().unwrap().to_owned();
    let path = &url[url.find("/v1/media/").unwrap()..];
    let unsigned = &path[..path.find('?').unwrap()];
    let tampered = format!("{}0", path.trim_end_matches(|c: char| c != '='));
    for path in [unsigned, tampered.as_str()] {
        let refused = crate::harness::http(d.api, "GET", path, &[], b"");
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert_eq!(refused.json()["error"]["code"], "forbidden", "{path}");
    }
    let wrong_method = crate::harness::http(d.api, "DELETE", path, &[], b"");
    assert_eq!(wrong_method.status, 405, "{}", wrong_method.body);
    assert_eq!(wrong_method.json()["error"]["code"], "method_not_allowed");
}

/// An upload is checked and kept; an MT names it by id and is delivered with it; the
/// upload's URL serves it; a wrong or unknown upload is refused with its field.
#[test]
fn an_uploaded_file_is_sent_by_its_id() {
    let d = start();
    let photo = fixture("photo.jpg");
    let reply = upload(&d, "image/jpeg", &photo);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let uploaded = reply.json();
    assert_eq!(uploaded["id"], sha256(&photo), "{uploaded}");
    assert_eq!(uploaded["content_type"], "image/jpeg");
    assert_eq!(uploaded["size"], photo.len());
    let url = uploaded["url"].as_str().unwrap();
    let served = get_bytes(d.api, &url[url.find("/v1/media/").unwrap()..]);
    assert!(served.ends_with(&photo), "{url}");
    assert_eq!(stored_files(&d), [sha256(&photo)]);

    let id = accepted_id(&send_mt(
        &d,
        json!({
            "from": MMS_SENDER,
            "to": CONTACT,
            "text": "uploaded",
            "media": [{"id": uploaded["id"], "content_type": "image/jpeg", "filename": "label.jpg"}],
        }),
        None,
    ));
    let message = wait_status(&d, &id, "delivered");
    assert_eq!(message["media"][0]["id"], uploaded["id"], "{message}");
    assert_eq!(message["media"][0]["filename"], "label.jpg", "{message}");

    let unknown = send_mt(
        &d,
        json!({"from": MMS_SENDER, "to": CONTACT,
               "media": [{"id": sha256(b"never uploaded"), "content_type": "image/jpeg"}]}),
        None,
    );
    let (status, code, field, _, _) = error_of(&unknown);
    assert_eq!(
        (status, code.as_str(), field.as_str()),
        (422, "media_unavailable", "media[0].id"),
        "{}",
        unknown.body
    );
    // The upload is a JPEG; declared as a PNG it is refused.
    let mislabelled = send_mt(
        &d,
        json!({"from": MMS_SENDER, "to": CONTACT,
               "media": [{"id": uploaded["id"], "content_type": "image/png"}]}),
        None,
    );
    let (status, code, _, reason, _) = error_of(&mislabelled);
    assert_eq!(
        (status, code.as_str(), reason.as_str()),
        (422, "media_rejected", "content_type_mismatch"),
        "{}",
        mislabelled.body
    );
}

#[test]
fn uploads_are_checked_and_bounded() {
    let d = start();
    let png = fixture("logo.png");
    let (status, code, _, reason, _) = error_of(&upload(&d, "image/jpeg", &png));
    assert_eq!(
        (status, code.as_str(), reason.as_str()),
        (422, "media_rejected", "content_type_mismatch")
    );
    let (status, code, _, reason, _) = error_of(&upload(&d, "application/zip", b"PK\x03\x04"));
    assert_eq!(
        (status, code.as_str(), reason.as_str()),
        (422, "media_rejected", "type_not_allowed")
    );
    // Larger than any attachment a route takes (links: [mms] max_message_bytes): refused
    // on its Content-Length, before the body is sent.
    let (status, answer) = upload_expecting_continue(d.api, LINK_LIMIT + 1);
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "media_rejected", "{answer}");
    assert_eq!(answer["error"]["reason"], "too_large", "{answer}");
    // At the limit it is read (and then refused for what it is, not for its size).
    let (status, answer) = upload_expecting_continue(d.api, LINK_LIMIT);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["reason"], "corrupt", "{answer}");
    let anonymous = crate::harness::http(
        d.api,
        "POST",
        "/v1/media",
        &[("Content-Type", "image/png")],
        &png,
    );
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(stored_files(&d), Vec::<String>::new());
}

/// `POST /v1/media` of `len` bytes of a would-be JPEG with `Expect: 100-continue`, as a
/// careful client sends a large file: the body goes only after `100 Continue`. The
/// final status and its JSON body.
fn upload_expecting_continue(addr: SocketAddr, len: usize) -> (u16, Value) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(crate::harness::HANG)).unwrap();
    write!(
        s,
        "POST /v1/media HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: {len}\r\nExpect: 100-continue\r\n\
         Connection: close\r\n\r\n",
        token = crate::harness::TOKEN,
    )
    .unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    if status_line.starts_with("HTTP/1.1 100") {
        let mut blank = String::new();
        reader.read_line(&mut blank).unwrap();
        let mut body = vec![0xFFu8; len];
        body[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
        s.write_all(&body).unwrap();
        status_line.clear();
        reader.read_line(&mut status_line).unwrap();
    }
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let status = status_line[9..12].parse().unwrap();
    let body = &rest[rest.find("\r\n\r\n").unwrap() + 4..];
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A carrier with only an MMSC (no SMPP keys) is valid configuration: it has no binds,
/// carries MMS, and SMS routes skip it.
#[test]
fn a_carrier_with_only_an_mmsc_carries_mms_and_no_sms() {
    const MMS_ONLY_SENDER: &str = "+18005550122";
    const BOTH_SENDER: &str = "+18005550133";
    let media = MediaServer::start();
    let (mmsc_port, endpoint) = (free_port(), free_port());
    let mmsc = OutsideMmsc::start_as(mmsc_port, endpoint, ("picture-mmsc", "picture-pw"));
    mmsc.handle.release_reports();
    let extra = format!(
        r#"
[[carriers]]
name = "pictures"
[carriers.mm7]
username = "picture-mmsc"
password = "picture-pw"
mmsc_url = "http://127.0.0.1:{mmsc_port}/mm7"
mmsc_username = "vasp"
mmsc_password = "mmsc-pw"

[[senders]]
number = "{MMS_ONLY_SENDER}"
kind = "toll_free"
routes = ["pictures"]
mms = true

[[senders]]
number = "{BOTH_SENDER}"
kind = "toll_free"
routes = ["pictures", "sim"]
mms = true
"#
    );
    let d = start_with(Mmsc::Embedded, endpoint, &extra);
    let check = std::process::Command::new(crate::harness::binary())
        .args(["check-config", d.config.to_str().unwrap()])
        .env("SMSBRIDGE_API_TOKEN", crate::harness::TOKEN)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let id = accepted_id(&send_mt(
        &d,
        json!({"from": MMS_ONLY_SENDER, "to": CONTACT, "text": "label",
               "media": [{"url": media.url("/media/photo.jpg")}]}),
        None,
    ));
    let message = wait_status(&d, &id, "delivered");
    assert_eq!(message["route"], "pictures", "{message}");
    assert_eq!(mmsc.stats().submits_received, 1);

    let text_only = send_mt(
        &d,
        json!({"from": MMS_ONLY_SENDER, "to": CONTACT, "text": "no SMS here"}),
        None,
    );
    let (status, code, field, _, _) = error_of(&text_only);
    assert_eq!(
        (status, code.as_str(), field.as_str()),
        (422, "no_route", "from"),
        "{}",
        text_only.body
    );
    // The SMS of a sender with both takes the route that sends SMS.
    let id = accepted_id(&send_mt(
        &d,
        json!({"from": BOTH_SENDER, "to": CONTACT, "text": "by SMS"}),
        None,
    ));
    let message = wait_status(&d, &id, "sent");
    assert_eq!(message["route"], "sim", "{message}");
    // No binds for it: /status lists the SMPP carrier only.
    let status = crate::harness::http_get(d.admin, "/status").1;
    assert!(status.contains("\"sim\""), "{status}");
    assert!(!status.contains("\"pictures\""), "{status}");
}
