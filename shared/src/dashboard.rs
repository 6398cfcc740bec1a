//! Dashboard metrics, computed from the owner's daily aggregates (written by usage accounting):
//! a period of D days reads at most D items, and its comparison period D more, whatever the
//! number of requests.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::StoreError;
use crate::{
    error::Error,
    ids::UserId,
    keys::model::{ApiKey, KeyStatus},
    timestamp::serde_rfc3339,
};

/// The longest custom range, in days.
pub const MAX_CUSTOM_DAYS: i64 = 366;

/// Query of the metrics route.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// The period: the last 1, 7 or 30 UTC days, or `custom`.
    #[param(value_type = Option<TimeRange>)]
    time_range: Option<String>,
    /// First day of a `custom` period (required for it), before `end_date`.
    #[param(value_type = Option<crate::api::doc::DateOrTime>)]
    start_date: Option<String>,
    /// Last day of a `custom` period (required for it); at most 366 days after `start_date`.
    #[param(value_type = Option<crate::api::doc::DateOrTime>)]
    end_date: Option<String>,
}

/// The periods of the dashboard.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum TimeRange {
    /// Today (UTC).
    Today,
    /// The last 7 days.
    #[schema(rename = "7d")]
    Days7,
    /// The last 30 days.
    #[schema(rename = "30d")]
    Days30,
    /// `start_date` to `end_date`.
    Custom,
}

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
    fn days(&self) -> i64 {
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
    fn bounds(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let after = self.end.checked_add_days(Days::new(1))?;
        Some((
            self.start.and_time(NaiveTime::MIN).and_utc(),
            after.and_time(NaiveTime::MIN).and_utc(),
        ))
    }
}

fn out_of_calendar() -> Error {
    Error::invalid_field(
        "time_range",
        "the period or the one before it falls outside the dates Latchkey can count",
    )
}

fn date(field: &str, raw: &str) -> Result<NaiveDate, Error> {
    crate::validate::date(field, raw).map_err(|e| Error::invalid_fields(vec![e]))
}

impl MetricsQuery {
    /// The period asked for, relative to `today`.
    pub fn parse(self, today: NaiveDate) -> Result<Period, Error> {
        let last = |range, days: u64| {
            today
                .checked_sub_days(Days::new(days - 1))
                .map(|start| Period {
                    range,
                    start,
                    end: today,
                })
                .ok_or_else(out_of_calendar)
        };
        // A malformed date is a 400 whatever the range: a client never learns of its typo by a
        // silently ignored parameter.
        let start = self
            .start_date
            .as_deref()
            .map(|raw| date("start_date", raw))
            .transpose()?;
        let end = self
            .end_date
            .as_deref()
            .map(|raw| date("end_date", raw))
            .transpose()?;
        match self.time_range.as_deref().unwrap_or("today") {
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
                Ok(Period {
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

/// `{"successful", "total", "success_rate"}`.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RequestSuccess {
    successful: u64,
    total: u64,
    /// Percent; null when `total` is 0.
    success_rate: Option<f64>,
}

/// The same figures in the spatialflow SDK's words: `{"successful", "total", "rate"}`.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DeliverySuccess {
    successful: u64,
    total: u64,
    /// Percent; null when `total` is 0.
    rate: Option<f64>,
}

/// The figures of one period.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Figures {
    #[serde(with = "serde_rfc3339")]
    period_start: DateTime<Utc>,
    #[serde(with = "serde_rfc3339")]
    period_end: DateTime<Utc>,
    /// Keys active at the end of the period (or now, for the current one).
    active_keys: u64,
    requests_total: u64,
    request_success: RequestSuccess,
    failed_attempts: u64,
    /// `active_keys`, as the SDK names it.
    active_workflows: u64,
    /// `requests_total`, as the SDK names it.
    events_total: u64,
    /// `request_success`, as the SDK names it.
    action_delivery_success: DeliverySuccess,
}

/// Change from the previous period, in percent; null where the previous figure is 0.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Change {
    requests_total: Option<f64>,
    successful: Option<f64>,
    failed_attempts: Option<f64>,
    success_rate: Option<f64>,
}

/// The previous period's figures and the change.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Comparison {
    #[serde(flatten)]
    figures: Figures,
    change: Change,
    /// `requests_total` now minus before (the SDK's name and meaning).
    events_change: i64,
    /// `active_keys` now minus before (the SDK's name and meaning).
    workflows_change: i64,
    /// Success rate now minus before, in percentage points; null when either rate is null.
    success_rate_change: Option<f64>,
}

