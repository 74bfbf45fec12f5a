//! The daemon's own sections: `[instance]`, `[log]`, `[api]`, `[admin]`, `[store]`,
//! `[core]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::check::Checker;
use super::connections::{
    Connections, DEFAULT_ADMIN_MAX_CONNECTIONS, DEFAULT_API_MAX_CONNECTIONS, RawConnections,
    validate_connections,
};
use super::error::KeyPath;
use super::secret::{RawSecret, Secret};

const SECOND: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// `[instance]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstance {
    pub name: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub drain_timeout: Option<String>,
}

/// `[instance]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The instance name: the CloudEvents `source` is `smsbridge://<name>`.
    pub name: String,
    /// Where the store and media live; relative paths elsewhere are taken from here.
    pub state_dir: PathBuf,
    /// How long SIGTERM waits for in-flight work before stopping anyway.
    pub drain_timeout: Duration,
}

pub(super) fn validate_instance(c: &mut Checker, r: &RawInstance) -> Instance {
    let path = KeyPath::root().key("instance");
    let name = r.name.clone().unwrap_or_else(|| "smsbridge".into());
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !ok {
        c.error(
            &path.key("name"),
            "must be 1 to 64 characters of letters, digits, '-', '_' and '.'",
        );
    }
    Instance {
        name,
        state_dir: r
            .state_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/var/lib/smsbridge")),
        drain_timeout: c.duration(
            &path.key("drain_timeout"),
            r.drain_timeout.as_deref(),
            30 * SECOND,
            MS,
            HOUR,
        ),
    }
}

/// `[log]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<String>,
    pub format: Option<LogFormat>,
    pub timestamps: Option<bool>,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// A tracing filter: a level (`info`) or directives (`info,smsbridge::smpp=debug`).
    pub level: String,
    pub format: LogFormat,
    /// `None`: timestamps unless running under journald (which stamps lines itself).
    pub timestamps: Option<bool>,
}

pub(super) fn validate_log(c: &mut Checker, r: &RawLog) -> Log {
    let level = r.level.clone().unwrap_or_else(|| "info".into());
    if !is_log_filter(&level) {
        c.error(
            &KeyPath::root().key("log").key("level"),
            format!("`{level}` is not a log filter; use error, warn, info, debug or trace"),
        );
    }
    Log {
        level,
        format: r.format.unwrap_or(LogFormat::Text),
        timestamps: r.timestamps,
    }
}

/// A level (`info`) or tracing directives (`info,smsbridge::smpp=debug`). A bare word
/// that is not a level would silently mean "everything from a target of that name",
/// so it is refused.
fn is_log_filter(text: &str) -> bool {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let level = |l: &str| LEVELS.contains(&l.trim().to_ascii_lowercase().as_str());
    tracing_subscriber::EnvFilter::try_new(text).is_ok()
        && text.split(',').all(|d| match d.rsplit_once('=') {
            Some((_, l)) => level(l),
            None => level(d) || d.contains("::"),
        })
}

/// `[api]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub listen: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
    pub auth: Option<ApiAuth>,
    pub max_body_bytes: Option<usize>,
    pub max_concurrent_requests: Option<usize>,
    pub request_timeout: Option<String>,
    pub header_read_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub max_connections: Option<usize>,
}

/// `[api] auth`: whether the API asks for a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiAuth {
    /// A bearer token (`token`, `token_file` or `token_env`) on every route: the default.
    Bearer,
    /// No token: any process that reaches the listener may call every route. Only on
    /// loopback, for a trial; the daemon warns at start.
    None,
}

/// The shortest token accepted (API and admin): 32 characters, as `openssl rand -hex 16`
/// gives, so a token cannot be guessed by trying.
pub const MIN_TOKEN_CHARS: usize = 32;

/// `[api]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    pub listen: SocketAddr,
    /// The bearer token the core presents; `None` only with `auth = "none"` on loopback.
    pub token: Option<Secret>,
    pub max_body_bytes: usize,
    pub max_concurrent_requests: usize,
    pub request_timeout: Duration,
    /// The listener's header-read and idle timeouts and its connection cap.
    pub connections: Connections,
}

