//! Wiring: builds the components from the configuration, runs them under one
//! cancellation token with their tasks in trackers, reloads on SIGHUP and shuts down in
//! order.
//!
//! Shutdown has two speeds. SIGTERM drains: the daemon stops taking new work (the API
//! listener closes, `/readyz` turns 503), in-flight work gets up to
//! `instance.drain_timeout` to finish, then everything stops. SIGINT stops fast:
//! everything is cancelled at once. Either way, what has not stopped [`STOP_GRACE`]
//! later is abandoned (a store that refuses every write keeps an MT attempt retrying
//! its record): the daemon says what was left and exits with an error.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::admin::{self, AdminState, ReadinessCheck, StatusSource};
use crate::api::{self, media_links::MediaLinks, numbers::NumbersApi, optouts::OptOutsApi};
use crate::carrier::{Carriers, PoolOptions, SubmitPolicy};
use crate::config::Config;
use crate::connector::delivery::{self, Delivery};
use crate::connector::sink::Sink;
use crate::connector::{MediaLinkSigner, Outbox, source_of};
use crate::flow::accept::MtIntake;
use crate::flow::inbound::MoFlow;
use crate::flow::mt_queue::MtQueue;
use crate::flow::outbound::Dispatcher;
use crate::flow::receipts::ReceiptFlow;
use crate::flow::{self, FlowOptions};
use crate::mms::media::MediaPurge;
use crate::number::{BoundedUnreachableMemory, UnreachableMemory};
use crate::smpp::simulator::{self, SimulatorHandle};
use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use crate::systemd::Notifier;
use crate::telemetry::{self, LogReload};
use crate::text::{DEFAULT_SLOTS, ReferenceAllocator};

/// How long the tasks get to stop once cancelled (after the drain deadline, or at once
/// on SIGINT) before the daemon stops without them.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long the count of undelivered events may take when work is abandoned.
const LEFT_OVER_READ: Duration = Duration::from_secs(1);

