//! The window: requests sent on one session and not yet answered, each with its own
//! response deadline.
//!
//! The window's capacity bounds the *caller's* requests in flight (submit_sm, deliver_sm
//! towards the peer, …). The session's own housekeeping requests (enquire_link, unbind)
//! are tracked here too, for correlation and timeouts, but never count against the
//! capacity, so a full window can still prove the link alive.

use std::collections::{BTreeSet, HashMap};

use rusmpp::CommandId;
use tokio::time::Instant;

/// The largest window a bind may be configured with.
pub const MAX_WINDOW: usize = 1024;

/// The window used when nothing else is configured.
pub const DEFAULT_WINDOW: usize = 10;

/// One request awaiting its response.
#[derive(Debug)]
pub struct Pending<W> {
    /// The request's command id.
    pub command: CommandId,
    /// When it was queued for writing (for the latency histogram).
    pub sent_at: Instant,
    /// When it times out.
    pub deadline: Instant,
    /// Whether it occupies a window slot (caller requests do, housekeeping does not).
    pub counted: bool,
    /// Whoever waits for the response.
    pub waiter: W,
}

/// Why a request could not enter the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The sequence number is still in use by an unanswered request (only possible after
    /// 2^31 requests on one session with one of them still unanswered).
    #[error("sequence number {0} is still in flight")]
    SequenceInUse(u32),
}

/// In-flight requests of one session, keyed by sequence number.
#[derive(Debug)]
pub struct Window<W> {
    capacity: usize,
    counted: usize,
    pending: HashMap<u32, Pending<W>>,
    timers: BTreeSet<(Instant, u32)>,
}

impl<W> Window<W> {
    /// A window for `capacity` caller requests (clamped into 1..=1024).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_WINDOW);
        Self {
            capacity,
            counted: 0,
            pending: HashMap::with_capacity(capacity + 2),
            timers: BTreeSet::new(),
        }
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Caller requests in flight.
    pub fn occupancy(&self) -> usize {
        self.counted
    }

    /// True when another caller request may be sent.
    pub fn has_room(&self) -> bool {
        self.counted < self.capacity
    }

    /// True when no request at all is in flight.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// True when `seq` is awaiting a response.
    pub fn contains(&self, seq: u32) -> bool {
        self.pending.contains_key(&seq)
    }

    /// Records a request as in flight.
    pub fn insert(&mut self, seq: u32, pending: Pending<W>) -> Result<(), WindowError> {
        if self.pending.contains_key(&seq) {
            return Err(WindowError::SequenceInUse(seq));
        }
        self.counted += usize::from(pending.counted);
        self.timers.insert((pending.deadline, seq));
        self.pending.insert(seq, pending);
        Ok(())
    }

    /// Removes the request a response answers.
    pub fn complete(&mut self, seq: u32) -> Option<Pending<W>> {
        let pending = self.pending.remove(&seq)?;
        self.timers.remove(&(pending.deadline, seq));
        self.counted -= usize::from(pending.counted);
        Some(pending)
    }

    /// The earliest response deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|(deadline, _)| *deadline)
    }

    /// Removes and returns one request whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(u32, Pending<W>)> {
        let &(deadline, seq) = self.timers.first()?;
        if deadline > now {
            return None;
        }
        self.complete(seq).map(|pending| (seq, pending))
    }

    /// Removes every request (the connection is gone).
    pub fn drain(&mut self) -> impl Iterator<Item = (u32, Pending<W>)> + '_ {
        self.timers.clear();
        self.counted = 0;
        self.pending.drain()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pending(deadline: Instant, counted: bool) -> Pending<()> {
        Pending {
            command: CommandId::SubmitSm,
            sent_at: deadline - Duration::from_secs(1),
            deadline,
            counted,
            waiter: (),
        }
    }

    #[test]
    fn capacity_counts_only_caller_requests() {
        let now = Instant::now();
        let mut window = Window::new(2);
        window.insert(1, pending(now, true)).unwrap();
        window.insert(2, pending(now, false)).unwrap();
        assert!(window.has_room());
        window.insert(3, pending(now, true)).unwrap();
        assert!(!window.has_room());
        window.complete(1).unwrap();
        assert!(window.has_room());
    }

    #[test]
    fn expires_in_deadline_order() {
        let now = Instant::now();
        let mut window = Window::new(10);
        window
            .insert(5, pending(now + Duration::from_secs(2), true))
            .unwrap();
        window
            .insert(6, pending(now + Duration::from_secs(1), true))
            .unwrap();
        assert_eq!(window.next_deadline(), Some(now + Duration::from_secs(1)));
        assert!(window.pop_expired(now).is_none());
        let later = now + Duration::from_secs(3);
        assert_eq!(window.pop_expired(later).map(|(seq, _)| seq), Some(6));
        assert_eq!(window.pop_expired(later).map(|(seq, _)| seq), Some(5));
        assert!(window.is_empty());
    }

    #[test]
    fn duplicate_sequence_is_refused() {
        let now = Instant::now();
        let mut window = Window::new(10);
        window.insert(1, pending(now, true)).unwrap();
        assert_eq!(
            window.insert(1, pending(now, true)),
            Err(WindowError::SequenceInUse(1))
        );
        assert_eq!(window.occupancy(), 1);
    }

    #[test]
    fn capacity_is_clamped() {
        assert_eq!(Window::<()>::new(0).capacity(), 1);
        assert_eq!(Window::<()>::new(5000).capacity(), MAX_WINDOW);
    }
}
