//! One accepted connection: the TLS handshake when the listener has one, HTTP/1.1 by
//! hyper, and the two timeouts kept beside it.
//!
//! A connection is always in one [`Phase`]. It starts waiting for a request head; once
//! hyper has read a head it is busy until the answer's body has been handed over; then
//! it is idle until the first byte of a next request, which starts a new wait for a
//! head. A head wait longer than `header_read_timeout`, or an idle spell with no byte
//! read or written for `idle_timeout`, closes the connection. A busy connection is left
//! to the routes' own time limits (`request_timeout`).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::Request;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::debug;

use super::{CONNECTIONS_OPEN, ListenerName};
use crate::config::Connections;

/// An admitted connection: its slot under the listener's cap, counted in the open
/// gauge while held.
pub(super) struct Open {
    name: ListenerName,
    peer: SocketAddr,
    limits: Connections,
    accepted: Instant,
    _slot: OwnedSemaphorePermit,
}

impl Open {
    pub(super) fn new(
        name: ListenerName,
        peer: SocketAddr,
        limits: Connections,
        slot: OwnedSemaphorePermit,
    ) -> Open {
        metrics::gauge!(CONNECTIONS_OPEN, "listener" => name.label()).increment(1.0);
        Open {
            name,
            peer,
            limits,
            accepted: Instant::now(),
            _slot: slot,
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!(CONNECTIONS_OPEN, "listener" => self.name.label()).decrement(1.0);
    }
}

/// Serves one connection until it closes, times out, or `stop` has fired and its
/// request in progress is answered.
pub(super) async fn serve(
    stream: TcpStream,
    open: Open,
    router: Router,
    tls: Option<TlsAcceptor>,
    stop: CancellationToken,
) {
    let Some(acceptor) = tls else {
        return drive(stream, open, router, stop).await;
    };
    // The handshake is part of the wait for the first request head.
    let deadline = open.accepted + open.limits.header_read_timeout;
    let peer = open.peer;
    let listener = open.name.label();
    // Both arms are cancel-safe: a handshake dropped half-way only closes the socket.
    let shaken = tokio::select! {
        () = stop.cancelled() => return,
        shaken = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => shaken,
    };
    match shaken {
        Ok(Ok(tls)) => drive(tls, open, router, stop).await,
        Ok(Err(e)) => debug!(listener, %peer, error = %e, "TLS handshake failed"),
        Err(_) => debug!(listener, %peer, "TLS handshake not done within header_read_timeout"),
    }
}

/// Runs HTTP/1.1 on `io` beside the phase timeouts.
async fn drive<I>(io: I, open: Open, router: Router, stop: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(open.accepted));
    let peer = open.peer;
    let listener = open.name.label();
    let limits = open.limits;
    let service = {
        let activity = activity.clone();
        service_fn(move |mut request: Request<Incoming>| {
            // Routes that need the client's address (the MM7 allow list) read it as
            // axum's ConnectInfo, as under axum::serve.
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = InFlight::start(activity.clone());
            let answer = router.clone().oneshot(request);
            async move {
                let response = answer.await?;
                Ok::<_, Infallible>(response.map(|body| Answer {
                    body,
                    _in_flight: in_flight,
                }))
            }
        })
    };
    let mut http = http1::Builder::new();
    // The wait for a head is timed here (see the module documentation of the listener).
    http.header_read_timeout(None);
    let watched = Watched {
        io,
        activity: activity.clone(),
        replacing: None,
    };
    let mut connection = Box::pin(http.serve_connection(TokioIo::new(watched), service));
    let mut closing = false;
    loop {
        let deadline = activity.deadline(&limits);
        // All arms are cancel-safe: the connection is polled through a reference and
        // kept; a notification not yet awaited stays stored in the Notify; the stop and
        // the sleep are only waits.
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    debug!(listener, %peer, error = %e, "connection ended with an error");
                }
                break;
            }
            () = stop.cancelled(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = activity.changed.notified() => {}
            () = sleep_until(deadline) => {
                if let Some(timeout) = activity.expired(&limits) {
                    debug!(listener, %peer, timeout, "closing a connection that let its timeout pass");
                    break;
                }
            }
        }
    }
    // The slot is freed before the socket closes: a client that sees the close may
    // connect again at once, and must find a slot.
    drop(open);
    drop(connection);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request head since `since` (the connect, or the first byte after an
    /// idle spell).
    Head { since: Instant },
    /// `requests` requests read whose answers are not handed over yet.
    Busy { requests: usize },
    /// Kept alive; the last byte went in or out at `since`.
    Idle { since: Instant },
}

/// A connection's phase, shared by the socket wrapper, the service and the watcher.
struct Activity {
    phase: Mutex<Phase>,
    /// Told when the deadline may have come nearer or appeared.
    changed: Notify,
}

