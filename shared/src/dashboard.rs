//! Dashboard metrics, computed from the owner's daily aggregates (`USER#<user>` / `DAY#<date>`,
//! written by usage accounting): a period of D days reads at most D items, and its comparison
//! period D more, whatever the number of requests.

use aws_sdk_dynamodb::{Client, types::AttributeValue};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{clock::serde_rfc3339, error::Error, ids::UserId, table};

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
    #[param(value_type = Option<crate::validate::DateOrTime>)]
    start_date: Option<String>,
    /// Last day of a `custom` period (required for it); at most 366 days after `start_date`.
    #[param(value_type = Option<crate::validate::DateOrTime>)]
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

    /// The period of equal length just before this one.
    pub fn previous(&self) -> Period {
        let end = self.start - Duration::days(1);
        Period {
            range: self.range,
            start: end - Duration::days(self.days() - 1),
            end,
        }
    }

    fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        (midnight(self.start), midnight(self.end + Duration::days(1)))
    }
}

fn date(field: &str, raw: &str) -> Result<NaiveDate, Error> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .or_else(|_| {
            DateTime::parse_from_rfc3339(raw.trim()).map(|t| t.with_timezone(&Utc).date_naive())
        })
        .map_err(|_| {
            Error::invalid_field(
                field,
                "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp",
            )
        })
}

impl MetricsQuery {
    /// The period asked for, relative to `today`.
    pub fn parse(self, today: NaiveDate) -> Result<Period, Error> {
        let last = |range, days: i64| Period {
            range,
            start: today - Duration::days(days - 1),
            end: today,
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
            "today" => Ok(last("today", 1)),
            "7d" => Ok(last("7d", 7)),
            "30d" => Ok(last("30d", 30)),
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
    success_rate: Option<f64>,
}

/// The figures of one period.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Figures {
    #[serde(with = "serde_rfc3339")]
    period_start: DateTime<Utc>,
    #[serde(with = "serde_rfc3339")]
    period_end: DateTime<Utc>,
    requests_total: u64,
    request_success: RequestSuccess,
    failed_attempts: u64,
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
}

/// DashboardMetricsResponse.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DashboardMetrics {
    #[schema(value_type = TimeRange)]
    time_range: &'static str,
    active_keys: usize,
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

fn figures(period: &Period, success: u64, failed: u64) -> Figures {
    let (period_start, period_end) = period.bounds();
    let total = success + failed;
    Figures {
        period_start,
        period_end,
        requests_total: total,
        request_success: RequestSuccess {
            successful: success,
            total,
            success_rate: (total > 0).then(|| round2(success as f64 * 100.0 / total as f64)),
        },
        failed_attempts: failed,
    }
}

/// Reads the owner's daily aggregates.
pub struct Dashboard {
    client: Client,
    table: String,
}

impl Dashboard {
    /// Metrics over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Successes and failures of `user` in `period`: one `Query` over at most `period.days()` items.
    async fn totals(&self, user: &UserId, period: &Period) -> Result<(u64, u64), Error> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(table::user_pk(user)))
            .expression_attribute_values(":from", AttributeValue::S(table::day_sk(period.start)))
            .expression_attribute_values(":to", AttributeValue::S(table::day_sk(period.end)))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(Error::internal)?;
        let number = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(items.iter().fold((0, 0), |(s, f), item| {
            (s + number(item, "success"), f + number(item, "failed"))
        }))
    }

    /// The metrics of `user` for `period`, compared with the period before it.
    pub async fn metrics(
        &self,
        user: &UserId,
        period: Period,
        active_keys: usize,
    ) -> Result<DashboardMetrics, Error> {
        let previous = period.previous();
        let ((s, f), (ps, pf)) =
            tokio::try_join!(self.totals(user, &period), self.totals(user, &previous))?;
        let now = figures(&period, s, f);
        let before = figures(&previous, ps, pf);
        let change = Change {
            requests_total: change(now.requests_total as f64, before.requests_total as f64),
            successful: change(s as f64, ps as f64),
            failed_attempts: change(f as f64, pf as f64),
            success_rate: match (
                now.request_success.success_rate,
                before.request_success.success_rate,
            ) {
                (Some(a), Some(b)) => change(a, b),
                _ => None,
            },
        };
        Ok(DashboardMetrics {
            time_range: period.range,
            active_keys,
            figures: now,
            comparison: Comparison {
                figures: before,
                change,
            },
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
        let before = week.previous();
        assert_eq!(
            (before.start, before.end),
            (day("2026-11-09"), day("2026-11-15"))
        );
        let today = q("today", None, None).unwrap();
        assert_eq!(today.previous().end, day("2026-11-21"));
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
    fn rates_and_changes() {
        let p = q("today", None, None).unwrap();
        assert_eq!(figures(&p, 0, 0).request_success.success_rate, None);
        assert_eq!(figures(&p, 2, 1).request_success.success_rate, Some(66.67));
        assert_eq!(change(15.0, 10.0), Some(50.0));
        assert_eq!(change(5.0, 0.0), None);
    }
}
