//! The `smsbridge` command: a thin layer over the library that turns errors into exit
//! codes (0 ok, 1 runtime failure, 2 configuration or usage error).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smsbridge::config::Config;

/// mimalloc instead of the C library's allocator: the hot paths allocate many small,
/// short-lived buffers (request bodies, rows, events), and glibc's malloc spent a
/// tenth of the gateway's CPU on them under load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps the process's memory in 4 KiB pages. mimalloc reserves its memory in large
/// aligned regions; where the kernel backs them with transparent huge pages (asked by
/// `madvise`, which the `no_thp` feature leaves out, or by a host set to `always`),
/// every 2 MiB region touched at all is resident whole. That was 24 of the gateway's
/// 90 MB under load, and peak RSS fell from 86-97 MB to 51-52 MB without it at the same
/// rate (BENCHMARKS.md). The flag is the process's and applies to its later page
/// faults, so setting it first thing in `main` covers what the allocator maps.
fn keep_to_small_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        // Only memory is at stake: carry on with the host's setting.
        eprintln!("smsbridge: cannot turn transparent huge pages off: {e}");
    }
}

/// smsbridge: a bridge between SMS/MMS carriers and a contact-center core.
#[derive(Parser)]
#[command(name = "smsbridge", version = smsbridge::VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Run {
        /// The configuration file.
        #[arg(long, short, env = "SMSBRIDGE_CONFIG")]
        config: PathBuf,
    },
    /// Validate a configuration file: exit 0 when valid, else print the errors and exit 2.
    CheckConfig {
        /// The configuration file.
        path: PathBuf,
    },
    /// Load a gateway end to end (simulator, gateway and webhook receiver on loopback).
    Bench(smsbridge::bench::BenchArgs),
    /// Run the carrier simulator (an SMSC for demos, tests and benchmarks).
    Sim(smsbridge::smpp::simulator::cli::SimArgs),
    /// Decode a hex SMPP PDU and print its fields.
    Pdu {
        /// The PDU in hex (spaces allowed).
        hex: String,
    },
    /// Print the version.
    Version,
    /// Parse a phone number and tell whether it can receive SMS, and why.
    Number(smsbridge::number::cli::NumberArgs),
    /// Show how a text is encoded and split into SMS segments.
    Segment(smsbridge::text::SegmentArgs),
}

const EXIT_RUNTIME: u8 = 1;
const EXIT_CONFIG: u8 = 2;

/// How long blocking tasks get to finish once the daemon has stopped.
const RUNTIME_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

fn main() -> ExitCode {
    keep_to_small_pages();
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run(config),
        Command::CheckConfig { path } => check_config(&path),
        Command::Sim(args) => smsbridge::smpp::simulator::cli::run(&args),
        Command::Bench(args) => smsbridge::bench::run(&args),
        Command::Pdu { hex } => match smsbridge::smpp::inspect::describe_hex(&hex) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Version => {
            println!("smsbridge {}", smsbridge::VERSION);
            ExitCode::SUCCESS
        }
        Command::Segment(args) => {
            match smsbridge::text::run_segment(&args, &mut std::io::stdout().lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    // The text itself is refused (too long, empty): a usage error.
                    eprintln!("smsbridge segment: {error}");
                    ExitCode::from(EXIT_CONFIG)
                }
            }
        }
        Command::Number(args) => {
            let policy = match args.config.as_deref().map(Config::load).transpose() {
                Ok(config) => config.map(|c| c.numbers.policy).unwrap_or_default(),
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let out = &mut std::io::stdout().lock();
            match smsbridge::number::cli::run_number_with(&args, &policy, out) {
                Ok(_) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("smsbridge number: {error}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(_) => {
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn run(path: PathBuf) -> ExitCode {
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let log = smsbridge::telemetry::init_tracing(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let result = runtime.block_on(smsbridge::app::run(path, config, log));
    // Dropping the runtime would wait for every blocking task (a store read, an event
    // log write) however long the disk takes; those left end with the process.
    runtime.shutdown_timeout(RUNTIME_STOP_TIMEOUT);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "smsbridge stopped on an error");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}
