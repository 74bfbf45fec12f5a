//! Metric names of the SMPP layer and the carrier pools, and cached handles for the hot
//! path.
//!
//! Labels come from bounded sets: `carrier` (configured names), `bind` (index within
//! the carrier, `-tx`/`-rx` for pairs), `command` (SMPP command names), `status` (SMPP
//! status codes, `other` for vendor codes), `direction` (`in`/`out`).

use std::collections::HashMap;
use std::sync::Arc;

use metrics::{
    Counter, Gauge, Histogram, Unit, describe_counter, describe_gauge, describe_histogram,
};
use rusmpp::{CommandId, CommandStatus};

use super::state::SessionState;
use super::status;

/// Gauge, 1 for the state a bind is in and 0 for the others (`carrier`, `bind`, `state`).
pub const BIND_STATE: &str = "smsbridge_smpp_bind_state";
/// Gauge, binds bound per carrier (`carrier`).
pub const BINDS_UP: &str = "smsbridge_smpp_binds_up";
/// Counter, PDUs by direction, command and status (`carrier`, `direction`, `command`, `status`).
pub const PDUS: &str = "smsbridge_smpp_pdus_total";
/// Gauge, caller requests in flight on a bind (`carrier`, `bind`).
pub const WINDOW_OCCUPANCY: &str = "smsbridge_smpp_window_occupancy";
/// Histogram, request → response latency (`carrier`, `command`).
pub const RESPONSE_SECONDS: &str = "smsbridge_smpp_response_seconds";
/// Counter, requests whose response did not come in time (`carrier`, `command`).
pub const RESPONSE_TIMEOUTS: &str = "smsbridge_smpp_response_timeouts_total";
/// Counter, frames with a bad body or header (`carrier`, `fault`).
pub const MALFORMED_PDUS: &str = "smsbridge_smpp_malformed_pdus_total";
/// Counter, connection attempts after the first (`carrier`).
pub const RECONNECTS: &str = "smsbridge_smpp_reconnects_total";
/// Counter, bind pauses after ESME_RTHROTTLED / ESME_RMSGQFUL (`carrier`).
pub const THROTTLE_PAUSES: &str = "smsbridge_smpp_throttle_pauses_total";
/// Gauge, 1 while a carrier refuses our credentials or says we are already bound (`carrier`).
pub const AUTH_ALARM: &str = "smsbridge_smpp_auth_alarm";
/// Counter, submits whose outcome is unknown (sent, never answered) (`carrier`).
pub const UNKNOWN_OUTCOMES: &str = "smsbridge_smpp_unknown_outcomes_total";
/// Counter, segments sent once more after going unanswered (`carrier`): each may reach
/// the handset twice.
pub const RESENDS: &str = "smsbridge_smpp_resends_total";
/// Counter, submit_sm_resp ESME_ROK without a message_id (`carrier`): segments no
/// receipt can name.
pub const EMPTY_MESSAGE_IDS: &str = "smsbridge_smpp_empty_message_ids_total";
/// Counter, segments submitted by outcome class (`carrier`, `class`).
pub const SUBMITS: &str = "smsbridge_smpp_submits_total";

/// Registers descriptions and units with the installed recorder.
pub fn describe() {
    describe_gauge!(BIND_STATE, "1 for the current state of each SMPP bind");
    describe_gauge!(BINDS_UP, "SMPP binds currently bound, per carrier");
    describe_counter!(PDUS, "SMPP PDUs sent and received");
    describe_gauge!(WINDOW_OCCUPANCY, "Requests in flight on an SMPP bind");
    describe_histogram!(
        RESPONSE_SECONDS,
        Unit::Seconds,
        "Time from sending an SMPP request to its response"
    );
    describe_counter!(RESPONSE_TIMEOUTS, "SMPP requests whose response timed out");
    describe_counter!(MALFORMED_PDUS, "SMPP frames refused as malformed");
    describe_counter!(RECONNECTS, "SMPP reconnection attempts");
    describe_counter!(
        THROTTLE_PAUSES,
        "SMPP bind pauses after ESME_RTHROTTLED or ESME_RMSGQFUL"
    );
    describe_gauge!(
        AUTH_ALARM,
        "1 while a carrier refuses the bind credentials or reports ESME_RALYBND"
    );
    describe_counter!(
        UNKNOWN_OUTCOMES,
        "Submits sent whose response never came (outcome unknown)"
    );
    describe_counter!(
        RESENDS,
        "Segments sent once more after going unanswered (the handset may get them twice)"
    );
    describe_counter!(
        EMPTY_MESSAGE_IDS,
        "submit_sm_resp ESME_ROK without a message_id (no receipt can match the segment)"
    );
    describe_counter!(SUBMITS, "Segments submitted, by outcome class");
}

