//! When a failed delivery is tried again: the contract's schedule with jitter, or what a 429 or
//! 503 asked for in `Retry-After`.

use chrono::{DateTime, Duration, Utc};

/// The wait after each failed attempt (after the first, about 5 s; after the ninth retry,
/// nothing: the delivery fails and its endpoint is disabled).
pub const RETRY_DELAYS: [Duration; 9] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(14),
    Duration::hours(20),
    Duration::hours(24),
];

/// The most attempts a delivery gets: the first and one per delay.
pub const MAX_ATTEMPTS: usize = RETRY_DELAYS.len() + 1;

/// How far either side of its delay a retry may land (a tenth), so endpoints that failed together
/// are not all tried again at once.
pub const JITTER: f64 = 0.1;

/// The longest `Retry-After` honoured; a longer one waits this long.
pub const MAX_RETRY_AFTER: Duration = Duration::hours(24);

/// When the attempt after `attempts` failed ones is due, the last made at `at`: its delay
/// scaled by `spread` (0..=1, drawn by the caller: 0.5 is the delay itself), or `None` when
/// the schedule has run out.
pub fn next_after(attempts: usize, at: DateTime<Utc>, spread: f64) -> Option<DateTime<Utc>> {
    let delay = RETRY_DELAYS.get(attempts.checked_sub(1)?)?;
    let factor = 1.0 + JITTER * (spread.clamp(0.0, 1.0) * 2.0 - 1.0);
    let ms = (delay.num_milliseconds() as f64 * factor).round() as i64;
    Some(at + Duration::milliseconds(ms))
}

/// The wait a `Retry-After` header asks for, as seconds or an HTTP date relative to `now`,
/// within 1 s and [`MAX_RETRY_AFTER`]; `None` when it is neither.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::seconds(seconds.min(MAX_RETRY_AFTER.num_seconds() as u64) as i64),
        Err(_) => {
            DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc)
                - now
        }
    };
    Some(wait.clamp(Duration::seconds(1), MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_schedule_is_the_contracts() {
        let at = Utc::now();
        assert_eq!(next_after(1, at, 0.5), Some(at + Duration::seconds(5)));
        assert_eq!(next_after(9, at, 0.5), Some(at + Duration::hours(24)));
        assert_eq!(next_after(10, at, 0.5), None);
        assert_eq!(next_after(0, at, 0.5), None);
        assert_eq!(next_after(2, at, 0.0), Some(at + Duration::seconds(270)));
        assert_eq!(next_after(2, at, 1.0), Some(at + Duration::seconds(330)));
        assert_eq!(MAX_ATTEMPTS, 10);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::seconds(120)));
        assert_eq!(retry_after("0", now), Some(Duration::seconds(1)));
        assert_eq!(retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now),
            Some(Duration::seconds(60))
        );
        assert_eq!(retry_after("soon", now), None);
    }

    proptest! {
        #[test]
        fn retries_land_within_a_tenth_of_their_delay(attempts in 1usize..10, spread in 0.0f64..=1.0) {
            let at = Utc::now();
            let next = next_after(attempts, at, spread).unwrap();
            let delay = RETRY_DELAYS[attempts - 1].num_milliseconds() as f64;
            let waited = (next - at).num_milliseconds() as f64;
            prop_assert!((waited - delay).abs() <= delay * JITTER + 1.0);
        }

        #[test]
        fn any_retry_after_is_a_bounded_wait_or_none(value in ".{0,40}") {
            if let Some(wait) = retry_after(&value, Utc::now()) {
                prop_assert!(wait >= Duration::seconds(1) && wait <= MAX_RETRY_AFTER);
            }
        }
    }
}
