//! Chat events to the core through the real daemon: a webhook receiver run by the test
//! (a small axum server) and the log connector. Events are appended to the daemon's
//! store the way the flows do it, before the daemon starts or while it runs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use smsbridge::config::Synchronous;
use smsbridge::connector::signature::sign;
use smsbridge::connector::{ChatEvent, EventType, NewEvent};
use smsbridge::store::sqlite::{SqliteStore, outbox};

use crate::harness::{Daemon, HANG, http};

const SECRET: &str = "webhook-secret";

/// One request the receiver took.
#[derive(Debug, Clone)]
struct Received {
    content_type: String,
    timestamp: String,
    signature: String,
    body: Bytes,
    /// The status answered.
    status: u16,
}

/// A core stand-in (also for the pipeline tests): answers every POST with the current `status` and records it.
pub(crate) struct Receiver {
    addr: SocketAddr,
    status: Arc<AtomicU16>,
    seen: Arc<Mutex<Vec<Received>>>,
    _rt: tokio::runtime::Runtime,
}

type Shared = (Arc<AtomicU16>, Arc<Mutex<Vec<Received>>>);

async fn take(State((status, seen)): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let code = status.load(Ordering::SeqCst);
    seen.lock().unwrap().push(Received {
        content_type: h("content-type"),
        timestamp: h("x-smsbridge-timestamp"),
        signature: h("x-smsbridge-signature"),
        body,
        status: code,
    });
    StatusCode::from_u16(code).unwrap()
}

