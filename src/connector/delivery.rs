//! The delivery task: reads due events from the outbox and hands them to the sink,
//! keeping each conversation's order and a bounded number of deliveries in flight.
//!
//! Loop: fill free delivery slots from the outbox (skipping conversations in flight),
//! then wait for a delivery to finish, a poke from a flow, the next due retry or the
//! poll interval. On drain (SIGTERM) it keeps delivering and stops once nothing is
//! pending and nothing in flight; on shutdown it stops at once (events in flight stay
//! in the outbox and are sent again after the restart, with the same ids).
//!
//! When the store refuses to record an outcome (a full disk), the events stay as they
//! were, due at once: the task then pauses, doubling the pause from `poll_interval` up
//! to [`STORE_PAUSE_MAX`] while the refusals last, instead of sending them again at
//! once (which made it a busy loop writing thousands of log lines a second).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::ChatEvent;
use super::backoff::retry_delay;
use super::links::{self, MediaLinkSigner};
use super::metrics::*;
use super::sink::Sink;
use super::{DeliveryError, Outbox};
use crate::config::Core;
use crate::store::StoreError;
use crate::store::sqlite::outbox::{PendingEvent, PendingKey, now_unix_ms};

/// The longest pause after the store refused a write (unless `poll_interval` is
/// longer): long enough that a store that stays full costs a try now and then, short
/// enough that delivery resumes soon after space returns.
pub const STORE_PAUSE_MAX: Duration = Duration::from_secs(30);

/// The timing and bounds of delivery, from `[core]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    /// Events per delivery at most (1 when the sink takes one at a time).
    pub batch_max: usize,
    pub retry_min: Duration,
    pub retry_max: Duration,
    pub max_age: Duration,
    pub poll_interval: Duration,
}

impl Settings {
    /// The settings `[core]` gives for `sink`.
    pub fn new(core: &Core, sink: &Sink) -> Self {
        Settings {
            concurrency: core.concurrency,
            batch_max: if sink.batches() { core.batch_max } else { 1 },
            retry_min: core.retry_min,
            retry_max: core.retry_max,
            max_age: core.max_age,
            poll_interval: core.poll_interval,
        }
    }
}

/// What a finished delivery reports.
type Outcome = (Vec<PendingEvent>, Result<(), DeliveryError>);

/// The delivery task's state.
pub struct Delivery {
    outbox: Outbox,
    sink: Arc<Sink>,
    settings: Settings,
    tasks: JoinSet<Outcome>,
    /// The conversations of each delivery in flight, by task.
    in_flight: HashMap<Id, Vec<String>>,
    busy: HashSet<String>,
    /// Signs media links afresh before each attempt (MMS enabled).
    links: Option<Arc<dyn MediaLinkSigner>>,
    /// Store refusals in a row, and until when nothing is read or sent because of them.
    store_refusals: u32,
    paused_until: Option<Instant>,
    /// Whether the store said it refused writes when the pause began.
    paused_on_refusal: bool,
}

impl Delivery {
    pub fn new(outbox: Outbox, sink: Sink, settings: Settings) -> Self {
        Delivery {
            outbox,
            sink: Arc::new(sink),
            settings,
            tasks: JoinSet::new(),
            in_flight: HashMap::new(),
            busy: HashSet::new(),
            links: None,
            store_refusals: 0,
            paused_until: None,
            paused_on_refusal: false,
        }
    }

    /// Media links in events are signed afresh by `signer` before each attempt.
    pub fn with_media_links(mut self, signer: Arc<dyn MediaLinkSigner>) -> Self {
        self.links = Some(signer);
        self
    }

    /// Delivers until `shutdown`, or until `drain` and nothing is left to deliver.
    pub async fn run(mut self, drain: CancellationToken, shutdown: CancellationToken) {
        let mut draining = false;
        let mut next_poll = Instant::now();
        loop {
            let next_due = self.fill_unless_paused().await;
            let paused = self.paused();
            if draining && self.tasks.is_empty() && next_due.is_none() && paused.is_none() {
                info!("event outbox flushed");
                break;
            }
            if Instant::now() >= next_poll {
                next_poll = Instant::now() + self.settings.poll_interval;
                self.publish_depth().await;
            }
            let wake = match paused {
                Some(until) => until.min(next_poll),
                None => wake_at(next_due, next_poll),
            };
            tokio::select! {
                biased;
                // Every arm is cancel-safe: a finished task stays in the set, a poke
                // leaves its permit, and the timers are re-armed on the next turn.
                _ = shutdown.cancelled() => break,
                Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    // Every delivery that has finished by now is recorded in one store
                    // write: one commit per finished delivery made the store's commit
                    // latency the limit of the whole connector.
                    let mut finished = vec![done];
                    while let Some(more) = self.tasks.try_join_next_with_id() {
                        finished.push(more);
                    }
                    self.finish(finished).await;
                }
                _ = drain.cancelled(), if !draining => {
                    draining = true;
                    info!("flushing the event outbox before stopping");
                }
                _ = self.outbox.notified() => {}
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
        }
        self.tasks.abort_all();
    }

