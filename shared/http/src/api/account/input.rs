//! Request bodies and query strings of the account family, and their parsing into the domain's
//! values: a profile change, a notification page, a checklist step, a dashboard period, an
//! issue report.

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use latchkey_core::error::{Error, FieldError};
use latchkey_core::{
    dashboard::Period,
    issue_reports::{MAX_OBJECT_BYTES, NewIssueReport},
    notifications::{DEFAULT_LIMIT, MAX_LIMIT, Page},
    onboarding,
    profiles::{ProfileChanges, ProfileDraft},
    validate,
};

/// Body of `PUT /me`: every field optional; unknown fields are ignored; `null` clears the
/// nullable ones (`bio`, `avatar_url`, `phone_number`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateProfileRequest {
    /// Display name.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 255, pattern = r"\S")]
    name: Option<Option<String>>,
    /// Free text; null or blank clears it.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    bio: Option<Option<String>>,
    /// An http(s) URL with a host; null or blank clears it.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^(https?://[^/?#\s]+\S*|\s*)$")]
    avatar_url: Option<Option<String>>,
    /// Digits, spaces and `+ - ( ) .`; null or blank clears it.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, max_length = 20, pattern = r"^([0-9 +().-]*[0-9][0-9 +().-]*|\s*)$")]
    phone_number: Option<Option<String>>,
    /// An IANA time zone such as `Europe/Berlin`.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 50, example = "Europe/Berlin")]
    timezone: Option<Option<String>>,
    /// Date display format.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 20, pattern = r"\S")]
    date_format: Option<Option<String>>,
    /// `12h` or `24h`.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = TimeFormat, required = false)]
    time_format: Option<Option<String>>,
    /// API version shown by default.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 10, pattern = r"\S")]
    default_api_version: Option<Option<String>>,
    /// Email notifications.
    email_notifications: Option<bool>,
    /// Webhook failure notifications.
    webhook_failure_notifications: Option<bool>,
    /// Workflow failure notifications.
    workflow_failure_notifications: Option<bool>,
    /// Usage alert notifications.
    usage_alert_notifications: Option<bool>,
    /// Marketing emails.
    marketing_emails: Option<bool>,
    /// Tutorial tooltips.
    show_tutorial_tooltips: Option<bool>,
    /// Whether the product tour is done.
    has_completed_tour: Option<bool>,
    /// Map style preference (the spatialflow SDK's).
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 50, pattern = r"\S")]
    default_map_style: Option<Option<String>>,
    /// Geofence colour preference, `#RRGGBB` (the spatialflow SDK's).
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = String, required = false, pattern = r"^\s*#[0-9A-Fa-f]{6}\s*$", example = "#3B82F6")]
    default_geofence_color: Option<Option<String>>,
    /// Whether the workflow tour is done (the spatialflow SDK's).
    has_completed_workflow_tour: Option<bool>,
}

/// Clock display format.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum TimeFormat {
    /// 12-hour clock.
    #[schema(rename = "12h")]
    Twelve,
    /// 24-hour clock.
    #[schema(rename = "24h")]
    TwentyFour,
}

impl UpdateProfileRequest {
    /// Validates every present field by the domain's rules.
    pub fn parse(self) -> Result<ProfileChanges, Error> {
        ProfileChanges::from_draft(ProfileDraft {
            name: self.name,
            bio: self.bio,
            avatar_url: self.avatar_url,
            phone_number: self.phone_number,
            timezone: self.timezone,
            date_format: self.date_format,
            time_format: self.time_format,
            default_api_version: self.default_api_version,
            email_notifications: self.email_notifications,
            webhook_failure_notifications: self.webhook_failure_notifications,
            workflow_failure_notifications: self.workflow_failure_notifications,
            usage_alert_notifications: self.usage_alert_notifications,
            marketing_emails: self.marketing_emails,
            show_tutorial_tooltips: self.show_tutorial_tooltips,
            has_completed_tour: self.has_completed_tour,
            default_map_style: self.default_map_style,
            default_geofence_color: self.default_geofence_color,
            has_completed_workflow_tour: self.has_completed_workflow_tour,
        })
    }
}

/// Query of the list route.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only unread notifications.
    #[param(default = false)]
    unread_only: Option<bool>,
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 50)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl ListQuery {
    /// `limit` 1..=100 (default 50); a cursor must be one this API gave out.
    pub fn parse(self) -> Result<Page, Error> {
        let limit = validate::in_range("limit", self.limit.unwrap_or(DEFAULT_LIMIT), 1, MAX_LIMIT)
            .map_err(|e| Error::invalid_fields(vec![e]))?;
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(raw) => Some(latchkey_core::cursor::decode(raw).ok_or_else(|| {
                Error::invalid_field("cursor", "is not a cursor from a previous page")
            })?),
            None => None,
        };
        Ok(Page {
            unread_only: self.unread_only.unwrap_or(false),
            limit: limit as i32,
            after,
        })
    }
}

