//! A key's own rate limit: at most so many requests per second, minute, hour or day.

use chrono::{DateTime, TimeDelta, Utc};

/// Highest limit per window.
pub const MAX_LIMIT: u32 = 10_000_000;

/// The length of a rate window; windows are aligned to the UTC clock (a minute window starts at
/// second 0, a day window at midnight UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateWindow {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

impl RateWindow {
    /// Every window, shortest first.
    pub const ALL: [RateWindow; 4] = [Self::Second, Self::Minute, Self::Hour, Self::Day];

    /// Its length.
    pub fn length(self) -> TimeDelta {
        match self {
            Self::Second => TimeDelta::seconds(1),
            Self::Minute => TimeDelta::minutes(1),
            Self::Hour => TimeDelta::hours(1),
            Self::Day => TimeDelta::days(1),
        }
    }

    /// The name the contract gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// The window named `raw`, if any.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == raw)
    }

    /// The start of the window holding `at` (every window divides the epoch evenly).
    pub fn start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let length = self.length().num_seconds();
        DateTime::from_timestamp(at.timestamp().div_euclid(length) * length, 0).unwrap_or(at)
    }
}

/// At most `limit` requests per `window`, exactly or within the credit bound (see [`Self::exact`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    limit: u32,
    window: RateWindow,
    exact: bool,
}

impl RateLimit {
    /// A limit of 1..=[`MAX_LIMIT`] requests per `window`, or `None` outside that range; not
    /// exact (see [`Self::exact`]).
    pub fn new(limit: u32, window: RateWindow) -> Option<Self> {
        (1..=MAX_LIMIT).contains(&limit).then_some(Self {
            limit,
            window,
            exact: false,
        })
    }

    /// The same limit, exact or not. An exact limit never admits a request past `limit` in a
    /// window, and pays for it with a storage write before each container's first request of
    /// each window; a limit that is not exact admits that first request at once, on credit, and
    /// so may pass `limit` by one request per container that first meets the key after the
    /// window's budget ran out (see `keys::ratelimit`).
    pub fn exact(self, exact: bool) -> Self {
        Self { exact, ..self }
    }

    /// Whether the limit is exact (see [`Self::exact`]).
    pub fn is_exact(self) -> bool {
        self.exact
    }

    /// `limit` requests an hour (spatialflow's `rate_limit_per_hour`).
    pub fn hourly(limit: u32) -> Option<Self> {
        Self::new(limit, RateWindow::Hour)
    }

    /// Whether this limit never admits more than `ceiling`: no more requests in one window (a
    /// burst) and no higher rate over time. 100 a minute is within 10,000 a day by rate but not
    /// by burst once the day is reckoned in minutes, so both must hold: a limit within its
    /// ceiling admits at most the ceiling's requests per the ceiling's window, however the
    /// windows fall; and an exact ceiling holds only exact limits (the credit bound is more).
    pub fn within(self, ceiling: RateLimit) -> bool {
        let rate = u128::from(self.limit) * ceiling.window.length().num_seconds() as u128;
        let ceiling_rate = u128::from(ceiling.limit) * self.window.length().num_seconds() as u128;
        self.limit <= ceiling.limit && rate <= ceiling_rate && (self.exact || !ceiling.exact)
    }

    /// Requests allowed per window.
    pub fn limit(self) -> u32 {
        self.limit
    }

    /// The window.
    pub fn window(self) -> RateWindow {
        self.window
    }

    /// The same rate per hour, for clients that know only `rate_limit_per_hour`: rounded up for a
    /// day window (10 a day is 1 an hour), saturating at `i32::MAX`.
    pub fn per_hour(self) -> u32 {
        let limit = u64::from(self.limit);
        let per_hour = match self.window {
            RateWindow::Second => limit * 3600,
            RateWindow::Minute => limit * 60,
            RateWindow::Hour => limit,
            RateWindow::Day => limit.div_ceil(24),
        };
        u32::try_from(per_hour.min(i32::MAX as u64)).expect("at most i32::MAX")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_within_another_only_by_both_burst_and_rate() {
        let l = |limit, window| RateLimit::new(limit, window).unwrap();
        use RateWindow::*;
        assert!(l(5, Day).within(l(5, Day)));
        assert!(l(1, Minute).within(l(100, Hour)));
        assert!(!l(5, Minute).within(l(100, Hour)), "300 an hour");
        assert!(
            !l(1000, Day).within(l(100, Minute)),
            "a burst of 1,000 in a minute"
        );
        assert!(!l(100, Minute).within(l(1000, Day)));
        assert!(!l(6, Day).within(l(5, Day)));
        assert!(!l(1, Second).within(l(5, Day)));
        assert!(l(MAX_LIMIT, Day).within(l(MAX_LIMIT, Second)));
        assert!(l(5, Day).exact(true).within(l(5, Day)));
        assert!(l(5, Day).exact(true).within(l(5, Day).exact(true)));
        assert!(
            !l(5, Day).within(l(5, Day).exact(true)),
            "dropping exactness loosens the limit"
        );
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        assert!(RateLimit::new(0, RateWindow::Second).is_none());
        assert!(RateLimit::new(MAX_LIMIT + 1, RateWindow::Day).is_none());
        assert!(RateLimit::new(MAX_LIMIT, RateWindow::Day).is_some());
    }

    #[test]
    fn the_hourly_equivalent_rounds_up_and_saturates() {
        let per_hour = |limit, window| RateLimit::new(limit, window).unwrap().per_hour();
        assert_eq!(per_hour(10, RateWindow::Day), 1);
        assert_eq!(per_hour(25, RateWindow::Day), 2);
        assert_eq!(per_hour(7, RateWindow::Hour), 7);
        assert_eq!(per_hour(2, RateWindow::Minute), 120);
        assert_eq!(per_hour(MAX_LIMIT, RateWindow::Second), i32::MAX as u32);
    }

    #[test]
    fn windows_start_on_the_clock() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T10:31:45.250Z")
            .unwrap()
            .to_utc();
        let starts: Vec<String> = RateWindow::ALL
            .iter()
            .map(|w| w.start(at).to_rfc3339())
            .collect();
        assert_eq!(
            starts,
            [
                "2026-11-24T10:31:45+00:00",
                "2026-11-24T10:31:00+00:00",
                "2026-11-24T10:00:00+00:00",
                "2026-11-24T00:00:00+00:00"
            ]
        );
        for w in RateWindow::ALL {
            assert_eq!(RateWindow::parse(w.as_str()), Some(w));
        }
        assert_eq!(RateWindow::parse("week"), None);
    }

    proptest::proptest! {
        #[test]
        fn every_instant_lies_in_its_window(
            secs in DateTime::<Utc>::MIN_UTC.timestamp()..DateTime::<Utc>::MAX_UTC.timestamp() - 86_400,
            nanos in 0u32..1_000_000_000,
        ) {
            let at = DateTime::from_timestamp(secs, nanos).unwrap();
            for w in RateWindow::ALL {
                let start = w.start(at);
                proptest::prop_assert!(start <= at && at < start + w.length(), "{w:?} {at}");
            }
            let bucket = crate::usage::event_bucket(at);
            proptest::prop_assert!(bucket <= at && at < bucket + crate::usage::EVENT_BUCKET);
        }
    }
}
