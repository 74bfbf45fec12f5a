//! A bench run's figures: rates, latency percentiles and process costs, printed as text
//! and as one JSON line.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest latency a histogram holds exactly (10 minutes, in microseconds); longer
/// ones are counted at this value.
const MAX_MICROS: u64 = 600_000_000;

/// A microsecond histogram with three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

/// Percentiles of one latency, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// The percentiles of `h`; `None` when it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        let ms = |micros: u64| micros as f64 / 1000.0;
        (!h.is_empty()).then(|| Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        })
    }
}

/// What a run was asked to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub count: u64,
    pub duration_s: f64,
    pub contacts: u32,
    pub binds: u32,
    pub window: u32,
    pub in_flight: u32,
    pub webhook_batch: bool,
    /// MT: concurrent clients.
    pub clients: Option<u32>,
    /// MT: the paced rate, when open loop.
    pub rate: Option<f64>,
    /// MO: parts per message.
    pub parts: Option<u8>,
}

/// A counter's final value and its rate over the time it took to get there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rate {
    pub total: u64,
    pub per_second: f64,
}

/// Open loop: the requests that left later than planned because every client was
/// still waiting for an answer (or the load generator for a core). The latency counts
/// from the plan either way, but the offered rate was then not what `--rate` said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LateStarts {
    /// Requests that left more than [`LATE_START_MS`] after their planned time.
    pub count: u64,
    /// The latest any request left, after its planned time.
    pub max_ms: f64,
}

/// How late a request may leave before it counts in [`LateStarts`] (the timer's own
/// slack is about a millisecond).
pub const LATE_START_MS: u64 = 5;

/// The chat events the receiver took, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    pub requests: u64,
    pub total: u64,
    pub conversations_started: u64,
    pub received: u64,
    pub accepted: u64,
    pub sent: u64,
    pub delivered: u64,
    /// failed, expired or rejected.
    pub failed: u64,
    pub other: u64,
    pub unreadable: u64,
}

/// One process's cost over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ProcCost {
    pub cpu_seconds: f64,
    pub peak_rss_mb: f64,
}

/// One RSS sample of the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RssSample {
    pub at_s: f64,
    pub rss_mb: f64,
}

/// Latencies of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latencies {
    /// MT: POST /v1/messages, sent (or planned, with `--rate`) → answered.
    pub api: Option<Latency>,
    /// MT: POST sent → `sent` status event at the receiver.
    pub post_to_sent: Option<Latency>,
    /// MT: POST sent → `delivered` (or other final) status event at the receiver.
    pub post_to_delivered: Option<Latency>,
    /// MO: committed and acknowledged to the carrier → `chat.message.received` event.
    pub ack_to_event: Option<Latency>,
}

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// "mt" or "mo".
    pub bench: &'static str,
    pub settings: Settings,
    /// Seconds from the first message to the last event (or the drain's end).
    pub seconds: f64,
    /// Whether every message reached its final event before the drain ended.
    pub complete: bool,
    /// MT: POST /v1/messages answered 202.
    pub accepted: Rate,
    /// MT: answered otherwise, or not answered.
    pub refused: u64,
    /// submit_sm the simulator received.
    pub submits: Rate,
    /// Receipts the gateway acknowledged (at the simulator).
    pub receipts: Rate,
    /// MO parts the gateway acknowledged (at the simulator).
    pub mo_parts: Rate,
    /// MO messages acknowledged (parts / parts per message).
    pub mo_messages: Rate,
    /// Every chat event at the receiver.
    pub events: Rate,
    /// `chat.message.received` events at the receiver.
    pub received: Rate,
    /// Receipts and MO the simulator dropped or saw refused (its queue full, an error
    /// answer): when not 0, the counts above stop short for that reason.
    pub simulator_lost: u64,
    /// MT in open loop (`--rate`): requests that left late.
    pub late_starts: Option<LateStarts>,
    pub event_counts: EventCounts,
    pub latency: Latencies,
    pub gateway: ProcCost,
    pub simulator: ProcCost,
    /// This process (load generator and receiver).
    pub bench_process: ProcCost,
    pub rss_samples: Vec<RssSample>,
}

