//! Session states and which PDUs each state admits.
//!
//! The states follow SMPP 3.4 §2.3 (OPEN, BOUND_TX, BOUND_RX, BOUND_TRX, CLOSED) with an
//! explicit UNBINDING state between sending `unbind` and the connection closing. The
//! per-state operation matrix is rusmpp's (SMPP 5.0 §2.4); this module maps our states
//! onto it and adds the rules for the side of the link we play.

use rusmpp::{CommandId, session::SessionState as MatrixState};
use serde::Serialize;

/// Which end of the link a session plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The External Short Message Entity: smsbridge towards a carrier.
    Esme,
    /// The Message Centre: the simulator towards smsbridge (or any ESME).
    Smsc,
}

/// The state of one SMPP session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Connected, not yet bound: only bind requests (and enquire_link) are valid.
    Open,
    /// Bound as a transmitter: the ESME submits, the SMSC does not deliver.
    BoundTx,
    /// Bound as a receiver: the SMSC delivers, the ESME does not submit.
    BoundRx,
    /// Bound as a transceiver: both directions.
    BoundTrx,
    /// `unbind` sent or received; waiting for the exchange to finish.
    Unbinding,
    /// The connection is finished.
    Closed,
}

impl SessionState {
    /// True in BOUND_TX, BOUND_RX and BOUND_TRX.
    pub fn is_bound(self) -> bool {
        matches!(self, Self::BoundTx | Self::BoundRx | Self::BoundTrx)
    }

    /// True where the ESME may submit (BOUND_TX, BOUND_TRX).
    pub fn can_submit(self) -> bool {
        matches!(self, Self::BoundTx | Self::BoundTrx)
    }

    /// True where the SMSC may deliver (BOUND_RX, BOUND_TRX).
    pub fn can_deliver(self) -> bool {
        matches!(self, Self::BoundRx | Self::BoundTrx)
    }

    /// The state a successful bind of this kind leads to.
    pub fn bound_by(bind: CommandId) -> Option<Self> {
        match bind {
            CommandId::BindTransmitter | CommandId::BindTransmitterResp => Some(Self::BoundTx),
            CommandId::BindReceiver | CommandId::BindReceiverResp => Some(Self::BoundRx),
            CommandId::BindTransceiver | CommandId::BindTransceiverResp => Some(Self::BoundTrx),
            _ => None,
        }
    }

    /// A label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::BoundTx => "bound_tx",
            Self::BoundRx => "bound_rx",
            Self::BoundTrx => "bound_trx",
            Self::Unbinding => "unbinding",
            Self::Closed => "closed",
        }
    }

    fn matrix(self) -> MatrixState {
        match self {
            Self::Open => MatrixState::Open,
            Self::BoundTx => MatrixState::BoundTx,
            Self::BoundRx => MatrixState::BoundRx,
            Self::BoundTrx => MatrixState::BoundTrx,
            Self::Unbinding => MatrixState::Unbound,
            Self::Closed => MatrixState::Closed,
        }
    }

    /// May a peer's *request* `id` be accepted in this state by a session playing `role`?
    ///
    /// A request that fails this check is answered with ESME_RINVBNDSTS (or
    /// ESME_RALYBND for a second bind).
    pub fn accepts(self, role: Role, id: CommandId) -> bool {
        let matrix = self.matrix();
        match role {
            Role::Esme => matrix.can_receive_as_esme(id),
            Role::Smsc => matrix.can_receive_as_mc(id),
        }
    }

    /// May a session playing `role` send request `id` in this state?
    pub fn may_send(self, role: Role, id: CommandId) -> bool {
        let matrix = self.matrix();
        match role {
            Role::Esme => matrix.can_send_as_esme(id),
            Role::Smsc => matrix.can_send_as_mc(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_only_on_transmitting_binds() {
        for state in [SessionState::BoundTx, SessionState::BoundTrx] {
            assert!(state.may_send(Role::Esme, CommandId::SubmitSm));
            assert!(state.accepts(Role::Smsc, CommandId::SubmitSm));
        }
        for state in [
            SessionState::Open,
            SessionState::BoundRx,
            SessionState::Unbinding,
            SessionState::Closed,
        ] {
            assert!(!state.may_send(Role::Esme, CommandId::SubmitSm));
            assert!(!state.accepts(Role::Smsc, CommandId::SubmitSm));
        }
    }

    #[test]
    fn deliver_only_on_receiving_binds() {
        assert!(SessionState::BoundRx.accepts(Role::Esme, CommandId::DeliverSm));
        assert!(SessionState::BoundTrx.accepts(Role::Esme, CommandId::DeliverSm));
        assert!(!SessionState::BoundTx.accepts(Role::Esme, CommandId::DeliverSm));
        assert!(!SessionState::Open.accepts(Role::Esme, CommandId::DeliverSm));
    }

    #[test]
    fn binds_only_when_open() {
        assert!(SessionState::Open.accepts(Role::Smsc, CommandId::BindTransceiver));
        assert!(!SessionState::BoundTrx.accepts(Role::Smsc, CommandId::BindTransceiver));
    }
}
