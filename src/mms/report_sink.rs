//! Where the endpoint hands the `DeliveryReportReq`s it reads: the MT MMS side
//! implements [`Mm7ReportSink`] to match a report to its message and emit the chat
//! status. Until it does, [`LoggingReportSink`] logs and counts every report.
//!
//! The endpoint answers `DeliveryReportRsp` with the status the sink returns, so a
//! sink should return only once the report is durable (or known to be useless).

use futures_util::future::BoxFuture;
use tracing::info;

use super::metrics;
use super::mm7::{DeliveryReport, StatusCode};

/// Why a sink could not take a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportSinkError {
    /// The report names a message this instance never submitted (answered 2005).
    #[error("no MT MMS has the MessageID {0}")]
    UnknownMessage(String),
    /// The store cannot take it now; the relay should send it again (answered 4006).
    #[error("cannot keep the report now: {0}")]
    Unavailable(String),
}

impl ReportSinkError {
    /// The MM7 status that answers the report.
    pub fn status(&self) -> StatusCode {
        match self {
            ReportSinkError::UnknownMessage(_) => StatusCode::MESSAGE_ID_NOT_FOUND,
            ReportSinkError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Takes the delivery reports carriers send for our MT MMS.
pub trait Mm7ReportSink: Send + Sync + 'static {
    /// Applies one report from `carrier`; `Ok` once it is durable.
    fn deliver_report(
        &self,
        carrier: &str,
        report: DeliveryReport,
    ) -> BoxFuture<'_, Result<(), ReportSinkError>>;
}

/// The sink used until the MT MMS side plugs in its own: logs each report (without
/// addresses) and counts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingReportSink;

impl Mm7ReportSink for LoggingReportSink {
    fn deliver_report(
        &self,
        carrier: &str,
        report: DeliveryReport,
    ) -> BoxFuture<'_, Result<(), ReportSinkError>> {
        metrics::delivery_report(carrier, report.status.as_str());
        info!(
            carrier,
            message_id = %report.message_id,
            mm_status = %report.status,
            "MM7 delivery report with no MT MMS side to apply it"
        );
        Box::pin(async { Ok(()) })
    }
}
