//! What a session hands to its owner: peer requests with a [`Responder`], bind requests
//! (SMSC role) and state changes.

use rusmpp::{CommandId, CommandStatus, Pdu};
use tokio::sync::mpsc;

use super::SessionHandle;
use crate::smpp::frame::Frame;
use crate::smpp::state::SessionState;

/// The kind of bind an ESME asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindKind {
    /// bind_transmitter.
    Transmitter,
    /// bind_receiver.
    Receiver,
    /// bind_transceiver.
    Transceiver,
}

impl BindKind {
    /// The request's command id.
    pub fn command_id(self) -> CommandId {
        match self {
            Self::Transmitter => CommandId::BindTransmitter,
            Self::Receiver => CommandId::BindReceiver,
            Self::Transceiver => CommandId::BindTransceiver,
        }
    }
}

/// A bind request as the SMSC role sees it.
#[derive(Clone, PartialEq, Eq)]
pub struct BindRequest {
    /// Which bind.
    pub kind: BindKind,
    /// The ESME's system_id.
    pub system_id: String,
    /// The password (never logged: `Debug` redacts it).
    pub password: String,
    /// The ESME's system_type.
    pub system_type: String,
    /// The interface_version the ESME speaks (0x34, 0x50, …).
    pub interface_version: u8,
}

impl std::fmt::Debug for BindRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BindRequest")
            .field("kind", &self.kind)
            .field("system_id", &self.system_id)
            .field("password", &"<redacted>")
            .field("system_type", &self.system_type)
            .field("interface_version", &self.interface_version)
            .finish()
    }
}

impl BindRequest {
    /// Reads a bind request PDU; `None` for any other PDU.
    pub fn from_pdu(pdu: &Pdu) -> Option<Self> {
        macro_rules! read {
            ($kind:expr, $b:expr) => {
                Self {
                    kind: $kind,
                    system_id: $b.system_id.as_str().to_string(),
                    password: $b.password.as_str().to_string(),
                    system_type: $b.system_type.as_str().to_string(),
                    interface_version: u8::from($b.interface_version),
                }
            };
        }
        Some(match pdu {
            Pdu::BindTransmitter(b) => read!(BindKind::Transmitter, b),
            Pdu::BindReceiver(b) => read!(BindKind::Receiver, b),
            Pdu::BindTransceiver(b) => read!(BindKind::Transceiver, b),
            _ => return None,
        })
    }
}

/// The SMSC role's answer to a bind request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindDecision {
    /// ESME_ROK to accept; RINVPASWD, RINVSYSID, RBINDFAIL, RALYBND, … to refuse.
    pub status: CommandStatus,
    /// The system_id the SMSC names itself with in bind_resp.
    pub system_id: String,
}

/// The owner's side of a session: decides what to answer to the peer's requests.
///
/// Methods run inside the session loop and must not block; slow work (storing an MO)
/// moves the [`Responder`] into a task and answers from there.
pub trait PeerHandler: Send + 'static {
    /// SMSC role: a bind request arrived in the OPEN state. The default refuses it.
    fn on_bind(&mut self, request: &BindRequest) -> BindDecision {
        let _ = request;
        BindDecision {
            status: CommandStatus::EsmeRbindfail,
            system_id: String::new(),
        }
    }

    /// A peer request valid in the current state (other than bind, unbind and
    /// enquire_link, which the session answers itself). The request is answered when
    /// `responder` is used or dropped.
    fn on_request(&mut self, frame: Frame, responder: Responder);

    /// A peer PDU that has no response (alert_notification, outbind).
    fn on_notification(&mut self, frame: Frame) {
        let _ = frame;
    }

    /// The session changed state (bound, unbinding, closed).
    fn on_state(&mut self, state: SessionState, session: &SessionHandle) {
        let _ = (state, session);
    }
}

/// Answers one peer request, exactly once.
///
/// Dropping it unanswered sends the response with the fallback status (ESME_RX_T_APPN
/// on the ESME side: the carrier redelivers; ESME_RSYSERR on the SMSC side), so a
/// request can never be left without an answer and the session's inbound window never
/// leaks a slot.
#[derive(Debug)]
pub struct Responder {
    response_id: CommandId,
    sequence: u32,
    fallback: CommandStatus,
    tx: Option<mpsc::Sender<Frame>>,
}

impl Responder {
    pub(super) fn new(
        request: CommandId,
        sequence: u32,
        fallback: CommandStatus,
        tx: mpsc::Sender<Frame>,
    ) -> Self {
        Self {
            response_id: request.matching_response(),
            sequence,
            fallback,
            tx: Some(tx),
        }
    }

    /// The command id of the response this responder sends.
    pub fn response_id(&self) -> CommandId {
        self.response_id
    }

    /// Sends the response: `pdu` must be the response PDU matching the request (or
    /// `None` for a header-only error response).
    pub fn respond(mut self, status: CommandStatus, pdu: Option<Pdu>) {
        let frame = match pdu {
            Some(pdu) => Frame::new(status, self.sequence, pdu),
            None => Frame::empty(self.response_id, status, self.sequence),
        };
        self.send(frame);
    }

    fn send(&mut self, frame: Frame) {
        if let Some(tx) = self.tx.take() {
            // The channel holds one slot per outstanding request, so it cannot be full;
            // it is closed only when the session is gone, and then nobody needs the answer.
            let _ = tx.try_send(frame);
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.tx.is_some() {
            let frame = Frame::empty(self.response_id, self.fallback, self.sequence);
            self.send(frame);
        }
    }
}
