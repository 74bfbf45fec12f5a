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

use crate::number::{SenderError, SenderInventory};

pub use carrier::{
    BindMode, Carrier, CarrierTimers, CarrierTls, InterfaceVersion, RawCarrier, RawCarrierTimers,
    RawCarrierTls,
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
    CarrierMm7, DEFAULT_CONTENT_TYPES, IpNet, Mms, MmsTls, RawCarrierMm7, RawMms, RawMmsTls,
};
pub use numbers::{Numbers, RawNumbers, RawShortCodes};
pub use route::RawCarrierText;
pub use secret::{RawSecret, Secret};
pub use sender::{
    Consent, ConsentScope, RawConsent, RawSender, Sender, SenderKind, sender_inventory,
};
pub use service::{
    Admin, Api, Core, CoreDelivery, EventLog, Instance, Log, LogFormat, RawAdmin, RawApi, RawCore,
    RawInstance, RawLog, RawStore, Store, StoreBackend, Synchronous,
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
    Config {
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
    }
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

/// Deserialises any TOML file into `T` with errors that name the file, line, column and
/// key path. Other file formats of the project (the simulator's) use this too.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigErrors> {
    let locator = Locator::new(path, text);
    let de = toml::Deserializer::parse(text).map_err(|e| {
        ConfigErrors(vec![locator.at_span(
            e.span(),
            String::new(),
            e.message().trim().to_string(),
        )])
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = match e.path().to_string() {
            p if p == "." => String::new(),
            p => p,
        };
        let inner = e.into_inner();
        ConfigErrors(vec![locator.at_span(
            inner.span(),
            key,
            plain_message(inner.message()),
        )])
    })
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
