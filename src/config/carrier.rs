//! The `[[carriers]]` section: one entry per carrier, with its SMSC binds, window,
//! throughput, timers, TLS, and how its delivery receipts read (id format, error map).
//!
//! A carrier is reached over SMPP (`host`, `port`, `system_id`, a password), over MM7
//! (`[carriers.mm7] mmsc_url`), or both. One with only an MMSC carries MMS and no SMS:
//! it has no binds, and SMS routes skip it.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::check::Checker;
use super::error::KeyPath;
use super::secret::{RawSecret, Secret};
use crate::receipts::{ErrorMap, MsgIdFormat, parse_delivery_reason};

/// `[[carriers]]` as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCarrier {
    pub name: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub interface_version: Option<String>,
    pub system_id: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub system_type: Option<String>,
    pub bind_mode: Option<BindMode>,
    pub binds: Option<u16>,
    pub window: Option<u16>,
    pub tps: Option<u32>,
    pub bind_tps: Option<u32>,
    pub required: Option<bool>,
    pub max_pdu_size: Option<u32>,
    pub address_range: Option<String>,
    pub dest_ton: Option<u8>,
    pub dest_npi: Option<u8>,
    #[serde(default)]
    pub timers: RawCarrierTimers,
    pub tls: Option<RawCarrierTls>,
    /// How receipt ids relate to submit_sm_resp ids: "auto", "hex", "dec", "exact".
    pub msg_id_format: Option<String>,
    /// A segment sent and never answered: "resend" it once, or "fail" the message.
    pub unknown_outcome: Option<String>,
    /// The carrier's error codes (decimal, or hex with 0x) → reason codes.
    #[serde(default)]
    pub error_map: BTreeMap<String, String>,
    /// How the carrier takes text (`[carriers.text]`).
    #[serde(default)]
    pub text: super::route::RawCarrierText,
    /// How the carrier's MMSC reaches us over MM7 (`[carriers.mm7]`).
    pub mm7: Option<super::mms::RawCarrierMm7>,
    /// What an MT with media does when it cannot go as MMS; a sender's own wins.
    pub mms_fallback: Option<super::mm7::MmsFallback>,
}

/// `[carriers.timers]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCarrierTimers {
    pub connect_timeout: Option<String>,
    pub bind_timeout: Option<String>,
    pub response_timeout: Option<String>,
    pub enquire_link_interval: Option<String>,
    pub enquire_link_timeout: Option<String>,
    pub reconnect_min: Option<String>,
    pub reconnect_max: Option<String>,
    pub auth_failure_backoff: Option<String>,
    pub throttle_pause: Option<String>,
    pub unbind_timeout: Option<String>,
    pub bind_wait: Option<String>,
}

/// `[carriers.tls]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCarrierTls {
    pub ca_file: Option<PathBuf>,
    pub server_name: Option<String>,
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

/// The SMPP interface version a carrier speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceVersion {
    /// SMPP 3.4 (0x34), the default.
    V34,
    /// SMPP 5.0 (0x50).
    V50,
}

impl InterfaceVersion {
    /// The `interface_version` octet.
    pub fn as_u8(self) -> u8 {
        match self {
            InterfaceVersion::V34 => 0x34,
            InterfaceVersion::V50 => 0x50,
        }
    }
}

/// How the binds of a carrier are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindMode {
    /// One bind_transceiver per bind.
    Transceiver,
    /// A bind_transmitter and a bind_receiver per bind.
    TransmitterReceiver,
}

