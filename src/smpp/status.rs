//! What a command_status means for the sender of the request: retry, slow down, give up.

use rusmpp::CommandStatus;
use serde::Serialize;

/// How a failed request should be treated. Drives MT retry, bind backoff and metric
/// labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusClass {
    /// ESME_ROK.
    Ok,
    /// The SMSC asks us to slow down (ESME_RTHROTTLED, ESME_RMSGQFUL): pause the bind and
    /// retry the same request later.
    Throttled,
    /// A temporary fault on the SMSC side (ESME_RSYSERR, RX_T_APPN, ESME_RUNKNOWNERR):
    /// retry, preferably on another bind.
    Transient,
    /// Credentials or bind refused (RINVPASWD, RINVSYSID, RBINDFAIL, RALYBND): back off
    /// for a long time and raise an alarm; retrying quickly only hammers the carrier.
    Auth,
    /// Anything else: the request itself is wrong; retrying cannot help.
    Permanent,
}

impl StatusClass {
    /// A label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Throttled => "throttled",
            Self::Transient => "transient",
            Self::Auth => "auth",
            Self::Permanent => "permanent",
        }
    }
}

/// Classifies a response status.
pub fn classify(status: CommandStatus) -> StatusClass {
    use CommandStatus as S;
    match status {
        S::EsmeRok => StatusClass::Ok,
        S::EsmeRthrottled | S::EsmeRmsgqful => StatusClass::Throttled,
        S::EsmeRsyserr | S::EsmeRxTAppn | S::EsmeRunknownerr => StatusClass::Transient,
        S::EsmeRinvpaswd | S::EsmeRinvsysid | S::EsmeRbindfail | S::EsmeRalybnd => {
            StatusClass::Auth
        }
        _ => StatusClass::Permanent,
    }
}

/// The command_status as a metric label: the 8-digit hex code of a status SMPP defines,
/// `other` for vendor codes, so the label set stays bounded whatever a peer sends.
pub fn label(status: CommandStatus) -> String {
    match status {
        CommandStatus::Other(_) => "other".to_string(),
        known => format!("{:#010x}", u32::from(known)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_reference_table() {
        assert_eq!(classify(CommandStatus::EsmeRok), StatusClass::Ok);
        assert_eq!(
            classify(CommandStatus::EsmeRthrottled),
            StatusClass::Throttled
        );
        assert_eq!(
            classify(CommandStatus::EsmeRmsgqful),
            StatusClass::Throttled
        );
        assert_eq!(classify(CommandStatus::EsmeRsyserr), StatusClass::Transient);
        assert_eq!(classify(CommandStatus::EsmeRinvpaswd), StatusClass::Auth);
        assert_eq!(classify(CommandStatus::EsmeRalybnd), StatusClass::Auth);
        assert_eq!(
            classify(CommandStatus::EsmeRinvdstadr),
            StatusClass::Permanent
        );
        assert_eq!(
            classify(CommandStatus::Other(0x400)),
            StatusClass::Permanent
        );
    }
}