impl Activity {
    fn new(accepted: Instant) -> Activity {
        Activity {
            phase: Mutex::new(Phase::Head { since: accepted }),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // The phase is a plain value; one left by a panicking holder is still whole.
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the connection is to be closed unless something happens first.
    fn deadline(&self, limits: &Connections) -> Option<Instant> {
        match *self.phase() {
            Phase::Head { since } => Some(since + limits.header_read_timeout),
            Phase::Idle { since } => Some(since + limits.idle_timeout),
            Phase::Busy { .. } => None,
        }
    }

    /// The timeout that has passed, if one has.
    fn expired(&self, limits: &Connections) -> Option<&'static str> {
        let phase = *self.phase();
        let deadline = self.deadline(limits)?;
        (Instant::now() >= deadline).then_some(match phase {
            Phase::Head { .. } => "header_read_timeout",
            _ => "idle_timeout",
        })
    }

    /// Bytes came in: on an idle connection, a next request has begun.
    fn read_some(&self) {
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::Head {
                since: Instant::now(),
            };
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// Bytes went out: an idle connection still delivering its last answer is not idle.
    /// The deadline only moves later, so the watcher needs no word: it finds the new one
    /// when the old one passes.
    fn wrote_some(&self) {
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::Idle {
                since: Instant::now(),
            };
        }
    }
}

/// A request between its head and the hand-over of its answer's body.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> InFlight {
        {
            let mut phase = activity.phase();
            *phase = match *phase {
                Phase::Busy { requests } => Phase::Busy {
                    requests: requests + 1,
                },
                Phase::Head { .. } | Phase::Idle { .. } => Phase::Busy { requests: 1 },
            };
        }
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        *phase = match *phase {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        };
        drop(phase);
        self.0.changed.notify_one();
    }
}

/// An answer's body, holding its request in flight until hyper has taken all of it (or
/// dropped it).
struct Answer {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the phase when bytes move.
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
    /// A JSON refusal written in place of hyper's own, not yet all sent.
    replacing: Option<(Vec<u8>, usize)>,
}

/// hyper answers a head it cannot parse by itself, before the service sees a request:
/// `400`, `414` or `431` with no body. Integrators are promised a JSON error for every
/// refusal, so that answer is replaced on its way out by the same status with one. The
/// service's own 4xx answers always carry a body (see `api::refusals`), so an empty one
/// of these statuses can only be hyper's.
fn json_for_automatic(head: &[u8]) -> Option<Vec<u8>> {
    let (status, code, message) = if head.starts_with(b"HTTP/1.1 431 ") {
        (
            "431 Request Header Fields Too Large",
            "request_too_large",
            "the request's headers are over the limit this listener reads",
        )
    } else if head.starts_with(b"HTTP/1.1 414 ") {
        (
            "414 URI Too Long",
            "request_too_large",
            "the request's URI is longer than this listener reads",
        )
    } else if head.starts_with(b"HTTP/1.1 400 ") {
        (
            "400 Bad Request",
            "bad_request",
            "the request is not valid HTTP/1.1",
        )
    } else {
        return None;
    };
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    if !text.ends_with("\r\n\r\n") || !text.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}","field":null}}}}"#);
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<I: AsyncWrite + Unpin> Watched<I> {
    /// Sends what is left of a replacement; ready once it is all sent.
    fn drain_replacing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, sent)) = &mut self.replacing {
            if *sent == bytes.len() {
                self.replacing = None;
                break;
            }
            match Pin::new(&mut self.io).poll_write(cx, &bytes[*sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` (all hyper writes) as written when it is an automatic refusal,
    /// sending the JSON one instead.
    fn replaced(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let json = json_for_automatic(head)?;
        self.replacing = Some((json, 0));
        self.activity.wrote_some();
        Some(match self.drain_replacing(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // The rest goes out at the next flush or shutdown.
            _ => Poll::Ready(Ok(head.len())),
        })
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Err(e)) = self.drain_replacing(cx) {
            return Poll::Ready(Err(e));
        }
        if let Some(polled) = self.replaced(cx, buf) {
            return polled;
        }
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote_some();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Err(e)) = self.drain_replacing(cx) {
            return Poll::Ready(Err(e));
        }
        let written: Vec<&io::IoSlice<'_>> = bufs.iter().filter(|b| !b.is_empty()).collect();
        if let [only] = written[..]
            && let Some(polled) = self.replaced(cx, only)
        {
            return polled;
        }
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote_some();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain_replacing(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain_replacing(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LIMITS: Connections = Connections {
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections: 1,
    };

    #[tokio::test(start_paused = true)]
    async fn the_head_wait_counts_from_the_connect_whatever_trickles_in() {
        let activity = Activity::new(Instant::now());
        tokio::time::advance(Duration::from_secs(9)).await;
        activity.read_some();
        assert_eq!(activity.expired(&LIMITS), None);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(activity.expired(&LIMITS), Some("header_read_timeout"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_has_no_deadline_and_turns_idle_when_its_answer_is_taken() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let request = InFlight::start(activity.clone());
        assert_eq!(activity.deadline(&LIMITS), None);
        tokio::time::advance(Duration::from_secs(600)).await;
        drop(request);
        let idle_since = Instant::now();
        assert_eq!(
            activity.deadline(&LIMITS),
            Some(idle_since + LIMITS.idle_timeout)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_gets_the_idle_timeout_until_a_byte_starts_a_head_wait() {
        let activity = Arc::new(Activity::new(Instant::now()));
        drop(InFlight::start(activity.clone()));
        tokio::time::advance(Duration::from_secs(30)).await;
        // Still sending the last answer: not idle from the hand-over but from the write.
        activity.wrote_some();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(activity.expired(&LIMITS), None);
        activity.read_some();
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(activity.expired(&LIMITS), None);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(activity.expired(&LIMITS), Some("header_read_timeout"));
    }
}
