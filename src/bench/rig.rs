//! The rig: a temporary state directory, the simulator and the gateway as child
//! processes on generated configs, the webhook receiver, and a sampler that follows the
//! counters (simulator stats file, receiver) to time when each stopped moving.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::procs::{self, ChildProc, ProcSample};
use super::receiver::{Receiver, Tally};
use super::report::{EventCounts, ProcCost, Rate, RssSample};
use super::{BenchError, RigArgs};

/// The business number every message goes from (MT) or to (MO).
pub const SENDER: &str = "+18005550100";

/// The API token the gateway under load is configured with and the clients present:
/// measured with the bearer check every deployment runs.
pub const API_TOKEN: &str = "bench-api-token-0123456789abcdefghij";
/// The first contact; the others follow it (+14152000001, …). NANP numbers in an
/// exchange that the number plan takes as valid mobile-or-landline.
pub const FIRST_CONTACT: u64 = 14_152_000_000;

/// How long a child may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the sampler reads the counters (and the simulator writes its stats file).
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// Samples taken after the sampler is told to finish.
const FINAL_SAMPLES: u32 = 3;

/// The contact numbered `n` (mod `contacts`), in E.164 without the `+`.
pub fn contact(n: u64, contacts: u32) -> u64 {
    FIRST_CONTACT + n % u64::from(contacts.max(1))
}

/// The running rig.
pub struct Rig {
    dir: tempfile::TempDir,
    keep: bool,
    simulator: ChildProc,
    gateway: ChildProc,
    pub api: SocketAddr,
    pub receiver: Receiver,
    cancel: CancellationToken,
    ticks: f64,
    stats_file: PathBuf,
}

/// The simulator's config: a free port, stats every sample, receipts at once, plus
/// `extra` (whole tables, e.g. `[mo]`).
fn simulator_toml(dir: &Path, window: u32, extra: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
window = {window}
max_connections = 1024
stats_file = "{stats}"
stats_interval = "{every}ms"

[receipts]
delay = "0s"
delivered = 100
{extra}
"#,
        stats = dir.join("simulator-stats.json").display(),
        every = SAMPLE_EVERY.as_millis(),
    )
}

/// The gateway's config: durable store with its default durability, webhook to the
/// receiver, one carrier (the simulator), one sender. Receipt ids are matched exactly,
/// as the simulator writes them: under load a receipt can overtake the write that
/// records its submit id, and "auto" would then try the id's other readings (hex as
/// decimal) and could match another message's segment.
fn gateway_toml(dir: &Path, args: &RigArgs, simulator: SocketAddr, receiver: SocketAddr) -> String {
    format!(
        r#"[instance]
name = "bench"
state_dir = "{state}"
drain_timeout = "5s"

[log]
level = "info"
format = "json"

[api]
listen = "127.0.0.1:0"
token = "{token}"
max_concurrent_requests = 4096
max_connections = 4096

[admin]
listen = "127.0.0.1:0"

[core]
delivery = "webhook"
url = "http://{receiver}/events"
secret = "bench-webhook-secret"
batch = {batch}
concurrency = 64

[messages]
in_flight = {in_flight}

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = {port}
system_id = "bench"
password = "bench"
binds = {binds}
window = {window}
msg_id_format = "exact"

[[senders]]
number = "{SENDER}"
kind = "toll_free"
routes = ["sim"]

{extra}
"#,
        extra = args.gateway_toml.as_deref().unwrap_or_default(),
        state = dir.display(),
        token = API_TOKEN,
        batch = !args.no_batch,
        in_flight = args.in_flight,
        port = simulator.port(),
        binds = args.binds,
        window = args.window,
    )
}

/// Waits on a blocking thread for a child's line that `pick` recognises.
async fn wait_line<T: Send + 'static>(
    mut child: ChildProc,
    pick: impl FnMut(&str) -> Option<T> + Send + 'static,
) -> Result<(ChildProc, T), BenchError> {
    tokio::task::spawn_blocking(move || {
        let found = child.wait_line(START_TIMEOUT, pick)?;
        Ok((child, found))
    })
    .await
    .map_err(|e| BenchError::NotReady {
        what: "the rig",
        detail: e.to_string(),
    })?
}

/// The `api` and `admin` addresses of the gateway's "smsbridge is ready" JSON log line.
fn ready_line(line: &str) -> Option<(SocketAddr, SocketAddr)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let fields = if v.get("fields").is_some() {
        &v["fields"]
    } else {
        &v
    };
    if fields["message"] != "smsbridge is ready" {
        return None;
    }
    let api = fields["api"].as_str()?.parse().ok()?;
    let admin = fields["admin"].as_str()?.parse().ok()?;
    Some((api, admin))
}

