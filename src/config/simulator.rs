//! The carrier simulator's configuration: its own TOML file (`smsbridge sim --config`)
//! or the `[simulator]` section of the gateway's file (an embedded simulator for demos).
//!
//! Two layers: [`RawSimulator`] is the file format (serde, unknown keys refused,
//! durations as strings like `"30s"`); [`SimulatorConfig`] is the validated form the
//! simulator runs on. Every key is optional; an empty file is a simulator on
//! 127.0.0.1:2775 that accepts any credentials, acknowledges submits and sends the
//! receipts asked for.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigErrors, KeyPath, Locator, parse_toml};

/// The simulator section as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimulator {
    /// Address to listen on; default 127.0.0.1:2775 (port 0 picks a free port).
    pub listen: Option<String>,
    /// Listen beyond loopback (its own listener and its MMSC's). Off by default: the
    /// simulator takes any bind and forges customers' messages on request.
    pub allow_remote: Option<bool>,
    /// The system_id the simulator names itself with in bind_resp.
    pub system_id: Option<String>,
    /// Accounts allowed to bind; absent = any credentials.
    #[serde(default)]
    pub accounts: Vec<RawAccount>,
    /// Most simultaneous connections.
    pub max_connections: Option<usize>,
    /// Window for deliver_sm sent to each bind.
    pub window: Option<usize>,
    /// Format of the message ids in submit_sm_resp: "hex" or "decimal".
    pub message_id_format: Option<String>,
    /// Print one line of counters per interval on stdout.
    pub print_stats: Option<bool>,
    /// Write the counters as JSON here every interval and on exit.
    pub stats_file: Option<PathBuf>,
    /// The counters' interval; default "1s".
    pub stats_interval: Option<String>,
    /// Delivery receipts.
    #[serde(default)]
    pub receipts: RawReceipts,
    /// Mobile-originated traffic.
    #[serde(default)]
    pub mo: RawMo,
    /// Injected faults.
    #[serde(default)]
    pub faults: RawFaults,
    /// The MMSC side (MM7); absent: no MMSC.
    pub mmsc: Option<super::mmsc_sim::RawMmsc>,
}

/// An account allowed to bind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    /// The ESME's system_id.
    pub system_id: String,
    /// Its password.
    pub password: String,
}

/// `[receipts]`: when receipts go out and with which outcome.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReceipts {
    /// Delay between submit_sm_resp and the receipt; default "0s".
    pub delay: Option<String>,
    /// Relative weight of DELIVRD outcomes; default 100.
    pub delivered: Option<u32>,
    /// Relative weight of UNDELIV outcomes; default 0.
    pub undeliverable: Option<u32>,
    /// Relative weight of EXPIRED outcomes; default 0.
    pub expired: Option<u32>,
    /// Relative weight of REJECTD outcomes; default 0.
    pub rejected: Option<u32>,
    /// Receipts waiting for their delay at most; default 100000.
    pub max_pending: Option<usize>,
    /// How the receipt writes the message id: "same" (default) as in submit_sm_resp,
    /// "decimal", "hex", "hex_upper" or "zero_padded".
    pub id_form: Option<String>,
    /// Keep every receipt until released (the handle's `release_receipts`, SIGUSR1 to
    /// `smsbridge sim`); default false.
    pub hold: Option<bool>,
    /// Order of receipts released together: "submitted" (default) or "reversed".
    pub order: Option<String>,
    /// Send each receipt, and wait for its deliver_sm_resp, before answering the submit;
    /// default false.
    pub before_response: Option<bool>,
    /// Outcome rules, first match wins; a submit no rule matches takes the weights.
    #[serde(default)]
    pub rules: Vec<RawOutcomeRule>,
}

/// `[[receipts.rules]]`: the outcome for submits to some destinations, or some parts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutcomeRule {
    /// Destination prefix (digits; a leading `+` is ignored); absent = every destination.
    pub destination: Option<String>,
    /// Parts of a concatenated message (1-based) it applies to; absent = every part.
    pub segments: Option<Vec<u8>>,
    /// "delivered", "undeliverable", "expired" or "rejected".
    pub outcome: String,
    /// The receipt's `err:` code; default by outcome (000, 001, 002, 003).
    pub err: Option<String>,
}

