//! Time checks on a received header (spec §9), as a pure function of the header and "now".
//!
//! The caller supplies the clock, so tests and the dedupe store agree on one time. A
//! message is refused when it has expired, when it claims to come from further in the
//! future than the allowed skew, or when it is older than the replay window; anything
//! older than the window can no longer be in the duplicate store, so accepting it would
//! let a replay through.

use crate::error::EnvelopeError;
use crate::header::Header;

/// The profile's time policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimePolicy {
    /// Allowed clock skew, ms (spec default 300 s).
    pub skew_ms: u64,
    /// Replay window, ms (spec default 7 days).
    pub replay_window_ms: u64,
}

impl Default for TimePolicy {
    fn default() -> TimePolicy {
        TimePolicy {
            skew_ms: 300_000,
            replay_window_ms: 7 * 24 * 3_600_000,
        }
    }
}

/// Applies spec §9 to `header` at `now_ms` (Unix ms).
pub fn check_time(header: &Header, now_ms: u64, policy: &TimePolicy) -> Result<(), EnvelopeError> {
    if let Some(expires_at) = header.expires_at
        && expires_at <= now_ms
    {
        return Err(EnvelopeError::Expired {
            expires_at,
            now: now_ms,
        });
    }
    if header.created_at > now_ms.saturating_add(policy.skew_ms) {
        return Err(EnvelopeError::FromTheFuture {
            created_at: header.created_at,
            now: now_ms,
            skew_ms: policy.skew_ms,
        });
    }
    if header.created_at < now_ms.saturating_sub(policy.replay_window_ms) {
        return Err(EnvelopeError::OutsideReplayWindow {
            created_at: header.created_at,
            now: now_ms,
            window_ms: policy.replay_window_ms,
        });
    }
    Ok(())
}
