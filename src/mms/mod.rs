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
//! | [`service`] | starting it all: media store and signer ([`open_media`]), MO MMS flow, the MM7 listener (TLS optional) |
//! | [`metrics`] | `smsbridge_mms_…` metric names |
//! | [`fetch`] | MT: the attachments the core serves, fetched with limits |
//! | [`fetch_guard`] | MT: where those fetches may connect (public addresses, `[mms] fetch_allow`) |
//! | [`keep`] | MT: attachments fetched or uploaded, checked and kept before the API answers |
//! | [`submit`] | MT MMS: SubmitReq (with SMIL when needed) out, SubmitRsp in |
//! | [`client`] | MT MMS: the MM7 client posting to a carrier's MMSC, failures classified |
//! | [`outbound`] | MT MMS: the dispatcher's [`crate::flow::mms_outbound::MmsSubmitter`] and the report sink |
//! | [`simulator`] | the carrier simulator's MMSC: SubmitReq in, DeliveryReportReq and DeliverReq out |

pub mod auth;
pub mod client;
pub mod endpoint;
pub mod fetch;
pub mod fetch_guard;
pub mod keep;
pub mod media;
pub mod metrics;
pub mod mm7;
pub mod outbound;
pub mod report_sink;
pub mod service;
pub mod simulator;
pub mod submit;

pub use report_sink::{LoggingReportSink, Mm7ReportSink, ReportSinkError};
pub use service::{Media, MmsError, MmsParts, MmsService, open_media, start};
