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
use crate::flow::FlowOptions;
use crate::flow::accept::MtIntake;
use crate::flow::inbound::MoFlow;
use crate::flow::mt_queue::MtQueue;
use crate::flow::outbound::Dispatcher;
use crate::flow::receipts::ReceiptFlow;
use crate::listener::{HttpListener, ListenerName};
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
    metrics::gauge!(telemetry::CONFIG_RESTART_PENDING).set(0.0);

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
    let flows = Flows::new(&config, &config_rx, &outbox);
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

    let admin_listener = HttpListener::new(
        bind(config.admin.listen, "admin").await?,
        ListenerName::Admin,
        config.admin.connections,
    );
    let api_listener = HttpListener::new(
        bind(config.api.listen, "api").await?,
        ListenerName::Api,
        config.api.connections,
    );

    let admin_addr = admin_listener
        .local_addr()
        .context("admin listener address")?;
    let api_addr = api_listener.local_addr().context("api listener address")?;
    let admin_state = Arc::new(AdminState {
        instance: config.instance.name.clone(),
        config_source: config_path.display().to_string(),
        started: Instant::now(),
        generation: 1.into(),
        restart_pending: Default::default(),
        accepting: false.into(),
        checks: vec![
            Arc::new(StoreReady(store.clone())) as Arc<dyn ReadinessCheck>,
            Arc::new(CarriersReady(carriers.clone())),
        ],
        sources: vec![Arc::new(CarriersStatus(carriers.clone())) as Arc<dyn StatusSource>],
        prometheus,
    });

    let admin_router = admin::router(admin_state.clone(), config.admin.token.clone());
    admin_tasks.spawn(admin_listener.serve(admin_router, shutdown.clone()));

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
    work.spawn(api_listener.serve(api_router, drain.clone()));

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
            &Reloading {
                path: &config_path,
                started: &config,
                config: &config_tx,
                log: &log,
                admin: &admin_state,
                store: &store,
            },
            notifier,
        )
        .await;

    notifier.stopping();
    admin_state.accepting.store(false, Ordering::Relaxed);
    // The deadline the carriers' binds were started with: they drain by it too.
    let deadline = config.instance.drain_timeout;
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
    fn new(config: &Config, live: &watch::Receiver<Arc<Config>>, outbox: &Outbox) -> Self {
        let store = outbox.store();
        let options = FlowOptions {
            receipt_park: config.store.unmatched_receipt_ttl,
            ..FlowOptions::from(&config.messages)
        };
        let references = Arc::new(ReferenceAllocator::new(false, DEFAULT_SLOTS));
        let queue = MtQueue::new(config.messages.in_flight);
        // Filled by the receipts flow; its size is fixed at start.
        let unreachable: Arc<dyn UnreachableMemory> = Arc::new(BoundedUnreachableMemory::new(
            config.numbers.unreachable_capacity,
        ));
        let mo = MoFlow::new(
            store.clone(),
            live.clone(),
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
            unreachable,
            references,
            dispatcher: queue.clone(),
            events: outbox.clone(),
            options: options.clone(),
            // Set once the MMS side (its media store) runs.
            media: None,
        };
        Flows {
            mo,
            intake,
            queue,
            options,
        }
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
    async fn wait_for_stop(&mut self, r: &Reloading<'_>, notifier: Notifier) -> Stop {
        loop {
            tokio::select! {
                // Each arm is cancel-safe: a signal not yet received stays pending.
                _ = self.term.recv() => return Stop::Drain,
                _ = self.int.recv() => return Stop::Fast,
                _ = self.hup.recv() => {
                    notifier.reloading();
                    reload(r.path, r.started, r.config, r.log, r.admin, r.store).await;
                    notifier.ready("running");
                }
            }
        }
    }
}

/// What a SIGHUP reloads with.
struct Reloading<'a> {
    /// The configuration file.
    path: &'a std::path::Path,
    /// The configuration the daemon started on: what the restart-only keys still run on.
    started: &'a Config,
    /// The configuration in force, which the reload replaces.
    config: &'a watch::Sender<Arc<Config>>,
    log: &'a LogReload,
    admin: &'a AdminState,
    store: &'a SqliteStore,
}

