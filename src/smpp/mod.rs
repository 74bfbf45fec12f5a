//! SMPP 3.4/5.0: strict framing, the session state machine, window and timers, the
//! ESME (client) role that binds to carriers, the SMSC role and the carrier simulator.
//!
//! | module | what it owns |
//! |---|---|
//! | [`frame`] | bytes ⇄ frames: exact `command_length`, a length cap, bodies consumed exactly |
//! | [`state`] | session states and the operation matrix per role |
//! | [`status`] | command_status → retry class (throttled / transient / auth / permanent) |
//! | [`sequence`] | sequence numbers 1..=0x7FFFFFFF |
//! | [`window`] | requests in flight with their response deadlines |
//! | [`session`] | the `select!` loop that runs one bind in either role |
//! | [`esme`] | the bind request an ESME sends |
//! | [`transport`] | TCP and TLS connections to an SMSC |
//! | [`simulator`] | the carrier simulator (SMSC role): receipts, MO, faults, stats |
//! | [`inspect`] | `smsbridge pdu`: a hex PDU made readable |
//! | [`metrics`] | metric names and cached handles |
//!
//! PDU and TLV types and body encoding/decoding come from `rusmpp`; everything about
//! the byte stream and the session is ours.

pub mod esme;
pub mod frame;
pub mod inspect;
pub mod metrics;
pub mod sequence;
pub mod session;
pub mod simulator;
pub mod state;
pub mod status;
pub mod transport;
pub mod window;

pub use frame::{Frame, FramingError};
pub use session::{
    BindDecision, BindKind, BindRequest, CloseReason, PeerHandler, RequestError, Responder,
    Session, SessionConfig, SessionError, SessionHandle,
};
pub use state::{Role, SessionState};
pub use status::{StatusClass, classify};
