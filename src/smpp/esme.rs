//! The ESME role: what smsbridge sends to bind to a carrier's SMSC.

use std::time::Duration;

use rusmpp::pdus::{BindReceiver, BindTransceiver, BindTransmitter};
use rusmpp::types::COctetString;
use rusmpp::values::{InterfaceVersion, Npi, Ton};
use rusmpp::{CommandStatus, Pdu};

use super::session::{BindKind, RequestError, SessionHandle};

/// SMPP 3.4's interface_version.
pub const SMPP_3_4: u8 = 0x34;
/// SMPP 5.0's interface_version.
pub const SMPP_5_0: u8 = 0x50;

/// What an ESME binds with.
#[derive(Clone, PartialEq, Eq)]
pub struct BindSpec {
    /// Transmitter, receiver or transceiver.
    pub kind: BindKind,
    /// Our system_id at the carrier (≤ 15 characters).
    pub system_id: String,
    /// The password (≤ 8 characters); never logged.
    pub password: String,
    /// system_type (≤ 12 characters), often empty.
    pub system_type: String,
    /// 0x34 for SMPP 3.4 (the default), 0x50 for 5.0.
    pub interface_version: u8,
    /// address_range (≤ 40 characters), usually empty.
    pub address_range: String,
}

impl std::fmt::Debug for BindSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BindSpec")
            .field("kind", &self.kind)
            .field("system_id", &self.system_id)
            .field("password", &"<redacted>")
            .field("system_type", &self.system_type)
            .field("interface_version", &self.interface_version)
            .finish_non_exhaustive()
    }
}

/// Why a bind did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The SMSC answered bind_resp with an error status (RINVPASWD, RINVSYSID,
    /// RBINDFAIL, RALYBND, …).
    #[error("bind refused with {0:?}")]
    Refused(CommandStatus),
    /// No bind_resp (timeout, connection lost, generic_nack).
    #[error("bind request failed: {0}")]
    Request(#[from] RequestError),
    /// A field is too long or not ASCII for its SMPP field.
    #[error("bind field {0} is too long or not ASCII")]
    Field(&'static str),
}

fn field<const MIN: usize, const MAX: usize>(
    value: &str,
    name: &'static str,
) -> Result<COctetString<MIN, MAX>, BindError> {
    COctetString::from_string(value.to_string()).map_err(|_| BindError::Field(name))
}

impl BindSpec {
    /// The bind request PDU.
    pub fn to_pdu(&self) -> Result<Pdu, BindError> {
        let system_id = field(&self.system_id, "system_id")?;
        let password = field(&self.password, "password")?;
        let system_type = field(&self.system_type, "system_type")?;
        let address_range = field(&self.address_range, "address_range")?;
        let version = InterfaceVersion::from(self.interface_version);
        macro_rules! build {
            ($ty:ident) => {
                $ty::builder()
                    .system_id(system_id)
                    .password(password)
                    .system_type(system_type)
                    .interface_version(version)
                    .addr_ton(Ton::Unknown)
                    .addr_npi(Npi::Unknown)
                    .address_range(address_range)
                    .build()
                    .into()
            };
        }
        Ok(match self.kind {
            BindKind::Transmitter => build!(BindTransmitter),
            BindKind::Receiver => build!(BindReceiver),
            BindKind::Transceiver => build!(BindTransceiver),
        })
    }
}

/// Binds a session in the OPEN state; on success the session is BOUND_TX/RX/TRX.
/// Returns the SMSC's system_id.
pub async fn bind(
    session: &SessionHandle,
    spec: &BindSpec,
    timeout: Duration,
) -> Result<String, BindError> {
    let response = session
        .request_with_timeout(spec.to_pdu()?, Some(timeout))
        .await?;
    if response.status != CommandStatus::EsmeRok {
        return Err(BindError::Refused(response.status));
    }
    let system_id = match &response.pdu {
        Some(Pdu::BindTransmitterResp(r)) => r.system_id.as_str().to_string(),
        Some(Pdu::BindReceiverResp(r)) => r.system_id.as_str().to_string(),
        Some(Pdu::BindTransceiverResp(r)) => r.system_id.as_str().to_string(),
        _ => String::new(),
    };
    Ok(system_id)
}
