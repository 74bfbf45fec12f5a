//! Configuration: the TOML file format and the validated [`Config`] the daemon runs on.
//!
//! Two layers. The raw layer is plain serde structs with `deny_unknown_fields`, so a
//! misspelt key is an error, never silently ignored. [`Config::from_toml`] then checks
//! every value (ranges, durations written as "30s", secrets from a file or the
//! environment, references between sections) and produces validated types. Every error
//! names the file, line, column and key path:
//!
//! ```text
//! config/smsbridge.toml:42:9: carriers[1].window: must be between 1 and 1024
//! ```
//!
//! A file with errors is refused whole; nothing falls back to defaults on an error.

mod carrier;
mod check;
mod connections;
mod error;
mod messages;
mod mm7;
mod mms;
pub mod mmsc_sim;
mod numbers;
mod route;
mod secret;
mod sender;
mod service;
pub mod simulator;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use crate::consent::ConsentPolicy;
use crate::number::{SenderError, SenderInventory};

pub use carrier::{
    BindMode, Carrier, CarrierTimers, CarrierTls, InterfaceVersion, RawCarrier, RawCarrierTimers,
    RawCarrierTls, UnknownOutcome,
};
pub use check::Checker;
pub use connections::{
    Connections, DEFAULT_ADMIN_MAX_CONNECTIONS, DEFAULT_API_MAX_CONNECTIONS,
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MM7_MAX_CONNECTIONS,
};
pub use error::{ConfigError, ConfigErrors, KeyPath, Locator};
pub use messages::{Messages, RawMessages};
pub use mm7::{Mm7Version, MmsFallback, Mmsc};
pub use mms::{
    CarrierMm7, DEFAULT_CONTENT_TYPES, FetchAllow, IpNet, Mms, MmsTls, RawCarrierMm7, RawMms,
    RawMmsTls,
};
pub use numbers::{Numbers, RawNumbers, RawShortCodes};
pub use route::RawCarrierText;
pub use secret::{RawSecret, Secret};
pub use sender::{
    Consent, ConsentScope, RawConsent, RawSender, Sender, SenderKind, sender_inventory,
};
pub use service::{
    Admin, Api, ApiAuth, Core, CoreDelivery, EventLog, Instance, Log, LogFormat, MIN_TOKEN_CHARS,
    RawAdmin, RawApi, RawCore, RawInstance, RawLog, RawStore, Store, StoreBackend, Synchronous,
};

/// The whole file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub instance: RawInstance,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub core: RawCore,
    #[serde(default)]
    pub carriers: Vec<RawCarrier>,
    #[serde(default)]
    pub senders: Vec<RawSender>,
    #[serde(default)]
    pub consent: RawConsent,
    #[serde(default)]
    pub numbers: RawNumbers,
    #[serde(default)]
    pub mms: RawMms,
    #[serde(default)]
    pub messages: RawMessages,
    /// An embedded carrier simulator (demos and tests).
    #[serde(default)]
    pub simulator: Option<simulator::RawSimulator>,
}

/// The validated configuration the daemon runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this came from.
    pub source: PathBuf,
    pub instance: Instance,
    pub log: Log,
    pub api: Api,
    pub admin: Admin,
    pub store: Store,
    pub core: Core,
    pub carriers: Vec<Carrier>,
    pub senders: Vec<Sender>,
    pub consent: Consent,
    pub numbers: Numbers,
    pub mms: Mms,
    /// Timers and bounds of the message flows.
    pub messages: Messages,
    /// The embedded carrier simulator, when the file asks for one.
    pub simulator: Option<simulator::SimulatorConfig>,
    /// The sender inventory, built once on first use.
    inventory: InventoryOnce,
    /// `consent` with the senders' own keywords and replies over it, built when the
    /// file is validated.
    consent_policy: PolicyOf,
}

/// The consent policy a config was validated with. Each loaded config carries its own,
/// so the flows, reading the config in force, read the keywords and replies of the
/// file last loaded (a reload included).
#[derive(Clone, Default)]
struct PolicyOf(Arc<ConsentPolicy>);

impl PartialEq for PolicyOf {
    /// Derived from `consent` and `senders`, which the comparison of configs already
    /// covers.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for PolicyOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PolicyOf")
    }
}

/// The sender inventory built from `senders` the first time it is asked for: every
/// MT, MO and segment count looks senders up, and building it parses every number.
/// A config is not changed after it is loaded (a reload builds a new one), so the
/// inventory stays true.
#[derive(Clone, Default)]
struct InventoryOnce(std::sync::OnceLock<Result<Arc<SenderInventory>, SenderError>>);

