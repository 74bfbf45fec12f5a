//! Where delivered events go: the core's webhook, or a JSON-lines log.
//!
//! A sink takes one delivery (events of several conversations, each conversation's
//! events in sequence order) and answers whether it was acknowledged as a whole.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::event::ChatEvent;
use super::event_log::EventLogFile;
use super::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use super::{ConnectorError, DeliveryError};
use crate::config::{Core, CoreDelivery, EventLog, Secret};
use crate::telemetry::error_chain;

/// One event per request.
pub const CLOUDEVENT_JSON: &str = "application/cloudevents+json";
/// A JSON array of events per request.
pub const CLOUDEVENT_BATCH_JSON: &str = "application/cloudevents-batch+json";
/// How much of a refusing core's answer is kept for the error record.
const ERROR_BODY_CHARS: usize = 200;

/// A configured destination for events.
pub enum Sink {
    Webhook(Webhook),
    Log(LogSink),
}

impl Sink {
    /// The sink `[core]` asks for; `source` is the events' CloudEvents `source`.
    pub async fn from_config(core: &Core, source: String) -> Result<Sink, ConnectorError> {
        match core.delivery {
            CoreDelivery::Webhook => Ok(Sink::Webhook(Webhook::new(core, source)?)),
            CoreDelivery::Log => Ok(Sink::Log(LogSink::open(&core.event_log, source).await?)),
        }
    }

    /// The `sink` metric label.
    pub fn name(&self) -> &'static str {
        match self {
            Sink::Webhook(_) => "webhook",
            Sink::Log(_) => "log",
        }
    }

    /// Whether several events may share one delivery.
    pub fn batches(&self) -> bool {
        match self {
            Sink::Webhook(w) => w.batch,
            Sink::Log(_) => true,
        }
    }

    /// Delivers `events`; `Ok` once they are acknowledged.
    pub async fn deliver(&self, events: &[&ChatEvent]) -> Result<(), DeliveryError> {
        match self {
            Sink::Webhook(w) => w.post(events).await,
            Sink::Log(l) => l.write(events).await,
        }
    }
}

/// HTTPS POST of signed CloudEvents to the core, over kept-alive connections.
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    secret: Secret,
    batch: bool,
    source: String,
}

impl Webhook {
    fn new(core: &Core, source: String) -> Result<Webhook, ConnectorError> {
        let (Some(url), Some(secret)) = (core.url.clone(), core.secret.clone()) else {
            return Err(ConnectorError::Incomplete);
        };
        let client = reqwest::Client::builder()
            .timeout(core.timeout)
            .connect_timeout(core.timeout)
            .pool_max_idle_per_host(core.concurrency)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("smsbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::Client(e.to_string()))?;
        Ok(Webhook {
            client,
            url,
            secret,
            batch: core.batch,
            source,
        })
    }

    async fn post(&self, events: &[&ChatEvent]) -> Result<(), DeliveryError> {
        let (body, content_type) = if self.batch {
            let all: Vec<_> = events.iter().map(|e| e.cloudevent(&self.source)).collect();
            (serde_json::to_vec(&all), CLOUDEVENT_BATCH_JSON)
        } else {
            let [one] = events else {
                return Err(DeliveryError::Other(format!(
                    "{} events for a request that carries one",
                    events.len()
                )));
            };
            (
                serde_json::to_vec(&one.cloudevent(&self.source)),
                CLOUDEVENT_JSON,
            )
        };
        let body = body.map_err(|e| DeliveryError::Other(e.to_string()))?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let signature = sign(self.secret.expose().as_bytes(), timestamp, &body);
        let answer = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let text = answer.text().await.unwrap_or_default();
        Err(DeliveryError::Rejected {
            status: status.as_u16(),
            body: text.chars().take(ERROR_BODY_CHARS).collect(),
        })
    }
}

fn classify(e: reqwest::Error) -> DeliveryError {
    if e.is_timeout() {
        DeliveryError::Timeout
    } else if e.is_connect() {
        DeliveryError::Connect(error_chain(&e))
    } else {
        DeliveryError::Other(error_chain(&e))
    }
}

/// CloudEvents as JSON lines, appended to a file (or written to stdout), one write per
/// delivery.
pub struct LogSink {
    out: LogOut,
    source: String,
}

enum LogOut {
    Stdout(Mutex<tokio::io::Stdout>),
    File(Arc<std::sync::Mutex<EventLogFile>>),
}

impl LogSink {
    async fn open(log: &EventLog, source: String) -> Result<LogSink, ConnectorError> {
        let out = match log {
            EventLog::Stdout => LogOut::Stdout(Mutex::new(tokio::io::stdout())),
            EventLog::File(path) => {
                let at = path.clone();
                let file = tokio::task::spawn_blocking(move || EventLogFile::open(&at))
                    .await
                    .map_err(|e| ConnectorError::EventLog {
                        path: path.clone(),
                        source: std::io::Error::other(e),
                    })?
                    .map_err(|e| ConnectorError::EventLog {
                        path: path.clone(),
                        source: e,
                    })?;
                LogOut::File(Arc::new(std::sync::Mutex::new(file)))
            }
        };
        Ok(LogSink { out, source })
    }

    async fn write(&self, events: &[&ChatEvent]) -> Result<(), DeliveryError> {
        let mut lines = Vec::new();
        for e in events {
            serde_json::to_writer(&mut lines, &e.cloudevent(&self.source))
                .map_err(|e| DeliveryError::Other(e.to_string()))?;
            lines.push(b'\n');
        }
        match &self.out {
            LogOut::Stdout(out) => {
                let mut out = out.lock().await;
                out.write_all(&lines).await?;
                out.flush().await?;
            }
            LogOut::File(file) => {
                let file = file.clone();
                tokio::task::spawn_blocking(move || {
                    file.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .append(&lines)
                })
                .await
                .map_err(|e| DeliveryError::Other(e.to_string()))??;
            }
        }
        Ok(())
    }
}
