//! Turning a connection away when the listener is at its `max_connections`: a plain
//! HTTP client reads `503` and the JSON error `overloaded` (the code the API's own
//! load shedding answers), so an integrator sees why in its logs rather than a bare
//! reset; a TLS client is closed at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use super::{CONNECTIONS_REFUSED_TOTAL, ListenerName, LogGate};

/// Refusals being answered at once; past them a refused connection is closed without an
/// answer, so refusing cannot itself hold many descriptors.
const ANSWERING_AT_ONCE: usize = 32;
/// How long answering one refusal may take (the write, and reading what the client sent
/// until it closes).
const ANSWER_TIME: Duration = Duration::from_secs(1);

const BODY: &str = r#"{"error":{"code":"overloaded","message":"too many open connections to this listener; retry shortly"}}"#;

/// The whole answer, sent before the request is read.
fn answer() -> String {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    )
}

/// One listener's refusals.
pub(super) struct Refusals {
    name: ListenerName,
    max_connections: usize,
    /// Whether refused clients speak plain HTTP and can read an answer.
    plain: bool,
    answering: Arc<Semaphore>,
    log: LogGate,
}

impl Refusals {
    pub(super) fn new(name: ListenerName, max_connections: usize, plain: bool) -> Refusals {
        Refusals {
            name,
            max_connections,
            plain,
            answering: Arc::new(Semaphore::new(ANSWERING_AT_ONCE)),
            log: LogGate::default(),
        }
    }

    /// Counts and turns `stream` away: answered on `tasks` when it speaks plain HTTP and
    /// an answering slot is free, else closed now.
    pub(super) fn refuse(
        &mut self,
        stream: TcpStream,
        tasks: &TaskTracker,
        stop: &CancellationToken,
    ) {
        let listener = self.name.label();
        metrics::counter!(CONNECTIONS_REFUSED_TOTAL, "listener" => listener).increment(1);
        if let Some(refused) = self.log.pass() {
            warn!(
                listener,
                max_connections = self.max_connections,
                refused,
                "connections refused: the listener is at max_connections"
            );
        }
        if !self.plain {
            return;
        }
        let Ok(slot) = self.answering.clone().try_acquire_owned() else {
            return;
        };
        let stop = stop.clone();
        tasks.spawn(async move {
            let _slot = slot;
            tokio::select! {
                () = stop.cancelled() => {}
                _ = tokio::time::timeout(ANSWER_TIME, send(stream)) => {}
            }
        });
    }
}

/// Writes the answer, ends the sending side, and reads what the client sent until it
/// closes: a socket closed with unread bytes is reset, and the reset can destroy the
/// answer before the client has read it.
async fn send(mut stream: TcpStream) -> std::io::Result<()> {
    stream.write_all(answer().as_bytes()).await?;
    stream.shutdown().await?;
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_a_complete_http_response_with_the_api_error_body() {
        let text = answer();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "overloaded");
    }
}