    /// Until when the task pauses after the store refused a write, if it does now. A
    /// pause for a refusing store ends early once a commit goes through again (space
    /// came back), so that delivery resumes within a poll interval.
    fn paused(&self) -> Option<Instant> {
        if self.paused_on_refusal && self.outbox.store().writes_refused().is_none() {
            return None;
        }
        self.paused_until.filter(|until| *until > Instant::now())
    }

    /// [`Self::fill`], unless the store refused a write lately: an outcome could not
    /// be recorded now either.
    async fn fill_unless_paused(&mut self) -> Option<i64> {
        if self.paused().is_some() {
            return None;
        }
        match self.fill().await {
            Ok(next_due) => next_due,
            Err(e) => {
                let pause = self.store_refused();
                crate::rate_limited!(error!(
                    error = %e,
                    retry_in = ?pause,
                    "cannot read the event outbox"
                ));
                None
            }
        }
    }

    /// Pauses after a store refusal, longer for each one in a row; answers the pause.
    fn store_refused(&mut self) -> Duration {
        self.store_refusals = self.store_refusals.saturating_add(1);
        let min = self.settings.poll_interval;
        let pause = retry_delay(self.store_refusals, min, STORE_PAUSE_MAX.max(min));
        self.paused_until = Some(Instant::now() + pause);
        self.paused_on_refusal = self.outbox.store().writes_refused().is_some();
        pause
    }

    /// The store took a write: refusals are over.
    fn store_took_write(&mut self) {
        self.store_refusals = 0;
        self.paused_until = None;
    }

    /// Logs an outcome the store would not record; the events stay pending as they
    /// were, and the task pauses.
    fn outcome_not_recorded(&mut self, e: &StoreError) {
        let pause = self.store_refused();
        crate::rate_limited!(error!(
            error = %e,
            retry_in = ?pause,
            "cannot record an event delivery in the outbox"
        ));
    }

    /// Starts deliveries in the free slots; returns when the next head is due (`None`
    /// when nothing is pending).
    async fn fill(&mut self) -> Result<Option<i64>, crate::store::StoreError> {
        let free = self.settings.concurrency.saturating_sub(self.tasks.len());
        if free > 0 {
            let now = now_unix_ms();
            let runs = self
                .outbox
                .store()
                .outbox_due(
                    now,
                    free * self.settings.batch_max,
                    self.settings.batch_max - 1,
                    self.busy.clone(),
                )
                .await?;
            let cutoff = now - self.settings.max_age.as_millis() as i64;
            let mut fresh = Vec::with_capacity(runs.len());
            for run in runs {
                if run[0].created_unix_ms < cutoff {
                    self.dead_letter(&run[0]).await?;
                } else {
                    fresh.push(run);
                }
            }
            for delivery in pack(fresh, self.settings.batch_max) {
                self.start(delivery);
            }
        }
        self.outbox.store().outbox_next_due().await
    }

    async fn dead_letter(&self, old: &PendingEvent) -> Result<(), crate::store::StoreError> {
        if self.outbox.store().outbox_dead_letter(old.key()).await? {
            metrics::counter!(DEAD_LETTERS_TOTAL).increment(1);
            warn!(
                event_id = %old.event.id,
                conversation_id = %old.event.conversation_id,
                attempts = old.attempts,
                "event not delivered within max_age; moved to the dead letters"
            );
        }
        Ok(())
    }