/// `[mo]`: generated mobile-originated messages.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMo {
    /// Messages per second; default 0 (no generated MO).
    pub rate: Option<f64>,
    /// How many to generate in total; default 0 (unlimited while rate > 0).
    pub count: Option<u64>,
    /// "gsm7" (default) or "ucs2".
    pub encoding: Option<String>,
    /// How long texts are split: "udh8" (default), "udh16" or "sar".
    pub concatenation: Option<String>,
    /// Sender (the subscriber); default "14155550123".
    pub source: Option<String>,
    /// Recipient (the business number); default "18005550100".
    pub destination: Option<String>,
    /// Texts sent in turn; keywords like "STOP" included. Default: a greeting, STOP,
    /// HELP and a text long enough for three parts.
    pub texts: Option<Vec<String>>,
    /// Subscribers sending in turn, numbered up from `source`; default 1.
    pub contacts: Option<u32>,
    /// Append the message's number to each text, so that no two MOs are alike (a
    /// gateway drops a repeated single-part MO as a redelivery); default false.
    pub numbered_texts: Option<bool>,
}

/// `[faults]`: misbehaviour on demand.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    /// Percentage (0..=100) of submits answered ESME_RTHROTTLED.
    pub throttle_percent: Option<u8>,
    /// Percentage (0..=100) of submits answered ESME_RSYSERR (a transient fault).
    pub syserr_percent: Option<u8>,
    /// Delay before each submit_sm_resp; default "0s".
    pub response_delay: Option<String>,
    /// Drop every connection this long after it opens (no unbind); default never.
    pub drop_every: Option<String>,
    /// Refuse every bind with ESME_RBINDFAIL.
    pub refuse_binds: Option<bool>,
    /// Answer every bind with ESME_RALYBND.
    pub already_bound: Option<bool>,
    /// Refuse submits whose destination starts with this prefix (ESME_RINVDSTADR).
    pub reject_prefix: Option<String>,
}

/// Format of generated message ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageIdFormat {
    /// Lower-case hexadecimal.
    Hex,
    /// Decimal digits.
    Decimal,
}

/// How a receipt writes the message id it reports, to test a gateway's matching
/// against the mismatches carriers produce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReceiptIdForm {
    /// Exactly as in submit_sm_resp.
    #[default]
    Same,
    /// The id's number in decimal (a hex submit id becomes decimal in the receipt).
    Decimal,
    /// The id's number in lower-case hexadecimal (a decimal submit id becomes hex).
    Hex,
    /// The id's number in upper-case hexadecimal.
    HexUpper,
    /// The submit_sm_resp id left-padded with zeros to [`ReceiptIdForm::PADDED_WIDTH`].
    ZeroPadded,
}

impl ReceiptIdForm {
    /// Width of a zero-padded id.
    pub const PADDED_WIDTH: usize = 16;

    /// The receipt's id for the message numbered `n`, whose submit_sm_resp id was
    /// `message_id`.
    pub fn render(self, n: u64, message_id: &str) -> String {
        match self {
            Self::Same => message_id.to_string(),
            Self::Decimal => n.to_string(),
            Self::Hex => format!("{n:x}"),
            Self::HexUpper => format!("{n:X}"),
            Self::ZeroPadded => format!("{message_id:0>width$}", width = Self::PADDED_WIDTH),
        }
    }
}

/// Text encoding of generated MO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoEncoding {
    /// GSM 03.38 default alphabet, one septet per octet (data_coding 0).
    Gsm7,
    /// UCS-2 / UTF-16BE (data_coding 8).
    Ucs2,
}

/// How a long MO is split into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concatenation {
    /// UDH with an 8-bit reference (IEI 0x00).
    Udh8,
    /// UDH with a 16-bit reference (IEI 0x08).
    Udh16,
    /// sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs.
    Sar,
}

