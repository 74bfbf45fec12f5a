//! Inbound traffic from a carrier: deliver_sm and data_sm (MO parts and delivery
//! receipts) handed to a consumer that decides the answer.
//!
//! The rule: ESME_ROK only after the consumer says the message is stored. A consumer
//! that cannot store answers [`InboundVerdict::RetryLater`] (ESME_RX_T_APPN: the carrier
//! redelivers later); one that takes too long, or panics, is answered RX_T_APPN too.
//! At most `window` inbound PDUs per bind wait for their consumer; beyond that the bind
//! stops reading, which slows the carrier down.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rusmpp::pdus::{DataSmResp, DeliverSmResp};
use rusmpp::{CommandId, CommandStatus, Pdu};

use crate::smpp::{Frame, PeerHandler, Responder};

/// A boxed future, so consumers can be stored as `Arc<dyn InboundConsumer>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A deliver_sm or data_sm from a carrier.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// The carrier's configured name.
    pub carrier: Arc<str>,
    /// The bind it arrived on.
    pub bind: Arc<str>,
    /// The PDU: `Pdu::DeliverSm` or `Pdu::DataSm`.
    pub pdu: Pdu,
}

impl InboundMessage {
    /// True for a delivery receipt (esm_class message type 0x04, or 0x20 intermediate).
    pub fn is_receipt(&self) -> bool {
        let esm_class = match &self.pdu {
            Pdu::DeliverSm(sm) => u8::from(sm.esm_class),
            Pdu::DataSm(sm) => u8::from(sm.esm_class),
            _ => 0,
        };
        matches!(esm_class & 0x3C, 0x04 | 0x20)
    }
}

/// The consumer's decision, which becomes the response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundVerdict {
    /// Stored durably: answer ESME_ROK.
    Stored,
    /// Could not store now (store full or down): answer ESME_RX_T_APPN, the carrier
    /// redelivers later.
    RetryLater,
    /// Will never be accepted (undecodable beyond repair): answer ESME_RX_P_APPN.
    Reject,
    /// An MO with no source address: nobody to answer, no conversation to put it in.
    /// Answer ESME_RINVSRCADR, a permanent error: the carrier does not retry it.
    InvalidSource,
}

impl InboundVerdict {
    /// The command_status for the response.
    pub fn status(self) -> CommandStatus {
        match self {
            Self::Stored => CommandStatus::EsmeRok,
            Self::RetryLater => CommandStatus::EsmeRxTAppn,
            Self::Reject => CommandStatus::EsmeRxPAppn,
            Self::InvalidSource => CommandStatus::EsmeRinvsrcadr,
        }
    }
}

/// Where inbound messages go (the MO and DLR flows implement it).
pub trait InboundConsumer: Send + Sync + 'static {
    /// Stores (or refuses) one inbound message. Called concurrently for different
    /// messages; must return once the decision is durable.
    fn consume(&self, message: InboundMessage) -> BoxFuture<'_, InboundVerdict>;
}

/// The consumer used until the flows plug theirs in: stores nothing, so answers
/// ESME_RX_T_APPN and the carrier keeps the messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotStored;

impl InboundConsumer for NotStored {
    fn consume(&self, _message: InboundMessage) -> BoxFuture<'_, InboundVerdict> {
        Box::pin(async { InboundVerdict::RetryLater })
    }
}

/// The ESME side's [`PeerHandler`]: hands deliver_sm/data_sm to the consumer in a task
/// and answers with its verdict.
pub(crate) struct EsmeInbound {
    pub(crate) consumer: Arc<dyn InboundConsumer>,
    pub(crate) carrier: Arc<str>,
    pub(crate) bind: Arc<str>,
    /// Longest a consumer may take before the answer is RX_T_APPN.
    pub(crate) timeout: Duration,
}

impl PeerHandler for EsmeInbound {
    fn on_request(&mut self, frame: Frame, responder: Responder) {
        let Some(pdu) = frame.pdu else {
            return responder.respond(CommandStatus::EsmeRinvcmdlen, None);
        };
        if !matches!(frame.command_id, CommandId::DeliverSm | CommandId::DataSm) {
            return responder.respond(CommandStatus::EsmeRinvcmdid, None);
        }
        let message = InboundMessage {
            carrier: self.carrier.clone(),
            bind: self.bind.clone(),
            pdu,
        };
        let consumer = self.consumer.clone();
        let timeout = self.timeout;
        tokio::spawn(async move {
            let verdict = tokio::time::timeout(timeout, consumer.consume(message))
                .await
                .unwrap_or(InboundVerdict::RetryLater);
            let body: Pdu = match responder.response_id() {
                CommandId::DataSmResp => DataSmResp::default().into(),
                _ => DeliverSmResp::default().into(),
            };
            responder.respond(verdict.status(), Some(body));
        });
    }
}