impl PartialEq for InventoryOnce {
    /// Derived from `senders`, which the comparison of configs already covers.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for InventoryOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InventoryOnce")
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors::whole_file(path, format!("cannot read: {e}")))?;
        Config::from_toml(path, &text)
    }

    /// Validates `text`, read from `path` (the path only names the file in errors and
    /// resolves nothing).
    pub fn from_toml(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let raw: RawConfig = parse_toml(path, text)?;
        let mut c = Checker::new();
        let config = validate(&mut c, path, &raw);
        if c.is_ok() {
            return Ok(config);
        }
        let locator = Locator::new(path, text);
        let mut errors: Vec<ConfigError> = c
            .into_errors()
            .into_iter()
            .map(|(key, message)| locator.at_path(&key, message))
            .collect();
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(errors))
    }

    /// The senders as the numbers module looks them up.
    pub fn sender_inventory(&self) -> Result<Arc<SenderInventory>, SenderError> {
        self.inventory
            .0
            .get_or_init(|| sender_inventory(&self.senders).map(Arc::new))
            .clone()
    }

    /// The consent keywords, replies and scope in force for every sender.
    pub fn consent_policy(&self) -> &ConsentPolicy {
        &self.consent_policy.0
    }

    /// The carrier named `name`.
    pub fn carrier(&self, name: &str) -> Option<&Carrier> {
        self.carriers.iter().find(|c| c.name == name)
    }
}

fn validate(c: &mut Checker, path: &Path, raw: &RawConfig) -> Config {
    let instance = service::validate_instance(c, &raw.instance);
    let carriers = carrier::validate_carriers(c, &raw.carriers);
    let names: Vec<&str> = carriers.iter().map(|c| c.name.as_str()).collect();
    let senders = sender::validate_senders(c, &raw.senders, &names);
    let api = service::validate_api(c, &raw.api);
    let mut mms = mms::validate_mms(c, &raw.mms, &instance.state_dir);
    mms::check_fetch_within_request(c, &mms, api.request_timeout);
    for (i, carrier) in raw.carriers.iter().enumerate() {
        if let Some(mm7) = &carrier.mm7 {
            let path = KeyPath::root().key("carriers").index(i).key("mm7");
            mms.carriers
                .push(mms::validate_carrier_mm7(c, &path, &carrier.name, mm7));
        }
    }
    let mut config = Config {
        source: path.to_path_buf(),
        log: service::validate_log(c, &raw.log),
        api,
        admin: service::validate_admin(c, &raw.admin),
        store: service::validate_store(c, &raw.store, &instance.state_dir),
        core: service::validate_core(c, &raw.core, &instance.state_dir),
        consent: sender::validate_consent(c, &raw.consent),
        numbers: numbers::validate_numbers(c, &raw.numbers, &names),
        mms,
        messages: messages::validate_messages(c, &raw.messages),
        simulator: validate_simulator(c, raw.simulator.as_ref()),
        instance,
        carriers,
        senders,
        inventory: InventoryOnce::default(),
        consent_policy: PolicyOf::default(),
    };
    let inventory = config.sender_inventory().ok();
    let policy = sender::consent_policy(c, &config.consent, &config.senders, inventory.as_deref());
    config.consent_policy = PolicyOf(Arc::new(policy));
    config
}

fn validate_simulator(
    c: &mut Checker,
    raw: Option<&simulator::RawSimulator>,
) -> Option<simulator::SimulatorConfig> {
    match simulator::SimulatorConfig::try_from(raw?.clone()) {
        Ok(sim) => Some(sim),
        Err(e) => {
            c.error(&e.key_path(&KeyPath::root().key("simulator")), e.reason);
            None
        }
    }
}

/// Type errors reported from one file at most: each is found by deserialising again
/// without the key at fault.
const MAX_TYPE_ERRORS: usize = 64;

/// Stand-ins for a missing key, tried in turn until one has the type the key needs, so
/// the rest of its table is still checked.
const STAND_INS: [&str; 5] = ["\"\"", "0", "false", "{}", "[]"];