/// An account allowed to bind.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The ESME's system_id.
    pub system_id: String,
    /// Its password (redacted in `Debug`).
    pub password: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("system_id", &self.system_id)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Receipt outcomes and their weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptMix {
    /// Weight of DELIVRD.
    pub delivered: u32,
    /// Weight of UNDELIV.
    pub undeliverable: u32,
    /// Weight of EXPIRED.
    pub expired: u32,
    /// Weight of REJECTD.
    pub rejected: u32,
}

/// The final outcome a receipt reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// DELIVRD.
    Delivered,
    /// UNDELIV.
    Undeliverable,
    /// EXPIRED.
    Expired,
    /// REJECTD.
    Rejected,
}

impl ReceiptOutcome {
    /// The outcome named in the configuration.
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "delivered" => Some(Self::Delivered),
            "undeliverable" => Some(Self::Undeliverable),
            "expired" => Some(Self::Expired),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// Order of receipts released together from a hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReceiptOrder {
    /// The order their submits arrived in.
    #[default]
    Submitted,
    /// The last submit's receipt first.
    Reversed,
}

/// One outcome rule: submits to `destination…`, parts `segments`, get `outcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRule {
    /// Destination prefix, digits only ("" = every destination).
    pub destination: String,
    /// Parts (1-based) it applies to; empty = every part.
    pub segments: Vec<u8>,
    /// The outcome the receipt reports.
    pub outcome: ReceiptOutcome,
    /// The `err:` code, when not the outcome's default.
    pub err: Option<String>,
}

impl OutcomeRule {
    /// Whether the rule covers part `part` (1-based; 1 for a single-part message) of a
    /// submit to `destination`.
    pub fn covers(&self, destination: &str, part: u8) -> bool {
        destination
            .trim_start_matches('+')
            .starts_with(&self.destination)
            && (self.segments.is_empty() || self.segments.contains(&part))
    }
}

/// Validated `[receipts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptsConfig {
    /// Delay before a receipt is sent.
    pub delay: Duration,
    /// Outcome weights (their sum is > 0).
    pub mix: ReceiptMix,
    /// Receipts waiting at most; beyond this they are dropped and counted.
    pub max_pending: usize,
    /// How receipts write the message id.
    pub id_form: ReceiptIdForm,
    /// Receipts are kept until released.
    pub hold: bool,
    /// Order of receipts released together.
    pub order: ReceiptOrder,
    /// Each receipt goes out (and is answered) before its submit is answered.
    pub before_response: bool,
    /// Outcome rules, first match wins.
    pub rules: Vec<OutcomeRule>,
}

impl ReceiptsConfig {
    /// The first rule covering part `part` of a submit to `destination`.
    pub fn rule_for(&self, destination: &str, part: u8) -> Option<&OutcomeRule> {
        self.rules.iter().find(|r| r.covers(destination, part))
    }
}

/// Validated `[mo]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MoConfig {
    /// Messages per second (0 = none generated; injection still works).
    pub rate: f64,
    /// Total to generate (0 = unlimited).
    pub count: u64,
    /// Text encoding.
    pub encoding: MoEncoding,
    /// Splitting of long texts.
    pub concatenation: Concatenation,
    /// Sender.
    pub source: String,
    /// Recipient.
    pub destination: String,
    /// Texts, in turn.
    pub texts: Vec<String>,
    /// Subscribers sending in turn: `source`, `source` + 1, … (as numbers).
    pub contacts: u32,
    /// Whether each text ends with the message's number.
    pub numbered_texts: bool,
}

/// Validated `[faults]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultsConfig {
    /// Percentage of submits answered ESME_RTHROTTLED.
    pub throttle_percent: u8,
    /// Percentage of submits answered ESME_RSYSERR.
    pub syserr_percent: u8,
    /// Delay before each submit_sm_resp.
    pub response_delay: Duration,
    /// Drop connections this long after they open.
    pub drop_every: Option<Duration>,
    /// Refuse binds with ESME_RBINDFAIL.
    pub refuse_binds: bool,
    /// Answer binds with ESME_RALYBND.
    pub already_bound: bool,
    /// Refuse submits to destinations with this prefix.
    pub reject_prefix: Option<String>,
}

