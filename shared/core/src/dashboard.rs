//! Dashboard metrics, computed from the owner's daily aggregates (written by usage accounting):
//! a period of D days reads at most D items, and its comparison period D more, whatever the
//! number of requests.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};

use crate::store_error::StoreError;
use crate::validate;
use crate::{
    error::Error,
    ids::UserId,
    keys::caller::Caller,
    keys::{
        model::{ApiKey, DailyUsage, KeyStatus},
        service::KeyService,
    },
};

/// The longest custom range, in days.
pub const MAX_CUSTOM_DAYS: i64 = 366;

/// A reporting period: whole UTC days, `start..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// `today`, `7d`, `30d` or `custom`.
    pub range: &'static str,
    /// First day.
    pub start: NaiveDate,
    /// Last day (inclusive).
    pub end: NaiveDate,
}

impl Period {
    /// Days in the period.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// The period of equal length just before this one; `None` where that leaves the calendar.
    pub fn previous(&self) -> Option<Period> {
        let end = self.start.checked_sub_days(Days::new(1))?;
        let start = end.checked_sub_days(Days::new(u64::try_from(self.days() - 1).ok()?))?;
        Some(Period {
            range: self.range,
            start,
            end,
        })
    }

    /// The first instant of the period and the first after it; `None` where that leaves the calendar.
    pub fn bounds(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let after = self.end.checked_add_days(Days::new(1))?;
        Some((
            self.start.and_time(NaiveTime::MIN).and_utc(),
            after.and_time(NaiveTime::MIN).and_utc(),
        ))
    }
}

fn period_date(field: &str, raw: &str) -> Result<NaiveDate, Error> {
    validate::date(field, raw).map_err(|e| Error::invalid_fields(vec![e]))
}

impl Period {
    /// The period a client asked for (`time_range`, and a `custom` range's `start_date` and
    /// `end_date`), relative to `today`; a problem is named by its field.
    pub fn asked(
        time_range: Option<&str>,
        start_date: Option<&str>,
        end_date: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, Error> {
        let last = |range, days: u64| {
            today
                .checked_sub_days(Days::new(days - 1))
                .map(|start| Self {
                    range,
                    start,
                    end: today,
                })
                .ok_or_else(out_of_calendar)
        };
        // A malformed date is a 400 whatever the range: a client never learns of its typo by a
        // silently ignored parameter.
        let start = start_date
            .map(|raw| period_date("start_date", raw))
            .transpose()?;
        let end = end_date
            .map(|raw| period_date("end_date", raw))
            .transpose()?;
        match time_range.unwrap_or("today") {
            "today" => last("today", 1),
            "7d" => last("7d", 7),
            "30d" => last("30d", 30),
            "custom" => {
                let start = start.ok_or_else(|| {
                    Error::invalid_field("start_date", "is required when time_range is custom")
                })?;
                let end = end.ok_or_else(|| {
                    Error::invalid_field("end_date", "is required when time_range is custom")
                })?;
                if start >= end {
                    return Err(Error::invalid_field(
                        "start_date",
                        "must be before end_date",
                    ));
                }
                if (end - start).num_days() > MAX_CUSTOM_DAYS {
                    return Err(Error::invalid_field(
                        "end_date",
                        format!("the range may span at most {MAX_CUSTOM_DAYS} days"),
                    ));
                }
                Ok(Self {
                    range: "custom",
                    start,
                    end,
                })
            }
            other => Err(Error::invalid_field(
                "time_range",
                format!("{other:?} is not one of today, 7d, 30d, custom"),
            )),
        }
    }
}

/// The 400 of a period, or the one before it, that leaves the calendar.
pub fn out_of_calendar() -> Error {
    Error::invalid_field(
        "time_range",
        "the period or the one before it falls outside the dates Latchkey can count",
    )
}

/// The figures of one period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// The period's first instant.
    pub period_start: DateTime<Utc>,
    /// The first instant after it.
    pub period_end: DateTime<Utc>,
    /// Keys usable at the end of the period (or now, for the current one).
    pub active_keys: u64,
    /// Successful verifications.
    pub successful: u64,
    /// Failed verifications.
    pub failed: u64,
    /// Percent successful, to two places; `None` without requests.
    pub success_rate: Option<f64>,
}