/// Re-reads the configuration and applies what can change while running; what needs a
/// restart is named in the log, in `/status` and by a gauge. An invalid file is
/// refused: the daemon keeps its current configuration and says why.
async fn reload(
    path: &std::path::Path,
    started: &Config,
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
    // Against the configuration the daemon started on, not the last one loaded: a key
    // is pending exactly while the file differs from what runs, through any number of
    // reloads, and no longer once it is changed back.
    let pending = needs_restart(started, &new);
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
    admin.set_restart_pending(pending.clone());
    metrics::counter!(telemetry::CONFIG_RELOADS_TOTAL, "result" => "ok").increment(1);
    metrics::gauge!(telemetry::CONFIG_LAST_RELOAD_SUCCESSFUL).set(1.0);
    metrics::gauge!(telemetry::CONFIG_GENERATION).set(generation as f64);
    metrics::gauge!(telemetry::CONFIG_RESTART_PENDING)
        .set(f64::from(u8::from(!pending.is_empty())));
    // Logged last: whoever reads these lines finds `/status` and the metrics saying the
    // same already.
    if !pending.is_empty() {
        warn!(keys = ?pending, "changed in the file but applied only after a restart");
    }
    info!(generation, "configuration reloaded");
}

fn reload_failed() {
    metrics::counter!(telemetry::CONFIG_RELOADS_TOTAL, "result" => "error").increment(1);
    metrics::gauge!(telemetry::CONFIG_LAST_RELOAD_SUCCESSFUL).set(0.0);
}