/// The simulator's validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Our system_id in bind_resp.
    pub system_id: String,
    /// Accounts; empty = any credentials.
    pub accounts: Vec<Account>,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Window for deliver_sm per bind.
    pub window: usize,
    /// Message id format.
    pub message_id_format: MessageIdFormat,
    /// Print counters on stdout.
    pub print_stats: bool,
    /// JSON stats file.
    pub stats_file: Option<PathBuf>,
    /// Counter interval.
    pub stats_interval: Duration,
    /// Receipts.
    pub receipts: ReceiptsConfig,
    /// Generated MO.
    pub mo: MoConfig,
    /// Faults.
    pub faults: FaultsConfig,
    /// The MMSC side, when configured.
    pub mmsc: Option<super::mmsc_sim::MmscConfig>,
}

/// A simulator setting that is present but wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct SimulatorConfigError {
    /// The key path (`faults.throttle_percent`).
    pub key: String,
    /// What is wrong with its value.
    pub reason: String,
}

impl SimulatorConfigError {
    /// The key path under `prefix` (`simulator` when embedded in the gateway's file).
    pub fn key_path(&self, prefix: &KeyPath) -> KeyPath {
        self.key
            .split('.')
            .filter(|k| !k.is_empty())
            .fold(prefix.clone(), |path, key| match key.parse::<usize>() {
                Ok(index) => path.index(index),
                Err(_) => path.key(key),
            })
    }
}

impl SimulatorConfig {
    /// Reads and validates a simulator file; errors name the file, line, column and key.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors::whole_file(path, format!("cannot read: {e}")))?;
        Self::from_toml(path, &text)
    }

    /// Validates simulator TOML `text` read from `path`.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self, ConfigErrors> {
        let raw: RawSimulator = parse_toml(path, text)?;
        Self::try_from(raw).map_err(|err| {
            let locator = Locator::new(path, text);
            ConfigErrors(vec![
                locator.at_path(&err.key_path(&KeyPath::root()), err.reason),
            ])
        })
    }
}

fn invalid(key: &str, reason: impl Into<String>) -> SimulatorConfigError {
    SimulatorConfigError {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Refuses a listener beyond loopback unless `allow_remote` says so.
fn local_unless_allowed(
    key: &str,
    listen: SocketAddr,
    allow_remote: bool,
) -> Result<(), SimulatorConfigError> {
    if listen.ip().is_loopback() || allow_remote {
        return Ok(());
    }
    Err(invalid(
        key,
        format!(
            "{listen} reaches beyond loopback, and the simulator takes any bind and forges \
             customers' messages on request; set `allow_remote = true` to listen there"
        ),
    ))
}

fn duration(
    key: &str,
    value: Option<&str>,
    default: Duration,
) -> Result<Duration, SimulatorConfigError> {
    match value {
        None => Ok(default),
        Some(text) => humantime::parse_duration(text)
            .map_err(|err| invalid(key, format!("{text:?} is not a duration ({err})"))),
    }
}

/// Default long MO text: three GSM parts.
const LONG_TEXT: &str = "This is a long message from the carrier simulator. It is longer \
than one SMS segment can carry, so the simulator splits it into several parts with a \
concatenation header, and the gateway has to put the parts back together in order before \
it reaches an agent.";

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self::try_from(RawSimulator::default()).expect("the defaults are valid")
    }
}

impl TryFrom<RawSimulator> for SimulatorConfig {
    type Error = SimulatorConfigError;

