//! `bench mo`: the simulator generates `--count` MO as fast as the gateway acknowledges
//! them (its rate set far beyond what a gateway takes, so its delivery window sets the
//! pace), from `--contacts` subscribers in turn, each text numbered so that none is
//! taken for a carrier's redelivery; `--parts` above 1 sends concatenated MO (UDH with
//! a 16-bit reference). The run ends when every MO is a chat event at the receiver.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::receiver::Tally;
use super::report::{Latencies, Latency, Rate, Settings, Summary};
use super::rig::{self, FIRST_CONTACT, Rig, SENDER};
use super::{BenchError, MoArgs};

/// The simulator's MO rate: far beyond any gateway, i.e. "as fast as acknowledged".
const AS_FAST_AS_ACKNOWLEDGED: u32 = 1_000_000;

/// Septets per part of a GSM text with a 16-bit-reference UDH.
const PART_SEPTETS: usize = 152;

/// The room a text's number (" #" and up to 10 digits) takes.
const NUMBER_ROOM: usize = 12;

/// A GSM text that, once numbered, needs exactly `parts` parts.
fn text_of(parts: u8) -> String {
    let single = "Hi, is my order on its way? I have not seen a tracking link yet.";
    if parts <= 1 {
        return single.to_owned();
    }
    let length = PART_SEPTETS * usize::from(parts) - NUMBER_ROOM;
    single.chars().cycle().take(length).collect()
}

/// The simulator's `[mo]` table.
fn mo_table(args: &MoArgs) -> String {
    format!(
        r#"
[mo]
rate = {AS_FAST_AS_ACKNOWLEDGED}
count = {count}
source = "{FIRST_CONTACT}"
destination = "{destination}"
contacts = {contacts}
numbered_texts = true
concatenation = "udh16"
texts = ["{text}"]
"#,
        count = args.rig.count,
        destination = SENDER.trim_start_matches('+'),
        contacts = args.rig.contacts.max(1),
        text = text_of(args.parts),
    )
}

/// Runs `bench mo`.
pub async fn run(args: &MoArgs) -> Result<Summary, BenchError> {
    let rig = Rig::start(&args.rig, &mo_table(args)).await?;
    // The simulator sends from the moment the gateway binds, which `Rig::start` waited
    // for: the run's clock starts there.
    let start = Instant::now();
    let result = drive(args, &rig, start).await;
    rig.stop().await;
    result
}

async fn drive(args: &MoArgs, rig: &Rig, start: Instant) -> Result<Summary, BenchError> {
    let sampler = rig.sample(start, args.rig.rss_every);
    let tally = rig.tally();
    let limit = args.rig.duration + args.rig.drain;
    let complete = wait_received(&tally, args.rig.count, limit).await;
    let (gateway, simulator, bench_process) = rig.costs();
    let progress = sampler.finish().await;
    let timings = tally.timings();
    let seconds = timings
        .last_event
        .map_or(start.elapsed(), |t| t.saturating_duration_since(start));
    let parts = u64::from(args.parts);
    let mo_messages = Rate {
        total: progress.mo_parts.total / parts,
        per_second: progress.mo_parts.per_second / parts as f64,
    };
    Ok(Summary {
        bench: "mo",
        settings: settings(args),
        seconds: seconds.as_secs_f64(),
        complete,
        accepted: Rate::default(),
        refused: 0,
        submits: progress.submits,
        receipts: progress.receipts,
        mo_parts: progress.mo_parts,
        mo_messages,
        events: progress.events,
        received: progress.received,
        simulator_lost: progress.simulator_lost,
        late_starts: None,
        event_counts: rig::event_counts(&tally),
        latency: Latencies {
            ack_to_event: Latency::of(&timings.mo_to_event),
            ..Latencies::default()
        },
        gateway,
        simulator,
        bench_process,
        rss_samples: progress.rss,
    })
}

/// Waits until `count` chat messages have arrived, or `limit` passes.
async fn wait_received(tally: &Tally, count: u64, limit: Duration) -> bool {
    let mut changed = tally.subscribe();
    let deadline = tokio::time::Instant::now() + limit;
    let done = || tally.counts.received.load(Ordering::Relaxed) >= count;
    loop {
        if done() {
            return true;
        }
        match tokio::time::timeout_at(deadline, changed.changed()).await {
            Ok(Ok(())) => {}
            _ => return done(),
        }
    }
}

fn settings(args: &MoArgs) -> Settings {
    let r = &args.rig;
    Settings {
        count: r.count,
        duration_s: r.duration.as_secs_f64(),
        contacts: r.contacts,
        binds: r.binds,
        window: r.window,
        in_flight: r.in_flight,
        webhook_batch: !r.no_batch,
        clients: None,
        rate: None,
        parts: Some(args.parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_fill_the_parts_asked_for_with_room_for_their_number() {
        assert!(text_of(1).len() + NUMBER_ROOM <= 160);
        let three = text_of(3);
        assert!(three.len() > 2 * PART_SEPTETS);
        assert!(three.len() + NUMBER_ROOM <= 3 * PART_SEPTETS);
        assert!(three.is_ascii() && !three.contains('"'));
    }
}
