//! MMS over MM7: the endpoint for carriers' DeliverReq and DeliveryReportReq, the
//! SubmitReq client, media validation and the media store.
//!
//! | module | what it does |
//! |---|---|
//! | [`mm7`] | the codec: SOAP envelopes, multipart bodies, status codes, typed operations |
//! | [`endpoint`] | the MM7 listener: carriers' DeliverReq and DeliveryReportReq |
//! | [`auth`] | which carrier is posting (basic auth, allow lists) |
//! | [`media`] | part validation, the media store, signed media URLs and their route |
//! | [`report_sink`] | [`Mm7ReportSink`]: where DeliveryReportReqs go (the MT MMS side implements it) |
//! | [`service`] | starting it all: media store, signer, MO MMS flow, the MM7 listener (TLS optional) |
//! | [`metrics`] | `smsbridge_mms_…` metric names |

pub mod auth;
pub mod endpoint;
pub mod media;
pub mod metrics;
pub mod mm7;
pub mod report_sink;
pub mod service;

pub use report_sink::{LoggingReportSink, Mm7ReportSink, ReportSinkError};
pub use service::{MmsError, MmsParts, MmsService, start};