    fn try_from(raw: RawSimulator) -> Result<Self, Self::Error> {
        let listen_text = raw.listen.as_deref().unwrap_or("127.0.0.1:2775");
        let listen = listen_text
            .parse()
            .map_err(|_| invalid("listen", format!("{listen_text:?} is not host:port")))?;
        let allow_remote = raw.allow_remote.unwrap_or(false);
        local_unless_allowed("listen", listen, allow_remote)?;
        let system_id = raw.system_id.unwrap_or_else(|| "smsc-sim".to_string());
        if system_id.len() > 15 || !system_id.is_ascii() {
            return Err(invalid("system_id", "at most 15 ASCII characters"));
        }
        let accounts = raw
            .accounts
            .into_iter()
            .map(|a| Account {
                system_id: a.system_id,
                password: a.password,
            })
            .collect();
        let max_connections = raw.max_connections.unwrap_or(64);
        if !(1..=1024).contains(&max_connections) {
            return Err(invalid("max_connections", "must be 1..=1024"));
        }
        let window = raw.window.unwrap_or(64);
        if !(1..=1024).contains(&window) {
            return Err(invalid("window", "must be 1..=1024"));
        }
        let message_id_format = match raw.message_id_format.as_deref() {
            None | Some("hex") => MessageIdFormat::Hex,
            Some("decimal") => MessageIdFormat::Decimal,
            Some(other) => {
                return Err(invalid(
                    "message_id_format",
                    format!("{other:?}: use \"hex\" or \"decimal\""),
                ));
            }
        };
        Ok(Self {
            listen,
            system_id,
            accounts,
            max_connections,
            window,
            message_id_format,
            print_stats: raw.print_stats.unwrap_or(false),
            stats_file: raw.stats_file,
            stats_interval: duration(
                "stats_interval",
                raw.stats_interval.as_deref(),
                Duration::from_secs(1),
            )?,
            receipts: receipts(raw.receipts)?,
            mo: mo(raw.mo)?,
            faults: faults(raw.faults)?,
            mmsc: match raw.mmsc.map(super::mmsc_sim::MmscConfig::try_from) {
                Some(mmsc) => {
                    let mmsc = mmsc?;
                    local_unless_allowed("mmsc.listen", mmsc.listen, allow_remote)?;
                    Some(mmsc)
                }
                None => None,
            },
        })
    }
}

fn receipts(raw: RawReceipts) -> Result<ReceiptsConfig, SimulatorConfigError> {
    let mix = ReceiptMix {
        delivered: raw.delivered.unwrap_or(100),
        undeliverable: raw.undeliverable.unwrap_or(0),
        expired: raw.expired.unwrap_or(0),
        rejected: raw.rejected.unwrap_or(0),
    };
    let total = u64::from(mix.delivered)
        + u64::from(mix.undeliverable)
        + u64::from(mix.expired)
        + u64::from(mix.rejected);
    if total == 0 {
        return Err(invalid("receipts", "the outcome weights add up to 0"));
    }
    let id_form = match raw.id_form.as_deref() {
        None | Some("same") => ReceiptIdForm::Same,
        Some("decimal") => ReceiptIdForm::Decimal,
        Some("hex") => ReceiptIdForm::Hex,
        Some("hex_upper") => ReceiptIdForm::HexUpper,
        Some("zero_padded") => ReceiptIdForm::ZeroPadded,
        Some(other) => {
            return Err(invalid(
                "receipts.id_form",
                format!(
                    "{other:?}: use \"same\", \"decimal\", \"hex\", \"hex_upper\" or \"zero_padded\""
                ),
            ));
        }
    };
    let order = match raw.order.as_deref() {
        None | Some("submitted") => ReceiptOrder::Submitted,
        Some("reversed") => ReceiptOrder::Reversed,
        Some(other) => {
            return Err(invalid(
                "receipts.order",
                format!("{other:?}: use \"submitted\" or \"reversed\""),
            ));
        }
    };
    let hold = raw.hold.unwrap_or(false);
    let before_response = raw.before_response.unwrap_or(false);
    if hold && before_response {
        return Err(invalid(
            "receipts.before_response",
            "cannot be combined with hold: a held receipt would keep its submit unanswered",
        ));
    }
    let rules = raw
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, rule)| outcome_rule(i, rule))
        .collect::<Result<_, _>>()?;
    Ok(ReceiptsConfig {
        delay: duration("receipts.delay", raw.delay.as_deref(), Duration::ZERO)?,
        mix,
        max_pending: raw.max_pending.unwrap_or(100_000).max(1),
        id_form,
        hold,
        order,
        before_response,
        rules,
    })
}

