//! What the session does with each frame read, each answer from its owner and each
//! caller request.

use rusmpp::pdus::{BindReceiverResp, BindTransceiverResp, BindTransmitterResp};
use rusmpp::types::COctetString;
use rusmpp::{CommandId, CommandStatus, Pdu};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::{
    BindRequest, CloseReason, Ending, Outbound, PeerHandler, RequestError, Responder, Session,
    SessionError, Waiter,
};
use crate::smpp::frame::{self, BodyFault, Decoded, Frame, Header};
use crate::smpp::metrics::Direction;
use crate::smpp::state::{Role, SessionState};
use crate::smpp::window::Pending;

impl<R, W, H> Session<R, W, H>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
    H: PeerHandler,
{
    /// Bytes arrived: decode every complete frame and dispatch it.
    pub(super) fn on_read(&mut self, read: usize) -> Result<(), SessionError> {
        if read == 0 {
            return match self.state {
                SessionState::Unbinding | SessionState::Closed => {
                    self.ending = Ending::Done(CloseReason::Shutdown);
                    Ok(())
                }
                _ => Err(SessionError::PeerClosed),
            };
        }
        self.last_read = Instant::now();
        while let Some(decoded) = frame::decode(&mut self.rbuf, self.config.max_frame_len)
            .inspect_err(|_| self.metrics.malformed("header"))?
        {
            match decoded {
                Decoded::Frame(frame) => self.on_frame(frame),
                Decoded::Invalid { header, fault } => self.on_invalid(header, fault),
            }
            if matches!(self.ending, Ending::Done(_)) {
                break;
            }
        }
        // Answers the owner gave synchronously go out in the same write.
        self.collect_answers();
        Ok(())
    }

    fn on_frame(&mut self, frame: Frame) {
        self.metrics
            .pdu(Direction::In, frame.command_id, frame.status);
        if frame.command_id.is_response() {
            self.on_response(frame);
        } else {
            self.on_peer_request(frame);
        }
    }

    /// A frame whose body did not decode: answer the request with the fault's status,
    /// or hand a broken response to its waiter as header-only.
    fn on_invalid(&mut self, header: Header, fault: BodyFault) {
        self.metrics.malformed(match fault {
            BodyFault::UnknownCommand(_) => "unknown_command",
            BodyFault::UnexpectedBody(_) => "unexpected_body",
            BodyFault::Malformed(_) => "malformed_body",
            BodyFault::TrailingOctets(_) => "trailing_octets",
        });
        // After the count, so the PDU it announces is already in /metrics.
        tracing::warn!(carrier = %self.config.labels.carrier, bind = %self.config.labels.bind,
            command = ?header.command_id, sequence = header.sequence_number, %fault,
            "malformed smpp pdu");
        let id = header.command_id;
        let seq = header.sequence_number;
        match fault {
            BodyFault::UnknownCommand(_) if id.is_response() => {}
            BodyFault::UnknownCommand(_) => self.nack(seq, fault.status()),
            _ if id.is_response() => {
                self.on_response(Frame::empty(id, header.command_status, seq));
            }
            _ => self.reject(id, seq, fault.status()),
        }
    }

    fn on_response(&mut self, frame: Frame) {
        let Some(pending) = self.window.complete(frame.sequence) else {
            tracing::debug!(carrier = %self.config.labels.carrier, sequence = frame.sequence,
                command = ?frame.command_id, "response matches no request in flight");
            return;
        };
        let is_nack = frame.command_id == CommandId::GenericNack;
        if !is_nack && frame.command_id != pending.command.matching_response() {
            tracing::warn!(carrier = %self.config.labels.carrier, sequence = frame.sequence,
                expected = ?pending.command.matching_response(), got = ?frame.command_id,
                "response does not match its request");
        }
        let elapsed = pending.sent_at.elapsed().as_secs_f64();
        self.metrics.latency(pending.command, elapsed);
        match pending.waiter {
            Waiter::Caller(reply) => {
                if frame.status == CommandStatus::EsmeRok
                    && let Some(bound) = SessionState::bound_by(pending.command)
                    && self.state == SessionState::Open
                {
                    self.set_state(bound);
                }
                let result = if is_nack {
                    Err(RequestError::Nack(frame.status))
                } else {
                    Ok(frame)
                };
                let _ = reply.send(result);
            }
            Waiter::EnquireLink => self.enquire_pending = false,
            Waiter::Unbind => self.ending = Ending::Done(CloseReason::Shutdown),
        }
        self.metrics.window(self.window.occupancy());
        self.check_drained();
    }

    fn on_peer_request(&mut self, frame: Frame) {
        let id = frame.command_id;
        let seq = frame.sequence;
        match id {
            CommandId::EnquireLink => self.send_frame(Frame::new(
                CommandStatus::EsmeRok,
                seq,
                Pdu::EnquireLinkResp,
            )),
            CommandId::Unbind => self.on_peer_unbind(seq),
            CommandId::BindTransmitter | CommandId::BindReceiver | CommandId::BindTransceiver
                if self.config.role == Role::Smsc =>
            {
                self.on_peer_bind(frame);
            }
            _ if !self.state.accepts(self.config.role, id) => {
                self.reject(id, seq, CommandStatus::EsmeRinvbndsts);
            }
            CommandId::AlertNotification | CommandId::Outbind => {
                self.handler.on_notification(frame);
            }
            _ => {
                self.inbound_outstanding += 1;
                let responder = Responder::new(
                    id,
                    seq,
                    self.config.fallback_status,
                    self.answers_tx.clone(),
                );
                self.handler.on_request(frame, responder);
            }
        }
    }

    fn on_peer_unbind(&mut self, seq: u32) {
        self.send_frame(Frame::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp));
        self.set_state(SessionState::Unbinding);
        self.ending = Ending::Done(CloseReason::PeerUnbind);
    }

    /// SMSC role: a bind request. Only valid in OPEN; a second bind gets ESME_RALYBND.
    fn on_peer_bind(&mut self, frame: Frame) {
        let id = frame.command_id;
        let seq = frame.sequence;
        if self.state != SessionState::Open {
            let status = if self.state.is_bound() {
                CommandStatus::EsmeRalybnd
            } else {
                CommandStatus::EsmeRinvbndsts
            };
            return self.reject(id, seq, status);
        }
        let Some(request) = frame.pdu.as_ref().and_then(BindRequest::from_pdu) else {
            return self.reject(id, seq, CommandStatus::EsmeRinvcmdlen);
        };
        let decision = self.handler.on_bind(&request);
        let system_id = COctetString::from_string(decision.system_id).unwrap_or_default();
        let pdu: Pdu = match id {
            CommandId::BindTransmitter => BindTransmitterResp::new(system_id, None).into(),
            CommandId::BindReceiver => BindReceiverResp::new(system_id, None).into(),
            _ => BindTransceiverResp::new(system_id, None).into(),
        };
        self.send_frame(Frame::new(decision.status, seq, pdu));
        if decision.status == CommandStatus::EsmeRok
            && let Some(bound) = SessionState::bound_by(id)
        {
            self.set_state(bound);
        }
    }

    /// Answers a request with a header-only error response (or generic_nack when the
    /// request has no response PDU).
    pub(super) fn reject(&mut self, id: CommandId, seq: u32, status: CommandStatus) {
        let response = id.matching_response();
        if matches!(response, CommandId::Other(_))
            || matches!(id, CommandId::AlertNotification | CommandId::Outbind)
        {
            self.nack(seq, status);
        } else {
            self.send_frame(Frame::empty(response, status, seq));
        }
    }

    fn nack(&mut self, seq: u32, status: CommandStatus) {
        self.send_frame(Frame::empty(CommandId::GenericNack, status, seq));
    }

    /// The owner answered a peer request.
    pub(super) fn on_answer(&mut self, answer: Frame) {
        self.inbound_outstanding = self.inbound_outstanding.saturating_sub(1);
        if !matches!(self.state, SessionState::Closed) {
            self.send_frame(answer);
        }
    }

    /// Takes every answer already waiting, so they share one write.
    pub(super) fn collect_answers(&mut self) {
        while let Ok(answer) = self.answers.try_recv() {
            self.on_answer(answer);
        }
    }

    /// A caller's request: check the state, number it, write it, track it. Then take
    /// whatever else is already queued while the window has room, so a burst becomes one
    /// write.
    pub(super) fn on_request(&mut self, request: Outbound) {
        self.send_request(request);
        while self.can_take_request() {
            match self.requests.try_recv() {
                Ok(request) => self.send_request(request),
                Err(_) => break,
            }
        }
        self.metrics.window(self.window.occupancy());
    }

    fn send_request(&mut self, request: Outbound) {
        let id = request.pdu.command_id();
        if !self.state.may_send(self.config.role, id) {
            let _ = request.reply.send(Err(RequestError::NotAllowed {
                command: id,
                state: self.state,
            }));
            return;
        }
        let timeout = request.timeout.unwrap_or(self.config.response_timeout);
        let waiter = Waiter::Caller(request.reply);
        match self.send_tracked(request.pdu, timeout, true, waiter) {
            Ok(()) => {}
            Err((Waiter::Caller(reply), err)) => {
                let _ = reply.send(Err(err));
            }
            Err(_) => {}
        }
    }

    /// Writes a request and enters it in the window. On failure the waiter comes back
    /// with the reason, nothing having been written.
    pub(super) fn send_tracked(
        &mut self,
        pdu: Pdu,
        timeout: std::time::Duration,
        counted: bool,
        waiter: Waiter,
    ) -> Result<(), (Waiter, RequestError)> {
        let command = pdu.command_id();
        let mut seq = self.sequence.next_number();
        while self.window.contains(seq) {
            seq = self.sequence.next_number();
        }
        let frame = Frame::new(CommandStatus::EsmeRok, seq, pdu);
        if let Err(err) = frame::encode(&frame, &mut self.wbuf, self.config.max_frame_len) {
            return Err((waiter, err.into()));
        }
        self.metrics
            .pdu(Direction::Out, command, CommandStatus::EsmeRok);
        let now = Instant::now();
        let pending = Pending {
            command,
            sent_at: now,
            deadline: now + timeout,
            counted,
            waiter,
        };
        // `seq` was checked free above, so the insert cannot fail.
        let _ = self.window.insert(seq, pending);
        Ok(())
    }

    /// Encodes a frame we answer with. Our own responses always fit (their bodies are
    /// small), so an encoding failure is logged rather than propagated.
    pub(super) fn send_frame(&mut self, frame: Frame) {
        match frame::encode(&frame, &mut self.wbuf, self.config.max_frame_len) {
            Ok(()) => self
                .metrics
                .pdu(Direction::Out, frame.command_id, frame.status),
            Err(err) => {
                tracing::error!(carrier = %self.config.labels.carrier, command = ?frame.command_id,
                    %err, "response not encodable");
            }
        }
    }
}
