//! Which submits each carrier has out, so a receipt is read tolerantly only once its own
//! id can no longer appear.
//!
//! A receipt whose id matches no recorded segment may be for a submit whose
//! `submit_sm_resp` is not recorded yet (carriers often send the receipt first, and the
//! response's write can lag under load); read by a tolerant form meanwhile, it could
//! name another segment (`00000017` read as decimal is hex `11`). A receipt can only be
//! for a submit sent before it arrived, so the dispatcher takes a numbered
//! [`SubmitTicket`] before it submits and drops it once the attempt is recorded; a
//! receipt notes the last number issued when it arrives (its *mark*) and may be read
//! tolerantly once every ticket up to its mark is done. A receipt parked while that is
//! not yet so waits here, and the receipts flow reads it when it is
//! ([`SubmitsInFlight::take_ready`]).
//!
//! Everything is bounded: tickets by the dispatcher's concurrency, waiting receipts by
//! [`MAX_WAITING`] per carrier (past it the carrier's parked receipts are read all at
//! once, in pages, when its submits go quiet).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::store::ParkedSelection;

/// Receipts remembered per carrier while they wait for submits in flight.
pub const MAX_WAITING: usize = 65_536;

#[derive(Debug, Default)]
struct Tracker {
    /// The last ticket issued.
    issued: u64,
    /// Tickets not yet done.
    outstanding: BTreeSet<u64>,
    /// Parked receipts by row id, with their marks.
    waiting: HashMap<i64, u64>,
    /// Read every parked receipt not waiting, at the next turn.
    all: bool,
}

impl Tracker {
    /// Whether every ticket up to `mark` is done.
    fn quiet_through(&self, mark: u64) -> bool {
        self.outstanding.first().is_none_or(|&first| first > mark)
    }

    fn has_ready(&self) -> bool {
        self.all || self.waiting.values().any(|&mark| self.quiet_through(mark))
    }
}

/// Every carrier's submits in flight and the receipts waiting for them. Cheap to clone;
/// the dispatcher and the receipts flow share one.
#[derive(Debug, Clone, Default)]
pub struct SubmitsInFlight {
    by_carrier: Arc<Mutex<HashMap<String, Tracker>>>,
    wake: Arc<Notify>,
}

/// A submit out on a carrier; done when dropped (after its attempt is recorded).
#[derive(Debug)]
pub struct SubmitTicket {
    owner: SubmitsInFlight,
    carrier: String,
    number: u64,
}

impl Drop for SubmitTicket {
    fn drop(&mut self) {
        let ready = {
            let mut carriers = self.owner.lock();
            let Some(tracker) = carriers.get_mut(&self.carrier) else {
                return;
            };
            tracker.outstanding.remove(&self.number);
            tracker.has_ready()
        };
        if ready {
            self.owner.wake.notify_one();
        }
    }
}

impl SubmitsInFlight {
    /// Nothing in flight.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Tracker>> {
        // Every update leaves the map consistent: a poisoned lock is still usable.
        self.by_carrier.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A ticket for a submit about to go out on `carrier`.
    pub fn begin(&self, carrier: &str) -> SubmitTicket {
        let mut carriers = self.lock();
        let tracker = carriers.entry(carrier.to_owned()).or_default();
        tracker.issued += 1;
        tracker.outstanding.insert(tracker.issued);
        SubmitTicket {
            owner: self.clone(),
            carrier: carrier.to_owned(),
            number: tracker.issued,
        }
    }

    /// The mark of a receipt arriving now from `carrier`: the last ticket issued.
    pub fn mark(&self, carrier: &str) -> u64 {
        self.lock().get(carrier).map_or(0, |t| t.issued)
    }

    /// Whether every submit up to `mark` on `carrier` is done (recorded or failed).
    pub fn quiet_through(&self, carrier: &str, mark: u64) -> bool {
        self.lock()
            .get(carrier)
            .is_none_or(|t| t.quiet_through(mark))
    }

    /// Remembers parked receipt `receipt`, which arrived at `mark`, until the submits
    /// before it are done.
    pub fn wait(&self, carrier: &str, mark: u64, receipt: i64) {
        let ready = {
            let mut carriers = self.lock();
            let tracker = carriers.entry(carrier.to_owned()).or_default();
            if tracker.waiting.len() < MAX_WAITING {
                tracker.waiting.insert(receipt, mark);
            } else {
                tracker.all = true;
            }
            // The submits may have finished while the receipt was being parked.
            tracker.has_ready()
        };
        if ready {
            self.wake.notify_one();
        }
    }

