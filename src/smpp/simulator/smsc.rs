//! The simulator's SMSC behaviour on one connection: who may bind, what a submit gets
//! back, which receipts it triggers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use rusmpp::pdus::{DataSmResp, SubmitSmResp};
use rusmpp::types::COctetString;
use rusmpp::{CommandStatus, Pdu};
use tokio::time::Instant;

use super::stats::Counter;
use super::{Delivery, DeliveryKind, Shared};
use crate::config::simulator::MessageIdFormat;
use crate::smpp::frame::Frame;
use crate::smpp::session::{BindDecision, BindRequest, PeerHandler, Responder, SessionHandle};
use crate::smpp::simulator::receipts::{self, Submitted};
use crate::smpp::state::SessionState;

/// Octets of the submitted text kept for the receipt's `text:` field.
const RECEIPT_TEXT_OCTETS: usize = 20;

/// The SMSC side of one connection.
pub(super) struct SmscHandler {
    shared: Arc<Shared>,
    connection: u64,
    bound: bool,
}

impl SmscHandler {
    pub(super) fn new(shared: Arc<Shared>, connection: u64) -> Self {
        Self {
            shared,
            connection,
            bound: false,
        }
    }

    fn check_credentials(&self, request: &BindRequest) -> CommandStatus {
        let cfg = &self.shared.cfg;
        if cfg.faults.refuse_binds {
            return CommandStatus::EsmeRbindfail;
        }
        if cfg.faults.already_bound {
            return CommandStatus::EsmeRalybnd;
        }
        if cfg.accounts.is_empty() {
            return CommandStatus::EsmeRok;
        }
        match cfg
            .accounts
            .iter()
            .find(|a| a.system_id == request.system_id)
        {
            None => CommandStatus::EsmeRinvsysid,
            Some(account) if account.password != request.password => CommandStatus::EsmeRinvpaswd,
            Some(_) => CommandStatus::EsmeRok,
        }
    }

    /// The next id for submit_sm_resp, and how the receipt will write it.
    fn next_message_id(&self) -> (String, String) {
        let n = self.shared.message_ids.fetch_add(1, Ordering::Relaxed) + 1;
        let message_id = match self.shared.cfg.message_id_format {
            MessageIdFormat::Hex => format!("{n:x}"),
            MessageIdFormat::Decimal => n.to_string(),
        };
        let receipt_id = self.shared.cfg.receipts.id_form.render(n, &message_id);
        (message_id, receipt_id)
    }

    /// The fault, if any, this submit gets. Faults are spread evenly: submit `n` gets
    /// one when the running count of `n × percent / 100` steps up.
    fn fault_for_this_one(&self) -> Option<CommandStatus> {
        let faults = &self.shared.cfg.faults;
        if faults.throttle_percent == 0 && faults.syserr_percent == 0 {
            return None;
        }
        let n = self.shared.submits_seen.fetch_add(1, Ordering::Relaxed);
        let steps = |percent: u8| {
            let p = u64::from(percent);
            (n + 1) * p / 100 > n * p / 100
        };
        if steps(faults.throttle_percent) {
            Some(CommandStatus::EsmeRthrottled)
        } else if steps(faults.syserr_percent) {
            Some(CommandStatus::EsmeRsyserr)
        } else {
            None
        }
    }

