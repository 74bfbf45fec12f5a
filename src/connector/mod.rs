//! Chat events (CloudEvents 1.0) and their delivery to the contact-center core from
//! the outbox.
//!
//! Flows append events to the outbox inside the store write that makes their change
//! durable (`store::sqlite::outbox::append`), then poke the delivery task with
//! [`Outbox::notify`]. The delivery task ([`delivery`]) reads the due events, at most
//! one delivery in flight per conversation (event n+1 waits until n is acknowledged;
//! different conversations go in parallel up to `[core] concurrency`), and hands them
//! to the configured [`sink::Sink`]:
//!
//! | sink | what it does |
//! |---|---|
//! | webhook | HTTPS POST, signed ([`signature`]), one `application/cloudevents+json` event per request or `application/cloudevents-batch+json` arrays; 2xx acknowledges, anything else is retried with backoff ([`backoff`]) |
//! | log | JSON lines appended to a file ([`event_log`]: never a partial line, even on a full disk) or stdout (demos) |
//!
//! An event still undelivered after `[core] max_age` moves to the dead letters, which
//! the admin API lists and replays. An event's media links are signed afresh at each
//! delivery attempt ([`links`]).

pub mod backoff;
pub mod delivery;
pub mod event;
pub mod event_log;
pub mod links;
pub mod metrics;
pub mod signature;
pub mod sink;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::store::sqlite::SqliteStore;

pub use event::{ChatEvent, EventData, EventType, NewEvent, new_id, source_of};
pub use links::MediaLinkSigner;

/// The outbox as the flows and the delivery task share it: the store that holds the
/// events and the signal that new ones are there. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    store: SqliteStore,
    wake: Arc<Notify>,
}

impl Outbox {
    /// The outbox in `store`.
    pub fn new(store: SqliteStore) -> Self {
        Outbox {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Tells the delivery task that events were appended (call it after the write that
    /// appended them is answered). Never waits; pokes before the task listens are kept.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// The store holding the events.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// Resolves at the next [`Outbox::notify`].
    async fn notified(&self) {
        self.wake.notified().await
    }
}

/// Why the connector cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// Webhook delivery without a url or secret (the configuration check refuses
    /// this, so it means a config built by hand).
    #[error("webhook delivery needs a url and a secret")]
    Incomplete,
    /// The HTTP client cannot be built (no usable TLS roots, for one).
    #[error("cannot build the webhook client: {0}")]
    Client(String),
    /// The event log cannot be created or opened for appending.
    #[error("cannot open the event log {path}: {source}")]
    EventLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why one delivery was not acknowledged; every kind is retried.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The core answered, but not with 2xx.
    #[error("the core answered {status}: {body}")]
    Rejected { status: u16, body: String },
    /// No answer within `[core] timeout`.
    #[error("the core did not answer in time")]
    Timeout,
    /// The core's address could not be reached (refused, unresolvable, TLS failed).
    #[error("cannot reach the core: {0}")]
    Connect(String),
    /// Writing the event log failed (disk full, closed stdout).
    #[error("cannot write the event log: {0}")]
    Io(#[from] std::io::Error),
    /// Anything else on the way (a broken connection mid-request, an encoding error).
    #[error("delivery failed: {0}")]
    Other(String),
}

impl DeliveryError {
    /// The `result` metric label.
    pub fn label(&self) -> &'static str {
        match self {
            DeliveryError::Rejected { .. } => "rejected",
            DeliveryError::Timeout => "timeout",
            DeliveryError::Connect(_) => "connect",
            DeliveryError::Io(_) | DeliveryError::Other(_) => "error",
        }
    }
}
