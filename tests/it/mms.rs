//! MMS in through the real daemon: the MM7 request fixtures (fixtures/mms/) posted to
//! the MM7 endpoint by a real HTTP client, the answers read back as MM7, the chat events
//! taken by a webhook receiver run by the test, and the media fetched by their signed
//! URLs. Regenerate the fixtures with `python3 scripts/mms-fixtures.py`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use smsbridge::config::Secret;
use smsbridge::mms::media::{MediaStore, UrlSigner};
use smsbridge::mms::mm7::{XmlLimits, parse_document, response_status};

use crate::harness::free_port;
use crate::harness::{Daemon, HANG};

const URL_SECRET: &str = "media-url-secret-0123456789";
const MM7_USER: &str = "sim-mmsc";
const MM7_PASSWORD: &str = "mm7-pass";

/// The connector tests' core stand-in, with a runtime for this file's own HTTP
/// clients (the MM7 posts and the media fetches).
struct Receiver {
    core: crate::connector::Receiver,
    rt: tokio::runtime::Runtime,
}

impl Receiver {
    fn start(status: u16) -> Receiver {
        Receiver {
            core: crate::connector::Receiver::start(status),
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    /// The acknowledged events of type `ty`.
    fn of_type(&self, ty: &str) -> Vec<Value> {
        self.core
            .acknowledged()
            .into_iter()
            .filter(|e| e["type"] == ty)
            .collect()
    }

    /// Waits until `n` events of type `ty` were acknowledged; they.
    fn wait_for(&self, ty: &str, n: usize) -> Vec<Value> {
        self.core.wait_for(&format!("waiting for {n} {ty}"), |all| {
            all.iter().filter(|e| e["type"] == ty).count() >= n
        });
        self.of_type(ty)
    }
}

fn config(receiver: &Receiver) -> String {
    let port = free_port();
    format!(
        r#"
[core]
delivery = "webhook"
url = "http://{}/events"
secret = "webhook-secret"
retry_min = "20ms"
retry_max = "200ms"
poll_interval = "50ms"

[mms]
enabled = true
listen = "127.0.0.1:0"
max_part_bytes = 4096
url_secret = "{URL_SECRET}"

[simulator]
listen = "127.0.0.1:{port}"

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = {port}
system_id = "gw"
password = "pw"
[carriers.mm7]
username = "{MM7_USER}"
password = "{MM7_PASSWORD}"
allow = ["127.0.0.0/8"]

[[senders]]
number = "+18005550100"
kind = "toll_free"
routes = ["sim"]
mms = true
"#,
        receiver.core.addr()
    )
}

/// The MM7 endpoint's address (the last one logged: a restart binds a new port).
fn mm7(d: &Daemon) -> SocketAddr {
    d.seen
        .iter()
        .rev()
        .find(|v| v["message"] == "MM7 endpoint listening")
        .and_then(|v| v["listen"].as_str())
        .expect("the MM7 endpoint logs its address")
        .parse()
        .unwrap()
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mms")
        .join(name)
}

/// A fixture request: its Content-Type and body.
fn fixture(name: &str) -> (String, Vec<u8>) {
    let raw = std::fs::read(fixture_path(&format!("{name}.http"))).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let content_type = head
        .strip_prefix("Content-Type: ")
        .expect("a fixture starts with its Content-Type")
        .to_owned();
    (content_type, raw[split + 4..].to_vec())
}

/// What an MM7 POST got: the HTTP status and the MM7 StatusCode in the body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    http: u16,
    mm7: Option<u16>,
    body: String,
}

fn post(rt: &tokio::runtime::Runtime, addr: SocketAddr, name: &str, password: &str) -> Answer {
    let (content_type, body) = fixture(name);
    rt.block_on(async {
        let reply = reqwest::Client::new()
            .post(format!("http://{addr}/mm7"))
            .basic_auth(MM7_USER, Some(password))
            .header("Content-Type", content_type)
            .header("SOAPAction", "\"\"")
            .body(body)
            .send()
            .await
            .unwrap();
        let http = reply.status().as_u16();
        let body = reply.text().await.unwrap();
        let mm7 = parse_document(body.as_bytes(), XmlLimits::default())
            .ok()
            .and_then(|root| response_status(&root))
            .map(|s| s.code.0);
        Answer { http, mm7, body }
    })
}

fn get(rt: &tokio::runtime::Runtime, url: &str) -> (u16, Option<String>, Vec<u8>) {
    rt.block_on(async {
        let reply = reqwest::get(url).await.unwrap();
        let status = reply.status().as_u16();
        let ct = reply
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, ct, reply.bytes().await.unwrap().to_vec())
    })
}

