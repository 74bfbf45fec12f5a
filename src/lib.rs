//! # smsbridge
//!
//! A daemon that bridges SMS/MMS carriers to a contact-center core. Customers text a
//! business number (longcode, shortcode or toll-free); the carrier delivers the text over
//! an SMPP bind (MMS over MM7); smsbridge decodes and joins it and forwards it to the core
//! as a chat event. Agents' replies come back through the HTTP API and leave as SMS
//! segments in the cheapest encoding; delivery receipts come back and reach the agent's
//! transcript.
//!
//! ## Module map
//!
//! | module | what it owns |
//! |---|---|
//! | [`app`] | wiring: builds components, one cancellation token, the task tracker, ordered shutdown, reload |
//! | [`config`] | the TOML file format (raw serde structs) → validated [`config::Config`]; errors name file, line, column and key |
//! | [`telemetry`] | tracing setup, failures that repeat logged at a bounded rate, metric names and descriptions, the Prometheus exporter |
//! | [`admin`] | the operators' listener: `/healthz`, `/readyz`, `/status`, `/metrics` |
//! | [`systemd`] | the notify protocol: READY, WATCHDOG, RELOADING, STOPPING |
//! | [`smpp`] | framing, the session state machine, window and timers, ESME and SMSC roles, the simulator |
//! | [`carrier`] | bind pools per carrier, reconnect, throttling, the router (sender → route) |
//! | [`text`] | GSM 03.38 + shift tables, UCS-2/UTF-16, Latin-1; segment planning; decoding and reassembly |
//! | [`number`] | E.164 parsing, classification, SMS capability, the sender inventory |
//! | [`consent`] | STOP/START/HELP keywords and the suppression list |
//! | [`reason`] | every reason an agent may see why a message failed, each with its transcript sentence |
//! | [`receipts`] | receipt dialects → one receipt state; id forms for matching |
//! | [`flow`] | inbound (MO), outbound (MT), receipts (DLR): the only place where modules meet |
//! | [`store`] | the `Store` trait and its implementations; flows never see SQL |
//! | [`connector`] | chat events (CloudEvents) and their delivery from the outbox to the core |
//! | [`mms`] | MM7 endpoint and client, media validation and storage |
//! | [`api`] | the core's HTTP API under `/v1` |
//! | [`listener`] | the HTTP listeners' accept loop: connection cap, header-read and idle timeouts, accept back-off, graceful shutdown |
//!
//! Layers, top to bottom: `main` → `app` → `api`, `mms` → `flow` → `carrier` → `smpp`,
//! `connector` → `text`, `number`, `consent`, `receipts`, `config`, `store`, `telemetry`
//! → `reason`; `app` and `mms` serve their HTTP through `listener`, which sits on `config`.
//! Imports point downward only.
//!
//! ## The three flows
//!
//! ```text
//! MO   carrier ─deliver_sm─▶ smpp::session ─▶ flow::inbound ─▶ text::decode + reassemble
//!           ─▶ consent (STOP/START/HELP) ─▶ store (commit) ─▶ deliver_sm_resp ROK
//!           ─▶ conversation lookup/create ─▶ outbox ─▶ connector ─▶ core
//!
//! MT   core ─POST /v1/messages─▶ api ─▶ flow::outbound: validate (to, from, consent, length)
//!           ─▶ text::plan (encoding + segments) ─▶ store (commit) ─▶ 202 to core
//!           ─▶ router (sender → carrier route) ─▶ bind queue ─▶ throttle (segments/s)
//!           ─▶ window ─▶ submit_sm ─▶ submit_sm_resp (carrier ids stored) ─▶ status event
//!
//! DLR  carrier ─deliver_sm (receipt)─▶ flow::receipts: parse (TLVs, then text)
//!           ─▶ correlate (carrier id → segment → chat message) ─▶ aggregate over segments
//!           ─▶ store ─▶ outbox ─▶ status event to core
//! ```
//!
//! The rule that holds every flow together: **acknowledge only what is durable**.
//! `deliver_sm_resp` with `ESME_ROK` is sent after the MO (or its part) is committed;
//! `202 Accepted` is returned after the MT is committed.

#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod app;
pub mod bench;
pub mod carrier;
pub mod config;
pub mod connector;
pub mod consent;
pub mod flow;
pub mod listener;
pub mod mms;
pub mod number;
pub mod reason;
pub mod receipts;
pub mod smpp;
pub mod store;
pub mod systemd;
pub mod telemetry;
pub mod text;

/// The version of this build, as `smsbridge version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