impl Rig {
    /// Starts the receiver, the simulator (with `simulator_extra` in its config) and the
    /// gateway; returns once the gateway is bound to the simulator.
    pub async fn start(args: &RigArgs, simulator_extra: &str) -> Result<Self, BenchError> {
        let exe = super::executable()?;
        let dir = tempfile::Builder::new()
            .prefix("smsbridge-bench-")
            .tempdir()
            .map_err(BenchError::Prepare)?;
        let cancel = CancellationToken::new();
        let receiver = Receiver::start(cancel.clone()).await?;

        let sim_config = dir.path().join("simulator.toml");
        std::fs::write(
            &sim_config,
            simulator_toml(dir.path(), args.window, simulator_extra),
        )
        .map_err(BenchError::Prepare)?;
        let simulator = ChildProc::spawn(
            "the simulator",
            &exe,
            &["sim", "--quiet", "--config", &sim_config.to_string_lossy()],
            true,
        )?;
        let (simulator, sim_addr) = wait_line(simulator, |line| {
            line.strip_prefix("carrier simulator listening on ")
                .and_then(|a| a.trim().parse::<SocketAddr>().ok())
        })
        .await?;

        let config = dir.path().join("smsbridge.toml");
        std::fs::write(
            &config,
            gateway_toml(dir.path(), args, sim_addr, receiver.addr),
        )
        .map_err(BenchError::Prepare)?;
        let gateway = ChildProc::spawn(
            "the gateway",
            &exe,
            &["run", "--config", &config.to_string_lossy()],
            false,
        )?;
        let (gateway, (api, admin)) = wait_line(gateway, ready_line).await?;
        wait_ready(admin).await?;
        if args.keep {
            eprintln!("bench state directory: {}", dir.path().display());
        }
        Ok(Self {
            stats_file: dir.path().join("simulator-stats.json"),
            dir,
            keep: args.keep,
            simulator,
            gateway,
            api,
            receiver,
            cancel,
            ticks: procs::ticks_per_second(),
        })
    }

    /// The shared tally of the receiver.
    pub fn tally(&self) -> Arc<Tally> {
        self.receiver.tally.clone()
    }

    /// Starts following the counters, from `start`; RSS sampled every `rss_every`.
    pub fn sample(&self, start: Instant, rss_every: Option<Duration>) -> Sampler {
        let cancel = self.cancel.child_token();
        let task = tokio::spawn(follow(
            start,
            self.stats_file.clone(),
            self.tally(),
            self.gateway.pid(),
            self.ticks,
            rss_every,
            cancel.clone(),
        ));
        Sampler { cancel, task }
    }

    /// The costs of the gateway, the simulator and this process so far.
    pub fn costs(&self) -> (ProcCost, ProcCost, ProcCost) {
        let cost = |pid| {
            procs::sample(pid, self.ticks)
                .map(|s: ProcSample| ProcCost {
                    cpu_seconds: s.cpu_seconds,
                    peak_rss_mb: s.peak_rss_bytes as f64 / 1e6,
                })
                .unwrap_or_default()
        };
        (
            cost(Some(self.gateway.pid())),
            cost(Some(self.simulator.pid())),
            cost(None),
        )
    }

    /// Stops the gateway, then the simulator and the receiver; removes the state
    /// directory unless asked to keep it.
    pub async fn stop(self) {
        let Rig {
            dir,
            keep,
            simulator,
            gateway,
            cancel,
            ..
        } = self;
        let _ = tokio::task::spawn_blocking(move || {
            gateway.stop();
            simulator.stop();
        })
        .await;
        cancel.cancel();
        if keep {
            let _ = dir.keep();
        }
    }
}

/// Polls the gateway's `/readyz` until it answers 200 (the store is open and the carrier
/// bound): the only signal the gateway gives of its binds.
async fn wait_ready(admin: SocketAddr) -> Result<(), BenchError> {
    let client = reqwest::Client::new();
    let url = format!("http://{admin}/readyz");
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    loop {
        poll.tick().await;
        if let Ok(r) = client.get(&url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(BenchError::NotReady {
                what: "the gateway's carrier bind",
                detail: format!("{url} never answered 200"),
            });
        }
    }
}

/// A counter as followed: its last value and when it last changed.
#[derive(Debug, Clone, Copy, Default)]
struct Followed {
    value: u64,
    changed_at: Duration,
}

impl Followed {
    fn update(&mut self, value: u64, at: Duration) {
        if value != self.value {
            self.value = value;
            self.changed_at = at;
        }
    }

