//! The simulator's background tasks: MO generation and the stats report.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::mo::{self, MoMessage};
use super::{Delivery, DeliveryKind, Shared};

/// Generates `mo.count` MO messages (unlimited when 0) at `mo.rate` per second.
pub(super) async fn generate_mo(shared: Arc<Shared>, cancel: CancellationToken) {
    let cfg = &shared.cfg.mo;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / cfg.rate));
    let mut sent = 0u64;
    while cfg.count == 0 || sent < cfg.count {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let message = MoMessage {
            source: cfg.source.clone(),
            destination: cfg.destination.clone(),
            text: cfg.texts[(sent % cfg.texts.len() as u64) as usize].clone(),
            encoding: cfg.encoding,
            concatenation: cfg.concatenation,
        };
        let reference = shared.references.fetch_add(1, Ordering::Relaxed);
        let parts = match mo::build(&message, reference) {
            Ok(parts) => parts,
            Err(err) => {
                tracing::warn!(%err, "simulator mo not generated");
                return;
            }
        };
        for pdu in parts {
            let delivery = Delivery {
                pdu,
                kind: DeliveryKind::Mo,
                due: Instant::now(),
                answered: None,
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                sent = shared.deliveries.send(delivery) => if sent.is_err() { return },
            }
        }
        sent += 1;
    }
}

/// Prints a line of counters and rewrites the stats file every interval.
pub(super) async fn report_stats(shared: Arc<Shared>, cancel: CancellationToken) {
    let interval = shared.cfg.stats_interval;
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    let mut previous = shared.stats.snapshot();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = shared.stats.snapshot();
        if shared.cfg.print_stats {
            println!("{}", now.line(&previous, interval.as_secs_f64()));
        }
        if let Some(path) = &shared.cfg.stats_file
            && let Err(err) = now.write_json(path)
        {
            tracing::warn!(path = %path.display(), %err, "simulator stats file not written");
        }
        previous = now;
    }
}