/// How the daemon was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGTERM: finish in-flight work up to the drain deadline.
    Drain,
    /// SIGINT: stop now.
    Fast,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(config_path: PathBuf, config: Config, log: LogReload) -> anyhow::Result<()> {
    // Handlers first: a signal that arrives once READY is out must find them installed,
    // or its default action would kill the process.
    let mut signals = Signals::install()?;
    let notifier = Notifier::from_env();
    let prometheus = telemetry::metrics_handle();
    metrics::gauge!(telemetry::CONFIG_GENERATION).set(1.0);

    // `shutdown` stops everything; `drain`, its child, stops taking new work.
    let shutdown = CancellationToken::new();
    let drain = shutdown.child_token();
    let work = TaskTracker::new();
    let admin_tasks = TaskTracker::new();
    admin_tasks.spawn(telemetry::run_metrics_upkeep(
        prometheus.clone(),
        telemetry::METRICS_UPKEEP_INTERVAL,
        shutdown.clone(),
    ));

    let store = open_store(&config).await?;
    info!(path = %store.path().display(), "store open");
    let outbox = Outbox::new(store.clone());
    // Routes read the configuration in force from here; a reload replaces it.
    let config = Arc::new(config);
    let (config_tx, config_rx) = watch::channel(config.clone());

    // The embedded simulator (demos) runs until the carriers have unbound from it.
    let simulator_cancel = CancellationToken::new();
    let simulator = match &config.simulator {
        Some(sim) => {
            let handle = simulator::start(sim.clone(), simulator_cancel.clone())
                .await
                .context("cannot start the embedded carrier simulator")?;
            info!(listen = %handle.local_addr(), "embedded carrier simulator listening");
            Some(handle)
        }
        None => None,
    };
    let mmsc = crate::mms::simulator::start_embedded(&config, simulator_cancel.clone())
        .await
        .context("cannot start the embedded MMSC simulator")?;
    let flows = Flows::new(&config, &config_rx, &outbox)?;
    let carriers = Arc::new(
        Carriers::start(
            &config.carriers,
            flows.mo.clone(),
            &PoolOptions {
                drain_timeout: config.instance.drain_timeout,
                policy: SubmitPolicy::default(),
            },
            &drain,
            &work,
        )
        .context("cannot start the carrier binds")?,
    );

    let admin_listener = bind(config.admin.listen, "admin").await?;
    let api_listener = bind(config.api.listen, "api").await?;

    let admin_addr = admin_listener
        .local_addr()
        .context("admin listener address")?;
    let api_addr = api_listener.local_addr().context("api listener address")?;
    let admin_state = Arc::new(AdminState {
        instance: config.instance.name.clone(),
        config_source: config_path.display().to_string(),
        started: Instant::now(),
        generation: 1.into(),
        accepting: false.into(),
        checks: vec![
            Arc::new(StoreReady(store.clone())) as Arc<dyn ReadinessCheck>,
            Arc::new(CarriersReady(carriers.clone())),
        ],
        sources: vec![Arc::new(CarriersStatus(carriers.clone())) as Arc<dyn StatusSource>],
        prometheus,
    });

    let admin_router = admin::router(admin_state.clone());
    let stop_admin = shutdown.clone();
    admin_tasks.spawn(async move {
        let served = axum::serve(admin_listener, admin_router)
            .with_graceful_shutdown(stop_admin.cancelled_owned())
            .await;
        if let Err(e) = served {
            error!(error = %e, "admin listener failed");
        }
    });

    // MT attachments are kept in the media store at acceptance and read from it when
    // sent; MO media are kept there too.
    let media = crate::mms::open_media(&config, api_addr).context("cannot open the media store")?;
    let mms_out = crate::mms::outbound::MmsOutbound::new(
        config_rx.clone(),
        media.as_ref().map(|m| m.store.clone()),
    )
    .context("cannot build the MM7 client")?;
    let dispatcher = Arc::new(
        Dispatcher::new(
            store.clone(),
            carriers.clone(),
            config_rx.clone(),
            flows.queue.clone(),
            outbox.clone(),
            flows.options.clone(),
            flows.mo.receipts().correlation(),
        )
        .with_mms(Arc::new(mms_out)),
    );
    work.spawn(dispatcher.run(drain.clone(), work.clone()));
    work.spawn(flows.mo.clone().run_timeouts(drain.clone()));
    let mo = flows.mo.clone();
    let stop = drain.clone();
    work.spawn(async move { mo.receipts().run_expiry(stop).await });
    let mo = flows.mo.clone();
    let stop = drain.clone();
    work.spawn(async move { mo.receipts().run_parked(stop).await });
    // Delivery starts once the media signer exists: events carrying media links are
    // signed afresh at each attempt. Events stored meanwhile wait in the outbox.
    let links = media
        .as_ref()
        .map(|m| Arc::new(m.signer.clone()) as Arc<dyn MediaLinkSigner>);
    start_delivery(&config, &outbox, links, &drain, &shutdown, &work).await?;
    work.spawn(purge(
        store.clone(),
        config.store.retention,
        config.store.purge_interval,
        media.as_ref().map(|m| {
            MediaPurge::new(
                m.store.clone(),
                config.mms.media_grace,
                config.mms.media_purge_batch,
            )
        }),
        drain.clone(),
    ));

    let links = MediaLinks::new(media.as_ref().map(|m| m.signer.clone()));
    let mut flows = flows;
    let media_routes = start_mms(&config_rx, &outbox, &mut flows, media, &drain, &work).await?;
    let api_router = api::router(
        &config.api,
        api_routes(
            &config,
            &config_rx,
            &outbox,
            &flows,
            simulator.clone(),
            links,
        )
        .merge(
            mmsc.clone()
                .map(api::simulator::mms_routes)
                .unwrap_or_default(),
        ),
    )
    .merge(media_routes);
    let stop_api = drain.clone();
    work.spawn(async move {
        let served = axum::serve(api_listener, api_router)
            .with_graceful_shutdown(stop_api.cancelled_owned())
            .await;
        if let Err(e) = served {
            error!(error = %e, "api listener failed");
        }
    });

    admin_state.accepting.store(true, Ordering::Relaxed);
    notifier.ready("running");
    {
        let c = config_tx.borrow();
        info!(
            version = crate::VERSION,
            instance = %c.instance.name,
            api = %api_addr,
            admin = %admin_addr,
            "smsbridge is ready"
        );
    }
    if let Some(interval) = notifier.watchdog_interval() {
        admin_tasks.spawn(notifier.run_watchdog(interval, shutdown.clone()));
    }

    let stop = signals
        .wait_for_stop(
            &config_path,
            &config_tx,
            &log,
            &admin_state,
            &store,
            notifier,
        )
        .await;

    notifier.stopping();
    admin_state.accepting.store(false, Ordering::Relaxed);
    let deadline = config_tx.borrow().instance.drain_timeout;
    drain.cancel();
    work.close();
    match stop {
        Stop::Drain => {
            info!(deadline = ?deadline, "draining");
            if tokio::time::timeout(deadline, work.wait()).await.is_err() {
                warn!(
                    tasks = work.len(),
                    "drain deadline passed; stopping the rest"
                );
            } else {
                info!("drain complete");
            }
        }
        Stop::Fast => info!("stopping now"),
    }
    shutdown.cancel();
    admin_tasks.close();
    let stopped = tokio::time::timeout(STOP_GRACE, async {
        work.wait().await;
        simulator_cancel.cancel();
        if let Some(sim) = simulator {
            sim.wait().await;
        }
        if let Some(mmsc) = mmsc {
            mmsc.wait().await;
        }
        admin_tasks.wait().await;
    })
    .await;
    if stopped.is_err() {
        return Err(abandoned(work.len() + admin_tasks.len(), &store).await);
    }
    info!("stopped");
    Ok(())
}

