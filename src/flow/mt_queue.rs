//! How accepted MTs reach the dispatcher. The store is the source of truth: the
//! dispatcher lists the MTs due there at start, when woken, and when a retry falls
//! due. An MT the API has just accepted is also handed over in memory, so the
//! dispatcher need not read the store twice (list, then re-read) for each new MT.
//!
//! Handing over must never let one MT be attempted twice. An MT is *claimed* (its id
//! put in the in-flight set) before it is written; a listing from the store skips
//! claimed ids, so it cannot start an MT that is waiting in the hand-over, and the
//! hand-over carries only MTs that nobody could have attempted yet. The claim ends
//! when the attempt is recorded. A claim that is not handed over (the write failed,
//! or the key was a replay) is released and the dispatcher is woken to look at the
//! store instead.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};

use crate::store::DueMt;

/// The in-flight set, the hand-over channel and the dispatcher's wake-up.
pub struct MtQueue {
    in_flight: Mutex<HashSet<String>>,
    ready: mpsc::Sender<DueMt>,
    taken: Mutex<Option<mpsc::Receiver<DueMt>>>,
    wake: Arc<Notify>,
}

impl MtQueue {
    /// A queue that holds at most `capacity` handed-over MTs; beyond that, new MTs
    /// wait in the store for the dispatcher's next listing.
    pub fn new(capacity: usize) -> Arc<MtQueue> {
        let (ready, taken) = mpsc::channel(capacity.max(1));
        Arc::new(MtQueue {
            in_flight: Mutex::new(HashSet::new()),
            ready,
            taken: Mutex::new(Some(taken)),
            wake: Arc::new(Notify::new()),
        })
    }

    /// The dispatcher's wake-up, for whoever stores MTs without handing them over.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Wakes the dispatcher to list the MTs due in the store.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(super) async fn woken(&self) {
        self.wake.notified().await
    }

    /// The receiving end of the hand-over; the one dispatcher takes it once.
    pub(super) fn take_receiver(&self) -> Option<mpsc::Receiver<DueMt>> {
        self.taken.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn set(&self) -> MutexGuard<'_, HashSet<String>> {
        // Inserts and removes only: a poisoned set is still consistent.
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims `id` for the dispatcher; false when it is already claimed.
    pub(super) fn claim_listed(&self, id: &str) -> bool {
        self.set().insert(id.to_owned())
    }

    /// Ends the claim on `id` once its attempt is recorded.
    pub(super) fn release(&self, id: &str) {
        self.set().remove(id);
    }

    /// Claims a new MT before it is written, with room to hand it over; `None` when
    /// the hand-over is full (the MT then waits for a listing).
    pub fn claim_new(self: &Arc<Self>, id: &str) -> Option<Claim> {
        let permit = self.ready.clone().try_reserve_owned().ok()?;
        if !self.set().insert(id.to_owned()) {
            return None;
        }
        Some(Claim {
            queue: self.clone(),
            id: id.to_owned(),
            permit: Some(permit),
        })
    }
}

/// A new MT's claim, held while it is written.
pub struct Claim {
    queue: Arc<MtQueue>,
    id: String,
    permit: Option<mpsc::OwnedPermit<DueMt>>,
}

impl Claim {
    /// Hands the written MT to the dispatcher.
    pub fn hand_over(mut self, mt: DueMt) {
        debug_assert_eq!(mt.message_id, self.id);
        if let Some(permit) = self.permit.take() {
            permit.send(mt);
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.permit.is_some() {
            // Not handed over: whatever was stored is found by a listing.
            self.queue.release(&self.id);
            self.queue.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(id: &str) -> DueMt {
        DueMt {
            message_id: id.into(),
            conversation_id: "c".into(),
            contact: "+15550000001".into(),
            sender: "+15550000002".into(),
            text: "hi".into(),
            reference: 0,
            route: "r".into(),
            validity_deadline: 0,
            attempts: 0,
            segments_done: Vec::new(),
            media: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_claimed_mt_is_skipped_by_listings_until_released() {
        let queue = MtQueue::new(4);
        let mut rx = queue.take_receiver().unwrap();
        let claim = queue.claim_new("m1").unwrap();
        assert!(!queue.claim_listed("m1"), "a listing must not start it");
        claim.hand_over(due("m1"));
        assert_eq!(rx.recv().await.unwrap().message_id, "m1");
        assert!(
            !queue.claim_listed("m1"),
            "claimed until its attempt is recorded"
        );
        queue.release("m1");
        assert!(queue.claim_listed("m1"));
    }

    #[tokio::test]
    async fn a_claim_not_handed_over_is_released_and_wakes_the_dispatcher() {
        let queue = MtQueue::new(4);
        drop(queue.claim_new("m1").unwrap());
        assert!(queue.claim_listed("m1"));
        // The wake-up is kept for the next wait.
        queue.woken().await;
    }

    #[test]
    fn a_full_hand_over_claims_nothing() {
        let queue = MtQueue::new(1);
        let _first = queue.claim_new("m1").unwrap();
        assert!(queue.claim_new("m2").is_none());
        assert!(queue.claim_listed("m2"), "m2 was left for a listing");
        assert!(queue.claim_new("m1").is_none(), "m1 is claimed already");
    }
}