/// A carrier, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Carrier {
    pub name: String,
    /// Whether it is reached over SMPP. Without (a carrier with only an MMSC) it has no
    /// binds, SMS routes skip it, and the SMPP fields below hold nothing (empty host,
    /// port 0).
    pub smpp: bool,
    pub host: String,
    pub port: u16,
    pub interface_version: InterfaceVersion,
    pub system_id: String,
    pub password: Secret,
    pub system_type: String,
    pub bind_mode: BindMode,
    pub binds: u16,
    pub window: u16,
    pub tps: Option<NonZeroU32>,
    pub bind_tps: Option<NonZeroU32>,
    pub required: bool,
    pub max_pdu_size: u32,
    pub address_range: String,
    pub dest_ton: u8,
    pub dest_npi: u8,
    pub timers: CarrierTimers,
    pub tls: Option<CarrierTls>,
    /// How this carrier's receipt ids relate to its submit_sm_resp ids.
    pub msg_id_format: MsgIdFormat,
    /// What a segment sent and never answered becomes.
    pub unknown_outcome: UnknownOutcome,
    /// This carrier's error codes and what they mean.
    pub error_map: ErrorMap,
    /// How the carrier takes text: plans the MTs sent through it.
    pub text: crate::text::RouteProfile,
    /// The carrier's MMSC (`[carriers.mm7]` mmsc_url and the outbound keys), when it
    /// takes MT MMS.
    pub mmsc: Option<super::mm7::Mmsc>,
    /// What an MT with media does when it cannot go as MMS (unless its sender says).
    pub mms_fallback: super::mm7::MmsFallback,
}

/// What becomes of a segment written to the carrier and never answered (no
/// `submit_sm_resp` before the response timeout, or the bind dropped first): the carrier
/// may or may not have taken it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnknownOutcome {
    /// Send it once more, on another bind when there is one: the handset may get it twice
    /// (at least once).
    #[default]
    Resend,
    /// Fail the message as `unknown_outcome`: the handset gets it once or not at all (at
    /// most once).
    Fail,
}

impl UnknownOutcome {
    /// The name written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resend => "resend",
            Self::Fail => "fail",
        }
    }
}

/// A carrier's timers, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierTimers {
    pub connect_timeout: Duration,
    pub bind_timeout: Duration,
    pub response_timeout: Duration,
    pub enquire_link_interval: Duration,
    pub enquire_link_timeout: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    pub auth_failure_backoff: Duration,
    pub throttle_pause: Duration,
    pub unbind_timeout: Duration,
    /// How long a submit waits for a transmitting bind before it counts as a transient
    /// failure (and the message moves on: retried, or to the fallback route).
    pub bind_wait: Duration,
}

/// A carrier's TLS settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierTls {
    pub ca_file: Option<PathBuf>,
    pub server_name: String,
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

const SECOND: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

/// Validates all carriers; names must be unique.
pub fn validate_carriers(c: &mut Checker, raw: &[RawCarrier]) -> Vec<Carrier> {
    let base = KeyPath::root().key("carriers");
    let mut out: Vec<Carrier> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let path = base.index(i);
        if let Some(first) = raw[..i].iter().position(|o| o.name == r.name) {
            c.error(
                &path.key("name"),
                format!(
                    "duplicate carrier name `{}` (also carriers[{first}])",
                    r.name
                ),
            );
        }
        out.push(validate_carrier(c, &path, r));
    }
    out
}