fn start(receiver: &Receiver) -> Daemon {
    Daemon::start(&config(receiver), &[])
}

/// A CA and a certificate for `localhost` signed by it: (CA PEM, certificate PEM, key PEM).
fn localhost_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn each_fixture_gets_its_mm7_status_and_its_events() {
    let receiver = Receiver::start(200);
    let d = start(&receiver);
    let addr = mm7(&d);
    let rt = &receiver.rt;
    let cases = [
        ("deliver-rel5-photos", 200, 1000),
        ("deliver-rel6-attachments", 200, 1000),
        ("deliver-corrupt-image", 200, 1100),
        ("deliver-oversized-part", 200, 1100),
        ("deliver-wrong-type", 200, 1100),
        ("deliver-missing-header", 500, 2007),
        ("deliver-broken-boundary", 500, 2007),
        ("deliver-xml-bomb", 500, 2007),
        ("delivery-report", 200, 1000),
    ];
    for (name, http, code) in cases {
        let answer = post(rt, addr, name, MM7_PASSWORD);
        assert_eq!(
            (answer.http, answer.mm7),
            (http, Some(code)),
            "{name}: {}",
            answer.body
        );
        let operation = if name.starts_with("delivery") {
            "DeliveryReportRsp"
        } else if http == 200 {
            "DeliverRsp"
        } else {
            "VASPErrorRsp"
        };
        assert!(answer.body.contains(operation), "{name}: {}", answer.body);
    }
    // A relay delivering the first one again (our answer was lost) gets success and
    // adds nothing.
    let again = post(rt, addr, "deliver-rel5-photos", MM7_PASSWORD);
    assert_eq!(again.mm7, Some(1000));

    let received = receiver.wait_for("chat.message.received", 5);
    let rejected = receiver.wait_for("chat.media.rejected", 4);
    let by_subject = |s: &str| -> Vec<&Value> {
        received
            .iter()
            .map(|e| &e["data"])
            .filter(|d| d["text"].as_str().unwrap().contains(s))
            .collect()
    };
    let photos = by_subject("damage to the box");
    assert_eq!(photos.len(), 1, "delivered once");
    let photos = photos[0];
    assert_eq!(photos["from"], "+14155550123");
    assert_eq!(photos["to"], "+18005550100");
    assert_eq!(photos["subject"], "Photos");
    let types: Vec<&str> = photos["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["image/jpeg", "image/png", "image/gif"]);
    assert_eq!(photos["media"][0]["filename"], "photo.jpg");
    assert_eq!(
        photos["media"][0]["size"],
        std::fs::read(fixture_path("photo.jpg")).unwrap().len()
    );

    let card = by_subject("My details")[0];
    let types: Vec<&str> = card["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["image/jpeg", "text/vcard"]);

    let second_try = by_subject("Second try")[0];
    assert_eq!(
        second_try["media"].as_array().unwrap().len(),
        1,
        "the good PNG"
    );
    assert_eq!(by_subject("Big picture")[0]["media"], serde_json::json!([]));

    let mut reasons: Vec<(String, String)> = rejected
        .iter()
        .map(|e| {
            (
                e["data"]["reason"].as_str().unwrap().to_owned(),
                e["data"]["filename"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("content_type_mismatch".into(), "notreally.jpg".into()),
            ("corrupt".into(), "broken.jpg".into()),
            ("too_large".into(), "big.png".into()),
            ("type_not_allowed".into(), "setup.exe".into()),
        ]
    );
    for e in &rejected {
        assert!(!e["data"]["message"].as_str().unwrap().is_empty());
        let message = e["data"]["message_id"].as_str().unwrap();
        let parent = received
            .iter()
            .find(|r| r["data"]["message_id"] == message)
            .expect("a rejection names its message");
        assert_eq!(parent["subject"], e["subject"], "same conversation");
    }
    // Nothing came of the refused requests.
    assert_eq!(receiver.of_type("chat.message.received").len(), 5);
}

#[test]
fn a_carrier_without_its_credentials_is_refused_unread() {
    let receiver = Receiver::start(200);
    let d = start(&receiver);
    let answer = post(&receiver.rt, mm7(&d), "deliver-rel5-photos", "wrong");
    assert_eq!(answer.http, 401);
    assert!(receiver.of_type("chat.message.received").is_empty());
}

#[test]
fn media_urls_serve_the_file_and_refuse_tampering_and_expiry() {
    let receiver = Receiver::start(200);
    let d = start(&receiver);
    let rt = &receiver.rt;
    assert_eq!(
        post(rt, mm7(&d), "deliver-rel5-photos", MM7_PASSWORD).mm7,
        Some(1000)
    );
    let received = receiver.wait_for("chat.message.received", 1);
    let url = received[0]["data"]["media"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&format!("http://{}/v1/media/", d.api)),
        "{url}"
    );

    let (status, ct, body) = get(rt, &url);
    assert_eq!(status, 200);
    assert_eq!(ct.as_deref(), Some("image/jpeg"));
    assert_eq!(body, std::fs::read(fixture_path("photo.jpg")).unwrap());

    let tampered_sig = format!("{}0", &url[..url.len() - 1]);
    let tampered_sig = if tampered_sig == url {
        format!("{}1", &url[..url.len() - 1])
    } else {
        tampered_sig
    };
    assert_eq!(get(rt, &tampered_sig).0, 403);
    let as_html = url.replace("ct=image%2Fjpeg", "ct=text%2Fhtml");
    assert_eq!(get(rt, &as_html).0, 403);
    let unsigned = url.split('?').next().unwrap().to_owned();
    assert_eq!(get(rt, &unsigned).0, 403);

    // Signed with the right key, but long expired.
    let hash = unsigned.rsplit('/').next().unwrap();
    let signer = UrlSigner::new(Secret::new(URL_SECRET), &format!("http://{}", d.api), 60);
    let expired = signer.url(hash, "image/jpeg", 1_000);
    let (status, _, body) = get(rt, &expired);
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("expired"));
}

#[test]
fn an_acknowledged_mms_reaches_the_core_once_after_a_sigkill() {
    let receiver = Receiver::start(503);
    let mut d = start(&receiver);
    let rt = &receiver.rt;
    assert_eq!(
        post(rt, mm7(&d), "deliver-rel5-photos", MM7_PASSWORD).mm7,
        Some(1000)
    );
    assert_eq!(
        post(rt, mm7(&d), "deliver-corrupt-image", MM7_PASSWORD).mm7,
        Some(1100)
    );
    d.kill_and_restart();
    receiver.core.set_status(200);

    let received = receiver.wait_for("chat.message.received", 2);
    receiver.wait_for("chat.media.rejected", 1);
    let all = receiver.core.acknowledged();
    let ids: HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "each event once");
    assert_eq!(received.len(), 2);

    let photos = received
        .iter()
        .find(|e| e["data"]["subject"] == "Photos")
        .unwrap();
    for media in photos["data"]["media"].as_array().unwrap() {
        // The test's API listener moved to a new port with the restart (port 0); the
        // signature covers the path, type and expiry, not the host.
        let url = media["url"].as_str().unwrap();
        let path = &url[url.find("/v1/media/").unwrap()..];
        let (status, _, body) = get(rt, &format!("http://{}{path}", d.api));
        assert_eq!(status, 200);
        assert_eq!(body.len() as u64, media["size"].as_u64().unwrap());
    }
}

#[test]
fn the_endpoint_speaks_tls_with_its_configured_certificate() {
    let receiver = Receiver::start(200);
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = localhost_pki();
    std::fs::write(dir.path().join("mm7.crt"), cert).unwrap();
    std::fs::write(dir.path().join("mm7.key"), key).unwrap();
    let tls = format!(
        "\n[mms.tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        dir.path().join("mm7.crt").display(),
        dir.path().join("mm7.key").display()
    );
    let d = Daemon::start_in(dir, &format!("{}{tls}", config(&receiver)), &[]);
    let port = mm7(&d).port();
    let (content_type, body) = fixture("deliver-rel6-attachments");
    let (status, mm7_status) = receiver.rt.block_on(async {
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
            .build()
            .unwrap();
        let reply = client
            .post(format!("https://localhost:{port}/mm7"))
            .basic_auth(MM7_USER, Some(MM7_PASSWORD))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        let text = reply.text().await.unwrap();
        let root = parse_document(text.as_bytes(), XmlLimits::default()).unwrap();
        (status, response_status(&root).map(|s| s.code.0))
    });
    assert_eq!((status, mm7_status), (200, Some(1000)));
    receiver.wait_for("chat.message.received", 1);
    // Plain HTTP to the TLS port is not an MM7 exchange.
    let plain = receiver.rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/mm7"))
            .body("x")
            .send()
            .await
    });
    assert!(plain.is_err(), "{plain:?}");
}

