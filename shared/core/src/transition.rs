//! The lifecycle steps of a key, apart from the lifecycle that applies them, so the work queue
//! can carry them without the two modules importing each other.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A lifecycle step of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Expires within 7 days.
    ExpiringIn7Days,
    /// Expires within a day.
    ExpiringIn1Day,
    /// Expired (or, for a rotated key, its grace ended).
    Expired,
}

impl Transition {
    /// The transition due at `now` for a key expiring at `expires_at`, if any.
    pub fn due(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Transition> {
        if expires_at <= now {
            Some(Transition::Expired)
        } else if expires_at - now <= Duration::days(1) {
            Some(Transition::ExpiringIn1Day)
        } else if expires_at - now <= Duration::days(7) {
            Some(Transition::ExpiringIn7Days)
        } else {
            None
        }
    }
}
