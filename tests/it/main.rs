//! The integration tests: one test binary, one module per area. The harness starts the
//! real `smsbridge` binary against configs written to a temporary directory.

mod config_errors;
mod consent;
mod consent_api;
mod harness;
mod lifecycle;
mod number;
mod systemd_unit;