/// Says in the log what is left when tasks did not stop within [`STOP_GRACE`]; the
/// error makes the exit code say so too. What was acknowledged is durable already.
async fn abandoned(tasks: usize, store: &SqliteStore) -> anyhow::Error {
    let refused = store.writes_refused().map(|why| why.to_string());
    let undelivered = tokio::time::timeout(LEFT_OVER_READ, store.outbox_depth())
        .await
        .ok()
        .and_then(Result::ok);
    error!(
        tasks,
        store_refuses_writes = refused.as_deref(),
        undelivered_events = undelivered,
        "stopping with work left: accepted messages and undelivered events stay in the \
         store and resume at the next start; an MT whose submit was not recorded may be \
         sent again"
    );
    anyhow::anyhow!("{tasks} tasks did not stop within {STOP_GRACE:?} of being cancelled")
}

/// What the flows share: the MO consumer, the MT intake and the dispatcher's wake-up.
struct Flows {
    mo: Arc<MoFlow<SqliteStore>>,
    intake: MtIntake<SqliteStore>,
    queue: Arc<MtQueue>,
    options: FlowOptions,
}

impl Flows {
    fn new(
        config: &Config,
        live: &watch::Receiver<Arc<Config>>,
        outbox: &Outbox,
    ) -> anyhow::Result<Self> {
        let store = outbox.store();
        let options = FlowOptions {
            receipt_park: config.store.unmatched_receipt_ttl,
            ..FlowOptions::from(&config.messages)
        };
        let consent = Arc::new(flow::consent_policy(config).context("consent configuration")?);
        let references = Arc::new(ReferenceAllocator::new(false, DEFAULT_SLOTS));
        let queue = MtQueue::new(config.messages.in_flight);
        // Filled by the receipts flow; its size is fixed at start.
        let unreachable: Arc<dyn UnreachableMemory> = Arc::new(BoundedUnreachableMemory::new(
            config.numbers.unreachable_capacity,
        ));
        let mo = MoFlow::new(
            store.clone(),
            live.clone(),
            consent.clone(),
            references.clone(),
            queue.waker(),
            ReceiptFlow::new(
                store.clone(),
                live.clone(),
                outbox.clone(),
                options.clone(),
                unreachable.clone(),
            ),
            options.clone(),
        );
        let intake = MtIntake {
            store: store.clone(),
            config: live.clone(),
            consent,
            unreachable,
            references,
            dispatcher: queue.clone(),
            events: outbox.clone(),
            options: options.clone(),
            // Set once the MMS side (its media store) runs.
            media: None,
        };
        Ok(Flows {
            mo,
            intake,
            queue,
            options,
        })
    }
}

