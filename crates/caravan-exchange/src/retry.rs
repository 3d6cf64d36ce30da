//! Reception awareness on the sending side (spec §3.1, §6): when to try again, and when to
//! give up.
//!
//! Why a pure schedule: the outbox stores only the attempt count and the next due time,
//! so the policy must be a function of (attempt, created_at, jitter draw). The profile's
//! default is 1 min, 5 min, 15 min, 1 h, then every 6 h, with a 72 h horizon; tests and
//! the demo use a compressed schedule of the same shape. Jitter (±`jitter_pct`%) keeps a
//! fleet of outboxes that lost the same partner from retrying in lock step.

use std::time::Duration;

/// The retry schedule of a partner profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delays before attempts 2, 3, … (after the first failure, the second, …).
    pub schedule: Vec<Duration>,
    /// Delay once the schedule is exhausted.
    pub then_every: Duration,
    /// No attempt starts later than `created_at + horizon` (the last one is made at the
    /// horizon); a failure at or past it dead-letters the message.
    pub horizon: Duration,
    /// Jitter, percent of the delay, both ways.
    pub jitter_pct: u8,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            schedule: [60, 300, 900, 3_600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            then_every: Duration::from_secs(6 * 3_600),
            horizon: Duration::from_secs(72 * 3_600),
            jitter_pct: 20,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again at this time (ms).
    RetryAt(u64),
    /// The horizon has passed: dead-letter.
    GiveUp,
}

impl RetryPolicy {
    /// A compressed schedule for tests and the demo: `base`, 2×, 4×, 8×, then 8× again,
    /// horizon `horizon`.
    pub fn fast(base: Duration, horizon: Duration) -> Self {
        Self {
            schedule: vec![base, base * 2, base * 4, base * 8],
            then_every: base * 8,
            horizon,
            jitter_pct: 20,
        }
    }

    /// The delay after failed attempt number `attempts` (1-based), before jitter.
    pub fn delay(&self, attempts: u32) -> Duration {
        let i = attempts.saturating_sub(1) as usize;
        self.schedule.get(i).copied().unwrap_or(self.then_every)
    }

    /// Decides after failed attempt `attempts` at `now` of a message created at
    /// `created_at`; `draw` is a uniform random u32 for the jitter.
    pub fn next(&self, attempts: u32, created_at: u64, now: u64, draw: u32) -> Next {
        let deadline = created_at.saturating_add(millis(self.horizon));
        let base = millis(self.delay(attempts));
        let spread = base * u64::from(self.jitter_pct) / 100;
        // draw ∈ [0, 2^32) maps onto [-spread, +spread].
        let offset = ((u128::from(spread) * 2 * u128::from(draw)) >> 32) as u64;
        let delay = (base + offset).saturating_sub(spread).max(1);
        if now >= deadline {
            return Next::GiveUp;
        }
        // The last attempt is made at the horizon itself, not skipped.
        Next::RetryAt(now.saturating_add(delay).min(deadline))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A uniform random u32 from the OS.
pub fn draw() -> u32 {
    let mut b = [0u8; 4];
    if getrandom::getrandom(&mut b).is_err() {
        return u32::MAX / 2;
    }
    u32::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_default_schedule_is_the_profiles() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (1..=6).map(|a| p.delay(a).as_secs()).collect();
        assert_eq!(secs, [60, 300, 900, 3_600, 21_600, 21_600]);
        // No jitter draw in the middle: exactly the delay.
        assert_eq!(p.next(1, 0, 1_000, 1 << 31), Next::RetryAt(61_000));
        // Past the 72 h horizon: give up.
        assert_eq!(p.next(9, 0, 72 * 3_600_000, 0), Next::GiveUp);
    }

    proptest! {
        #[test]
        fn retries_stay_within_jitter_and_never_pass_the_horizon(
            attempts in 1u32..20, created in 0u64..1 << 40, age in 0u64..100 * 3_600_000,
            draw in any::<u32>(),
        ) {
            let p = RetryPolicy::default();
            let now = created + age;
            let base = millis(p.delay(attempts));
            match p.next(attempts, created, now, draw) {
                Next::RetryAt(at) => {
                    let deadline = created + millis(p.horizon);
                    prop_assert!(at > now);
                    prop_assert!(at - now >= (base - base / 5).min(deadline - now));
                    prop_assert!(at - now <= base + base / 5);
                    prop_assert!(at <= deadline);
                }
                Next::GiveUp => {
                    prop_assert!(now >= created + millis(p.horizon));
                }
            }
        }
    }
}