fn outcome_rule(i: usize, raw: RawOutcomeRule) -> Result<OutcomeRule, SimulatorConfigError> {
    let key = |k: &str| format!("receipts.rules.{i}.{k}");
    let outcome = ReceiptOutcome::from_name(&raw.outcome).ok_or_else(|| {
        invalid(
            &key("outcome"),
            format!(
                "{:?}: use \"delivered\", \"undeliverable\", \"expired\" or \"rejected\"",
                raw.outcome
            ),
        )
    })?;
    let destination = raw.destination.unwrap_or_default();
    let destination = destination.trim_start_matches('+');
    if destination.len() > 20 || !destination.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            &key("destination"),
            "a prefix of at most 20 digits",
        ));
    }
    let segments = raw.segments.unwrap_or_default();
    if segments.contains(&0) {
        return Err(invalid(&key("segments"), "parts are numbered from 1"));
    }
    if let Some(err) = &raw.err
        && (err.is_empty() || err.len() > 10 || !err.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(invalid(&key("err"), "1 to 10 ASCII letters or digits"));
    }
    Ok(OutcomeRule {
        destination: destination.to_owned(),
        segments,
        outcome,
        err: raw.err,
    })
}

/// The highest MO rate: beyond what a gateway takes, so a load test asks for "as fast
/// as the gateway acknowledges" (the delivery window then sets the pace).
const MAX_MO_RATE: f64 = 1_000_000.0;

/// The most subscribers an MO generator cycles through.
const MAX_MO_CONTACTS: u32 = 1_000_000;

fn mo(raw: RawMo) -> Result<MoConfig, SimulatorConfigError> {
    let rate = raw.rate.unwrap_or(0.0);
    if !(0.0..=MAX_MO_RATE).contains(&rate) {
        return Err(invalid(
            "mo.rate",
            "must be 0..=1000000 messages per second",
        ));
    }
    let encoding = match raw.encoding.as_deref() {
        None | Some("gsm7") => MoEncoding::Gsm7,
        Some("ucs2") => MoEncoding::Ucs2,
        Some(other) => {
            return Err(invalid(
                "mo.encoding",
                format!("{other:?}: use \"gsm7\" or \"ucs2\""),
            ));
        }
    };
    let concatenation = match raw.concatenation.as_deref() {
        None | Some("udh8") => Concatenation::Udh8,
        Some("udh16") => Concatenation::Udh16,
        Some("sar") => Concatenation::Sar,
        Some(other) => {
            return Err(invalid(
                "mo.concatenation",
                format!("{other:?}: use \"udh8\", \"udh16\" or \"sar\""),
            ));
        }
    };
    let texts = raw.texts.unwrap_or_else(|| {
        vec![
            "Hello from the carrier simulator".to_string(),
            "STOP".to_string(),
            "HELP".to_string(),
            LONG_TEXT.to_string(),
        ]
    });
    if texts.is_empty() || texts.iter().any(String::is_empty) {
        return Err(invalid("mo.texts", "needs at least one non-empty text"));
    }
    let address = |key: &str, value: Option<String>, default: &str| {
        let value = value.unwrap_or_else(|| default.to_string());
        if value.is_empty() || value.len() > 20 || !value.is_ascii() {
            return Err(invalid(key, "1 to 20 ASCII characters"));
        }
        Ok(value)
    };
    let source = address("mo.source", raw.source, "14155550123")?;
    let contacts = raw.contacts.unwrap_or(1);
    if !(1..=MAX_MO_CONTACTS).contains(&contacts) {
        return Err(invalid("mo.contacts", "must be 1..=1000000"));
    }
    if contacts > 1 && source.parse::<u64>().is_err() {
        return Err(invalid(
            "mo.contacts",
            "more than one contact needs a source of digits only",
        ));
    }
    Ok(MoConfig {
        rate,
        count: raw.count.unwrap_or(0),
        encoding,
        concatenation,
        source,
        destination: address("mo.destination", raw.destination, "18005550100")?,
        texts,
        contacts,
        numbered_texts: raw.numbered_texts.unwrap_or(false),
    })
}