pub(super) fn validate_api(c: &mut Checker, r: &RawApi) -> Api {
    let path = KeyPath::root().key("api");
    let listen = r.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let listen = c
        .socket_addr(&path.key("listen"), listen)
        .unwrap_or_else(|| ([127, 0, 0, 1], 8080).into());
    let token = api_token(c, &path, r, listen);
    Api {
        listen,
        token,
        max_body_bytes: c.range(
            &path.key("max_body_bytes"),
            r.max_body_bytes,
            65_536,
            1_024,
            64 * 1_048_576,
        ),
        max_concurrent_requests: c.range(
            &path.key("max_concurrent_requests"),
            r.max_concurrent_requests,
            1_024,
            1,
            65_536,
        ),
        request_timeout: c.duration(
            &path.key("request_timeout"),
            r.request_timeout.as_deref(),
            10 * SECOND,
            MS,
            600 * SECOND,
        ),
        connections: validate_connections(
            c,
            &path,
            RawConnections {
                header_read_timeout: r.header_read_timeout.as_deref(),
                idle_timeout: r.idle_timeout.as_deref(),
                max_connections: r.max_connections,
            },
            DEFAULT_API_MAX_CONNECTIONS,
        ),
    }
}

/// The API's token, or `None` when the file says `auth = "none"` (refused beyond
/// loopback). Without either, the file is refused: an API anyone on the host can call
/// sends SMS and edits the opt-out list, so leaving it open must be written down.
fn api_token(c: &mut Checker, path: &KeyPath, r: &RawApi, listen: SocketAddr) -> Option<Secret> {
    let raw = RawSecret {
        inline: r.token.clone(),
        file: r.token_file.clone(),
        env: r.token_env.clone(),
    };
    let given = raw.inline.is_some() || raw.file.is_some() || raw.env.is_some();
    match r.auth.unwrap_or(ApiAuth::Bearer) {
        ApiAuth::None if given => {
            c.error(
                &path.key("auth"),
                "`auth = \"none\"` leaves the API without a token, yet a token is given: \
                 remove one or the other",
            );
            None
        }
        ApiAuth::None => {
            if !listen.ip().is_loopback() {
                c.error(
                    &path.key("auth"),
                    format!(
                        "`auth = \"none\"` is only allowed on loopback, and listen is {listen}; \
                         set token_file, token_env or token instead"
                    ),
                );
            }
            None
        }
        ApiAuth::Bearer if !given => {
            c.error(
                &path.key("token"),
                format!(
                    "missing: the API needs a bearer token of at least {MIN_TOKEN_CHARS} \
                     characters; set token_file, token_env or token (e.g. from \
                     `openssl rand -hex 32`), or `auth = \"none\"` for a trial on loopback"
                ),
            );
            None
        }
        ApiAuth::Bearer => strong_token(c, path, &raw),
    }
}

/// Resolves the secret `token` of the table at `path`, refusing one shorter than
/// [`MIN_TOKEN_CHARS`]. The error names the key it came from, never the value.
fn strong_token(c: &mut Checker, path: &KeyPath, raw: &RawSecret) -> Option<Secret> {
    let token = raw.resolve(c, path, "token", true)?;
    if token.expose().chars().count() < MIN_TOKEN_CHARS {
        let key = if raw.file.is_some() {
            "token_file"
        } else if raw.env.is_some() {
            "token_env"
        } else {
            "token"
        };
        c.error(
            &path.key(key),
            format!(
                "the token is too short: it must be at least {MIN_TOKEN_CHARS} characters \
                 (e.g. from `openssl rand -hex 32`)"
            ),
        );
        return None;
    }
    Some(token)
}

/// `[admin]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub listen: Option<String>,
    pub allow_remote: Option<bool>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
    pub header_read_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub max_connections: Option<usize>,
}

/// `[admin]`, validated: the operators' listener (`/metrics`, `/healthz`, `/readyz`, `/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub listen: SocketAddr,
    /// The bearer token `/status` and `/metrics` ask for; required when the listener
    /// reaches beyond loopback. `/healthz` and `/readyz` stay open for probes.
    pub token: Option<Secret>,
    /// The listener's header-read and idle timeouts and its connection cap.
    pub connections: Connections,
}