/// The MM7 endpoint when `[mms]` is enabled (with `media`, the media store); the media
/// route it serves on the API listener (outside the bearer-token guard: a media URL
/// carries its own signature). The MT intake gets the keeper of attachments.
async fn start_mms(
    live: &watch::Receiver<Arc<Config>>,
    outbox: &Outbox,
    flows: &mut Flows,
    media: Option<crate::mms::Media>,
    drain: &CancellationToken,
    work: &TaskTracker,
) -> anyhow::Result<axum::Router> {
    let Some(media) = media else {
        return Ok(axum::Router::new());
    };
    let config = live.borrow().clone();
    let parts = crate::mms::MmsParts {
        store: outbox.store().clone(),
        live: live.clone(),
        outbox: outbox.clone(),
        options: flows.options.clone(),
        // DeliveryReportReqs settle our MT MMS as receipts settle SMS.
        reports: Arc::new(crate::mms::outbound::MmsReportSink::new(
            outbox.store().clone(),
            outbox.clone(),
        )),
        media,
        keywords: flows.mo.keywords().clone(),
        dispatcher: flows.queue.waker(),
    };
    let service = crate::mms::start(&config, parts, drain.clone(), work)
        .await
        .context("cannot start the MM7 endpoint")?;
    flows.intake.media = Some(service.keeper);
    Ok(service.media_routes)
}

/// The API's routes: messages, conversations, number checks, opt-out administration,
/// dead letters, and the demo simulator's when it runs.
fn api_routes(
    config: &Config,
    live: &watch::Receiver<Arc<Config>>,
    outbox: &Outbox,
    flows: &Flows,
    simulator: Option<SimulatorHandle>,
    links: MediaLinks,
) -> axum::Router {
    let store = outbox.store();
    let numbers = NumbersApi::new(live.clone(), flows.intake.unreachable.clone());
    let optouts = OptOutsApi::new(store.clone(), live.clone());
    let routes = api::numbers::routes(numbers)
        .merge(api::optouts::routes(optouts))
        .merge(api::messages::routes(flows.intake.clone(), links.clone()))
        .merge(api::media::routes(flows.intake.media.clone()))
        .merge(api::conversations::routes(store.clone(), links))
        .merge(api::openapi::routes())
        .merge(api::segments::routes(live.clone()))
        .merge(api::events::routes(
            outbox.clone(),
            source_of(&config.instance.name),
        ));
    match simulator {
        Some(sim) => routes.merge(api::simulator::routes(sim)),
        None => routes,
    }
}

/// Deletes what is past the retention (keys, finished messages), then the media files
/// no message names any more, every `interval`.
async fn purge(
    store: SqliteStore,
    retention: std::time::Duration,
    interval: std::time::Duration,
    mut media: Option<MediaPurge>,
    stop: CancellationToken,
) {
    loop {
        // Cancel-safe: nothing is lost when the sleep is dropped.
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let before = crate::store::model::now_ms() - retention.as_millis() as i64;
        match store.purge(before).await {
            Ok(n) if n > 0 => info!(rows = n, "purged state past its retention"),
            Ok(_) => {}
            Err(e) => {
                crate::rate_limited!(warn!(error = %e, "cannot purge state past its retention"))
            }
        }
        let Some(media) = media.as_mut() else {
            continue;
        };
        match media.round(&store).await {
            Ok(p) if p.files > 0 => info!(
                files = p.files,
                bytes = p.bytes,
                examined = p.examined,
                "purged media files no message names any more"
            ),
            Ok(_) => {}
            Err(e) => crate::rate_limited!(warn!(error = %e, "cannot purge the media store")),
        }
    }
}

