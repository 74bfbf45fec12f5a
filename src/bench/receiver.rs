//! The contact-center core of the rig: an HTTP receiver for the gateway's webhook that
//! counts the CloudEvents by kind and times them. It reads just enough of each event:
//! its `type`, `time`, and `data.message_id` / `data.status`; signatures are not checked
//! (the rig owns both ends and the check would only add the receiver's cost).
//!
//! Timings: for MT, each message's `sent` and `delivered` status is matched with the
//! moment its `POST /v1/messages` was sent (whichever of the answer and the event comes
//! first waits in a map for the other; a message leaves the map at its final status, so
//! the map holds only messages in flight). For MO, the event's `time` — stamped in the
//! store transaction that commits the MO, just before the carrier's deliver_sm is
//! acknowledged — is compared with the wall clock on arrival (millisecond resolution).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::BenchError;
use super::report::new_histogram;

/// One CloudEvent, the fields the bench reads.
#[derive(Debug, Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    data: IncomingData,
}

#[derive(Debug, Default, Deserialize)]
struct IncomingData {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// A webhook body: one event, or a batch.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Body {
    Batch(Vec<Incoming>),
    One(Incoming),
}

/// Events counted by kind.
#[derive(Debug, Default)]
pub struct Counts {
    pub requests: AtomicU64,
    pub events: AtomicU64,
    pub unreadable: AtomicU64,
    pub conversations: AtomicU64,
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub sent: AtomicU64,
    pub delivered: AtomicU64,
    /// failed, expired or rejected.
    pub failed: AtomicU64,
    pub other: AtomicU64,
}