pub(super) fn validate_admin(c: &mut Checker, r: &RawAdmin) -> Admin {
    let path = KeyPath::root().key("admin");
    let listen = r.listen.as_deref().unwrap_or("127.0.0.1:9090");
    let listen = c
        .socket_addr(&path.key("listen"), listen)
        .unwrap_or_else(|| ([127, 0, 0, 1], 9090).into());
    let raw = RawSecret {
        inline: r.token.clone(),
        file: r.token_file.clone(),
        env: r.token_env.clone(),
    };
    let given = raw.inline.is_some() || raw.file.is_some() || raw.env.is_some();
    let remote = r.allow_remote.unwrap_or(false);
    if !listen.ip().is_loopback() && !remote {
        c.error(
            &path.key("listen"),
            format!(
                "{listen} reaches beyond loopback, and /status and /metrics tell what the \
                 daemon carries; set `allow_remote = true` (with a token) to serve them there"
            ),
        );
    }
    if remote && !given {
        c.error(
            &path.key("token"),
            format!(
                "missing: with allow_remote the admin listener needs a bearer token of at \
                 least {MIN_TOKEN_CHARS} characters for /status and /metrics; set token_file, \
                 token_env or token"
            ),
        );
    }
    let token = if given {
        strong_token(c, &path, &raw)
    } else {
        None
    };
    Admin {
        listen,
        token,
        connections: validate_connections(
            c,
            &path,
            RawConnections {
                header_read_timeout: r.header_read_timeout.as_deref(),
                idle_timeout: r.idle_timeout.as_deref(),
                max_connections: r.max_connections,
            },
            DEFAULT_ADMIN_MAX_CONNECTIONS,
        ),
    }
}

/// `[store]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub backend: Option<StoreBackend>,
    pub path: Option<PathBuf>,
    pub synchronous: Option<Synchronous>,
    pub batch_max: Option<usize>,
    pub retention: Option<String>,
    pub purge_interval: Option<String>,
    pub max_size_bytes: Option<u64>,
    pub unmatched_receipt_ttl: Option<String>,
    pub checkpoint_interval: Option<String>,
    pub commit_delay: Option<String>,
}

/// Which store holds the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    /// One SQLite file under the state directory (embedded default).
    Sqlite,
}

/// SQLite's `synchronous` setting: how hard each group commit pushes to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Synchronous {
    /// fsync the WAL at every commit: nothing acknowledged is lost on power failure.
    Full,
    /// fsync at checkpoints: survives a process crash, not a power failure.
    Normal,
}

/// `[store]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub backend: StoreBackend,
    /// The database file (relative paths are under the state directory).
    pub path: PathBuf,
    pub synchronous: Synchronous,
    /// At most this many requests share one transaction (group commit).
    pub batch_max: usize,
    /// Finished messages older than this are purged.
    pub retention: Duration,
    pub purge_interval: Duration,
    /// The database may grow to this many bytes; beyond, writes are refused (`503
    /// overloaded`, MOs ESME_RX_T_APPN) until space returns. `None`: no limit but the disk.
    pub max_size_bytes: Option<u64>,
    /// A receipt whose message id never appears is dropped (and counted) after this.
    pub unmatched_receipt_ttl: Duration,
    /// How often the WAL is copied back into the database file (beside the writer).
    pub checkpoint_interval: Duration,
    /// How long a small group commit waits for more requests (zero: not at all).
    pub commit_delay: Duration,
}

/// The smallest store limit: the schema alone takes about this much.
pub const MIN_STORE_BYTES: u64 = 256 * 1024;

pub(super) fn validate_store(c: &mut Checker, r: &RawStore, state_dir: &std::path::Path) -> Store {
    let path = KeyPath::root().key("store");
    let file = r
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from("smsbridge.db"));
    Store {
        backend: r.backend.unwrap_or(StoreBackend::Sqlite),
        path: state_dir.join(file),
        synchronous: r.synchronous.unwrap_or(Synchronous::Full),
        batch_max: c.range(&path.key("batch_max"), r.batch_max, 512, 1, 65_536),
        retention: c.duration(
            &path.key("retention"),
            r.retention.as_deref(),
            30 * DAY,
            HOUR,
            3650 * DAY,
        ),
        purge_interval: c.duration(
            &path.key("purge_interval"),
            r.purge_interval.as_deref(),
            HOUR,
            SECOND,
            DAY,
        ),
        max_size_bytes: match r.max_size_bytes {
            None | Some(0) => None,
            Some(n) => Some(c.range(
                &path.key("max_size_bytes"),
                Some(n),
                MIN_STORE_BYTES,
                MIN_STORE_BYTES,
                1 << 50,
            )),
        },
        unmatched_receipt_ttl: c.duration(
            &path.key("unmatched_receipt_ttl"),
            r.unmatched_receipt_ttl.as_deref(),
            3 * DAY,
            SECOND,
            30 * DAY,
        ),
        checkpoint_interval: c.duration(
            &path.key("checkpoint_interval"),
            r.checkpoint_interval.as_deref(),
            Duration::from_millis(200),
            Duration::from_millis(10),
            Duration::from_secs(60),
        ),
        commit_delay: c.duration(
            &path.key("commit_delay"),
            r.commit_delay.as_deref(),
            Duration::from_millis(1),
            Duration::ZERO,
            Duration::from_millis(50),
        ),
    }
}

