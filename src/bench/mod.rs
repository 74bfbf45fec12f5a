//! `smsbridge bench`: end-to-end load against a real gateway, on loopback.
//!
//! The command builds a rig of real processes — the carrier simulator (`smsbridge sim`)
//! and the gateway (`smsbridge run`, durable SQLite store with its default durability,
//! receipts on) — both children of this process started from its own executable, plus a
//! webhook receiver it runs itself as the contact-center core. Then:
//!
//! - `mt` posts single-message `POST /v1/messages` from concurrent keep-alive clients
//!   (closed loop, or paced open loop with `--rate`) and times the API answers and the
//!   `sent` and `delivered` status events that follow;
//! - `mo` lets the simulator send MO as fast as the gateway acknowledges them and times
//!   the `chat.message.received` events.
//!
//! Both report rates, latency percentiles (hdrhistogram), the CPU seconds and peak RSS
//! of the gateway (from `/proc`), and optionally one JSON summary line. Every run is
//! bounded by a message count and a time limit.

mod mo;
mod mt;
mod procs;
mod receiver;
mod report;
mod rig;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub use report::Summary;

/// Why a bench run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The rig's temporary directory or a config file in it could not be written.
    #[error("cannot prepare the rig: {0}")]
    Prepare(#[source] std::io::Error),
    /// A child process (simulator or gateway) could not be started.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// Which process.
        what: &'static str,
        /// The error from the OS.
        source: std::io::Error,
    },
    /// A child process exited or stayed silent before it said it was ready.
    #[error("{what} did not become ready: {detail}")]
    NotReady {
        /// Which process.
        what: &'static str,
        /// What was seen instead.
        detail: String,
    },
    /// The webhook receiver could not listen.
    #[error("cannot start the webhook receiver: {0}")]
    Receiver(#[source] std::io::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The gateway refused requests the rig sends (a rig or gateway defect, not load).
    #[error("the gateway refused the bench's request: {0}")]
    Refused(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// `smsbridge bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchKind,
}

/// Which traffic to drive.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchKind {
    /// MT: clients post single-message POST /v1/messages.
    Mt(MtArgs),
    /// MO: the simulator sends MO as fast as the gateway acknowledges.
    Mo(MoArgs),
}

/// Options of every bench run.
#[derive(Debug, Clone, clap::Args)]
pub struct RigArgs {
    /// Messages to send in total.
    #[arg(long, default_value_t = 100_000)]
    pub count: u64,
    /// Stop sending after this long even if `--count` is not reached.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// After sending stops, wait at most this long for the last events.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub drain: Duration,
    /// Distinct contacts the messages go to (or come from).
    #[arg(long, default_value_t = 10_000)]
    pub contacts: u32,
    /// Binds (transceivers) to the simulator.
    #[arg(long, default_value_t = 1)]
    pub binds: u32,
    /// Requests in flight per bind.
    #[arg(long, default_value_t = 64)]
    pub window: u32,
    /// The gateway's `[messages] in_flight`: MTs being submitted at once.
    #[arg(long, default_value_t = 256)]
    pub in_flight: u32,
    /// Send one event per webhook request instead of batches.
    #[arg(long)]
    pub no_batch: bool,
    /// Sample the gateway's RSS this often and report the samples (for soaks).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub rss_every: Option<Duration>,
    /// TOML appended to the gateway's generated config, to measure other settings,
    /// e.g. `--gateway-toml '[store]\ncheckpoint_interval = "1s"'` (a table the
    /// generated config already has cannot be given again).
    #[arg(long, value_name = "TOML")]
    pub gateway_toml: Option<String>,
    /// Keep the rig's state directory (its path is printed) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
    /// Print the summary as one JSON line as well.
    #[arg(long)]
    pub json: bool,
}

/// Options of `bench mt`.
#[derive(Debug, Clone, clap::Args)]
pub struct MtArgs {
    #[command(flatten)]
    pub rig: RigArgs,
    /// Concurrent keep-alive HTTP clients.
    #[arg(long, default_value_t = 64)]
    pub clients: u32,
    /// Pace the requests at this many per second (open loop) instead of sending as fast
    /// as the answers come back; latency then counts from each request's planned time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// The text of every message.
    #[arg(long, default_value = "Your order has shipped and arrives tomorrow.")]
    pub text: String,
}

/// Options of `bench mo`.
#[derive(Debug, Clone, clap::Args)]
pub struct MoArgs {
    #[command(flatten)]
    pub rig: RigArgs,
    /// Parts per MO: 1 (single part) or more (concatenated, UDH with a 16-bit reference).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=9))]
    pub parts: u8,
}

/// Where the gateway's and simulator's executable is: this one.
fn executable() -> Result<PathBuf, BenchError> {
    std::env::current_exe().map_err(|source| BenchError::Spawn {
        what: "the rig (no path to this executable)",
        source,
    })
}

/// Runs `smsbridge bench`: prints the report; exit 0 when the run completed.
pub fn run(args: &BenchArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("smsbridge bench: {}", BenchError::Runtime(e));
            return ExitCode::FAILURE;
        }
    };
    let (result, json) = match &args.what {
        BenchKind::Mt(a) => (runtime.block_on(mt::run(a)), a.rig.json),
        BenchKind::Mo(a) => (runtime.block_on(mo::run(a)), a.rig.json),
    };
    match result {
        Ok(summary) => {
            print!("{}", summary.text());
            if json {
                println!("{}", summary.json_line());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("smsbridge bench: {e}");
            ExitCode::FAILURE
        }
    }
}