    /// The final value over the time it took to reach it.
    fn rate(&self) -> Rate {
        Rate {
            total: self.value,
            per_second: per_second(self.value, self.changed_at),
        }
    }
}

/// `n` over `d`, 0 when `d` is zero.
pub fn per_second(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

/// The rates the sampler saw, and the gateway's RSS samples.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub submits: Rate,
    pub receipts: Rate,
    pub mo_parts: Rate,
    pub events: Rate,
    pub received: Rate,
    /// Receipts dropped and deliveries refused at the simulator.
    pub simulator_lost: u64,
    pub rss: Vec<RssSample>,
}

/// The running sampler.
pub struct Sampler {
    cancel: CancellationToken,
    task: JoinHandle<Progress>,
}

impl Sampler {
    /// Stops sampling (after one last sample) and returns the rates.
    pub async fn finish(self) -> Progress {
        self.cancel.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// A counter of the simulator's stats file.
fn stat(stats: &Value, key: &str) -> u64 {
    stats[key].as_u64().unwrap_or(0)
}

async fn follow(
    start: Instant,
    stats_file: PathBuf,
    tally: Arc<Tally>,
    gateway: u32,
    ticks: f64,
    rss_every: Option<Duration>,
    cancel: CancellationToken,
) -> Progress {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    let [
        mut submits,
        mut receipts,
        mut mo_parts,
        mut events,
        mut received,
    ] = [Followed::default(); 5];
    let mut rss = Vec::new();
    let mut simulator_lost = 0;
    let mut next_rss = Duration::ZERO;
    // After the cancel, samples go on for a few more ticks: the simulator's stats file
    // may still be one interval behind.
    let mut left_after_cancel = None::<u32>;
    while left_after_cancel != Some(0) {
        tokio::select! {
            _ = tick.tick() => {}
            () = cancel.cancelled(), if left_after_cancel.is_none() => {
                left_after_cancel = Some(FINAL_SAMPLES);
                continue;
            }
        }
        if let Some(left) = &mut left_after_cancel {
            *left -= 1;
        }
        let at = start.elapsed();
        let stats: Value = std::fs::read(&stats_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        if !stats.is_null() {
            submits.update(stat(&stats, "submits"), at);
            receipts.update(stat(&stats, "receipts_acked"), at);
            mo_parts.update(stat(&stats, "mo_acked"), at);
            simulator_lost = stat(&stats, "receipts_dropped") + stat(&stats, "deliveries_failed");
        }
        let counts = &tally.counts;
        events.update(counts.events.load(Ordering::Relaxed), at);
        received.update(counts.received.load(Ordering::Relaxed), at);
        if let Some(every) = rss_every
            && at >= next_rss
            && let Some(s) = procs::sample(Some(gateway), ticks)
        {
            rss.push(RssSample {
                at_s: at.as_secs_f64(),
                rss_mb: s.rss_bytes as f64 / 1e6,
            });
            next_rss = at + every;
        }
    }
    Progress {
        submits: submits.rate(),
        receipts: receipts.rate(),
        mo_parts: mo_parts.rate(),
        events: events.rate(),
        received: received.rate(),
        simulator_lost,
        rss,
    }
}

/// The receiver's counts as reported.
pub fn event_counts(tally: &Tally) -> EventCounts {
    let c = &tally.counts;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    EventCounts {
        requests: get(&c.requests),
        total: get(&c.events),
        conversations_started: get(&c.conversations),
        received: get(&c.received),
        accepted: get(&c.accepted),
        sent: get(&c.sent),
        delivered: get(&c.delivered),
        failed: get(&c.failed),
        other: get(&c.other),
        unreadable: get(&c.unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_gives_both_addresses() {
        let line = r#"{"timestamp":"x","level":"INFO","fields":{"message":"smsbridge is ready","api":"127.0.0.1:4000","admin":"127.0.0.1:4001"}}"#;
        let (api, admin) = ready_line(line).unwrap();
        assert_eq!(api.port(), 4000);
        assert_eq!(admin.port(), 4001);
        assert_eq!(ready_line(r#"{"fields":{"message":"bound"}}"#), None);
        assert_eq!(ready_line("not json"), None);
    }

    #[test]
    fn a_rate_counts_up_to_the_last_change() {
        let mut f = Followed::default();
        f.update(10, Duration::from_secs(1));
        f.update(20, Duration::from_secs(2));
        f.update(20, Duration::from_secs(3));
        assert_eq!(f.rate().total, 20);
        assert!((f.rate().per_second - 10.0).abs() < 1e-9);
    }

    #[test]
    fn contacts_cycle() {
        assert_eq!(contact(0, 3), 14_152_000_000);
        assert_eq!(contact(4, 3), 14_152_000_001);
    }
}