fn validate_carrier(c: &mut Checker, path: &KeyPath, r: &RawCarrier) -> Carrier {
    let name_ok = !r.name.is_empty()
        && r.name.len() <= 32
        && r.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        c.error(
            &path.key("name"),
            "must be 1 to 32 characters of a-z, 0-9, '-' and '_'",
        );
    }
    let smpp = smpp_keys(c, path, r);
    let host = r.host.clone().unwrap_or_default();
    let system_id = r.system_id.clone().unwrap_or_default();
    if smpp {
        c.text(&path.key("host"), &host, 253);
        if r.port == Some(0) {
            c.error(&path.key("port"), "must be between 1 and 65535");
        }
    }
    let interface_version = match r.interface_version.as_deref() {
        None | Some("3.4") => InterfaceVersion::V34,
        Some("5.0") => InterfaceVersion::V50,
        Some(other) => {
            c.error(
                &path.key("interface_version"),
                format!("`{other}` is not supported; use \"3.4\" or \"5.0\""),
            );
            InterfaceVersion::V34
        }
    };
    // SMPP field maxima include the terminating NUL (REFERENCE §1).
    if smpp {
        c.text(&path.key("system_id"), &system_id, 15);
    }
    let system_type = r.system_type.clone().unwrap_or_default();
    if system_type.len() > 12 {
        c.error(&path.key("system_type"), "must be at most 12 characters");
    }
    let address_range = r.address_range.clone().unwrap_or_default();
    if address_range.len() > 40 {
        c.error(&path.key("address_range"), "must be at most 40 characters");
    }
    let secret = RawSecret {
        inline: r.password.clone(),
        file: r.password_file.clone(),
        env: r.password_env.clone(),
    };
    let password = secret
        .resolve(c, path, "password", smpp)
        .unwrap_or_else(|| Secret::new(""));
    if password.expose().len() > 8 {
        c.error(
            &path.key("password"),
            "must be at most 8 characters (SMPP password field)",
        );
    }
    let binds = c.range(&path.key("binds"), r.binds, 1, 1, 64);
    let window = c.range(&path.key("window"), r.window, 10, 1, 1024);
    let tps = c.range(&path.key("tps"), r.tps, 0, 0, 1_000_000);
    let bind_tps = c.range(&path.key("bind_tps"), r.bind_tps, 0, 0, 1_000_000);
    let max_pdu_size = c.range(
        &path.key("max_pdu_size"),
        r.max_pdu_size,
        65_536,
        64,
        1_048_576,
    );
    let dest_ton = c.range(&path.key("dest_ton"), r.dest_ton, 1, 0, 6);
    let dest_npi = c.range(&path.key("dest_npi"), r.dest_npi, 1, 0, 18);
    let timers = validate_timers(c, &path.key("timers"), &r.timers);
    let tls = r
        .tls
        .as_ref()
        .map(|t| validate_tls(c, &path.key("tls"), t, &host));
    let msg_id_format = match r.msg_id_format.as_deref().map(str::parse::<MsgIdFormat>) {
        None => MsgIdFormat::default(),
        Some(Ok(format)) => format,
        Some(Err(e)) => {
            c.error(&path.key("msg_id_format"), e.to_string());
            MsgIdFormat::default()
        }
    };
    let error_map = validate_error_map(c, &path.key("error_map"), &r.error_map);
    let unknown_outcome = match r.unknown_outcome.as_deref() {
        None | Some("resend") => UnknownOutcome::Resend,
        Some("fail") => UnknownOutcome::Fail,
        Some(other) => {
            c.error(
                &path.key("unknown_outcome"),
                format!("{other:?} is not a choice; use \"resend\" or \"fail\""),
            );
            UnknownOutcome::Resend
        }
    };
    Carrier {
        name: r.name.clone(),
        smpp,
        host,
        port: r.port.unwrap_or(0),
        interface_version,
        system_id,
        password,
        system_type,
        bind_mode: r.bind_mode.unwrap_or(BindMode::Transceiver),
        binds,
        window,
        tps: NonZeroU32::new(tps),
        bind_tps: NonZeroU32::new(bind_tps),
        required: r.required.unwrap_or(true),
        max_pdu_size,
        address_range,
        dest_ton,
        dest_npi,
        timers,
        tls,
        msg_id_format,
        unknown_outcome,
        error_map,
        text: super::route::validate_text(c, path, &r.text),
        mmsc: r
            .mm7
            .as_ref()
            .and_then(|mm7| super::mm7::validate_mmsc(c, path, mm7)),
        mms_fallback: r.mms_fallback.unwrap_or_default(),
    }
}

/// Whether the carrier at `path` is reached over SMPP: `host`, `port` and `system_id`
/// all given. A carrier with none of them must have an MMSC (`[carriers.mm7]
/// mmsc_url`); one with some of them is missing the others.
fn smpp_keys(c: &mut Checker, path: &KeyPath, r: &RawCarrier) -> bool {
    let given = [
        ("host", r.host.is_some()),
        ("port", r.port.is_some()),
        ("system_id", r.system_id.is_some()),
    ];
    if given.iter().all(|(_, g)| *g) {
        return true;
    }
    if given.iter().any(|(_, g)| *g) {
        // Placed at the carrier's table: a key that is not in the file has no line.
        for (key, _) in given.iter().filter(|(_, g)| !*g) {
            c.error(
                path,
                format!("missing `{key}`: an SMPP bind needs host, port and system_id"),
            );
        }
        return false;
    }
    let has_mmsc = r.mm7.as_ref().is_some_and(|m| m.mmsc_url.is_some());
    if !has_mmsc {
        c.error(
            path,
            format!(
                "carrier `{}` is reached by neither SMPP (host, port, system_id) nor MM7 \
                 ([carriers.mm7] mmsc_url)",
                r.name
            ),
        );
    }
    false
}