/// The snake_case SMPP name of a command, for labels.
pub fn command_label(id: CommandId) -> &'static str {
    use CommandId as C;
    match id {
        C::BindReceiver => "bind_receiver",
        C::BindTransmitter => "bind_transmitter",
        C::BindTransceiver => "bind_transceiver",
        C::BindReceiverResp => "bind_receiver_resp",
        C::BindTransmitterResp => "bind_transmitter_resp",
        C::BindTransceiverResp => "bind_transceiver_resp",
        C::QuerySm => "query_sm",
        C::QuerySmResp => "query_sm_resp",
        C::SubmitSm => "submit_sm",
        C::SubmitSmResp => "submit_sm_resp",
        C::DeliverSm => "deliver_sm",
        C::DeliverSmResp => "deliver_sm_resp",
        C::Unbind => "unbind",
        C::UnbindResp => "unbind_resp",
        C::ReplaceSm => "replace_sm",
        C::ReplaceSmResp => "replace_sm_resp",
        C::CancelSm => "cancel_sm",
        C::CancelSmResp => "cancel_sm_resp",
        C::Outbind => "outbind",
        C::EnquireLink => "enquire_link",
        C::EnquireLinkResp => "enquire_link_resp",
        C::SubmitMulti => "submit_multi",
        C::SubmitMultiResp => "submit_multi_resp",
        C::AlertNotification => "alert_notification",
        C::DataSm => "data_sm",
        C::DataSmResp => "data_sm_resp",
        C::BroadcastSm => "broadcast_sm",
        C::BroadcastSmResp => "broadcast_sm_resp",
        C::QueryBroadcastSm => "query_broadcast_sm",
        C::QueryBroadcastSmResp => "query_broadcast_sm_resp",
        C::CancelBroadcastSm => "cancel_broadcast_sm",
        C::CancelBroadcastSmResp => "cancel_broadcast_sm_resp",
        C::GenericNack => "generic_nack",
        C::Other(_) => "other",
    }
}

/// Direction of a PDU relative to this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Read from the peer.
    In,
    /// Written to the peer.
    Out,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// The labels that identify one session in metrics.
#[derive(Debug, Clone)]
pub struct SessionLabels {
    /// The carrier's configured name (`sim` in the simulator).
    pub carrier: Arc<str>,
    /// The bind's name within the carrier.
    pub bind: Arc<str>,
}

/// Metric handles for one session, created on first use so the hot path does not
/// rebuild label sets for every PDU.
#[derive(Debug)]
pub struct SessionMetrics {
    labels: SessionLabels,
    pdus: HashMap<(Direction, u32, u32), Counter>,
    latency: HashMap<u32, Histogram>,
    window: Gauge,
}

impl SessionMetrics {
    /// Handles for the session identified by `labels`.
    pub fn new(labels: SessionLabels) -> Self {
        let window = metrics::gauge!(WINDOW_OCCUPANCY,
            "carrier" => labels.carrier.to_string(),
            "bind" => labels.bind.to_string());
        Self {
            window,
            labels,
            pdus: HashMap::new(),
            latency: HashMap::new(),
        }
    }

    /// The session's labels.
    pub fn labels(&self) -> &SessionLabels {
        &self.labels
    }

    /// Counts one PDU.
    pub fn pdu(&mut self, direction: Direction, id: CommandId, status: CommandStatus) {
        let carrier = &self.labels.carrier;
        self.pdus
            .entry((direction, u32::from(id), u32::from(status)))
            .or_insert_with(|| {
                metrics::counter!(PDUS,
                    "carrier" => carrier.to_string(),
                    "direction" => direction.as_str(),
                    "command" => command_label(id),
                    "status" => status::label(status))
            })
            .increment(1);
    }

    /// Records a response latency for `id` (the request's command).
    pub fn latency(&mut self, id: CommandId, seconds: f64) {
        let carrier = &self.labels.carrier;
        self.latency
            .entry(u32::from(id))
            .or_insert_with(|| {
                metrics::histogram!(RESPONSE_SECONDS,
                    "carrier" => carrier.to_string(),
                    "command" => command_label(id))
            })
            .record(seconds);
    }

    /// Counts a response timeout.
    pub fn timeout(&self, id: CommandId) {
        metrics::counter!(RESPONSE_TIMEOUTS,
            "carrier" => self.labels.carrier.to_string(),
            "command" => command_label(id))
        .increment(1);
    }

    /// Counts a malformed frame.
    pub fn malformed(&self, fault: &'static str) {
        metrics::counter!(MALFORMED_PDUS,
            "carrier" => self.labels.carrier.to_string(),
            "fault" => fault)
        .increment(1);
    }

    /// Sets the window occupancy gauge.
    pub fn window(&self, occupancy: usize) {
        self.window.set(occupancy as f64);
    }

    /// Publishes the session state as the one-hot `BIND_STATE` gauge.
    pub fn state(&self, current: SessionState) {
        for state in [
            SessionState::Open,
            SessionState::BoundTx,
            SessionState::BoundRx,
            SessionState::BoundTrx,
            SessionState::Unbinding,
            SessionState::Closed,
        ] {
            metrics::gauge!(BIND_STATE,
                "carrier" => self.labels.carrier.to_string(),
                "bind" => self.labels.bind.to_string(),
                "state" => state.as_str())
            .set(if state == current { 1.0 } else { 0.0 });
        }
    }
}
