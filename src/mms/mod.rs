//! MMS over MM7: the endpoint for carriers' DeliverReq and DeliveryReportReq, the
//! SubmitReq client, media validation and the media store.
//!
//! Filled by the MMS issue.