/// The keys whose value in `new` differs from `old` and takes effect only after a
/// restart: everything read once at start. The rest is read from the configuration in
/// force at each use (consent keywords and replies, senders, number policy, most of
/// `[mms]`) or applied by [`reload`] (log level, store limits and timers).
fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut differs = |key: &'static str, changed: bool| {
        if changed {
            keys.push(key);
        }
    };
    differs(
        "instance.state_dir",
        old.instance.state_dir != new.instance.state_dir,
    );
    differs("instance.name", old.instance.name != new.instance.name);
    // The carriers' binds take it at start, and the drain keeps to what they took.
    differs(
        "instance.drain_timeout",
        old.instance.drain_timeout != new.instance.drain_timeout,
    );
    // The API's guard (token, slots, timeout) and body limit are built with its router.
    differs("api.listen", old.api.listen != new.api.listen);
    differs("api.token", old.api.token != new.api.token);
    differs(
        "api.max_body_bytes",
        old.api.max_body_bytes != new.api.max_body_bytes,
    );
    differs(
        "api.max_concurrent_requests",
        old.api.max_concurrent_requests != new.api.max_concurrent_requests,
    );
    differs(
        "api.request_timeout",
        old.api.request_timeout != new.api.request_timeout,
    );
    differs("admin.listen", old.admin.listen != new.admin.listen);
    // The admin guard is built with its router, as the API's is.
    differs("admin.token", old.admin.token != new.admin.token);
    // The size limit, the checkpoint interval and the commit delay apply live (see
    // `reload`); the rest of [store] needs a restart.
    let store = |s: &crate::config::Store| crate::config::Store {
        max_size_bytes: None,
        checkpoint_interval: std::time::Duration::ZERO,
        commit_delay: std::time::Duration::ZERO,
        ..s.clone()
    };
    differs("store", store(&old.store) != store(&new.store));
    differs("core", old.core != new.core);
    differs(
        "log.format",
        old.log.format != new.log.format || old.log.timestamps != new.log.timestamps,
    );
    // The flows' timers and bounds are copied into them at start.
    let (m, n) = (&old.messages, &new.messages);
    differs("messages.validity", m.validity != n.validity);
    differs("messages.retry_min", m.retry_min != n.retry_min);
    differs("messages.retry_max", m.retry_max != n.retry_max);
    differs("messages.in_flight", m.in_flight != n.in_flight);
    differs(
        "messages.mo_dedup_window",
        m.mo_dedup_window != n.mo_dedup_window,
    );
    differs(
        "numbers.unreachable_capacity",
        old.numbers.unreachable_capacity != new.numbers.unreachable_capacity,
    );
    differs("mms.listen", old.mms.listen != new.mms.listen);
    // The attachment fetchers are built with their timeout.
    differs(
        "mms.fetch_timeout",
        old.mms.fetch_timeout != new.mms.fetch_timeout,
    );
    // The rest of [mms] (credentials, limits, types, request timeouts) is read live.
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
            // Built into the fetchers' HTTP clients, whose pooled connections were
            // checked against the list in force when they were opened.
            m.fetch_allow.clone(),
        )
    };
    differs("mms", mms_at_start(&old.mms) != mms_at_start(&new.mms));
    differs("carriers", old.carriers != new.carriers);
    differs("simulator", old.simulator != new.simulator);
    // A listener's connection limits are set when it starts.
    for (old, new, [header, idle, max]) in [
        (
            &old.api.connections,
            &new.api.connections,
            [
                "api.header_read_timeout",
                "api.idle_timeout",
                "api.max_connections",
            ],
        ),
        (
            &old.admin.connections,
            &new.admin.connections,
            [
                "admin.header_read_timeout",
                "admin.idle_timeout",
                "admin.max_connections",
            ],
        ),
        (
            &old.mms.connections,
            &new.mms.connections,
            [
                "mms.header_read_timeout",
                "mms.idle_timeout",
                "mms.max_connections",
            ],
        ),
    ] {
        if old.header_read_timeout != new.header_read_timeout {
            keys.push(header);
        }
        if old.idle_timeout != new.idle_timeout {
            keys.push(idle);
        }
        if old.max_connections != new.max_connections {
            keys.push(max);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A config of `text` after `[instance]`; the API without a token unless `text`
    /// gives one.
    fn config(text: &str) -> Config {
        let text = if text.contains("token") {
            text.to_owned()
        } else if text.contains("[api]") {
            text.replace("[api]\n", "[api]\nauth = \"none\"\n")
        } else {
            format!("{text}\n[api]\nauth = \"none\"\n")
        };
        Config::from_toml(
            std::path::Path::new("t.toml"),
            &format!("[instance]\n{text}"),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every key read once at start is reported when a reload changes it: a reload
    /// that said nothing of them claimed to have applied them.
    #[test]
    fn keys_read_once_at_start_are_named() {
        let start = config("");
        let cases = [
            ("drain_timeout = \"1m\"", "instance.drain_timeout"),
            (
                "[api]\ntoken = \"a-token-of-thirty-two-characters\"",
                "api.token",
            ),
            (
                "[api]\nauth = \"none\"\n[admin]\ntoken = \"a-token-of-thirty-two-characters\"",
                "admin.token",
            ),
            ("[api]\nmax_body_bytes = 2048", "api.max_body_bytes"),
            (
                "[api]\nmax_concurrent_requests = 8",
                "api.max_concurrent_requests",
            ),
            ("[api]\nrequest_timeout = \"20s\"", "api.request_timeout"),
            ("[messages]\nvalidity = \"1h\"", "messages.validity"),
            ("[messages]\nretry_min = \"2s\"", "messages.retry_min"),
            ("[messages]\nretry_max = \"2m\"", "messages.retry_max"),
            ("[messages]\nin_flight = 4", "messages.in_flight"),
            (
                "[messages]\nmo_dedup_window = \"5m\"",
                "messages.mo_dedup_window",
            ),
            ("[mms]\nfetch_timeout = \"1s\"", "mms.fetch_timeout"),
        ];
        for (text, key) in cases {
            assert_eq!(needs_restart(&start, &config(text)), [key], "{text}");
        }
    }

    /// What the flows read from the configuration in force, or the reload applies, is
    /// not reported.
    #[test]
    fn live_keys_are_not_named() {
        let start = config("");
        for text in [
            "[consent]\nopt_out_keywords = [\"STOP\", \"QUITNOW\"]\nhelp_reply = \"Call us.\"",
            "[consent]\nscope = \"brand\"",
            "[numbers]\ndefault_region = \"GB\"\ndeny = [\"+1900*\"]",
            "[log]\nlevel = \"debug\"",
            "[store]\nmax_size_bytes = 1048576\ncommit_delay = \"2ms\"",
        ] {
            assert!(needs_restart(&start, &config(text)).is_empty(), "{text}");
        }
    }
}
