//! `smsbridge sim`: the simulator as a command. Runs until SIGINT/SIGTERM, printing a
//! line of counters per second. SIGUSR1 releases the receipts held by `[receipts] hold`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::config::simulator::{Account, SimulatorConfig};

/// Options of `smsbridge sim`. Flags override the file.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Simulator config file (TOML); defaults for everything when absent.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:2775).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Accept only this system_id (with --password); any credentials otherwise.
    #[arg(long, requires = "password")]
    pub system_id: Option<String>,
    /// The password for --system-id.
    #[arg(long, requires = "system_id", env = "SMSBRIDGE_SIM_PASSWORD")]
    pub password: Option<String>,
    /// Write the counters as JSON to this file every second and on exit.
    #[arg(long)]
    pub stats_file: Option<PathBuf>,
    /// Do not print the per-second counters.
    #[arg(long)]
    pub quiet: bool,
}

/// Exit code for a configuration or usage error.
const EXIT_CONFIG: u8 = 2;
/// Exit code for a runtime failure.
const EXIT_RUNTIME: u8 = 1;

impl SimArgs {
    /// The configuration: the file (if any) with the flags applied.
    pub fn to_config(&self) -> Result<SimulatorConfig, String> {
        let mut cfg = match &self.config {
            Some(path) => SimulatorConfig::load(path).map_err(|e| e.to_string())?,
            None => SimulatorConfig::default(),
        };
        if let Some(listen) = self.listen {
            cfg.listen = listen;
        }
        if let (Some(system_id), Some(password)) = (&self.system_id, &self.password) {
            cfg.accounts = vec![Account {
                system_id: system_id.clone(),
                password: password.clone(),
            }];
        }
        if let Some(path) = &self.stats_file {
            cfg.stats_file = Some(path.clone());
        }
        cfg.print_stats = !self.quiet;
        Ok(cfg)
    }
}

/// Runs `smsbridge sim` to completion.
pub fn run(args: &SimArgs) -> ExitCode {
    let cfg = match args.to_config() {
        Ok(cfg) => cfg,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the runtime: {err}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let handle = match super::start(cfg, cancel.clone()).await {
            Ok(handle) => handle,
            Err(err) => {
                eprintln!("{err}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        };
        println!("carrier simulator listening on {}", handle.local_addr());
        if let Err(err) = serve_signals(&handle).await {
            eprintln!("cannot handle signals: {err}");
        }
        cancel.cancel();
        handle.wait().await;
        ExitCode::SUCCESS
    })
}

/// Releases held receipts on SIGUSR1 until SIGINT or SIGTERM.
async fn serve_signals(handle: &super::SimulatorHandle) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    loop {
        // Cancel-safe: a signal not yet received stays pending.
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = usr1.recv() => {
                // In its own task: signals stay served while the receipts go out.
                let handle = handle.clone();
                tokio::spawn(async move {
                    match handle.release_receipts().await {
                        Ok(n) => tracing::info!(receipts = n, "held receipts released"),
                        Err(err) => tracing::warn!(%err, "held receipts not released"),
                    }
                });
            }
        }
    }
}