impl Figures {
    /// Every verification.
    pub fn requests_total(&self) -> u64 {
        self.successful.saturating_add(self.failed)
    }
}

/// How the current period compares with the one before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// Change of the request total, in percent; `None` where the previous one is 0.
    pub requests_total: Option<f64>,
    /// Change of the successes, in percent.
    pub successful: Option<f64>,
    /// Change of the failures, in percent.
    pub failed_attempts: Option<f64>,
    /// Change of the success rate, in percent.
    pub success_rate: Option<f64>,
    /// Requests now minus before.
    pub requests_difference: i64,
    /// Active keys now minus before.
    pub active_keys_difference: i64,
    /// Success rate now minus before, in percentage points; `None` when either is `None`.
    pub success_rate_points: Option<f64>,
}

/// The dashboard of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardMetrics {
    /// `today`, `7d`, `30d` or `custom`.
    pub time_range: &'static str,
    /// The period asked for.
    pub current: Figures,
    /// The period of equal length before it.
    pub previous: Figures,
    /// The change between them.
    pub change: Change,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn change(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| round2((now - before) / before * 100.0))
}

fn difference(now: u64, before: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX)
}

/// The figures of one period; `None` where the period leaves the calendar.
fn figures(period: &Period, active_keys: u64, success: u64, failed: u64) -> Option<Figures> {
    let (period_start, period_end) = period.bounds()?;
    let total = success.saturating_add(failed);
    Some(Figures {
        period_start,
        period_end,
        active_keys,
        successful: success,
        failed,
        success_rate: (total > 0).then(|| round2(success as f64 * 100.0 / total as f64)),
    })
}

/// How many of `keys` were usable (active or in a rotation grace) at the end of `period`, or
/// `now` if that is earlier.
fn active_keys(keys: &[ApiKey], period: &Period, now: DateTime<Utc>) -> Result<u64, Error> {
    let (_, end) = period.bounds().ok_or_else(out_of_calendar)?;
    let at = end.min(now);
    Ok(keys
        .iter()
        .filter(|k| k.created_at <= at)
        .filter(|k| matches!(k.status(at), KeyStatus::Active | KeyStatus::Rotating))
        .count() as u64)
}

/// The storage port of the dashboard: the owner's daily aggregates, written by usage accounting.
#[async_trait]
pub trait DashboardStore: Send + Sync {
    /// Successful and failed verifications of `user`'s keys on each day of `from..=to` that had
    /// any, oldest first, reading at most one item per day.
    async fn daily(
        &self,
        user: &UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyUsage>, StoreError>;
}

/// Computes the dashboard from the owner's daily aggregates.
pub struct Dashboard {
    store: Arc<dyn DashboardStore>,
}

impl Dashboard {
    /// Metrics over `store`.
    pub fn new(store: Arc<dyn DashboardStore>) -> Self {
        Self { store }
    }

    async fn totals(&self, user: &UserId, period: &Period) -> Result<(u64, u64), Error> {
        let days = self.store.daily(user, period.start, period.end).await?;
        Ok(days.iter().fold((0, 0), |(s, f), d| {
            (s.saturating_add(d.success), f.saturating_add(d.failed))
        }))
    }

    /// The caller's metrics for `period`: sessions only (a key is 403), over the keys `keys`
    /// lists for them.
    pub async fn of_caller(
        &self,
        caller: &Caller,
        keys: &KeyService,
        period: Period,
    ) -> Result<DashboardMetrics, Error> {
        caller.require_session()?;
        let listed = keys.list(caller).await?;
        self.metrics(&caller.user_id, period, &listed, keys.now())
            .await
    }

