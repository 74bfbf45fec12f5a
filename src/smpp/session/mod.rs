//! One SMPP session: the state machine, the window, the timers and the loop that drives
//! them over a byte stream. The same code plays the ESME role (smsbridge towards a
//! carrier) and the SMSC role (the simulator).
//!
//! The loop is a short `select!` over: cancellation, reading, answers from the owner,
//! requests from callers, writing, and one timer. Each arm calls a named method in
//! [`dispatch`] or [`timers`]. Framing lives in [`crate::smpp::frame`]; this module
//! only dispatches frames.
//!
//! Callers talk to a running session through a [`SessionHandle`]: `request()` sends a
//! PDU and waits for its response; the bounded request channel and the window together
//! keep at most `window` caller requests in flight. Peer requests go to the owner's
//! [`PeerHandler`] with a [`Responder`]; at most `inbound_window` of them are awaiting an
//! answer, after which the session stops reading (backpressure on the peer).

mod dispatch;
mod handler;
mod timers;

use std::io;
use std::pin::Pin;
use std::time::Duration;

use bytes::BytesMut;
use rusmpp::{CommandId, CommandStatus, Pdu};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, Sleep, sleep_until};
use tokio_util::sync::CancellationToken;

pub use handler::{BindDecision, BindKind, BindRequest, PeerHandler, Responder};

use super::frame::{DEFAULT_MAX_FRAME_LEN, EncodeError, Frame, FramingError};
use super::metrics::{SessionLabels, SessionMetrics};
use super::sequence::SequenceNumbers;
use super::state::{Role, SessionState};
use super::window::{DEFAULT_WINDOW, Window};

/// Stop reading and taking requests while this much is waiting to be written: a peer
/// that does not read must not make us buffer without bound.
const WRITE_HIGH_WATER: usize = 256 * 1024;

/// Read buffer growth step.
const READ_CHUNK: usize = 16 * 1024;

/// Timers and limits of one session. Every value is configurable per carrier.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Which end of the link this session plays.
    pub role: Role,
    /// Caller requests in flight (1..=1024).
    pub window: usize,
    /// Peer requests awaiting our answer before we stop reading.
    pub inbound_window: usize,
    /// The largest frame accepted or sent, in octets.
    pub max_frame_len: u32,
    /// How long a request waits for its response.
    pub response_timeout: Duration,
    /// A silent link is probed with enquire_link after this long.
    pub enquire_link_interval: Duration,
    /// How long an enquire_link waits before the link is declared dead.
    pub enquire_link_timeout: Duration,
    /// How long a connection may stay unbound (session_init timer).
    pub bind_timeout: Duration,
    /// How long our unbind waits for unbind_resp.
    pub unbind_timeout: Duration,
    /// On shutdown, how long in-flight requests may take before we unbind anyway.
    pub drain_timeout: Duration,
    /// The status a dropped [`Responder`] answers with.
    pub fallback_status: CommandStatus,
    /// Labels for metrics.
    pub labels: SessionLabels,
}

impl SessionConfig {
    /// Defaults for `role`: window 10, 30 s responses, enquire_link after 30 s idle.
    pub fn new(role: Role, labels: SessionLabels) -> Self {
        Self {
            role,
            window: DEFAULT_WINDOW,
            inbound_window: DEFAULT_WINDOW,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            response_timeout: Duration::from_secs(30),
            enquire_link_interval: Duration::from_secs(30),
            enquire_link_timeout: Duration::from_secs(10),
            bind_timeout: Duration::from_secs(10),
            unbind_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
            fallback_status: match role {
                Role::Esme => CommandStatus::EsmeRxTAppn,
                Role::Smsc => CommandStatus::EsmeRsyserr,
            },
            labels,
        }
    }
}

/// Why a caller's request got no response.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The session was closing or closed before the request was written: it never
    /// reached the peer and may be sent elsewhere.
    #[error("session closed before the request was sent")]
    NotSent,
    /// The session state does not allow this request (submit on a receiver, …); it was
    /// not sent.
    #[error("{command:?} is not allowed in state {state:?}")]
    NotAllowed {
        /// The request's command.
        command: CommandId,
        /// The session's state.
        state: SessionState,
    },
    /// The PDU could not be encoded; it was not sent.
    #[error("request not encodable: {0}")]
    Encode(#[from] EncodeError),
    /// The request was written and no response came within the response timeout: the
    /// peer may or may not have acted on it.
    #[error("no response within the response timeout")]
    Timeout,
    /// The request was written and the connection ended before its response: the peer
    /// may or may not have acted on it.
    #[error("connection lost before the response")]
    ConnectionLost,
    /// The peer answered with generic_nack.
    #[error("peer answered generic_nack ({0:?})")]
    Nack(CommandStatus),
}

impl RequestError {
    /// True when the request reached (or may have reached) the peer without an answer.
    pub fn is_unknown_outcome(&self) -> bool {
        matches!(self, Self::Timeout | Self::ConnectionLost)
    }
}