impl Receiver {
    pub(crate) fn start(status: u16) -> Receiver {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let status = Arc::new(AtomicU16::new(status));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/events", axum::routing::post(take))
            .with_state((status.clone(), seen.clone()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            addr,
            status,
            seen,
            _rt: rt,
        }
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn requests(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// The events of every acknowledged request, in arrival order.
    pub(crate) fn acknowledged(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .filter(|r| r.status == 200)
            .flat_map(|r| events_of(&r.body))
            .collect()
    }

    /// Waits until `done` holds for the acknowledged events.
    pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + HANG;
        loop {
            let events = self.acknowledged();
            if done(&events) {
                return events;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: receiver saw {:?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for_requests(&self, n: usize) {
        let deadline = Instant::now() + HANG;
        while self.requests().len() < n {
            assert!(Instant::now() < deadline, "fewer than {n} requests arrived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn events_of(body: &[u8]) -> Vec<Value> {
    match serde_json::from_slice(body).unwrap() {
        Value::Array(all) => all,
        one => vec![one],
    }
}

pub(crate) fn core_config(receiver: &Receiver, more: &str) -> String {
    format!(
        r#"
[core]
delivery = "webhook"
url = "http://{}/events"
secret_env = "TEST_WEBHOOK_SECRET"
retry_min = "20ms"
retry_max = "200ms"
poll_interval = "50ms"
{more}
"#,
        receiver.addr
    )
}

/// Appends events for `conversations` (one event each, in the order given) to the
/// store under `dir`, as a flow does.
pub(crate) fn append(dir: &Path, conversations: &[&str]) -> Vec<ChatEvent> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store =
            SqliteStore::open(&dir.join("smsbridge.db"), Synchronous::Full, 8, "test").unwrap();
        let new: Vec<NewEvent> = conversations
            .iter()
            .enumerate()
            .map(|(i, c)| NewEvent {
                ty: EventType::MessageReceived,
                conversation_id: c.to_string(),
                data: json!({ "text": format!("message {i}") }),
            })
            .collect();
        store
            .write(move |c| {
                new.iter()
                    .map(|e| outbox::append(c, e.clone()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .unwrap()
    })
}

/// Every event arrived exactly once (by id), and each conversation's in sequence order.
pub(crate) fn assert_once_in_order(got: &[Value], sent: &[ChatEvent]) {
    let mut ids: Vec<&str> = got.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want: Vec<&str> = sent.iter().map(|e| e.id.as_str()).collect();
    want.sort();
    assert_eq!(ids, want, "each event once");
    let mut last: HashMap<&str, u64> = HashMap::new();
    for e in got {
        let seq = e["sequence"].as_u64().unwrap();
        let before = last
            .insert(e["subject"].as_str().unwrap(), seq)
            .unwrap_or(0);
        assert_eq!(seq, before + 1, "order within {}", e["subject"]);
    }
}

pub(crate) fn env() -> [(&'static str, &'static str); 1] {
    [("TEST_WEBHOOK_SECRET", SECRET)]
}

#[test]
fn events_of_a_stopped_daemon_survive_a_core_outage_once_each_in_order_and_signed() {
    let receiver = Receiver::start(503);
    let dir = tempfile::tempdir().unwrap();
    let sent = append(dir.path(), &["c1", "c2", "c1", "c3", "c1", "c2"]);
    let daemon = Daemon::start_in(dir, &core_config(&receiver, ""), &env());
    // The core is down: deliveries fail and are retried.
    receiver.wait_for_requests(6);
    assert!(receiver.acknowledged().is_empty());
    receiver.set_status(200);
    let got = receiver.wait_for("all events", |e| e.len() >= sent.len());
    assert_once_in_order(&got, &sent);

    for r in receiver.requests() {
        assert_eq!(r.content_type, "application/cloudevents+json");
        let ts: u64 = r.timestamp.parse().unwrap();
        assert_eq!(r.signature, sign(SECRET.as_bytes(), ts, &r.body));
        let e: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["source"], "smsbridge://test");
        assert_eq!(e["type"], "chat.message.received");
    }
    let first = sent.iter().find(|e| e.conversation_id == "c3").unwrap();
    let delivered = got.iter().find(|e| e["id"] == first.id.as_str()).unwrap();
    assert_eq!(delivered["data"]["text"], "message 3");
    drop(daemon);
}

#[test]
fn batches_keep_each_conversation_in_order_and_events_written_while_running_arrive() {
    let receiver = Receiver::start(200);
    let daemon = Daemon::start(
        &core_config(&receiver, "batch = true\nbatch_max = 4\nconcurrency = 2"),
        &env(),
    );
    let sent = append(
        daemon.dir.path(),
        &["a", "a", "b", "a", "c", "b", "a", "a", "d", "a"],
    );
    let got = receiver.wait_for("all events", |e| e.len() >= sent.len());
    assert_once_in_order(&got, &sent);
    for r in receiver.requests() {
        assert_eq!(r.content_type, "application/cloudevents-batch+json");
        let ts: u64 = r.timestamp.parse().unwrap();
        assert_eq!(r.signature, sign(SECRET.as_bytes(), ts, &r.body));
        assert!((1..=4).contains(&events_of(&r.body).len()));
    }
}

#[test]
fn an_event_past_max_age_becomes_a_dead_letter_and_replays_to_the_core() {
    let receiver = Receiver::start(500);
    let dir = tempfile::tempdir().unwrap();
    let sent = append(dir.path(), &["old"]);
    let mut daemon = Daemon::start_in(dir, &core_config(&receiver, "max_age = \"1s\""), &env());
    let auth = [crate::harness::AUTH];

    let deadline = Instant::now() + HANG;
    let listed = loop {
        let reply = http(daemon.api, "GET", "/v1/events/dead-letters", &auth, b"");
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.json();
        if !page["dead_letters"].as_array().unwrap().is_empty() {
            break page;
        }
        assert!(Instant::now() < deadline, "no dead letter appeared");
        std::thread::sleep(Duration::from_millis(50));
    };
    let dead = &listed["dead_letters"][0];
    assert_eq!(dead["event"]["id"], sent[0].id.as_str());
    // Every refused try is on record (a slow start may leave none before max_age).
    let tries = receiver.requests().len() as u64;
    assert_eq!(dead["attempts"].as_u64().unwrap(), tries);
    if tries > 0 {
        assert!(dead["last_error"].as_str().unwrap().contains("500"));
    }
    // Delivery may start before the daemon says it is ready.
    daemon.saw_or_wait_for_message("event not delivered within max_age; moved to the dead letters");

    receiver.set_status(200);
    let path = format!("/v1/events/dead-letters/{}/replay", sent[0].id);
    let reply = http(daemon.api, "POST", &path, &auth, b"");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let got = receiver.wait_for("the replayed event", |e| !e.is_empty());
    assert_once_in_order(&got, &sent);
    let again = http(daemon.api, "POST", &path, &auth, b"");
    assert_eq!(again.status, 404);
    assert_eq!(again.json()["error"]["code"], "not_found");
    let unauthorized = http(daemon.api, "GET", "/v1/events/dead-letters", &[], b"");
    assert_eq!(unauthorized.status, 401);
}

#[test]
fn sigterm_keeps_flushing_pending_events_until_they_are_acknowledged() {
    let receiver = Receiver::start(503);
    let dir = tempfile::tempdir().unwrap();
    let sent = append(dir.path(), &["x", "y", "x"]);
    let mut daemon = Daemon::start_in(dir, &core_config(&receiver, ""), &env());
    receiver.wait_for_requests(2);
    daemon.signal("TERM");
    daemon.wait_for_message("flushing the event outbox before stopping");
    receiver.set_status(200);
    let status = daemon.wait_exit();
    assert!(status.success(), "{status}");
    assert!(daemon.logged("event outbox flushed"));
    assert_once_in_order(&receiver.acknowledged(), &sent);
}

#[test]
fn the_log_connector_writes_cloudevents_as_json_lines() {
    let daemon = Daemon::start(
        "\n[core]\ndelivery = \"log\"\npoll_interval = \"50ms\"\n",
        &[],
    );
    let sent = append(daemon.dir.path(), &["l1", "l2", "l1"]);
    let log = daemon.dir.path().join("events.jsonl");
    let deadline = Instant::now() + HANG;
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= sent.len() {
            break text;
        }
        assert!(Instant::now() < deadline, "event log has {text:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let got: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_once_in_order(&got, &sent);
    for e in &got {
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["source"], "smsbridge://test");
        assert!(e["time"].as_str().unwrap().ends_with('Z'));
    }
}