    fn start(&mut self, events: Vec<PendingEvent>) {
        let conversations: Vec<String> = events
            .iter()
            .map(|p| p.event.conversation_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        self.busy.extend(conversations.iter().cloned());
        let sink = self.sink.clone();
        let links = self.links.clone();
        let handle = self.tasks.spawn(async move {
            // Copied only when some event carries media links to sign afresh.
            let refreshed = links.as_ref().and_then(|signer| {
                let carry = events.iter().any(|p| links::carries_media(&p.event));
                carry.then(|| {
                    let mut batch: Vec<_> = events.iter().map(|p| p.event.clone()).collect();
                    links::refresh(signer, &mut batch);
                    batch
                })
            });
            let batch: Vec<&ChatEvent> = match &refreshed {
                Some(batch) => batch.iter().collect(),
                None => events.iter().map(|p| &p.event).collect(),
            };
            let started = Instant::now();
            let result = sink.deliver(&batch).await;
            let label = result.as_ref().map_or_else(|e| e.label(), |_| "ok");
            metrics::histogram!(DELIVERY_SECONDS, "sink" => sink.name())
                .record(started.elapsed().as_secs_f64());
            metrics::counter!(DELIVERY_ATTEMPTS_TOTAL, "sink" => sink.name(), "result" => label)
                .increment(1);
            (events, result)
        });
        self.in_flight.insert(handle.id(), conversations);
    }

    async fn finish(&mut self, finished: Vec<Result<(Id, Outcome), tokio::task::JoinError>>) {
        let mut delivered = Vec::new();
        for done in finished {
            if let Some(ids) = self.finish_one(done).await {
                delivered.extend(ids);
            }
        }
        if delivered.is_empty() {
            return;
        }
        metrics::counter!(EVENTS_DELIVERED_TOTAL, "sink" => self.sink.name())
            .increment(delivered.len() as u64);
        match self.outbox.store().outbox_delivered(delivered).await {
            Ok(_) => self.store_took_write(),
            // The events stay pending as they were: a delivered one is sent again (the
            // core de-duplicates by id).
            Err(e) => self.outcome_not_recorded(&e),
        }
    }

    /// Frees a finished delivery's conversations; records a failure at once and returns
    /// the delivered events, for the caller to record together.
    async fn finish_one(
        &mut self,
        done: Result<(Id, Outcome), tokio::task::JoinError>,
    ) -> Option<Vec<PendingKey>> {
        let id = match &done {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        for c in self.in_flight.remove(&id).unwrap_or_default() {
            self.busy.remove(&c);
        }
        let (events, result) = match done {
            Ok((_, outcome)) => outcome,
            Err(e) => {
                error!(error = %e, "an event delivery task failed; its events will be sent again");
                return None;
            }
        };
        let keys: Vec<PendingKey> = events.iter().map(PendingEvent::key).collect();
        let e = match result {
            Ok(()) => return Some(keys),
            Err(e) => e,
        };
        let attempts = events.iter().map(|p| p.attempts).max().unwrap_or(0) + 1;
        let delay = retry_delay(attempts, self.settings.retry_min, self.settings.retry_max);
        let events = keys.len();
        let next = now_unix_ms() + delay.as_millis() as i64;
        // The retry is recorded before the line that announces it.
        match self
            .outbox
            .store()
            .outbox_failed(keys, e.to_string(), next)
            .await
        {
            Ok(()) => self.store_took_write(),
            // The events stay pending as they were, due at once: the pause stands in
            // for their backoff.
            Err(e) => self.outcome_not_recorded(&e),
        }
        crate::rate_limited!(warn!(
            error = %e,
            events,
            attempts,
            retry_in = ?delay,
            "event delivery failed; will retry"
        ));
        None
    }

    async fn publish_depth(&self) {
        match self.outbox.store().outbox_depth().await {
            Ok(n) => metrics::gauge!(OUTBOX_DEPTH).set(n as f64),
            Err(e) => crate::rate_limited!(warn!(error = %e, "cannot count the event outbox")),
        }
    }
}

/// Packs runs (each one conversation's events in order) into deliveries of at most
/// `max` events; a run that does not fit whole is cut (its rest goes next time, once
/// the part sent is acknowledged), so one conversation never spans two deliveries.
fn pack(runs: Vec<Vec<PendingEvent>>, max: usize) -> Vec<Vec<PendingEvent>> {
    let mut out: Vec<Vec<PendingEvent>> = Vec::new();
    let mut current = Vec::new();
    for mut run in runs {
        if !current.is_empty() && current.len() + run.len() > max {
            let room = max - current.len();
            if room == 0 || run.len() > max {
                out.push(std::mem::take(&mut current));
            } else {
                run.truncate(room);
            }
        }
        run.truncate(max);
        current.extend(run);
        if current.len() == max {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// When to look again: the next due retry or the next poll, whichever is first.
fn wake_at(next_due_ms: Option<i64>, next_poll: Instant) -> Instant {
    let Some(due) = next_due_ms else {
        return next_poll;
    };
    let wait = Duration::from_millis(due.saturating_sub(now_unix_ms()).max(0) as u64);
    next_poll.min(Instant::now() + wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::{ChatEvent, EventType};

    fn run(conversation: &str, n: u64) -> Vec<PendingEvent> {
        (1..=n)
            .map(|sequence| PendingEvent {
                event: ChatEvent {
                    id: format!("{conversation}{sequence}"),
                    ty: EventType::MessageReceived,
                    conversation_id: conversation.into(),
                    sequence,
                    time: String::new(),
                    data: serde_json::Value::Null.into(),
                },
                attempts: 0,
                created_unix_ms: 0,
                position: sequence as i64,
            })
            .collect()
    }

    fn shape(deliveries: &[Vec<PendingEvent>]) -> Vec<Vec<String>> {
        deliveries
            .iter()
            .map(|d| d.iter().map(|p| p.event.id.clone()).collect())
            .collect()
    }

    #[test]
    fn packing_keeps_each_conversation_in_one_delivery_and_in_order() {
        let got = pack(vec![run("a", 2), run("b", 3), run("c", 1)], 3);
        assert_eq!(shape(&got), [vec!["a1", "a2", "b1"], vec!["c1"]]);
        let got = pack(vec![run("a", 5)], 3);
        assert_eq!(shape(&got), [vec!["a1", "a2", "a3"]]);
        let got = pack(vec![run("a", 1), run("b", 1)], 1);
        assert_eq!(shape(&got), [vec!["a1"], vec!["b1"]]);
    }
}