/// A checklist step.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum Step {
    /// Created an API key.
    CreatedApiKey,
    /// A key of theirs was verified successfully.
    VerifiedFirstRequest,
    /// Set an expiry on a key.
    SetKeyExpiration,
    /// Rotated a key.
    RotatedApiKey,
    /// Changed a notification preference.
    ConfiguredNotifications,
}

/// Body of `POST /onboarding/progress`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MarkStepRequest {
    /// The step to mark done.
    #[schema(value_type = Step)]
    step: Option<String>,
}

impl MarkStepRequest {
    /// The step named; an unknown one is a 400 that lists the known ones.
    pub fn parse(self) -> Result<onboarding::Step, Error> {
        let raw = self
            .step
            .ok_or_else(|| Error::invalid_field("step", "is required"))?;
        onboarding::Step::parse(&raw).ok_or_else(|| {
            let known: Vec<&str> = onboarding::Step::ALL.iter().map(|s| s.id()).collect();
            Error::invalid_field(
                "step",
                format!("{raw:?} is not a step; steps are {}", known.join(", ")),
            )
        })
    }
}

/// Query of the metrics route.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// The period: the last 1, 7 or 30 UTC days, or `custom`.
    #[param(value_type = Option<TimeRange>)]
    time_range: Option<String>,
    /// First day of a `custom` period (required for it), before `end_date`.
    #[param(value_type = Option<super::super::doc::DateOrTime>)]
    start_date: Option<String>,
    /// Last day of a `custom` period (required for it); at most 366 days after `start_date`.
    #[param(value_type = Option<super::super::doc::DateOrTime>)]
    end_date: Option<String>,
}

/// The periods of the dashboard.
#[derive(ToSchema)]
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

impl MetricsQuery {
    /// The period asked for, relative to `today` (the domain's rules).
    pub fn parse(self, today: NaiveDate) -> Result<Period, Error> {
        Period::asked(
            self.time_range.as_deref(),
            self.start_date.as_deref(),
            self.end_date.as_deref(),
            today,
        )
    }
}

/// Body of `POST /api/v1/account/issue-reports`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IssueReportRequest {
    /// What went wrong.
    #[schema(required = true, min_length = 1, max_length = 4000, pattern = r"\S")]
    description: Option<String>,
    /// The part of the product.
    #[schema(max_length = 80, default = "Other")]
    area: Option<String>,
    /// A one-line summary.
    #[schema(max_length = 160)]
    title: Option<String>,
    /// How to make it happen.
    #[schema(max_length = 4000)]
    steps: Option<String>,
    /// What should have happened.
    #[schema(max_length = 4000)]
    expected: Option<String>,
    /// Keep `diagnostics` (default true).
    include_diagnostics: Option<bool>,
    /// Keep `page_url` (default true).
    include_page: Option<bool>,
    /// Keep `browser` (default true).
    include_browser: Option<bool>,
    /// Keep `app_version` (default true).
    include_version: Option<bool>,
    /// Free-form diagnostics, at most 16 KB serialized.
    #[schema(value_type = Option<Object>)]
    diagnostics: Option<serde_json::Map<String, serde_json::Value>>,
    /// Browser details, at most 16 KB serialized.
    #[schema(value_type = Option<Object>)]
    browser: Option<serde_json::Map<String, serde_json::Value>>,
    /// The page the user was on.
    #[schema(max_length = 2000)]
    page_url: Option<String>,
    /// The client's version.
    #[schema(max_length = 80)]
    app_version: Option<String>,
}

fn object(
    field: &str,
    value: Option<serde_json::Map<String, serde_json::Value>>,
    keep: Option<bool>,
) -> Result<Option<String>, FieldError> {
    let Some(value) = value.filter(|_| keep.unwrap_or(true)) else {
        return Ok(None);
    };
    let text = serde_json::Value::Object(value).to_string();
    if text.len() > MAX_OBJECT_BYTES {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_OBJECT_BYTES} bytes serialized"),
        ));
    }
    Ok(Some(text))
}

