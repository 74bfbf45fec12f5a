//! Bind pools per carrier: each `[[carriers]]` entry gets its binds (transceivers, or
//! transmitter + receiver pairs), kept up with reconnects and backoff, paced in segments
//! per second, and a submit path that the MT flow calls.
//!
//! | module | what it owns |
//! |---|---|
//! | [`pool`] | [`CarrierPool`] (one carrier) and [`Carriers`] (all): submit, status, readiness |
//! | `bind` | one bind's supervisor task: connect, bind, run, back off |
//! | [`submit`] | [`SubmitRequest`] → [`SubmitOutcome`] / [`SubmitError`] with its [`ErrorClass`] |
//! | [`inbound`] | the [`InboundConsumer`] trait the MO and DLR flows implement |
//! | [`segment`] | [`SegmentFields`] → a submit_sm with the carrier's defaults |
//! | [`status`] | bind states for `/status` and tests |
//! | [`throttle`] | token buckets (segments per second) |
//! | [`backoff`] | reconnect delays with jitter |
//!
//! MT: `Carriers::get(name)?.submit(SubmitRequest { segments })` sends the segments in
//! order, each on the next bound transmitting bind; a throttling answer pauses that bind
//! and retries the same segment (so parts never overtake each other); a transient
//! answer retries on another bind; a segment written and never answered is sent once
//! more at most and flagged, then reported as [`ErrorClass::UnknownOutcome`].
//!
//! Inbound: deliver_sm/data_sm go to the [`InboundConsumer`]; its verdict becomes the
//! response status (ESME_ROK only once stored).

pub mod backoff;
mod bind;
pub mod inbound;
pub mod pool;
pub mod segment;
pub mod status;
pub mod submit;
pub mod throttle;

pub use inbound::{BoxFuture, InboundConsumer, InboundMessage, InboundVerdict, NotStored};
pub use pool::{CarrierPool, Carriers, PoolError, PoolOptions};
pub use segment::{SegmentError, SegmentFields};
pub use status::{BindPhase, BindRole, BindStatus, CarrierStatus};
pub use submit::{
    ErrorClass, SegmentOutcome, SubmitError, SubmitFailure, SubmitOutcome, SubmitPolicy,
    SubmitRequest,
};