/// Starts delivering chat events from the outbox; the task keeps flushing through the
/// drain and stops at shutdown.
async fn start_delivery(
    config: &Config,
    outbox: &Outbox,
    links: Option<Arc<dyn MediaLinkSigner>>,
    drain: &CancellationToken,
    shutdown: &CancellationToken,
    work: &TaskTracker,
) -> anyhow::Result<()> {
    let sink = Sink::from_config(&config.core, source_of(&config.instance.name))
        .await
        .context("cannot start event delivery to the core")?;
    info!(sink = sink.name(), "delivering chat events");
    let settings = delivery::Settings::new(&config.core, &sink);
    let task = Delivery::new(outbox.clone(), sink, settings);
    let task = match links {
        Some(signer) => task.with_media_links(signer),
        None => task,
    };
    work.spawn(task.run(drain.clone(), shutdown.clone()));
    Ok(())
}

async fn open_store(config: &Config) -> anyhow::Result<SqliteStore> {
    let path = config.store.path.clone();
    let sync = config.store.synchronous;
    let batch_max = config.store.batch_max;
    let instance = config.instance.name.clone();
    let store =
        tokio::task::spawn_blocking(move || SqliteStore::open(&path, sync, batch_max, &instance))
            .await
            .context("store task failed")?
            .context("cannot open the store")?;
    apply_store_limit(&store, config.store.max_size_bytes).await;
    store.set_checkpoint_interval(config.store.checkpoint_interval);
    store.set_commit_delay(config.store.commit_delay);
    Ok(store)
}

/// Sets the store's size limit; a store that cannot take it keeps its previous one.
async fn apply_store_limit(store: &SqliteStore, bytes: Option<u64>) {
    match store.set_max_size(bytes).await {
        Ok(limit) if bytes.is_some() => info!(limit_bytes = limit, "store size limited"),
        Ok(_) => {}
        Err(e) => warn!(error = %e, "cannot apply store.max_size_bytes"),
    }
}

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({what})"))
}

/// The signals the daemon answers.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            hup: signal(SignalKind::hangup()).context("cannot handle SIGHUP")?,
        })
    }

    /// Serves signals until one asks the daemon to stop; SIGHUP reloads in between.
    async fn wait_for_stop(
        &mut self,
        path: &std::path::Path,
        config: &watch::Sender<Arc<Config>>,
        log: &LogReload,
        admin: &AdminState,
        store: &SqliteStore,
        notifier: Notifier,
    ) -> Stop {
        loop {
            tokio::select! {
                // Each arm is cancel-safe: a signal not yet received stays pending.
                _ = self.term.recv() => return Stop::Drain,
                _ = self.int.recv() => return Stop::Fast,
                _ = self.hup.recv() => {
                    notifier.reloading();
                    reload(path, config, log, admin, store).await;
                    notifier.ready("running");
                }
            }
        }
    }
}

/// Re-reads the configuration and applies what can change while running. An invalid
/// file is refused: the daemon keeps its current configuration and says why.
async fn reload(
    path: &std::path::Path,
    config: &watch::Sender<Arc<Config>>,
    log: &LogReload,
    admin: &AdminState,
    store: &SqliteStore,
) {
    let file = path.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || Config::load(&file)).await;
    let generation = admin.generation.load(Ordering::Relaxed);
    let new = match loaded {
        Ok(Ok(new)) => new,
        // Counted before the lines that announce it, so a reader who saw them finds
        // the count in /metrics.
        Ok(Err(errors)) => {
            reload_failed();
            for e in errors.iter() {
                error!(error = %e, "configuration reload refused");
            }
            error!(generation, "still running on the previous configuration");
            return;
        }
        Err(e) => {
            reload_failed();
            error!(error = %e, "configuration reload failed");
            return;
        }
    };
    let old = config.borrow().clone();
    let restart = needs_restart(&old, &new);
    if !restart.is_empty() {
        warn!(keys = ?restart, "changed in the file but applied only after a restart");
    }
    if new.log.level != old.log.level
        && let Err(e) = log.set_level(&new.log.level)
    {
        warn!(error = %e, "cannot apply the new log level");
    }
    if new.store.max_size_bytes != old.store.max_size_bytes {
        apply_store_limit(store, new.store.max_size_bytes).await;
    }
    store.set_checkpoint_interval(new.store.checkpoint_interval);
    store.set_commit_delay(new.store.commit_delay);
    let generation = admin.generation.fetch_add(1, Ordering::Relaxed) + 1;
    config.send_replace(Arc::new(new));
    metrics::counter!(telemetry::CONFIG_RELOADS_TOTAL, "result" => "ok").increment(1);
    metrics::gauge!(telemetry::CONFIG_LAST_RELOAD_SUCCESSFUL).set(1.0);
    metrics::gauge!(telemetry::CONFIG_GENERATION).set(generation as f64);
    info!(generation, "configuration reloaded");
}