/// `[carriers.error_map]`: keys are error codes (decimal, or hex with 0x), values
/// reason codes. Two keys for the same code ("17" and "0x11") are refused: which one
/// wins would depend on the order of the table.
fn validate_error_map(c: &mut Checker, path: &KeyPath, raw: &BTreeMap<String, String>) -> ErrorMap {
    let mut map = ErrorMap::new();
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for (key, value) in raw {
        let entry = path.key(key);
        let code = match ErrorMap::parse_key(key) {
            Ok(code) => code,
            Err(e) => {
                c.error(&entry, e.to_string());
                continue;
            }
        };
        if let Some(first) = seen.insert(code, key) {
            c.error(&entry, format!("the same code as `{first}`"));
            continue;
        }
        match parse_delivery_reason(value) {
            Ok(reason) => map.insert(code, reason),
            Err(e) => c.error(&entry, e.to_string()),
        }
    }
    map
}

fn validate_timers(c: &mut Checker, path: &KeyPath, t: &RawCarrierTimers) -> CarrierTimers {
    let mut d = |key: &str, v: &Option<String>, default: u64, lo: Duration, hi: Duration| {
        c.duration(
            &path.key(key),
            v.as_deref(),
            Duration::from_secs(default),
            lo,
            hi,
        )
    };
    let timers = CarrierTimers {
        connect_timeout: d(
            "connect_timeout",
            &t.connect_timeout,
            10,
            100 * MS,
            300 * SECOND,
        ),
        bind_timeout: d("bind_timeout", &t.bind_timeout, 10, 100 * MS, 300 * SECOND),
        response_timeout: d(
            "response_timeout",
            &t.response_timeout,
            30,
            100 * MS,
            600 * SECOND,
        ),
        enquire_link_interval: d(
            "enquire_link_interval",
            &t.enquire_link_interval,
            30,
            SECOND,
            HOUR,
        ),
        enquire_link_timeout: d(
            "enquire_link_timeout",
            &t.enquire_link_timeout,
            10,
            100 * MS,
            600 * SECOND,
        ),
        reconnect_min: d("reconnect_min", &t.reconnect_min, 1, 10 * MS, HOUR),
        reconnect_max: d("reconnect_max", &t.reconnect_max, 60, 10 * MS, 24 * HOUR),
        auth_failure_backoff: d(
            "auth_failure_backoff",
            &t.auth_failure_backoff,
            300,
            SECOND,
            24 * HOUR,
        ),
        throttle_pause: d("throttle_pause", &t.throttle_pause, 1, 10 * MS, HOUR),
        unbind_timeout: d(
            "unbind_timeout",
            &t.unbind_timeout,
            5,
            100 * MS,
            600 * SECOND,
        ),
        bind_wait: d("bind_wait", &t.bind_wait, 10, 10 * MS, HOUR),
    };
    if timers.reconnect_min > timers.reconnect_max {
        c.error(
            &path.key("reconnect_min"),
            "must not be longer than reconnect_max",
        );
    }
    timers
}

fn validate_tls(c: &mut Checker, path: &KeyPath, t: &RawCarrierTls, host: &str) -> CarrierTls {
    for (key, file) in [
        ("ca_file", &t.ca_file),
        ("client_cert_file", &t.client_cert_file),
        ("client_key_file", &t.client_key_file),
    ] {
        if let Some(f) = file
            && let Err(e) = std::fs::metadata(f)
        {
            c.error(&path.key(key), format!("cannot read {}: {e}", f.display()));
        }
    }
    if t.client_cert_file.is_some() != t.client_key_file.is_some() {
        c.error(
            &path.key(if t.client_cert_file.is_some() {
                "client_key_file"
            } else {
                "client_cert_file"
            }),
            "client_cert_file and client_key_file go together",
        );
    }
    CarrierTls {
        ca_file: t.ca_file.clone(),
        server_name: t.server_name.clone().unwrap_or_else(|| host.to_string()),
        client_cert_file: t.client_cert_file.clone(),
        client_key_file: t.client_key_file.clone(),
    }
}