    /// Forgets receipts that matched exactly when their id was recorded.
    pub fn forget(&self, carrier: &str, receipts: impl IntoIterator<Item = i64>) {
        if let Some(tracker) = self.lock().get_mut(carrier) {
            for receipt in receipts {
                tracker.waiting.remove(&receipt);
            }
        }
    }

    /// Asks for every parked receipt of `carrier` to be read again (its form was just
    /// proven, or the daemon started with receipts parked).
    pub fn read_all(&self, carrier: &str) {
        self.lock().entry(carrier.to_owned()).or_default().all = true;
        self.wake.notify_one();
    }

    /// Takes, per carrier, the parked receipts that can be read now: those whose
    /// submits are done, or every one not still waiting (the carrier's form was just
    /// proven, or more receipts waited than are remembered).
    pub fn take_ready(&self) -> Vec<(String, ParkedSelection)> {
        let mut carriers = self.lock();
        let mut ready = Vec::new();
        for (carrier, tracker) in carriers.iter_mut() {
            let quiet: Vec<i64> = tracker
                .waiting
                .iter()
                .filter(|&(_, &mark)| tracker.quiet_through(mark))
                .map(|(&receipt, _)| receipt)
                .collect();
            for receipt in &quiet {
                tracker.waiting.remove(receipt);
            }
            if std::mem::take(&mut tracker.all) {
                let still: Vec<i64> = tracker.waiting.keys().copied().collect();
                let all = ParkedSelection::AllExcept {
                    except: still,
                    after: 0,
                };
                ready.push((carrier.clone(), all));
            } else if !quiet.is_empty() {
                ready.push((carrier.clone(), ParkedSelection::Receipts(quiet)));
            }
        }
        ready
    }

    /// Waits until some parked receipt may be ready. Cancel-safe: a wake-up not yet
    /// taken stays stored for the next call.
    pub async fn ready(&self) {
        self.wake.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_waits_for_the_submits_sent_before_it_only() {
        let flight = SubmitsInFlight::new();
        let first = flight.begin("c");
        let mark = flight.mark("c");
        assert!(!flight.quiet_through("c", mark));
        flight.wait("c", mark, 7);
        // A submit sent after the receipt arrived cannot be its own.
        let later = flight.begin("c");
        assert!(flight.take_ready().is_empty());
        drop(first);
        assert!(flight.quiet_through("c", mark));
        assert_eq!(
            flight.take_ready(),
            [("c".to_string(), ParkedSelection::Receipts(vec![7]))]
        );
        assert!(flight.take_ready().is_empty(), "taken once");
        drop(later);
        // Other carriers are quiet.
        assert!(flight.quiet_through("other", flight.mark("other")));
    }

    #[test]
    fn a_receipt_matched_when_its_id_was_recorded_is_forgotten() {
        let flight = SubmitsInFlight::new();
        let ticket = flight.begin("c");
        flight.wait("c", flight.mark("c"), 1);
        flight.forget("c", [1]);
        drop(ticket);
        assert!(flight.take_ready().is_empty());
    }

    #[test]
    fn reading_all_leaves_out_the_receipts_still_waiting() {
        let flight = SubmitsInFlight::new();
        let ticket = flight.begin("c");
        flight.wait("c", flight.mark("c"), 3);
        flight.read_all("c");
        assert_eq!(
            flight.take_ready(),
            [(
                "c".to_string(),
                ParkedSelection::AllExcept {
                    except: vec![3],
                    after: 0
                }
            )]
        );
        drop(ticket);
        assert_eq!(
            flight.take_ready(),
            [("c".to_string(), ParkedSelection::Receipts(vec![3]))]
        );
    }

    #[tokio::test]
    async fn the_last_submit_done_wakes_the_reader() {
        let flight = SubmitsInFlight::new();
        let ticket = flight.begin("c");
        flight.wait("c", flight.mark("c"), 1);
        drop(ticket);
        // The wake-up is stored: this returns at once.
        flight.ready().await;
        assert_eq!(flight.take_ready().len(), 1);
    }
}
