//! MMS over MM7: the endpoint for carriers' DeliverReq and DeliveryReportReq, the
//! SubmitReq client, media validation and the media store.
//!
//! Outbound (MT MMS): [`fetch`] gets the attachments the core serves, [`submit`] builds
//! the SubmitReq and reads the SubmitRsp, [`client`] posts it to the carrier's MMSC,
//! and [`outbound`] ties them together as the dispatcher's
//! [`crate::flow::mms_outbound::MmsSubmitter`].

pub mod client;
pub mod fetch;