impl IssueReportRequest {
    /// Validates every field; `include_*: false` drops what it names.
    pub fn parse(self) -> Result<NewIssueReport, Error> {
        let mut errors = Vec::new();
        let mut keep =
            |r: Result<Option<String>, FieldError>| r.map_err(|e| errors.push(e)).ok().flatten();
        let text = |field: &str, raw: Option<String>, max| {
            raw.map_or(Ok(None), |raw| validate::optional_text(field, &raw, max))
        };
        let description = keep(match self.description {
            Some(raw) => validate::required_text("description", &raw, 4000).map(Some),
            None => Err(FieldError::new("description", "is required")),
        });
        let area = keep(text("area", self.area, 80));
        let title = keep(text("title", self.title, 160));
        let steps = keep(text("steps", self.steps, 4000));
        let expected = keep(text("expected", self.expected, 4000));
        let page_url = keep(text("page_url", self.page_url, 2000));
        let app_version = keep(text("app_version", self.app_version, 80));
        let diagnostics = keep(object(
            "diagnostics",
            self.diagnostics,
            self.include_diagnostics,
        ));
        let browser = keep(object("browser", self.browser, self.include_browser));
        if !errors.is_empty() {
            return Err(Error::invalid_fields(errors));
        }
        Ok(NewIssueReport {
            area: area.unwrap_or_else(|| "Other".into()),
            title,
            description: description.unwrap_or_default(),
            steps,
            expected,
            diagnostics,
            browser,
            page_url: page_url.filter(|_| self.include_page.unwrap_or(true)),
            app_version: app_version.filter(|_| self.include_version.unwrap_or(true)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile_fields(body: serde_json::Value) -> Vec<String> {
        match serde_json::from_value::<UpdateProfileRequest>(body)
            .unwrap()
            .parse()
        {
            Err(Error::Validation { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_field_is_validated() {
        assert_eq!(profile_fields(json!({"name": "n".repeat(256)})), ["name"]);
        assert_eq!(profile_fields(json!({"bio": "b".repeat(1001)})), ["bio"]);
        assert_eq!(
            profile_fields(json!({"avatar_url": "ftp://x"})),
            ["avatar_url"]
        );
        assert_eq!(
            profile_fields(json!({"avatar_url": "https://"})),
            ["avatar_url"]
        );
        assert_eq!(
            profile_fields(json!({"phone_number": "call me"})),
            ["phone_number"]
        );
        assert_eq!(
            profile_fields(json!({"timezone": "Mars/Olympus"})),
            ["timezone"]
        );
        assert_eq!(
            profile_fields(json!({"time_format": "25h"})),
            ["time_format"]
        );
        assert_eq!(profile_fields(json!({"timezone": null})), ["timezone"]);
        assert_eq!(
            profile_fields(json!({"default_api_version": "v12345678901"})),
            ["default_api_version"]
        );
        assert_eq!(
            profile_fields(json!({"default_geofence_color": "blue"})),
            ["default_geofence_color"]
        );
        assert_eq!(
            profile_fields(json!({"default_map_style": "m".repeat(51)})),
            ["default_map_style"]
        );
    }

    #[test]
    fn valid_updates_and_notification_touches() {
        let parse = |v| {
            serde_json::from_value::<UpdateProfileRequest>(v)
                .unwrap()
                .parse()
                .unwrap()
        };
        let changes = parse(
            json!({"timezone": "Europe/Berlin", "bio": null, "avatar_url": "https://x.test/a.png", "unknown": 1}),
        );
        assert_eq!(changes.set.len(), 3);
        assert!(!changes.touches_notifications);
        assert!(parse(json!({"marketing_emails": true})).touches_notifications);
        assert!(!parse(json!({"show_tutorial_tooltips": false})).touches_notifications);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            latchkey_core::cursor::decode(&latchkey_core::cursor::encode(id)),
            Some(id)
        );
        let q = |cursor: &str, limit| {
            ListQuery {
                unread_only: None,
                limit,
                cursor: Some(cursor.into()),
            }
            .parse()
        };
        assert!(q("!!", None).is_err());
        assert!(q("", Some(0)).is_err());
        assert!(q("", Some(101)).is_err());
        assert_eq!(q("", None).unwrap().limit, 50);
    }

    #[test]
    fn steps_parse_by_id() {
        for step in onboarding::Step::ALL {
            assert_eq!(onboarding::Step::parse(step.id()), Some(step));
        }
        assert!(
            MarkStepRequest {
                step: Some("made_coffee".into())
            }
            .parse()
            .is_err()
        );
        assert!(MarkStepRequest { step: None }.parse().is_err());
    }

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

    fn report(body: serde_json::Value) -> Result<NewIssueReport, Error> {
        serde_json::from_value::<IssueReportRequest>(body)
            .unwrap()
            .parse()
    }

    fn report_fields(body: serde_json::Value) -> Vec<String> {
        match report(body) {
            Err(Error::Validation { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_are_validated_and_defaults_applied() {
        assert_eq!(report_fields(json!({})), ["description"]);
        assert_eq!(report_fields(json!({"description": "  "})), ["description"]);
        assert_eq!(
            report_fields(json!({"description": "d".repeat(4001), "area": "a".repeat(81)})),
            ["description", "area"]
        );
        let big = json!({"blob": "x".repeat(MAX_OBJECT_BYTES)});
        assert_eq!(
            report_fields(json!({"description": "d", "diagnostics": big})),
            ["diagnostics"]
        );
        let ok = report(json!({"description": "it broke", "page_url": "https://x.test/p", "include_page": false, "diagnostics": {"a": 1}})).unwrap();
        assert_eq!(ok.area, "Other");
        assert_eq!(ok.page_url, None, "include_page: false drops it");
        assert_eq!(ok.diagnostics.as_deref(), Some(r#"{"a":1}"#));
    }
}
