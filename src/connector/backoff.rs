//! When a failed event is tried again: exponential in its attempts between `retry_min`
//! and `retry_max`, with jitter so that the conversations that failed together (the
//! core went down) do not all return in the same instant.

use std::time::Duration;

/// The delay before attempt `attempts + 1`, after `attempts` (≥ 1) failures: the step
/// doubles from `min` up to `max`, and the delay is drawn between half the step and the
/// step, never below `min`.
pub fn retry_delay(attempts: u32, min: Duration, max: Duration) -> Duration {
    let doublings = attempts.saturating_sub(1).min(40);
    let step = min
        .checked_mul(1u32 << doublings.min(31))
        .unwrap_or(max)
        .min(max)
        .max(min);
    let low = (step / 2).max(min).min(step);
    low + (step - low).mul_f64(rand::random_range(0.0..=1.0_f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_within_bounds() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(8));
        for (attempts, step) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (60, 8)] {
            let step = Duration::from_secs(step);
            for _ in 0..50 {
                let d = retry_delay(attempts, min, max);
                assert!(
                    d >= (step / 2).max(min) && d <= step,
                    "{d:?} for {attempts}"
                );
            }
        }
    }

    #[test]
    fn equal_bounds_give_a_fixed_delay() {
        let d = Duration::from_millis(50);
        assert_eq!(retry_delay(7, d, d), d);
    }
}
