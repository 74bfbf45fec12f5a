//! Bind states as `/status` shows them and tests watch them.

use serde::Serialize;

use crate::smpp::SessionState;

/// What a bind is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BindPhase {
    /// Not started yet, or stopped.
    Idle,
    /// Opening the TCP/TLS connection.
    Connecting,
    /// Connected, bind request sent.
    Binding,
    /// The session is in this state (bound, unbinding).
    Session(SessionState),
    /// Waiting before the next attempt (after a failure or a lost bind).
    Backoff,
    /// The carrier refused our credentials (or said already bound): waiting the long
    /// auth-failure backoff, alarm raised.
    AuthRefused,
}

/// The role of a bind within its carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BindRole {
    /// bind_transceiver: submits and receives.
    Transceiver,
    /// bind_transmitter: submits only.
    Transmitter,
    /// bind_receiver: receives only.
    Receiver,
}

/// One bind's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindStatus {
    /// Its name within the carrier ("0", "1-tx", "1-rx", …).
    pub name: String,
    /// Transceiver, transmitter or receiver.
    pub role: BindRole,
    /// What it is doing.
    pub phase: BindPhase,
    /// The last failure, if any (never contains the password).
    pub last_error: Option<String>,
    /// Connection attempts after the first.
    pub reconnects: u64,
}

impl BindStatus {
    /// True while the session is bound.
    pub fn is_up(&self) -> bool {
        matches!(self.phase, BindPhase::Session(state) if state.is_bound())
    }
}

/// One carrier's binds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CarrierStatus {
    /// The carrier's configured name.
    pub name: String,
    /// Whether /readyz needs one of its binds up.
    pub required: bool,
    /// True while the carrier refuses our credentials.
    pub auth_alarm: bool,
    /// Its binds.
    pub binds: Vec<BindStatus>,
}

impl CarrierStatus {
    /// Binds currently bound.
    pub fn binds_up(&self) -> usize {
        self.binds.iter().filter(|b| b.is_up()).count()
    }
}
