//! Token buckets counted in segments per second, per bind and per carrier.
//!
//! A caller that finds too few tokens reserves them anyway (the balance goes negative)
//! and sleeps for exactly the time the refill needs; callers are thus served in the
//! order they asked, without polling.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket refilled at `rate` per second, holding at most one second's worth.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket for `rate` segments per second.
    pub fn new(rate: NonZeroU32) -> Self {
        let rate = f64::from(rate.get());
        Self {
            rate,
            burst: rate,
            state: Mutex::new(BucketState {
                tokens: rate,
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Takes `n` tokens, returning how long the caller must wait before using them.
    pub fn reserve(&self, n: u32) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let elapsed = now.duration_since(state.refilled_at).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.rate).min(self.burst);
        state.refilled_at = now;
        state.tokens -= f64::from(n);
        if state.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-state.tokens / self.rate)
        }
    }

    /// Waits until `n` tokens are ours.
    pub async fn acquire(&self, n: u32) {
        let wait = self.reserve(n);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_to_the_rate_after_the_burst() {
        let bucket = TokenBucket::new(NonZeroU32::new(10).unwrap());
        let start = Instant::now();
        for _ in 0..30 {
            bucket.acquire(1).await;
        }
        // 10 from the full bucket, then 20 at 10/s: 2 s of (paused, exact) time, give or
        // take the floating-point rounding of the refill arithmetic.
        let off = start.elapsed().abs_diff(Duration::from_secs(2));
        assert!(off < Duration::from_millis(1), "{:?}", start.elapsed());
    }
}