impl Counts {
    fn count(&self, event: &Incoming) {
        let counter = match (event.ty.as_str(), event.data.status.as_deref()) {
            ("chat.conversation.started", _) => &self.conversations,
            ("chat.message.received", _) => &self.received,
            ("chat.message.status", Some("accepted")) => &self.accepted,
            ("chat.message.status", Some("sent")) => &self.sent,
            ("chat.message.status", Some("delivered")) => &self.delivered,
            ("chat.message.status", Some(_)) => &self.failed,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// MT statuses that end a message.
    pub fn finished_mt(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

/// One MT on its way: the times known so far.
#[derive(Debug, Default)]
struct Track {
    posted: Option<Instant>,
    sent: Option<Instant>,
    done: Option<Instant>,
}

/// Latency histograms (microseconds) and the MTs in flight.
#[derive(Debug)]
pub struct Timings {
    in_flight: HashMap<String, Track>,
    /// POST sent → `sent` event received.
    pub to_sent: Histogram<u64>,
    /// POST sent → `delivered` (or another final status) event received.
    pub to_delivered: Histogram<u64>,
    /// MO committed (event time) → event received.
    pub mo_to_event: Histogram<u64>,
    /// The first and the last event received.
    pub first_event: Option<Instant>,
    pub last_event: Option<Instant>,
}

impl Timings {
    fn new() -> Self {
        Self {
            in_flight: HashMap::new(),
            to_sent: new_histogram(),
            to_delivered: new_histogram(),
            mo_to_event: new_histogram(),
            first_event: None,
            last_event: None,
        }
    }

    /// Records what can be recorded for `id`; forgets it once its final status is in.
    fn settle(&mut self, id: &str) {
        let Some(track) = self.in_flight.get_mut(id) else {
            return;
        };
        let Some(posted) = track.posted else {
            return;
        };
        if let Some(sent) = track.sent.take() {
            record(&mut self.to_sent, sent.saturating_duration_since(posted));
        }
        if let Some(done) = track.done {
            record(
                &mut self.to_delivered,
                done.saturating_duration_since(posted),
            );
            self.in_flight.remove(id);
        }
    }

    /// MTs whose answer or events are still missing.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

/// Adds a duration to a microsecond histogram (saturating at its highest value).
pub fn record(histogram: &mut Histogram<u64>, d: std::time::Duration) {
    histogram.saturating_record(d.as_micros().min(u128::from(u64::MAX)) as u64);
}

/// What the receiver and the load generators share.
#[derive(Debug)]
pub struct Tally {
    pub counts: Counts,
    timings: Mutex<Timings>,
    changed: watch::Sender<u64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            counts: Counts::default(),
            timings: Mutex::new(Timings::new()),
            changed: watch::Sender::new(0),
        }
    }

    /// The timings (a poisoned lock still holds valid figures).
    pub fn timings(&self) -> MutexGuard<'_, Timings> {
        self.timings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver that changes whenever events arrive.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The gateway answered `POST /v1/messages` for `id`, sent at `posted`.
    pub fn posted(&self, id: String, posted: Instant) {
        let mut t = self.timings();
        t.in_flight.entry(id.clone()).or_default().posted = Some(posted);
        t.settle(&id);
    }

    fn take(&self, body: &[u8], now: Instant) {
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        let events = match serde_json::from_slice::<Body>(body) {
            Ok(Body::Batch(events)) => events,
            Ok(Body::One(event)) => vec![event],
            Err(_) => {
                self.counts.unreadable.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let wall = SystemTime::now();
        let mut t = self.timings();
        t.first_event.get_or_insert(now);
        t.last_event = Some(now);
        for event in &events {
            self.counts.count(event);
            match (event.ty.as_str(), &event.data) {
                (
                    "chat.message.status",
                    IncomingData {
                        message_id: Some(id),
                        status: Some(status),
                    },
                ) if status != "accepted" => {
                    let track = t.in_flight.entry(id.clone()).or_default();
                    if status == "sent" {
                        track.sent = Some(now);
                    } else {
                        track.done = Some(now);
                    }
                    t.settle(id);
                }
                ("chat.message.received", _) => {
                    if let Some(committed) = event
                        .time
                        .as_deref()
                        .and_then(|s| humantime::parse_rfc3339(s).ok())
                    {
                        let age = wall.duration_since(committed).unwrap_or_default();
                        record(&mut t.mo_to_event, age);
                    }
                }
                _ => {}
            }
        }
        drop(t);
        let total = self
            .counts
            .events
            .fetch_add(events.len() as u64, Ordering::Relaxed)
            + events.len() as u64;
        self.changed.send_replace(total);
    }
}

/// The running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    pub tally: Arc<Tally>,
}

async fn take(State(tally): State<Arc<Tally>>, body: Bytes) -> StatusCode {
    tally.take(&body, Instant::now());
    StatusCode::OK
}

impl Receiver {
    /// Listens on a loopback port until `cancel` fires.
    pub async fn start(cancel: CancellationToken) -> Result<Self, BenchError> {
        let tally = Arc::new(Tally::new());
        let app = axum::Router::new()
            .route("/events", axum::routing::post(take))
            .with_state(tally.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(BenchError::Receiver)?;
        let addr = listener.local_addr().map_err(BenchError::Receiver)?;
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(cancel.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "bench webhook receiver stopped");
            }
        });
        Ok(Self { addr, tally })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn status(id: &str, status: &str) -> String {
        format!(
            r#"{{"type":"chat.message.status","time":"2024-01-01T00:00:00.000Z","data":{{"message_id":"{id}","status":"{status}","reason":null}}}}"#
        )
    }

    #[test]
    fn statuses_are_timed_from_the_post_whichever_comes_first() {
        let tally = Tally::new();
        let t0 = Instant::now();
        // "m1": the answer comes before its events; "m2": its `sent` comes first.
        tally.posted("m1".into(), t0);
        tally.take(
            status("m2", "sent").as_bytes(),
            t0 + Duration::from_millis(3),
        );
        let batch = format!("[{},{}]", status("m1", "sent"), status("m1", "delivered"));
        tally.take(batch.as_bytes(), t0 + Duration::from_millis(5));
        tally.posted("m2".into(), t0 + Duration::from_millis(1));
        let t = tally.timings();
        assert_eq!(t.to_sent.len(), 2);
        assert_eq!(t.to_delivered.len(), 1);
        // Three significant digits: values compare as equivalent, not equal.
        assert!(t.to_delivered.equivalent(t.to_delivered.max(), 5_000));
        assert!(t.to_sent.equivalent(t.to_sent.max(), 5_000));
        assert!(t.to_sent.equivalent(t.to_sent.min(), 2_000));
        // m2 waits for its final status; m1 is forgotten.
        assert_eq!(t.in_flight(), 1);
        drop(t);
        assert_eq!(tally.counts.sent.load(Ordering::Relaxed), 2);
        assert_eq!(tally.counts.finished_mt(), 1);
        assert_eq!(tally.counts.events.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn received_events_are_timed_from_their_commit_and_garbage_is_counted() {
        let tally = Tally::new();
        let time = humantime::format_rfc3339_millis(SystemTime::now());
        let event =
            format!(r#"{{"type":"chat.message.received","time":"{time}","data":{{"text":"hi"}}}}"#);
        tally.take(event.as_bytes(), Instant::now());
        tally.take(b"not json", Instant::now());
        assert_eq!(tally.counts.received.load(Ordering::Relaxed), 1);
        assert_eq!(tally.counts.unreadable.load(Ordering::Relaxed), 1);
        assert_eq!(tally.timings().mo_to_event.len(), 1);
    }
}