#[test]
fn mms_metrics_are_exported() {
    let receiver = Receiver::start(200);
    let d = start(&receiver);
    assert_eq!(
        post(&receiver.rt, mm7(&d), "deliver-corrupt-image", MM7_PASSWORD).mm7,
        Some(1100)
    );
    let (status, metrics) = crate::harness::http_get(d.admin, "/metrics");
    assert_eq!(status, 200);
    for line in [
        "smsbridge_mms_requests_total{carrier=\"sim\",operation=\"DeliverReq\",status=\"1100\"} 1",
        "smsbridge_mms_media_rejected_total{carrier=\"sim\",reason=\"corrupt\"} 1",
        "smsbridge_mms_media_accepted_total{carrier=\"sim\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
}

/// Sets a media file's modification time `ago` back.
fn age_file(path: &std::path::Path, ago: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - ago)
        .unwrap();
}

/// The daemon's store, opened beside it (WAL lets a second process write).
fn database(d: &Daemon) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(d.dir.path().join("smsbridge.db")).unwrap();
    conn.busy_timeout(HANG).unwrap();
    conn
}

#[test]
fn retention_deletes_a_media_file_with_its_last_message_only() {
    let receiver = Receiver::start(200);
    let mut d = Daemon::start(
        &format!(
            "{}\n[store]\nretention = \"1h\"\npurge_interval = \"1s\"\n",
            config(&receiver)
        ),
        &[],
    );
    let rt = &receiver.rt;
    // The old message: a photo, a chart and a GIF. The new one: the same photo and a
    // vCard.
    assert_eq!(
        post(rt, mm7(&d), "deliver-rel5-photos", MM7_PASSWORD).mm7,
        Some(1000)
    );
    assert_eq!(
        post(rt, mm7(&d), "deliver-rel6-attachments", MM7_PASSWORD).mm7,
        Some(1000)
    );
    let received = receiver.wait_for("chat.message.received", 2);
    let old_id = received
        .iter()
        .find(|e| e["data"]["subject"] == "Photos")
        .unwrap()["data"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = |name: &str| {
        let hash = MediaStore::hash(&std::fs::read(fixture_path(name)).unwrap());
        d.dir.path().join("media").join(&hash[..2]).join(hash)
    };
    let (photo, chart, wave) = (file("photo.jpg"), file("chart.png"), file("wave.gif"));
    let stored: Vec<PathBuf> = walk(&d.dir.path().join("media"));
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(photo.exists() && chart.exists() && wave.exists());

    // Two hours pass for everything, and the old message was last changed that long
    // ago: past the retention (1h) and the media grace (1h).
    let db = database(&d);
    db.execute("UPDATE media_record SET since_unix_ms = 0", [])
        .unwrap();
    for path in &stored {
        age_file(path, Duration::from_secs(7200));
    }
    db.execute(
        "UPDATE message SET updated_unix_ms = updated_unix_ms - 7200000 WHERE id = ?1",
        [&old_id],
    )
    .unwrap();

    let purged = d.wait_for_message("purged media files no message names any more");
    assert_eq!(purged["files"], 2, "{purged}");
    assert!(
        !chart.exists() && !wave.exists(),
        "the old message's own files go"
    );
    assert!(photo.exists(), "the photo the new message shares stays");
    assert_eq!(walk(&d.dir.path().join("media")).len(), 2, "and the vCard");
    let (_, metrics) = crate::harness::http_get(d.admin, "/metrics");
    assert!(
        metrics.contains("smsbridge_mms_media_purged_total 2"),
        "{metrics}"
    );
}

/// The files under `dir`, at any depth.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// An API GET with the test token; the JSON answer.
fn api_get(d: &Daemon, path: &str) -> Value {
    let reply = crate::harness::http(d.api, "GET", path, &[crate::harness::AUTH], b"");
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()
}

/// The `expires` of a signed media URL.
fn expires_of(url: &str) -> u64 {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("expires="))
        .expect("a signed URL has an expiry")
        .parse()
        .unwrap()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn the_transcript_and_the_message_show_media_with_freshly_signed_links() {
    let receiver = Receiver::start(200);
    let d = start(&receiver);
    let rt = &receiver.rt;
    assert_eq!(
        post(rt, mm7(&d), "deliver-rel5-photos", MM7_PASSWORD).mm7,
        Some(1000)
    );
    let event = receiver.wait_for("chat.message.received", 1)[0].clone();
    let conversation = event["subject"].as_str().unwrap();
    let message_id = event["data"]["message_id"].as_str().unwrap();
    // The default url_ttl: a week from the answer.
    let ttl = 7 * 86_400;

    let asked_at = unix_now();
    let transcript = api_get(&d, &format!("/v1/conversations/{conversation}/messages"));
    let message = &transcript["messages"][0];
    assert_eq!(message["message_id"], message_id);
    assert_eq!(message["direction"], "mo");
    let shown = api_get(&d, &format!("/v1/messages/{message_id}"));
    for view in [message, &shown] {
        let media = view["media"].as_array().unwrap();
        let names: Vec<(&str, &str)> = media
            .iter()
            .map(|m| {
                (
                    m["content_type"].as_str().unwrap(),
                    m["filename"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("image/jpeg", "photo.jpg"),
                ("image/png", "chart.png"),
                ("image/gif", "wave.gif")
            ]
        );
        for (m, fixture) in media.iter().zip(["photo.jpg", "chart.png", "wave.gif"]) {
            let url = m["url"].as_str().unwrap();
            assert!(
                expires_of(url) >= asked_at + ttl,
                "signed when asked: {url}"
            );
            let (status, ct, body) = get(rt, url);
            assert_eq!(status, 200, "{url}");
            assert_eq!(ct.as_deref(), m["content_type"].as_str());
            let bytes = std::fs::read(fixture_path(fixture)).unwrap();
            assert_eq!(body, bytes);
            assert_eq!(m["size"], bytes.len());
        }
    }
    // The document describes the media of a message.
    let doc = api_get(&d, "/v1/openapi.json");
    let media = &doc["components"]["schemas"]["MessageMedia"]["properties"];
    for field in ["url", "content_type", "size", "filename"] {
        assert!(media.get(field).is_some(), "{field} in {media}");
    }
    assert!(media.get("hash").is_none(), "{media}");
}

/// The parts of a signed media URL: (hash, content type, expires, sig).
fn signed_parts(url: &str) -> (String, String, u64, String) {
    let (path, query) = url.split_once('?').unwrap();
    let hash = path.rsplit('/').next().unwrap().to_owned();
    let value = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap()
            .to_owned()
    };
    (
        hash,
        value("ct").replace("%2F", "/"),
        value("expires").parse().unwrap(),
        value("sig"),
    )
}

#[test]
fn media_links_are_signed_when_delivered_so_a_long_outage_does_not_kill_them() {
    const TTL: u64 = 2;
    let receiver = Receiver::start(503);
    let config = config(&receiver).replace(
        "url_secret = ",
        &format!("url_ttl = \"{TTL}s\"\nurl_secret = "),
    );
    let d = Daemon::start(&config, &[]);
    let rt = &receiver.rt;
    assert_eq!(
        post(rt, mm7(&d), "deliver-rel5-photos", MM7_PASSWORD).mm7,
        Some(1000)
    );
    // Links signed when the MMS was stored expired by `stored_by + TTL`; the core stays
    // down past that.
    let stored_by = unix_now();
    while unix_now() <= stored_by + TTL {
        std::thread::sleep(Duration::from_millis(50));
    }
    let back_at = unix_now();
    receiver.core.set_status(200);

    let event = receiver.wait_for("chat.message.received", 1)[0].clone();
    let signer = UrlSigner::new(Secret::new(URL_SECRET), &format!("http://{}", d.api), TTL);
    let media = event["data"]["media"].as_array().unwrap();
    assert_eq!(media.len(), 3);
    for m in media {
        let url = m["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("http://{}/v1/media/", d.api)),
            "{url}"
        );
        let (hash, ct, expires, sig) = signed_parts(url);
        assert_eq!(ct, m["content_type"].as_str().unwrap());
        assert!(
            expires >= back_at + TTL,
            "valid for the TTL from delivery, not from storage: {url}"
        );
        assert_eq!(signer.verify(&hash, &ct, expires, &sig, expires), Ok(()));
    }
}

/// A daemon whose embedded simulators play the carrier: the SMSC takes the SMS replies,
/// the MMSC sends DeliverReqs to the MM7 endpoint. Events go to `events.jsonl`.
fn start_with_simulators() -> Daemon {
    let (smsc, mmsc, endpoint) = (free_port(), free_port(), free_port());
    Daemon::start(
        &format!(
            r#"
[core]
delivery = "log"
event_log = "events.jsonl"

[mms]
enabled = true
listen = "127.0.0.1:{endpoint}"
url_secret = "{URL_SECRET}"

[simulator]
listen = "127.0.0.1:{smsc}"

[simulator.mmsc]
listen = "127.0.0.1:{mmsc}"
gateway_username = "{MM7_USER}"
gateway_password = "{MM7_PASSWORD}"

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = {smsc}
system_id = "gw"
password = "pw"
[carriers.mm7]
username = "{MM7_USER}"
password = "{MM7_PASSWORD}"

[[senders]]
number = "+18005550100"
kind = "toll_free"
routes = ["sim"]
mms = true
"#
        ),
        &[],
    )
}

/// Has the simulated MMSC deliver an MO MMS with `text` and a photo; its MM7 status.
fn mms_from_customer(d: &Daemon, text: &str) -> u64 {
    let reply = crate::harness::http(
        d.api,
        "POST",
        "/v1/simulator/mms",
        &[crate::harness::AUTH, ("Content-Type", "application/json")],
        serde_json::json!({
            "from": "+14155550123",
            "to": "+18005550100",
            "text": text,
            "files": ["photo.jpg"],
        })
        .to_string()
        .as_bytes(),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.json()["status"].as_u64().unwrap()
}

#[test]
fn stop_and_start_in_an_mms_are_honoured_as_in_an_sms() {
    use crate::pipeline::{events, poll, send_mt, sim_stats};
    let d = start_with_simulators();
    let event = |ty: &'static str| {
        poll(ty, || {
            events(&d).into_iter().find(|e| e.0 == ty).map(|e| e.3)
        })
    };

    assert_eq!(mms_from_customer(&d, "Stop"), 1000);
    let opted_out = event("chat.contact.opted_out");
    assert_eq!(opted_out["contact"], "+14155550123");
    assert_eq!(opted_out["sender"], "+18005550100");
    assert_eq!(opted_out["keyword"], "STOP");
    let received = event("chat.message.received");
    assert_eq!(received["text"], "Stop");
    assert_eq!(received["media"].as_array().unwrap().len(), 1);
    // The confirmation goes back as an SMS, once.
    poll("the confirmation submitted", || {
        (sim_stats(&d)["submits"] == 1).then_some(())
    });
    let optouts = api_get(&d, "/v1/optouts?contact=%2B14155550123");
    assert_eq!(optouts["optouts"][0]["source"], "mms", "{optouts}");
    let conversation = opted_out_conversation(&d);
    let transcript = api_get(&d, &format!("/v1/conversations/{conversation}/messages"));
    let kinds: Vec<(&str, &str)> = transcript["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap(),
                m["encoding"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [("mo", "mms"), ("mt", "gsm7")], "{transcript}");
    let refused = send_mt(
        &d,
        serde_json::json!({"from": "+18005550100", "to": "+14155550123", "text": "deal!"}),
        None,
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "opted_out");

    assert_eq!(mms_from_customer(&d, "START"), 1000);
    let opted_in = event("chat.contact.opted_in");
    assert_eq!(opted_in["keyword"], "START");
    poll("the START confirmation submitted", || {
        (sim_stats(&d)["submits"] == 2).then_some(())
    });
    let allowed = send_mt(
        &d,
        serde_json::json!({"from": "+18005550100", "to": "+14155550123", "text": "welcome back"}),
        None,
    );
    assert_eq!(allowed.status, 202, "{}", allowed.body);
}

/// The conversation of the opt-out event.
fn opted_out_conversation(d: &Daemon) -> String {
    crate::pipeline::events(d)
        .into_iter()
        .find(|e| e.0 == "chat.contact.opted_out")
        .map(|e| e.1)
        .unwrap()
}