/// `[core]` as written in the file: where chat events go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCore {
    pub delivery: Option<CoreDelivery>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub secret_env: Option<String>,
    pub event_log: Option<PathBuf>,
    pub timeout: Option<String>,
    pub retry_min: Option<String>,
    pub retry_max: Option<String>,
    pub batch_max: Option<usize>,
    pub batch: Option<bool>,
    pub concurrency: Option<usize>,
    pub max_age: Option<String>,
    pub poll_interval: Option<String>,
}

/// Where the log connector writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventLog {
    /// Standard output (`event_log = "-"`).
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

/// How chat events reach the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoreDelivery {
    /// HTTPS POST of CloudEvents to `url`, signed with `secret`.
    Webhook,
    /// Append CloudEvents as JSON lines to `event_log` (demos, tailing by hand).
    Log,
}

/// `[core]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Core {
    pub delivery: CoreDelivery,
    pub url: Option<String>,
    /// HMAC key for the webhook signature.
    pub secret: Option<Secret>,
    /// The event log (a relative file is under the state directory).
    pub event_log: EventLog,
    /// Per webhook request.
    pub timeout: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Events per delivery at most (webhook batches, log writes).
    pub batch_max: usize,
    /// Webhook: send `application/cloudevents-batch+json` arrays instead of one event
    /// per request.
    pub batch: bool,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// An event not delivered within this age goes to the dead letters.
    pub max_age: Duration,
    /// How often the outbox is read when nothing signals new events.
    pub poll_interval: Duration,
}

pub(super) fn validate_core(c: &mut Checker, r: &RawCore, state_dir: &std::path::Path) -> Core {
    let path = KeyPath::root().key("core");
    let delivery = r.delivery.unwrap_or(CoreDelivery::Log);
    let secret = RawSecret {
        inline: r.secret.clone(),
        file: r.secret_file.clone(),
        env: r.secret_env.clone(),
    }
    .resolve(c, &path, "secret", delivery == CoreDelivery::Webhook);
    if delivery == CoreDelivery::Webhook {
        match r.url.as_deref() {
            None => c.error(&path.key("url"), "missing: webhook delivery needs a url"),
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                c.error(&path.key("url"), format!("`{u}` is not an http(s) URL"))
            }
            Some(_) => {}
        }
    }
    let retry_min = c.duration(
        &path.key("retry_min"),
        r.retry_min.as_deref(),
        SECOND,
        MS,
        HOUR,
    );
    let retry_max = c.duration(
        &path.key("retry_max"),
        r.retry_max.as_deref(),
        300 * SECOND,
        MS,
        DAY,
    );
    if retry_min > retry_max {
        c.error(&path.key("retry_min"), "must not be longer than retry_max");
    }
    Core {
        delivery,
        url: r.url.clone(),
        secret,
        event_log: match r.event_log.as_deref() {
            Some(p) if p == std::path::Path::new("-") => EventLog::Stdout,
            Some(p) => EventLog::File(state_dir.join(p)),
            None => EventLog::File(state_dir.join("events.jsonl")),
        },
        timeout: c.duration(
            &path.key("timeout"),
            r.timeout.as_deref(),
            10 * SECOND,
            MS,
            600 * SECOND,
        ),
        retry_min,
        retry_max,
        batch_max: c.range(&path.key("batch_max"), r.batch_max, 100, 1, 1_000),
        batch: r.batch.unwrap_or(false),
        concurrency: c.range(&path.key("concurrency"), r.concurrency, 8, 1, 1_024),
        max_age: c.duration(
            &path.key("max_age"),
            r.max_age.as_deref(),
            7 * DAY,
            SECOND,
            365 * DAY,
        ),
        poll_interval: c.duration(
            &path.key("poll_interval"),
            r.poll_interval.as_deref(),
            SECOND,
            10 * MS,
            60 * SECOND,
        ),
    }
}
