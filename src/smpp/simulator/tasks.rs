//! The simulator's background tasks: MO generation and the stats report.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::mo::{self, MoMessage};
use super::{Delivery, DeliveryKind, Shared};
use crate::config::simulator::MoConfig;

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
            source: mo_source(cfg, sent),
            destination: cfg.destination.clone(),
            text: mo_text(cfg, sent),
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

/// The subscriber of the `n`th generated MO: `source` itself, or with several contacts
/// `source` + `n` mod `contacts` (validation made sure the source is all digits then).
fn mo_source(cfg: &MoConfig, n: u64) -> String {
    match cfg.source.parse::<u64>() {
        Ok(first) if cfg.contacts > 1 => (first + n % u64::from(cfg.contacts)).to_string(),
        _ => cfg.source.clone(),
    }
}

/// The text of the `n`th generated MO, numbered when asked so that no two are alike.
fn mo_text(cfg: &MoConfig, n: u64) -> String {
    let text = &cfg.texts[(n % cfg.texts.len() as u64) as usize];
    if cfg.numbered_texts {
        format!("{text} #{n}")
    } else {
        text.clone()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::simulator::SimulatorConfig;

    fn mo_config(toml: &str) -> MoConfig {
        SimulatorConfig::from_toml(std::path::Path::new("sim.toml"), toml)
            .unwrap()
            .mo
    }

    #[test]
    fn one_contact_keeps_the_source_and_the_texts_as_written() {
        let cfg = mo_config("[mo]\ntexts = [\"hi\", \"there\"]");
        assert_eq!(mo_source(&cfg, 7), "14155550123");
        assert_eq!(mo_text(&cfg, 0), "hi");
        assert_eq!(mo_text(&cfg, 3), "there");
    }

    #[test]
    fn several_contacts_take_turns_and_numbered_texts_differ() {
        let cfg = mo_config(
            "[mo]\nsource = \"14155550000\"\ncontacts = 3\nnumbered_texts = true\ntexts = [\"hi\"]",
        );
        let sources: Vec<String> = (0..4).map(|n| mo_source(&cfg, n)).collect();
        assert_eq!(
            sources,
            ["14155550000", "14155550001", "14155550002", "14155550000"]
        );
        assert_eq!(mo_text(&cfg, 41), "hi #41");
    }

    #[test]
    fn several_contacts_need_a_numeric_source() {
        let err = SimulatorConfig::from_toml(
            std::path::Path::new("sim.toml"),
            "[mo]\nsource = \"ACME\"\ncontacts = 2",
        )
        .unwrap_err();
        assert!(err.to_string().contains("mo.contacts"), "{err}");
    }
}