fn faults(raw: RawFaults) -> Result<FaultsConfig, SimulatorConfigError> {
    let percent = |key: &str, value: Option<u8>| match value.unwrap_or(0) {
        p @ 0..=100 => Ok(p),
        _ => Err(invalid(key, "must be 0..=100")),
    };
    let throttle_percent = percent("faults.throttle_percent", raw.throttle_percent)?;
    let syserr_percent = percent("faults.syserr_percent", raw.syserr_percent)?;
    let drop_every = match raw.drop_every.as_deref() {
        None => None,
        Some(text) => Some(duration("faults.drop_every", Some(text), Duration::ZERO)?)
            .filter(|d| !d.is_zero()),
    };
    Ok(FaultsConfig {
        throttle_percent,
        syserr_percent,
        response_delay: duration(
            "faults.response_delay",
            raw.response_delay.as_deref(),
            Duration::ZERO,
        )?,
        drop_every,
        refuse_binds: raw.refuse_binds.unwrap_or(false),
        already_bound: raw.already_bound.unwrap_or(false),
        reject_prefix: raw.reject_prefix.filter(|p| !p.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let raw: RawSimulator = toml::from_str("").unwrap();
        let cfg = SimulatorConfig::try_from(raw).unwrap();
        assert_eq!(cfg.listen.port(), 2775);
        assert!(cfg.accounts.is_empty());
        assert_eq!(cfg.receipts.mix.delivered, 100);
        assert_eq!(cfg.mo.rate, 0.0);
    }

    #[test]
    fn full_file_parses() {
        let raw: RawSimulator = toml::from_str(
            r#"
            listen = "127.0.0.1:0"
            message_id_format = "decimal"
            accounts = [{ system_id = "gw", password = "pw" }]
            [receipts]
            delay = "2s"
            delivered = 80
            undeliverable = 20
            [mo]
            rate = 2.5
            count = 10
            encoding = "ucs2"
            concatenation = "sar"
            texts = ["STOP"]
            [faults]
            throttle_percent = 10
            response_delay = "100ms"
            drop_every = "30s"
            "#,
        )
        .unwrap();
        let cfg = SimulatorConfig::try_from(raw).unwrap();
        assert_eq!(cfg.message_id_format, MessageIdFormat::Decimal);
        assert_eq!(cfg.receipts.delay, Duration::from_secs(2));
        assert_eq!(cfg.mo.concatenation, Concatenation::Sar);
        assert_eq!(cfg.faults.drop_every, Some(Duration::from_secs(30)));
    }

    #[test]
    fn file_errors_name_the_line_and_key() {
        let path = Path::new("sim.toml");
        let err = SimulatorConfig::from_toml(
            path,
            "listen = \"127.0.0.1:0\"\n[faults]\nthrottle_percent = 150\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sim.toml:3"), "{err}");
        assert!(err.contains("faults.throttle_percent"), "{err}");
        let err = SimulatorConfig::from_toml(path, "[mo]\nrate = \"fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sim.toml:2"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<RawSimulator>("lisen = \"x\"").is_err());
        let raw: RawSimulator = toml::from_str("[faults]\nthrottle_percent = 101").unwrap();
        let err = SimulatorConfig::try_from(raw).unwrap_err();
        assert_eq!(err.key, "faults.throttle_percent");
        let raw: RawSimulator = toml::from_str("[receipts]\ndelay = \"soon\"").unwrap();
        assert_eq!(
            SimulatorConfig::try_from(raw).unwrap_err().key,
            "receipts.delay"
        );
        let raw: RawSimulator = toml::from_str("[receipts]\nid_form = \"octal\"").unwrap();
        assert_eq!(
            SimulatorConfig::try_from(raw).unwrap_err().key,
            "receipts.id_form"
        );
    }

    #[test]
    fn receipt_id_forms_render_the_mismatches() {
        let raw: RawSimulator = toml::from_str("[receipts]\nid_form = \"hex_upper\"").unwrap();
        let cfg = SimulatorConfig::try_from(raw).unwrap();
        assert_eq!(cfg.receipts.id_form, ReceiptIdForm::HexUpper);
        assert_eq!(ReceiptIdForm::Same.render(6699, "1a2b"), "1a2b");
        assert_eq!(ReceiptIdForm::Decimal.render(6699, "1a2b"), "6699");
        assert_eq!(ReceiptIdForm::HexUpper.render(6699, "6699"), "1A2B");
        assert_eq!(
            ReceiptIdForm::ZeroPadded.render(6699, "1a2b"),
            "0000000000001a2b"
        );
    }

    #[test]
    fn outcome_rules_order_and_hold_parse() {
        let raw: RawSimulator = toml::from_str(
            r#"
            [receipts]
            hold = true
            order = "reversed"
            [[receipts.rules]]
            destination = "+1415555"
            segments = [2]
            outcome = "undeliverable"
            err = "0B"
            [[receipts.rules]]
            destination = "1415"
            outcome = "expired"
            "#,
        )
        .unwrap();
        let cfg = SimulatorConfig::try_from(raw).unwrap().receipts;
        assert!(cfg.hold);
        assert_eq!(cfg.order, ReceiptOrder::Reversed);
        let second_part = cfg.rule_for("+14155550123", 2).unwrap();
        assert_eq!(second_part.outcome, ReceiptOutcome::Undeliverable);
        assert_eq!(second_part.err.as_deref(), Some("0B"));
        assert_eq!(
            cfg.rule_for("14155550123", 1).unwrap().outcome,
            ReceiptOutcome::Expired
        );
        assert!(cfg.rule_for("+442071234567", 2).is_none());
    }

    #[test]
    fn bad_rules_and_hold_with_before_response_are_refused() {
        let key = |text: &str| {
            let raw: RawSimulator = toml::from_str(text).unwrap();
            SimulatorConfig::try_from(raw).unwrap_err().key
        };
        assert_eq!(
            key("[[receipts.rules]]\noutcome = \"lost\""),
            "receipts.rules.0.outcome"
        );
        assert_eq!(
            key(
                "[[receipts.rules]]\noutcome = \"expired\"\n[[receipts.rules]]\noutcome = \"expired\"\nsegments = [0]"
            ),
            "receipts.rules.1.segments"
        );
        assert_eq!(
            key("[[receipts.rules]]\noutcome = \"expired\"\ndestination = \"44x\""),
            "receipts.rules.0.destination"
        );
        assert_eq!(
            key("[receipts]\nhold = true\nbefore_response = true"),
            "receipts.before_response"
        );
        assert_eq!(key("[receipts]\norder = \"random\""), "receipts.order");
        let err = SimulatorConfig::from_toml(
            Path::new("sim.toml"),
            "[[receipts.rules]]\noutcome = \"expired\"\nerr = \"\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sim.toml:3"), "{err}");
    }

    /// The simulator's keys are documented, commented out, at the end of the example
    /// production file; uncommented they must make a valid simulator file.
    #[test]
    fn the_documented_simulator_keys_are_valid() {
        let example = include_str!("../../config/smsbridge.toml");
        let start = example
            .find("# [simulator]\n")
            .expect("a [simulator] block");
        let file: String = example[start..]
            .lines()
            .map(|line| line.strip_prefix('#').unwrap_or(line).trim_start())
            .map(|line| {
                line.replace("[[simulator.", "[[")
                    .replace("[simulator.", "[")
                    .replace("[simulator]", "")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let cfg = SimulatorConfig::from_toml(Path::new("documented.toml"), &file)
            .unwrap_or_else(|e| panic!("{e}\n{file}"));
        assert_eq!(cfg.receipts.rules.len(), 1);
        assert_eq!(cfg.faults.reject_prefix.as_deref(), Some("1999"));
    }
}