impl Summary {
    /// The summary as one line of JSON.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("a summary serializes")
    }

    /// The summary for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let s = &self.settings;
        let _ = writeln!(
            out,
            "bench {}: {} messages, {} contacts, {} bind(s) window {}, in_flight {}, webhook {}",
            self.bench,
            s.count,
            s.contacts,
            s.binds,
            s.window,
            s.in_flight,
            if s.webhook_batch {
                "batched"
            } else {
                "one event per request"
            },
        );
        let _ = writeln!(
            out,
            "  run {:.2} s{}",
            self.seconds,
            if self.complete {
                ""
            } else {
                " (INCOMPLETE: the drain ended first)"
            }
        );
        let rate = |out: &mut String, name: &str, r: &Rate| {
            if r.total > 0 {
                let _ = writeln!(out, "  {name:<22}{:>10} {:>12.0}/s", r.total, r.per_second);
            }
        };
        rate(&mut out, "accepted (202)", &self.accepted);
        if self.refused > 0 {
            let _ = writeln!(out, "  {:<22}{:>10}", "refused or failed", self.refused);
        }
        rate(&mut out, "submit_sm (simulator)", &self.submits);
        rate(&mut out, "receipts acknowledged", &self.receipts);
        rate(&mut out, "MO parts acknowledged", &self.mo_parts);
        rate(&mut out, "MO messages", &self.mo_messages);
        rate(&mut out, "events (receiver)", &self.events);
        rate(&mut out, "chat messages received", &self.received);
        let lat = |out: &mut String, name: &str, l: &Option<Latency>| {
            if let Some(l) = l {
                let _ = writeln!(
                    out,
                    "  {name:<22}p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (n={})",
                    l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.count
                );
            }
        };
        if self.simulator_lost > 0 {
            let _ = writeln!(
                out,
                "  simulator lost        {:>10}  (receipts or MO dropped or refused)",
                self.simulator_lost
            );
        }
        if let Some(late) = self.late_starts.filter(|l| l.count > 0) {
            let _ = writeln!(
                out,
                "  late starts           {:>10}  (over {LATE_START_MS} ms after their plan, at most {:.1} ms: \
                 every client was waiting; the rate offered fell short, raise --clients)",
                late.count, late.max_ms
            );
        }
        lat(&mut out, "API latency", &self.latency.api);
        lat(&mut out, "POST → sent", &self.latency.post_to_sent);
        lat(
            &mut out,
            "POST → delivered",
            &self.latency.post_to_delivered,
        );
        lat(&mut out, "carrier ack → event", &self.latency.ack_to_event);
        for (name, p) in [
            ("gateway", &self.gateway),
            ("simulator", &self.simulator),
            ("bench (load+receiver)", &self.bench_process),
        ] {
            let _ = writeln!(
                out,
                "  {name:<22}CPU {:.2} s  peak RSS {:.1} MB",
                p.cpu_seconds, p.peak_rss_mb
            );
        }
        if let (Some(first), Some(last)) = (self.rss_samples.first(), self.rss_samples.last()) {
            let max = self
                .rss_samples
                .iter()
                .map(|s| s.rss_mb)
                .fold(0.0, f64::max);
            let _ = writeln!(
                out,
                "  gateway RSS samples   {} from {:.1} MB to {:.1} MB (max {:.1} MB)",
                self.rss_samples.len(),
                first.rss_mb,
                last.rss_mb,
                max
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram_in_milliseconds() {
        let mut h = new_histogram();
        for micros in 1..=1000u64 {
            h.record(micros * 10).unwrap();
        }
        let l = Latency::of(&h).unwrap();
        assert_eq!(l.count, 1000);
        assert!((l.p50_ms - 5.0).abs() < 0.01, "{l:?}");
        assert!((l.p99_ms - 9.9).abs() < 0.01, "{l:?}");
        assert!((l.max_ms - 10.0).abs() < 0.01, "{l:?}");
        assert_eq!(Latency::of(&new_histogram()), None);
    }
}
