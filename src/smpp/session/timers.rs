//! The session's timers: response deadlines, the bind (session_init) timer, enquire_link
//! after idle time, and the drain before unbind.

use std::time::Duration;

use rusmpp::Pdu;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::{CloseReason, Ending, PeerHandler, RequestError, Session, SessionError, Waiter};
use crate::smpp::state::SessionState;

/// Used as "no timer pending": far enough to never fire, near enough not to overflow.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365);

impl<R, W, H> Session<R, W, H>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
    H: PeerHandler,
{
    /// The earliest moment a timer needs attention.
    pub(super) fn next_wake(&self) -> Instant {
        let mut wake = Instant::now() + FAR_FUTURE;
        let mut consider = |at: Instant| wake = wake.min(at);
        if let Some(deadline) = self.window.next_deadline() {
            consider(deadline);
        }
        match self.state {
            SessionState::Open => consider(self.opened_at + self.config.bind_timeout),
            state if state.is_bound() && !self.enquire_pending => {
                consider(self.last_read + self.config.enquire_link_interval);
            }
            _ => {}
        }
        if let Ending::Draining { deadline } = self.ending {
            consider(deadline);
        }
        wake
    }

    /// A timer fired (or may have): handle everything that is due.
    pub(super) fn on_timer(&mut self) -> Result<(), SessionError> {
        let now = Instant::now();
        while let Some((seq, pending)) = self.window.pop_expired(now) {
            match pending.waiter {
                Waiter::Caller(reply) => {
                    tracing::debug!(carrier = %self.config.labels.carrier, sequence = seq,
                        command = ?pending.command, "response timeout");
                    self.metrics.timeout(pending.command);
                    let _ = reply.send(Err(RequestError::Timeout));
                }
                Waiter::EnquireLink => {
                    self.metrics.timeout(pending.command);
                    return Err(SessionError::EnquireLinkTimeout);
                }
                Waiter::Unbind => {
                    self.metrics.timeout(pending.command);
                    self.ending = Ending::Done(CloseReason::Shutdown);
                }
            }
        }
        self.metrics.window(self.window.occupancy());
        if self.state == SessionState::Open && now >= self.opened_at + self.config.bind_timeout {
            return Err(SessionError::BindTimeout);
        }
        if self.state.is_bound()
            && !self.enquire_pending
            && now >= self.last_read + self.config.enquire_link_interval
        {
            self.send_enquire_link();
        }
        if let Ending::Draining { deadline } = self.ending
            && now >= deadline
        {
            self.unbind();
        }
        self.check_drained();
        Ok(())
    }

    fn send_enquire_link(&mut self) {
        let timeout = self.config.enquire_link_timeout;
        if self
            .send_tracked(Pdu::EnquireLink, timeout, false, Waiter::EnquireLink)
            .is_ok()
        {
            self.enquire_pending = true;
        }
    }

    /// Stop taking caller requests; unbind once the window is empty or the drain
    /// deadline passes.
    pub(super) fn begin_drain(&mut self) {
        if !matches!(self.ending, Ending::Open) {
            return;
        }
        let deadline = Instant::now() + self.config.drain_timeout;
        self.ending = Ending::Draining { deadline };
        // Queued requests were never written: hand them back so they can go elsewhere.
        self.requests.close();
        while let Ok(request) = self.requests.try_recv() {
            let _ = request.reply.send(Err(RequestError::NotSent));
        }
        self.check_drained();
    }

    /// While draining: unbind once no caller request is in flight.
    pub(super) fn check_drained(&mut self) {
        if matches!(self.ending, Ending::Draining { .. }) && self.window.occupancy() == 0 {
            self.unbind();
        }
    }

    /// Sends unbind (when bound) and waits for unbind_resp up to the unbind timeout; an
    /// unbound connection is simply closed.
    fn unbind(&mut self) {
        if !self.state.is_bound() {
            self.ending = Ending::Done(CloseReason::Shutdown);
            return;
        }
        let timeout = self.config.unbind_timeout;
        self.set_state(SessionState::Unbinding);
        // From here on the session waits only for unbind_resp (or its timeout).
        self.ending = Ending::Unbinding;
        if self
            .send_tracked(Pdu::Unbind, timeout, false, Waiter::Unbind)
            .is_err()
        {
            self.ending = Ending::Done(CloseReason::Shutdown);
        }
    }
}