/// How a session ended without a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// We drained, unbound and closed (shutdown or [`SessionHandle::close`]).
    Shutdown,
    /// The peer sent unbind; we answered and closed.
    PeerUnbind,
}

/// How a session ended with a fault.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Reading or writing the socket failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The peer sent a header that cannot be trusted; the stream is out of sync.
    #[error("framing: {0}")]
    Framing(#[from] FramingError),
    /// The peer closed the connection without unbinding.
    #[error("peer closed the connection")]
    PeerClosed,
    /// The peer did not answer enquire_link in time.
    #[error("enquire_link not answered in time")]
    EnquireLinkTimeout,
    /// The connection stayed unbound longer than the bind timeout.
    #[error("not bound within the bind timeout")]
    BindTimeout,
}

/// A caller's request on its way into the session.
#[derive(Debug)]
struct Outbound {
    pdu: Pdu,
    timeout: Option<Duration>,
    reply: oneshot::Sender<Result<Frame, RequestError>>,
}

/// Who waits for a response.
#[derive(Debug)]
enum Waiter {
    Caller(oneshot::Sender<Result<Frame, RequestError>>),
    EnquireLink,
    Unbind,
}

/// Talks to a running session. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    requests: mpsc::Sender<Outbound>,
    state: watch::Receiver<SessionState>,
    close: CancellationToken,
}

impl SessionHandle {
    /// Sends `pdu` and waits for its response (which may carry an error status).
    ///
    /// Waits for room in the window first, so at most `window` caller requests are in
    /// flight. Cancel-safe in the sense that dropping the future before it returns
    /// leaves the request either unsent or in flight with its response discarded.
    pub async fn request(&self, pdu: impl Into<Pdu>) -> Result<Frame, RequestError> {
        self.request_with_timeout(pdu.into(), None).await
    }

    /// Like [`request`](Self::request) with its own response timeout (binds use the
    /// bind timeout).
    pub async fn request_with_timeout(
        &self,
        pdu: Pdu,
        timeout: Option<Duration>,
    ) -> Result<Frame, RequestError> {
        let (reply, response) = oneshot::channel();
        let outbound = Outbound {
            pdu,
            timeout,
            reply,
        };
        self.requests
            .send(outbound)
            .await
            .map_err(|_| RequestError::NotSent)?;
        // A dropped reply sender means the session task ended abnormally after taking the
        // request: whether it was written is unknown.
        response.await.unwrap_or(Err(RequestError::ConnectionLost))
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        *self.state.borrow()
    }

    /// A receiver for state changes.
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.state.clone()
    }

    /// Starts an orderly close: stop taking requests, drain, unbind, close.
    pub fn close(&self) {
        self.close.cancel();
    }
}

/// Where an unbind-and-close stands.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// Running normally.
    Open,
    /// Shutdown requested: no new caller requests; unbind once the window is empty or at
    /// the deadline.
    Draining { deadline: Instant },
    /// unbind sent: waiting for unbind_resp or its timeout.
    Unbinding,
    /// Finished: write what is buffered, then return.
    Done(CloseReason),
}

/// A session over a reader and a writer. Build with [`Session::new`], run with
/// [`Session::run`].
pub struct Session<R, W, H> {
    reader: R,
    writer: W,
    handler: H,
    config: SessionConfig,
    state: SessionState,
    state_tx: watch::Sender<SessionState>,
    handle: SessionHandle,
    close: CancellationToken,
    rbuf: BytesMut,
    wbuf: BytesMut,
    sequence: SequenceNumbers,
    window: Window<Waiter>,
    requests: mpsc::Receiver<Outbound>,
    answers_tx: mpsc::Sender<Frame>,
    answers: mpsc::Receiver<Frame>,
    inbound_outstanding: usize,
    opened_at: Instant,
    last_read: Instant,
    enquire_pending: bool,
    ending: Ending,
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    metrics: SessionMetrics,
}