/// DashboardMetricsResponse.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DashboardMetrics {
    #[schema(value_type = TimeRange)]
    time_range: &'static str,
    #[serde(flatten)]
    figures: Figures,
    comparison: Comparison,
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
    let rate = (total > 0).then(|| round2(success as f64 * 100.0 / total as f64));
    Some(Figures {
        period_start,
        period_end,
        active_keys,
        requests_total: total,
        request_success: RequestSuccess {
            successful: success,
            total,
            success_rate: rate,
        },
        failed_attempts: failed,
        active_workflows: active_keys,
        events_total: total,
        action_delivery_success: DeliverySuccess {
            successful: success,
            total,
            rate,
        },
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
    /// Successful and failed verifications of `user`'s keys on the days `from..=to`, reading at
    /// most one item per day.
    async fn totals(
        &self,
        user: &UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(u64, u64), StoreError>;
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
        Ok(self.store.totals(user, period.start, period.end).await?)
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
        let (rate, previous_rate) = (
            now.request_success.success_rate,
            before.request_success.success_rate,
        );
        let change = Change {
            requests_total: change(now.requests_total as f64, before.requests_total as f64),
            successful: change(s as f64, ps as f64),
            failed_attempts: change(f as f64, pf as f64),
            success_rate: rate.zip(previous_rate).and_then(|(a, b)| change(a, b)),
        };
        Ok(DashboardMetrics {
            time_range: period.range,
            comparison: Comparison {
                events_change: difference(now.requests_total, before.requests_total),
                workflows_change: difference(active, was_active),
                success_rate_change: rate.zip(previous_rate).map(|(a, b)| round2(a - b)),
                figures: before,
                change,
            },
            figures: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn q(range: &str, start: Option<&str>, end: Option<&str>) -> Result<Period, Error> {
        MetricsQuery {
            time_range: Some(range.into()),
            start_date: start.map(Into::into),
            end_date: end.map(Into::into),
        }
        .parse(day("2026-11-22"))
    }

    #[test]
    fn ranges_and_previous_periods() {
        let week = q("7d", None, None).unwrap();
        assert_eq!(
            (week.start, week.end),
            (day("2026-11-16"), day("2026-11-22"))
        );
        let before = week.previous().unwrap();
        assert_eq!(
            (before.start, before.end),
            (day("2026-11-09"), day("2026-11-15"))
        );
        let today = q("today", None, None).unwrap();
        assert_eq!(today.previous().unwrap().end, day("2026-11-21"));
        let custom = q("custom", Some("2026-01-01"), Some("2026-01-31")).unwrap();
        assert_eq!(custom.days(), 31);
    }

    #[test]
    fn bad_custom_ranges_are_refused() {
        assert!(q("custom", None, Some("2026-01-02")).is_err());
        assert!(q("custom", Some("2026-01-02"), None).is_err());
        assert!(q("custom", Some("2026-01-02"), Some("2026-01-01")).is_err());
        assert!(q("custom", Some("2026-01-02"), Some("2026-01-02")).is_err());
        assert!(q("custom", Some("2025-01-01"), Some("2026-01-03")).is_err());
        assert!(
            q("custom", Some("2025-01-01"), Some("2026-01-02")).is_ok(),
            "366 days"
        );
        assert!(q("custom", Some("yesterday"), Some("2026-01-02")).is_err());
        assert!(q("1y", None, None).is_err());
    }

    #[test]
    fn far_dates_are_refused_not_a_crash() {
        // Once `NaiveDate + TimeDelta overflowed`: a panic and a 500.
        assert!(q("custom", Some("+262142-12-01"), Some("+262142-12-31")).is_err());
        assert!(q("custom", Some("9999-12-01"), Some("9999-12-31")).is_ok());
        assert!(q("custom", Some("1970-01-01"), Some("1970-01-31")).is_ok());
        let edge = q("custom", Some("1970-01-01"), Some("1970-01-31")).unwrap();
        assert!(edge.previous().is_some_and(|p| p.bounds().is_some()));
        let last = q("custom", Some("9999-12-01"), Some("9999-12-31")).unwrap();
        assert!(last.bounds().is_some());
    }

    #[test]
    fn sdk_datetimes_name_their_utc_day() {
        let p = q(
            "custom",
            Some("2025-01-01T00:00:00Z"),
            Some("2025-01-31T23:59:59.123456+0000"),
        )
        .unwrap();
        assert_eq!((p.start, p.end), (day("2025-01-01"), day("2025-01-31")));
    }

    proptest::proptest! {
        #[test]
        fn any_query_is_a_period_or_a_400(
            range in proptest::option::of("today|7d|30d|custom|[a-z0-9]{0,5}"),
            start in proptest::option::of("\\PC{0,30}|[+-]?[0-9]{4,6}-[0-9]{2}-[0-9]{2}"),
            end in proptest::option::of("\\PC{0,30}|[+-]?[0-9]{4,6}-[0-9]{2}-[0-9]{2}"),
            today in 0i64..2_932_896,
        ) {
            let today = NaiveDate::from_num_days_from_ce_opt(719_163 + today as i32).unwrap();
            let query = MetricsQuery { time_range: range, start_date: start, end_date: end };
            if let Ok(period) = query.parse(today) {
                let _ = period.previous().and_then(|p| p.bounds());
                let _ = period.bounds();
            }
        }
    }

    #[test]
    fn rates_and_changes() {
        let p = q("today", None, None).unwrap();
        let rate = |s, f| figures(&p, 0, s, f).unwrap().request_success.success_rate;
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
            .metrics(&owner, q("7d", None, None).unwrap(), &[], now)
            .await
            .unwrap();
        let json = serde_json::to_value(&metrics).unwrap();
        assert_eq!(json["requests_total"], 12);
        assert_eq!(json["failed_attempts"], 3);
        assert_eq!(json["request_success"]["success_rate"], 75.0);
        assert_eq!(json["comparison"]["requests_total"], 4);
        assert_eq!(json["comparison"]["events_change"], 8);
        assert_eq!(json["comparison"]["change"]["requests_total"], 200.0);
        assert_eq!(json["comparison"]["success_rate_change"], -25.0);
    }
}
