//! When a node retrains its model: the due check of scheduled retraining, pure.
//!
//! Why a pure function: the serve loop, the CLI and the tests must agree on "is it time?",
//! and a clock-free function of (now, last training, new labels, policy) can be tested
//! exhaustively. A retrain is due when the interval has passed since the last model was
//! trained (or no model exists) and enough new inspection outcomes have arrived since:
//! retraining on the same labels would only register a copy of the active model.

/// How often to retrain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrainPolicy {
    /// Minimum time between trainings, in milliseconds (> 0).
    pub every_ms: u64,
    /// Outcomes recorded since the last training needed before retraining.
    pub min_new_outcomes: u64,
}

/// Whether a retrain is due at `now_ms`, given when the newest model was trained (`None`:
/// no model yet) and how many outcomes were recorded since.
pub fn retrain_due(
    now_ms: u64,
    last_trained_ms: Option<u64>,
    new_outcomes: u64,
    policy: RetrainPolicy,
) -> bool {
    if new_outcomes < policy.min_new_outcomes.max(1) {
        return false;
    }
    match last_trained_ms {
        None => true,
        Some(last) => now_ms >= last.saturating_add(policy.every_ms),
    }
}

/// Milliseconds until the interval since `last_trained_ms` elapses (0 when it has), so a
/// loop can sleep until the next check. New outcomes may still be lacking then.
pub fn until_next_check(now_ms: u64, last_trained_ms: Option<u64>, policy: RetrainPolicy) -> u64 {
    match last_trained_ms {
        None => 0,
        Some(last) => last.saturating_add(policy.every_ms).saturating_sub(now_ms),
    }
}

/// Why an interval was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "TARGET_INTERVAL: {0:?} is not an interval; write a positive whole number and a unit: s, m, h, d or w (e.g. \"7d\")"
)]
pub struct IntervalError(pub String);

/// Parses an interval such as `"7d"`, `"12h"`, `"30m"`, `"90s"` or `"2w"` into milliseconds.
pub fn parse_interval(raw: &str) -> Result<u64, IntervalError> {
    let err = || IntervalError(raw.to_owned());
    let text = raw.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| err())?;
    let unit_ms: u64 = match unit.trim() {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(err()),
    };
    match n.checked_mul(unit_ms) {
        Some(ms) if ms > 0 => Ok(ms),
        _ => Err(err()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WEEK: RetrainPolicy = RetrainPolicy {
        every_ms: 604_800_000,
        min_new_outcomes: 1,
    };

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("7d"), Ok(604_800_000));
        assert_eq!(parse_interval(" 12h "), Ok(43_200_000));
        assert_eq!(parse_interval("2w"), Ok(1_209_600_000));
        assert_eq!(parse_interval("90s"), Ok(90_000));
        for bad in [
            "",
            "d",
            "7",
            "0d",
            "7 days",
            "-1d",
            "1.5d",
            "99999999999999999999d",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn examples() {
        assert!(retrain_due(0, None, 1, WEEK));
        assert!(!retrain_due(0, None, 0, WEEK), "nothing new to learn");
        assert!(!retrain_due(WEEK.every_ms - 1, Some(0), 5, WEEK));
        assert!(retrain_due(WEEK.every_ms, Some(0), 5, WEEK));
        assert_eq!(until_next_check(10, Some(0), WEEK), WEEK.every_ms - 10);
    }

    proptest! {
        #[test]
        fn due_exactly_when_interval_passed_and_labels_arrived(
            now in 0u64..u64::MAX / 2,
            last in proptest::option::of(0u64..u64::MAX / 2),
            new in 0u64..1_000,
            every in 1u64..1u64 << 40,
            min in 0u64..50,
        ) {
            let policy = RetrainPolicy { every_ms: every, min_new_outcomes: min };
            let due = retrain_due(now, last, new, policy);
            let elapsed = last.is_none_or(|l| now >= l + every);
            prop_assert_eq!(due, elapsed && new >= min.max(1));
            // Sleeping the advertised time always reaches the interval.
            let wait = until_next_check(now, last, policy);
            prop_assert_eq!(wait == 0, elapsed);
            prop_assert!(last.is_none_or(|l| now + wait >= l + every));
            // Monotone in time: once due, staying due later with the same labels.
            if due {
                prop_assert!(retrain_due(now + 1, last, new, policy));
            }
        }

        #[test]
        fn interval_round_trips(n in 1u64..100_000, unit in 0usize..5) {
            let (suffix, ms) = [("s", 1_000u64), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000)][unit];
            prop_assert_eq!(parse_interval(&format!("{n}{suffix}")), Ok(n * ms));
        }
    }
}
