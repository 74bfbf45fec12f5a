//! MMS over MM7: the endpoint for carriers' DeliverReq and DeliveryReportReq, the
//! SubmitReq client, media validation and the media store.
//!
//! | module | what it does |
//! |---|---|
//! | [`mm7`] | the codec: SOAP envelopes, multipart bodies, status codes, typed operations |
//! | [`report_sink`] | [`Mm7ReportSink`]: where DeliveryReportReqs go (the MT MMS side implements it) |
//! | [`metrics`] | `smsbridge_mms_…` metric names |

pub mod metrics;
pub mod mm7;
pub mod report_sink;

pub use report_sink::{LoggingReportSink, Mm7ReportSink, ReportSinkError};