    /// The caller's verifications per day of `period`, oldest first, zero-filled: one point of a
    /// chart per day.
    pub async fn daily(&self, caller: &Caller, period: &Period) -> Result<Vec<DailyUsage>, Error> {
        caller.require_session()?;
        let recorded = self
            .store
            .daily(&caller.user_id, period.start, period.end)
            .await?;
        Ok(DailyUsage::every_day(&recorded, period.start, period.end))
    }

    /// The metrics of `user` for `period`, compared with the period before it; `keys` are the
    /// user's keys, counted as active where they were usable at each period's end.
    pub async fn metrics(
        &self,
        user: &UserId,
        period: Period,
        keys: &[ApiKey],
        now: DateTime<Utc>,
    ) -> Result<DashboardMetrics, Error> {
        let previous = period.previous().ok_or_else(out_of_calendar)?;
        let (active, was_active) = (
            active_keys(keys, &period, now)?,
            active_keys(keys, &previous, now)?,
        );
        let ((s, f), (ps, pf)) =
            tokio::try_join!(self.totals(user, &period), self.totals(user, &previous))?;
        let now = figures(&period, active, s, f).ok_or_else(out_of_calendar)?;
        let before = figures(&previous, was_active, ps, pf).ok_or_else(out_of_calendar)?;
        let (rate, previous_rate) = (now.success_rate, before.success_rate);
        let change = Change {
            requests_total: change(now.requests_total() as f64, before.requests_total() as f64),
            successful: change(s as f64, ps as f64),
            failed_attempts: change(f as f64, pf as f64),
            success_rate: rate.zip(previous_rate).and_then(|(a, b)| change(a, b)),
            requests_difference: difference(now.requests_total(), before.requests_total()),
            active_keys_difference: difference(active, was_active),
            success_rate_points: rate.zip(previous_rate).map(|(a, b)| round2(a - b)),
        };
        Ok(DashboardMetrics {
            time_range: period.range,
            current: now,
            previous: before,
            change,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn last_days(range: &'static str, days: u64) -> Period {
        Period {
            range,
            start: day("2026-11-22") - Days::new(days - 1),
            end: day("2026-11-22"),
        }
    }

    #[test]
    fn rates_and_changes() {
        let p = last_days("today", 1);
        let rate = |s, f| figures(&p, 0, s, f).unwrap().success_rate;
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(2, 1), Some(66.67));
        assert_eq!(change(15.0, 10.0), Some(50.0));
        assert_eq!(change(5.0, 0.0), None);
    }

    #[tokio::test]
    async fn metrics_sum_the_owners_days_of_each_period_and_compare_them() {
        use crate::{
            ids::KeyId,
            store::memory::MemoryUsage,
            usage::{Tally, TallyKey, UsageBatch, UsageSink},
        };
        let usage = Arc::new(MemoryUsage::default());
        let owner = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        let stranger = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        let mut batch = UsageBatch::default();
        for (who, date, success, failed) in [
            (&owner, "2026-11-22", 6, 2),
            (&owner, "2026-11-16", 3, 1),
            (&owner, "2026-11-15", 4, 0),
            (&owner, "2026-11-01", 100, 100),
            (&stranger, "2026-11-20", 50, 50),
        ] {
            let tally = Tally {
                success,
                failed,
                ..Tally::default()
            };
            batch.tallies.insert(
                TallyKey {
                    key_id: KeyId::new(),
                    owner_id: who.clone(),
                    day: day(date),
                },
                tally,
            );
        }
        usage.write(batch).await;
        let dashboard = Dashboard::new(usage);
        let now = day("2026-11-22").and_hms_opt(12, 0, 0).unwrap().and_utc();
        let metrics = dashboard
            .metrics(&owner, last_days("7d", 7), &[], now)
            .await
            .unwrap();
        assert_eq!(metrics.current.requests_total(), 12);
        assert_eq!(metrics.current.failed, 3);
        assert_eq!(metrics.current.success_rate, Some(75.0));
        assert_eq!(metrics.previous.requests_total(), 4);
        assert_eq!(metrics.change.requests_difference, 8);
        assert_eq!(metrics.change.requests_total, Some(200.0));
        assert_eq!(metrics.change.success_rate_points, Some(-25.0));
    }
}