fn reload_failed() {
    metrics::counter!(telemetry::CONFIG_RELOADS_TOTAL, "result" => "error").increment(1);
    metrics::gauge!(telemetry::CONFIG_LAST_RELOAD_SUCCESSFUL).set(0.0);
}

/// The keys whose new values take effect only after a restart.
fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if old.instance.state_dir != new.instance.state_dir {
        keys.push("instance.state_dir");
    }
    if old.instance.name != new.instance.name {
        keys.push("instance.name");
    }
    if old.api.listen != new.api.listen {
        keys.push("api.listen");
    }
    if old.admin.listen != new.admin.listen {
        keys.push("admin.listen");
    }
    // The size limit, the checkpoint interval and the commit delay apply live (see
    // `reload`); the rest of [store] needs a restart.
    let store = |s: &crate::config::Store| crate::config::Store {
        max_size_bytes: None,
        checkpoint_interval: std::time::Duration::ZERO,
        commit_delay: std::time::Duration::ZERO,
        ..s.clone()
    };
    if store(&old.store) != store(&new.store) {
        keys.push("store");
    }
    if old.core != new.core {
        keys.push("core");
    }
    if old.log.format != new.log.format || old.log.timestamps != new.log.timestamps {
        keys.push("log.format");
    }
    if old.numbers.unreachable_capacity != new.numbers.unreachable_capacity {
        keys.push("numbers.unreachable_capacity");
    }
    if old.mms.listen != new.mms.listen {
        keys.push("mms.listen");
    }
    // The rest of [mms] (credentials, limits, types, request timeout) is read live.
    let mms_at_start = |m: &crate::config::Mms| {
        (
            m.enabled,
            m.tls.clone(),
            m.media_dir.clone(),
            m.media_base_url.clone(),
            m.url_secret.clone(),
            m.url_ttl,
            m.max_concurrent_requests,
            m.media_grace,
            m.media_purge_batch,
        )
    };
    if mms_at_start(&old.mms) != mms_at_start(&new.mms) {
        keys.push("mms");
    }
    if old.carriers != new.carriers {
        keys.push("carriers");
    }
    if old.simulator != new.simulator {
        keys.push("simulator");
    }
    keys
}

/// `/readyz` requires a bind up for every required carrier.
struct CarriersReady(Arc<Carriers>);

impl ReadinessCheck for CarriersReady {
    fn name(&self) -> String {
        "carriers".into()
    }

    fn check(&self) -> Result<(), String> {
        let down: Vec<String> = self
            .0
            .snapshot()
            .into_iter()
            .filter(|c| c.required && c.binds_up() == 0)
            .map(|c| c.name)
            .collect();
        if down.is_empty() {
            Ok(())
        } else {
            Err(format!("no bind up for {}", down.join(", ")))
        }
    }
}

/// `/status` shows every carrier's binds.
struct CarriersStatus(Arc<Carriers>);

impl StatusSource for CarriersStatus {
    fn key(&self) -> &'static str {
        "carriers"
    }

    fn status(&self) -> serde_json::Value {
        serde_json::to_value(self.0.snapshot()).unwrap_or_default()
    }
}

/// `/readyz` requires the store to answer.
struct StoreReady(SqliteStore);

impl ReadinessCheck for StoreReady {
    fn name(&self) -> String {
        "store".into()
    }

    fn check(&self) -> Result<(), String> {
        self.0.ping().map_err(|e| e.to_string())
    }
}
