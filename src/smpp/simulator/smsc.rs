//! The simulator's SMSC behaviour on one connection: who may bind, what a submit gets
//! back, which receipts it triggers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use rusmpp::pdus::{DataSmResp, SubmitSmResp};
use rusmpp::tlvs::{Tlv, TlvValue};
use rusmpp::types::COctetString;
use rusmpp::{CommandStatus, Pdu};
use tokio::sync::oneshot;
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
                    let body = sm.short_message().as_ref();
                    let part = part_of(u8::from(sm.esm_class), body, sm.tlvs());
                    let text = body[..body.len().min(RECEIPT_TEXT_OCTETS)].to_vec();
                    let submitted = submitted(
                        receipt_id,
                        &sm.source_addr,
                        &sm.destination_addr,
                        text,
                        part,
                    );
                    (submitted, wants)
                });
                (
                    SubmitSmResp::builder().message_id(id).build().into(),
                    receipt,
                )
            }
            Some(Pdu::DataSm(dm)) => {
                let wants = u8::from(dm.registered_delivery);
                let receipt = (wants & 0x03 != 0).then(|| {
                    let part = part_of(u8::from(dm.esm_class), &[], dm.tlvs());
                    let submitted = submitted(
                        receipt_id,
                        &dm.source_addr,
                        &dm.destination_addr,
                        Vec::new(),
                        part,
                    );
                    (submitted, wants)
                });
                (DataSmResp::builder().message_id(id).build().into(), receipt)
            }
            _ => return responder.respond(CommandStatus::EsmeRsyserr, None),
        };
        let mut receipt = receipt.and_then(|(submitted, wants)| self.receipt(&submitted, wants));
        let delay = self.shared.cfg.faults.response_delay;
        let answered = match &mut receipt {
            Some(delivery) if self.shared.cfg.receipts.before_response => {
                let (tx, rx) = oneshot::channel();
                delivery.answered = Some(tx);
                Some(rx)
            }
            _ => None,
        };
        if let Some(delivery) = receipt {
            self.queue_receipt(delivery);
        }
        if delay.is_zero() && answered.is_none() {
            responder.respond(CommandStatus::EsmeRok, Some(response));
        } else {
            // The session stays responsive; its inbound window bounds these tasks. A
            // receipt that is dropped instead of sent ends the wait too.
            tokio::spawn(async move {
                if let Some(answered) = answered {
                    let _ = answered.await;
                }
                tokio::time::sleep(delay).await;
                responder.respond(CommandStatus::EsmeRok, Some(response));
            });
        }
    }

    /// The receipt deliver_sm for a submit, when `registered_delivery` asks for its
    /// outcome.
    fn receipt(&self, submitted: &Submitted, registered_delivery: u8) -> Option<Delivery> {
        let cfg = &self.shared.cfg;
        let report = receipts::report_for(
            &cfg.receipts,
            &self.shared.outcomes,
            submitted.destination.as_str(),
            submitted.part,
        );
        if !report.outcome.wanted_by(registered_delivery) {
            return None;
        }
        // A receipt sent before the response does not wait for the response's delay.
        let after_response = if cfg.receipts.before_response {
            std::time::Duration::ZERO
        } else {
            cfg.faults.response_delay
        };
        Some(Delivery {
            pdu: receipts::build(submitted, &report),
            kind: DeliveryKind::Receipt,
            due: Instant::now() + after_response + cfg.receipts.delay,
            answered: None,
        })
    }

    /// Holds the receipt when `[receipts] hold` says so; queues it for the delivery task
    /// otherwise. Receipts beyond the bounds are dropped and counted.
    fn queue_receipt(&self, delivery: Delivery) {
        if self.shared.cfg.receipts.hold {
            self.shared.hold_receipt(delivery);
        } else if self.shared.deliveries.try_send(delivery).is_err() {
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
    part: u8,
) -> Submitted {
    Submitted {
        message_id: receipt_id,
        source: source.clone(),
        destination: destination.clone(),
        text,
        part,
        at: SystemTime::now(),
    }
}

/// Which part of a concatenated message a submit carries (1-based; 1 when it is not
/// split): the `sar_segment_seqnum` TLV, or the UDH's concatenation IE.
fn part_of(esm_class: u8, short_message: &[u8], tlvs: &[Tlv]) -> u8 {
    let sar = tlvs.iter().filter_map(Tlv::value).find_map(|v| match v {
        TlvValue::SarSegmentSeqnum(n) => Some(*n),
        _ => None,
    });
    if let Some(part) = sar {
        return part;
    }
    const UDHI: u8 = 0x40;
    if esm_class & UDHI != 0 {
        return udh_part(short_message).unwrap_or(1);
    }
    1
}

/// The part number of a UDH's concatenation IE (IEI 0x00 or 0x08), if it has one.
fn udh_part(user_data: &[u8]) -> Option<u8> {
    let (&udhl, rest) = user_data.split_first()?;
    let mut ies = rest.get(..usize::from(udhl))?;
    while let [iei, len, rest @ ..] = ies {
        let (value, next) = rest.split_at_checked(usize::from(*len))?;
        match (*iei, value) {
            (0x00, [_, _, part]) | (0x08, [_, _, _, part]) => return Some(*part),
            _ => ies = next,
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_comes_from_the_udh_or_the_sar_tlvs() {
        // UDH: port addressing IE first, then concatenation with an 8-bit reference.
        let udh8 = [
            0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x7A, 0x03, 0x02,
        ];
        assert_eq!(part_of(0x40, &udh8, &[]), 2);
        let udh16 = [0x06, 0x08, 0x04, 0x01, 0x02, 0x03, 0x03, b'h'];
        assert_eq!(part_of(0x40, &udh16, &[]), 3);
        // Without the UDHI bit the same octets are text.
        assert_eq!(part_of(0x00, &udh8, &[]), 1);
        // A header that overruns the user data reads as a single part.
        assert_eq!(part_of(0x40, &[0x05, 0x00, 0x03], &[]), 1);
        let sar = [Tlv::from(TlvValue::SarSegmentSeqnum(4))];
        assert_eq!(part_of(0x00, b"plain", &sar), 4);
    }
}
