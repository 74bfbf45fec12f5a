//! The integration tests: one test binary, one module per area. The harness starts the
//! real `smsbridge` binary against configs written to a temporary directory.
//! The integration tests of smsbridge: one binary, one module per area.

mod api_fuzz;
mod api_refusals;
mod auth;
mod bench;
mod carrier;
mod config_errors;
mod connector;
mod consent;
mod consent_api;
mod fallback;
mod harness;
mod hostile_smsc;
mod lifecycle;
mod listeners;
mod mms;
mod mms_out;
mod number;
mod pipeline;
mod receipts;
pub(crate) mod receipts_flow;
mod reload;
mod smpp_frame;
mod smpp_interop;
mod smpp_session;
mod smpp_simulator;
mod store_full;
mod systemd_unit;
mod text;
mod unknown_outcome;
