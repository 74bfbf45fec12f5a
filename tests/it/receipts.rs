//! Delivery receipts: the fixture table of carrier dialects, arbitrary input, the
//! simulator's receipts and id forms, and the per-carrier receipt configuration.

mod config;
mod fixtures;
mod properties;
mod simulator;