/// Deserialises any TOML file into `T` with errors that name the file, line, column and
/// key path. Other file formats of the project (the simulator's) use this too.
///
/// Every problem is reported, not the first: every syntax error the parser recovers
/// from (a duplicate key named), or else every type error, each found by deserialising
/// again without the key at fault (a missing key gets a stand-in). A missing key is
/// placed at its table.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigErrors> {
    let locator = Locator::new(path, text);
    let (mut root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let mut errors: Vec<ConfigError> = syntax
            .iter()
            .map(|e| syntax_error(&locator, text, e))
            .collect();
        errors.sort_by_key(|e| (e.line, e.column));
        errors.dedup();
        return Err(ConfigErrors(errors));
    }
    let mut errors: Vec<ConfigError> = Vec::new();
    // Missing keys given a stand-in: (table path, key, the stand-in tried next).
    let mut stand_ins: Vec<(Vec<Segment>, String, usize)> = Vec::new();
    // Keys taken out for a wrong value: (table path, key). Missing now, but not a
    // second mistake.
    let mut removed: Vec<(Vec<Segment>, String)> = Vec::new();
    for _ in 0..MAX_TYPE_ERRORS + STAND_INS.len() * 4 {
        let de = toml::Deserializer::from(root.clone());
        let e = match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => break,
            Err(e) => e,
        };
        let segments: Vec<Segment> = e.path().iter().map(Segment::from).collect();
        // An error in a stand-in: it had the wrong type; try the next one.
        if let Some((table, key, next)) = stand_ins.iter_mut().find(|(table, key, _)| {
            segments.starts_with(&[table.as_slice(), &[Segment::Key(key.clone())]].concat())
        }) {
            let Some(value) = STAND_INS.get(*next) else {
                break;
            };
            *next += 1;
            let (table, key) = (table.clone(), key.clone());
            match table_at(root.get_mut(), &table) {
                Some(t) => insert(t, &key, value),
                None => break,
            }
            continue;
        }
        let inner = e.into_inner();
        let message = plain_message(inner.message());
        let missing = missing_field(&message);
        let consequence = missing
            .as_ref()
            .is_some_and(|field| removed.contains(&(segments.clone(), field.clone())));
        if !consequence {
            let key = key_path_of(&segments);
            errors.push(match inner.span() {
                Some(span) => locator.at_span(Some(span), key.to_string(), message.clone()),
                None => locator.at_path(&key, message.clone()),
            });
        }
        if errors.len() >= MAX_TYPE_ERRORS {
            break;
        }
        // Look again past this mistake: a missing key gets a stand-in, a wrong one is
        // taken out.
        let fixed = match missing {
            Some(field) => table_at(root.get_mut(), &segments).map(|t| {
                insert(t, &field, STAND_INS[0]);
                stand_ins.push((segments.clone(), field, 1));
            }),
            None => segments.split_last().and_then(|(last, parents)| {
                let Segment::Key(key) = last else {
                    return None;
                };
                table_at(root.get_mut(), parents)?.remove(key.as_str())?;
                removed.push((parents.to_vec(), key.clone()));
                Some(())
            }),
        };
        if fixed.is_none() {
            break;
        }
    }
    errors.sort_by_key(|e| (e.line, e.column));
    errors.dedup();
    Err(ConfigErrors(errors))
}

/// A syntax error, with a duplicate key named.
fn syntax_error(locator: &Locator<'_>, text: &str, e: &toml::de::Error) -> ConfigError {
    let mut message = e.message().trim().to_string();
    if message == "duplicate key"
        && let Some(key) = e.span().and_then(|s| text.get(s))
    {
        message = format!("duplicate key `{}`: it is already set above", key.trim());
    }
    locator.at_span(e.span(), String::new(), message)
}

/// The field a "missing field `x`" message names.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// One step of a serde path, comparable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    Other,
}

impl From<&serde_path_to_error::Segment> for Segment {
    fn from(s: &serde_path_to_error::Segment) -> Self {
        use serde_path_to_error::Segment as S;
        match s {
            S::Map { key } => Segment::Key(key.clone()),
            S::Seq { index } => Segment::Index(*index),
            S::Enum { variant } => Segment::Key(variant.clone()),
            S::Unknown => Segment::Other,
        }
    }
}

/// A serde path as the key path operators read.
fn key_path_of(segments: &[Segment]) -> KeyPath {
    segments.iter().fold(KeyPath::root(), |path, s| match s {
        Segment::Key(key) => path.key(key),
        Segment::Index(index) => path.index(*index),
        Segment::Other => path,
    })
}

/// The table at `segments` (keys, and indexes into arrays of tables).
fn table_at<'a, 'i>(
    root: &'a mut DeTable<'i>,
    segments: &[Segment],
) -> Option<&'a mut DeTable<'i>> {
    let mut table = root;
    let mut steps = segments.iter().peekable();
    while let Some(step) = steps.next() {
        let Segment::Key(key) = step else {
            return None;
        };
        let mut value = table.get_mut(key.as_str())?.get_mut();
        if let Some(Segment::Index(index)) = steps.peek() {
            let DeValue::Array(items) = value else {
                return None;
            };
            value = items.get_mut(*index)?.get_mut();
            steps.next();
        }
        let DeValue::Table(inner) = value else {
            return None;
        };
        table = inner;
    }
    Some(table)
}

/// Sets `key` in `table` to the TOML value `value` (one of [`STAND_INS`]).
fn insert(table: &mut DeTable<'_>, key: &str, value: &'static str) {
    if let Ok(value) = DeValue::parse(value) {
        let key = toml::Spanned::new(0..0, std::borrow::Cow::Owned(key.to_owned()));
        table.insert(key, value);
    }
}

/// serde names the raw structs in type errors ("expected struct RawCarrier"); operators
/// think in tables.
fn plain_message(message: &str) -> String {
    let message = message.trim();
    match message.find("expected struct Raw") {
        Some(i) => format!("{}expected a table", &message[..i]),
        None => message.to_string(),
    }
}