impl<R, W, H> Session<R, W, H>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
    H: PeerHandler,
{
    /// A session in the OPEN state. `cancel` (usually the daemon's token) starts the
    /// drain when cancelled; [`SessionHandle::close`] does the same for this session.
    pub fn new(
        reader: R,
        writer: W,
        config: SessionConfig,
        handler: H,
        cancel: &CancellationToken,
    ) -> (Self, SessionHandle) {
        let window = Window::new(config.window);
        let inbound_window = config.inbound_window.max(1);
        let (requests_tx, requests) = mpsc::channel(window.capacity());
        let (answers_tx, answers) = mpsc::channel(inbound_window);
        let (state_tx, state_rx) = watch::channel(SessionState::Open);
        let close = cancel.child_token();
        let handle = SessionHandle {
            requests: requests_tx,
            state: state_rx,
            close: close.clone(),
        };
        let now = Instant::now();
        let metrics = SessionMetrics::new(config.labels.clone());
        let session = Self {
            reader,
            writer,
            handler,
            config: SessionConfig {
                inbound_window,
                ..config
            },
            state: SessionState::Open,
            state_tx,
            handle: handle.clone(),
            close,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: BytesMut::with_capacity(READ_CHUNK),
            sequence: SequenceNumbers::default(),
            window,
            requests,
            answers_tx,
            answers,
            inbound_outstanding: 0,
            opened_at: now,
            last_read: now,
            enquire_pending: false,
            ending: Ending::Open,
            timer: Box::pin(sleep_until(now)),
            armed: None,
            metrics,
        };
        (session, handle)
    }

    /// Starts sequence numbers at `first` (tests exercise the wrap with it).
    pub fn with_first_sequence(mut self, first: u32) -> Self {
        self.sequence = SequenceNumbers::starting_at(first);
        self
    }

    /// Runs the session until it closes. Every caller request still waiting is answered
    /// before this returns ([`RequestError::NotSent`] or, if it was written,
    /// [`RequestError::ConnectionLost`]).
    pub async fn run(mut self) -> Result<CloseReason, SessionError> {
        self.metrics.state(self.state);
        let result = self.run_loop().await;
        self.finish().await;
        result
    }

    async fn run_loop(&mut self) -> Result<CloseReason, SessionError> {
        loop {
            if let Ending::Done(reason) = self.ending
                && self.wbuf.is_empty()
            {
                return Ok(reason);
            }
            self.arm_timer();
            let draining = !matches!(self.ending, Ending::Open);
            let can_read = self.can_read();
            let can_take = self.can_take_request();
            // Cancel-safety of every arm: `cancelled()` and `recv()` lose nothing when
            // another arm wins; `read_buf`/`write_buf` move bytes only when they complete
            // (a cancelled flush leaves its bytes buffered for the next one); the timer is
            // recomputed on every turn.
            tokio::select! {
                biased;
                () = self.close.cancelled(), if !draining => self.begin_drain(),
                read = self.reader.read_buf(&mut self.rbuf), if can_read => {
                    self.on_read(read?)?;
                }
                Some(answer) = self.answers.recv() => self.on_answer(answer),
                Some(request) = self.requests.recv(), if can_take => self.on_request(request),
                written = write_some(&mut self.writer, &mut self.wbuf), if !self.wbuf.is_empty() => {
                    written?;
                }
                () = &mut self.timer => {
                    self.armed = None;
                    self.on_timer()?;
                }
            }
        }
    }

    /// Arms the timer for the next deadline. It is moved only when that deadline is
    /// earlier than the armed one: firing early is harmless (nothing is due, the timer is
    /// re-armed), while resetting the timer wheel on every turn would cost more than
    /// the PDUs themselves.
    fn arm_timer(&mut self) {
        let wake = self.next_wake();
        if self.armed.is_none_or(|armed| wake < armed) {
            self.timer.as_mut().reset(wake);
            self.armed = Some(wake);
        }
    }

    fn can_read(&self) -> bool {
        !matches!(self.ending, Ending::Done(_))
            && self.inbound_outstanding < self.config.inbound_window
            && self.wbuf.len() < WRITE_HIGH_WATER
    }

    fn can_take_request(&self) -> bool {
        matches!(self.ending, Ending::Open)
            && self.window.has_room()
            && self.wbuf.len() < WRITE_HIGH_WATER
    }

    fn set_state(&mut self, state: SessionState) {
        if self.state == state {
            return;
        }
        let from = self.state;
        self.state = state;
        self.state_tx.send_replace(state);
        self.metrics.state(state);
        // Logged once the state is published and in the bind-state gauge.
        tracing::debug!(carrier = %self.config.labels.carrier, bind = %self.config.labels.bind,
            from = from.as_str(), to = state.as_str(), "smpp session state");
        let handle = self.handle.clone();
        self.handler.on_state(state, &handle);
    }

    /// Answers everything still waiting, writes what is buffered (bounded by the unbind
    /// timeout) and marks the session closed.
    async fn finish(&mut self) {
        for (_, pending) in self.window.drain() {
            if let Waiter::Caller(reply) = pending.waiter {
                let _ = reply.send(Err(RequestError::ConnectionLost));
            }
        }
        self.requests.close();
        while let Ok(request) = self.requests.try_recv() {
            let _ = request.reply.send(Err(RequestError::NotSent));
        }
        self.metrics.window(0);
        if !self.wbuf.is_empty() {
            let flush = async {
                while !self.wbuf.is_empty() {
                    write_some(&mut self.writer, &mut self.wbuf).await?;
                }
                io::Result::Ok(())
            };
            let _ = tokio::time::timeout(self.config.unbind_timeout, flush).await;
        }
        let _ = tokio::time::timeout(self.config.unbind_timeout, self.writer.shutdown()).await;
        self.set_state(SessionState::Closed);
    }
}

/// Writes some of `buf` and flushes once it is empty (TLS streams hold records until
/// flushed).
async fn write_some<W: AsyncWrite + Unpin>(writer: &mut W, buf: &mut BytesMut) -> io::Result<()> {
    let written = writer.write_buf(buf).await?;
    if written == 0 {
        return Err(io::ErrorKind::WriteZero.into());
    }
    if buf.is_empty() {
        writer.flush().await?;
    }
    Ok(())
}
