//! `bench mt`: concurrent keep-alive clients post single-message `POST /v1/messages`,
//! closed loop (each client sends its next request when the answer is in) or paced at
//! `--rate` (open loop: request `i` is planned at `i / rate` seconds, and its latency
//! counts from then, so a stalled gateway shows in the figures instead of slowing the
//! load down).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Deserialize;

use super::receiver::{Tally, record};
use super::report::{
    LATE_START_MS, LateStarts, Latencies, Latency, Settings, Summary, new_histogram,
};
use super::rig::{self, Rig, SENDER};
use super::{BenchError, MtArgs};

/// What one client did.
struct ClientResult {
    api: Histogram<u64>,
    accepted: u64,
    refused: u64,
    last_accepted: Option<Instant>,
    first_refusal: Option<String>,
    /// Open loop: requests that left over [`LATE_START_MS`] after their plan.
    late: u64,
    max_late: Duration,
}

/// The part of the 202 answer the bench reads.
#[derive(Deserialize)]
struct Accepted {
    message_id: String,
}

/// What every client needs.
struct Load {
    client: reqwest::Client,
    url: String,
    text: String,
    contacts: u32,
    count: u64,
    rate: Option<f64>,
    start: Instant,
    deadline: Instant,
    next: AtomicU64,
    tally: Arc<Tally>,
}

impl Load {
    fn body(&self, n: u64) -> String {
        serde_json::json!({
            "from": SENDER,
            "to": format!("+{}", rig::contact(n, self.contacts)),
            "text": self.text,
        })
        .to_string()
    }

    /// One client: takes the next message number until the count or the time is up.
    async fn client(self: Arc<Self>) -> ClientResult {
        let mut out = ClientResult {
            api: new_histogram(),
            accepted: 0,
            refused: 0,
            last_accepted: None,
            first_refusal: None,
            late: 0,
            max_late: Duration::ZERO,
        };
        loop {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            if n >= self.count {
                break;
            }
            let planned = self
                .rate
                .map(|r| self.start + Duration::from_secs_f64(n as f64 / r));
            if let Some(at) = planned {
                if at >= self.deadline {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
            }
            if Instant::now() >= self.deadline {
                break;
            }
            let sent = Instant::now();
            if let Some(at) = planned {
                let late = sent.saturating_duration_since(at);
                if late > Duration::from_millis(LATE_START_MS) {
                    out.late += 1;
                }
                out.max_late = out.max_late.max(late);
            }
            match self.post(n).await {
                Ok(id) => {
                    let answered = Instant::now();
                    record(&mut out.api, answered - planned.unwrap_or(sent));
                    self.tally.posted(id, sent);
                    out.accepted += 1;
                    out.last_accepted = Some(answered);
                }
                Err(why) => {
                    out.refused += 1;
                    out.first_refusal.get_or_insert(why);
                }
            }
        }
        out
    }

    /// Posts message `n`; its id, or why it was not accepted.
    async fn post(&self, n: u64) -> Result<String, String> {
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .bearer_auth(super::rig::API_TOKEN)
            .body(self.body(n))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if status.as_u16() != 202 {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
        }
        serde_json::from_slice::<Accepted>(&body)
            .map(|a| a.message_id)
            .map_err(|e| format!("unreadable 202 answer: {e}"))
    }
}

/// Runs `bench mt`.
pub async fn run(args: &MtArgs) -> Result<Summary, BenchError> {
    let rig = Rig::start(&args.rig, "").await?;
    let result = drive(args, &rig).await;
    rig.stop().await;
    result
}

async fn drive(args: &MtArgs, rig: &Rig) -> Result<Summary, BenchError> {
    let clients = args.clients.max(1);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .tcp_nodelay(true)
        .build()
        .map_err(BenchError::Client)?;
    let start = Instant::now();
    let load = Arc::new(Load {
        client,
        url: format!("http://{}/v1/messages", rig.api),
        text: args.text.clone(),
        contacts: args.rig.contacts,
        count: args.rig.count,
        rate: args.rate.filter(|r| *r > 0.0),
        start,
        deadline: start + args.rig.duration,
        next: AtomicU64::new(0),
        tally: rig.tally(),
    });
    let sampler = rig.sample(start, args.rig.rss_every);
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(load.clone().client()))
        .collect();
    let mut api = new_histogram();
    let (mut accepted, mut refused, mut last_accepted) = (0, 0, None);
    let mut late = LateStarts::default();
    for task in tasks {
        let Ok(r) = task.await else { continue };
        let _ = api.add(&r.api);
        accepted += r.accepted;
        refused += r.refused;
        last_accepted = last_accepted.max(r.last_accepted);
        late.count += r.late;
        late.max_ms = late.max_ms.max(r.max_late.as_secs_f64() * 1e3);
        if let Some(why) = r.first_refusal {
            eprintln!("bench mt: a request was not accepted: {why}");
        }
    }
    if accepted == 0 && refused > 0 {
        return Err(BenchError::Refused(format!(
            "all {refused} requests were refused"
        )));
    }
    let tally = rig.tally();
    let complete = wait_finished(&tally, accepted, args.rig.drain).await;
    let (gateway, simulator, bench_process) = rig.costs();
    let progress = sampler.finish().await;
    let timings = tally.timings();
    let seconds = timings
        .last_event
        .map_or(start.elapsed(), |t| t.saturating_duration_since(start));
    let accepted_in = last_accepted.map_or(Duration::ZERO, |t| t - start);
    Ok(Summary {
        bench: "mt",
        settings: settings(args),
        seconds: seconds.as_secs_f64(),
        complete,
        accepted: super::report::Rate {
            total: accepted,
            per_second: rig::per_second(accepted, accepted_in),
        },
        refused,
        submits: progress.submits,
        receipts: progress.receipts,
        mo_parts: Default::default(),
        mo_messages: Default::default(),
        events: progress.events,
        received: progress.received,
        simulator_lost: progress.simulator_lost,
        late_starts: args.rate.filter(|r| *r > 0.0).map(|_| late),
        event_counts: rig::event_counts(&tally),
        latency: Latencies {
            api: Latency::of(&api),
            post_to_sent: Latency::of(&timings.to_sent),
            post_to_delivered: Latency::of(&timings.to_delivered),
            ack_to_event: None,
        },
        gateway,
        simulator,
        bench_process,
        rss_samples: progress.rss,
    })
}

/// Waits until `accepted` messages have their final status event, or `drain` passes.
async fn wait_finished(tally: &Tally, accepted: u64, drain: Duration) -> bool {
    let mut changed = tally.subscribe();
    let deadline = tokio::time::Instant::now() + drain;
    loop {
        if tally.counts.finished_mt() >= accepted {
            return true;
        }
        match tokio::time::timeout_at(deadline, changed.changed()).await {
            Ok(Ok(())) => {}
            _ => return tally.counts.finished_mt() >= accepted,
        }
    }
}

fn settings(args: &MtArgs) -> Settings {
    let r = &args.rig;
    Settings {
        count: r.count,
        duration_s: r.duration.as_secs_f64(),
        contacts: r.contacts,
        binds: r.binds,
        window: r.window,
        in_flight: r.in_flight,
        webhook_batch: !r.no_batch,
        clients: Some(args.clients),
        rate: args.rate,
        parts: None,
    }
}