    fn on_submit(&mut self, frame: Frame, responder: Responder) {
        self.shared.stats.bump(Counter::Submit);
        if let Some(status) = self.fault_for_this_one() {
            if status == CommandStatus::EsmeRthrottled {
                self.shared.stats.bump(Counter::SubmitThrottled);
            }
            return responder.respond(status, None);
        }
        if let Some(prefix) = &self.shared.cfg.faults.reject_prefix
            && destination(frame.pdu.as_ref()).starts_with(prefix.as_str())
        {
            return responder.respond(CommandStatus::EsmeRinvdstadr, None);
        }
        let (message_id, receipt_id) = self.next_message_id();
        let id = COctetString::from_string(message_id).unwrap_or_default();
        // What the receipt needs is kept only when a receipt is asked for.
        let (response, receipt): (Pdu, _) = match frame.pdu {
            Some(Pdu::SubmitSm(sm)) => {
                let wants = u8::from(sm.registered_delivery);
                let receipt = (wants & 0x03 != 0).then(|| {
                    let text = sm.short_message().as_ref();
                    let text = text[..text.len().min(RECEIPT_TEXT_OCTETS)].to_vec();
                    (
                        submitted(receipt_id, &sm.source_addr, &sm.destination_addr, text),
                        wants,
                    )
                });
                (
                    SubmitSmResp::builder().message_id(id).build().into(),
                    receipt,
                )
            }
            Some(Pdu::DataSm(dm)) => {
                let wants = u8::from(dm.registered_delivery);
                let receipt = (wants & 0x03 != 0).then(|| {
                    let submitted = submitted(
                        receipt_id,
                        &dm.source_addr,
                        &dm.destination_addr,
                        Vec::new(),
                    );
                    (submitted, wants)
                });
                (DataSmResp::builder().message_id(id).build().into(), receipt)
            }
            _ => return responder.respond(CommandStatus::EsmeRsyserr, None),
        };
        let delay = self.shared.cfg.faults.response_delay;
        if delay.is_zero() {
            responder.respond(CommandStatus::EsmeRok, Some(response));
        } else {
            // The session stays responsive; its inbound window bounds these tasks.
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                responder.respond(CommandStatus::EsmeRok, Some(response));
            });
        }
        if let Some((submitted, wants)) = receipt {
            self.schedule_receipt(submitted, wants);
        }
    }

    fn schedule_receipt(&self, submitted: Submitted, registered_delivery: u8) {
        let outcome = self.shared.outcomes.pick();
        if !outcome.wanted_by(registered_delivery) {
            return;
        }
        let cfg = &self.shared.cfg;
        let delivery = Delivery {
            pdu: receipts::build(&submitted, outcome),
            kind: DeliveryKind::Receipt,
            due: Instant::now() + cfg.faults.response_delay + cfg.receipts.delay,
        };
        if self.shared.deliveries.try_send(delivery).is_err() {
            self.shared.stats.bump(Counter::ReceiptDropped);
        }
    }

    fn unregister(&mut self) {
        if self.bound {
            self.bound = false;
            self.shared.remove_session(self.connection);
        }
    }
}

fn submitted(
    receipt_id: String,
    source: &COctetString<1, 21>,
    destination: &COctetString<1, 21>,
    text: Vec<u8>,
) -> Submitted {
    Submitted {
        message_id: receipt_id,
        source: source.clone(),
        destination: destination.clone(),
        text,
        at: SystemTime::now(),
    }
}

fn destination(pdu: Option<&Pdu>) -> &str {
    match pdu {
        Some(Pdu::SubmitSm(sm)) => sm.destination_addr.as_str(),
        Some(Pdu::DataSm(dm)) => dm.destination_addr.as_str(),
        _ => "",
    }
}

impl PeerHandler for SmscHandler {
    fn on_bind(&mut self, request: &BindRequest) -> BindDecision {
        let status = self.check_credentials(request);
        let counter = if status == CommandStatus::EsmeRok {
            Counter::BindAccepted
        } else {
            tracing::info!(system_id = %request.system_id, ?status, "simulator refused a bind");
            Counter::BindRefused
        };
        self.shared.stats.bump(counter);
        BindDecision {
            status,
            system_id: self.shared.cfg.system_id.clone(),
        }
    }

    fn on_request(&mut self, frame: Frame, responder: Responder) {
        match frame.command_id {
            rusmpp::CommandId::SubmitSm | rusmpp::CommandId::DataSm => {
                self.on_submit(frame, responder);
            }
            rusmpp::CommandId::QuerySm => responder.respond(CommandStatus::EsmeRqueryfail, None),
            rusmpp::CommandId::CancelSm => responder.respond(CommandStatus::EsmeRcancelfail, None),
            rusmpp::CommandId::ReplaceSm => {
                responder.respond(CommandStatus::EsmeRreplacefail, None);
            }
            _ => responder.respond(CommandStatus::EsmeRsyserr, None),
        }
    }

    fn on_state(&mut self, state: SessionState, session: &SessionHandle) {
        if state.is_bound() && !self.bound {
            self.bound = true;
            self.shared
                .add_session(self.connection, session.clone(), state.can_deliver());
        } else if !state.is_bound() {
            self.unregister();
        }
    }
}

impl Drop for SmscHandler {
    /// A connection dropped on purpose never reaches CLOSED; leave the registry anyway.
    fn drop(&mut self) {
        self.unregister();
    }
}
