//! The account pages: the dashboard, notifications, the onboarding checklist, and profile and
//! preferences.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use latchkey_core::cursor;
use latchkey_core::{
    Error,
    dashboard::{DashboardMetrics, Period},
    notifications::{self, Notification},
    onboarding::OnboardingProgress,
    profiles::{NOTIFICATION_PREFERENCES, Profile, ProfileChanges, ProfileDraft},
};
use latchkey_http::ApiError;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    chart,
    console::Shared,
    display::{DATE_FORMATS, Display},
    form::{FieldErrors, Fields},
    page::{Links, Page, Section, render},
    pages::keys::{DayRow, day_rows},
    visitor::Visitor,
};

/// The dashboard's periods.
const RANGES: [(&str, &str); 3] = [
    ("today", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// One figure of the dashboard, with how it compares with the period before.
pub struct Kpi {
    label: &'static str,
    value: String,
    change: String,
    trend: &'static str,
}

fn signed(n: f64, unit: &str) -> String {
    if n > 0.0 {
        format!("+{n}{unit}")
    } else {
        format!("{n}{unit}")
    }
}

fn trend(n: f64) -> &'static str {
    if n > 0.0 {
        "up"
    } else if n < 0.0 {
        "down"
    } else {
        "flat"
    }
}

fn kpis(m: &DashboardMetrics) -> Vec<Kpi> {
    let percent = |change: Option<f64>, before: u64| match change {
        Some(c) => (format!("{} vs previous period", signed(c, "%")), trend(c)),
        None if before == 0 => ("nothing in the previous period".to_owned(), "flat"),
        None => (String::new(), "flat"),
    };
    let (requests, requests_trend) = percent(m.change.requests_total, m.previous.requests_total());
    let (ok, ok_trend) = percent(m.change.successful, m.previous.successful);
    let (failed, failed_trend) = percent(m.change.failed_attempts, m.previous.failed);
    let keys = m.change.active_keys_difference as f64;
    vec![
        Kpi {
            label: "Active keys",
            value: m.current.active_keys.to_string(),
            change: format!("{} vs end of previous period", signed(keys, "")),
            trend: trend(keys),
        },
        Kpi {
            label: "Requests",
            value: m.current.requests_total().to_string(),
            change: requests,
            trend: requests_trend,
        },
        Kpi {
            label: "Successful",
            value: m.current.successful.to_string(),
            change: ok,
            trend: ok_trend,
        },
        Kpi {
            label: "Failed",
            value: m.current.failed.to_string(),
            change: failed,
            trend: failed_trend,
        },
        Kpi {
            label: "Success rate",
            value: m
                .current
                .success_rate
                .map_or("No requests".into(), |r| format!("{r}%")),
            change: m.change.success_rate_points.map_or(String::new(), |p| {
                format!("{} vs previous period", signed(p, " points"))
            }),
            trend: m.change.success_rate_points.map_or("flat", trend),
        },
    ]
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    range: String,
    ranges: [(&'static str, &'static str); 3],
    kpis: Vec<Kpi>,
    chart: String,
    days: Vec<DayRow>,
    onboarding: Option<OnboardingProgress>,
}

/// Query of the dashboard.
#[derive(Deserialize)]
pub struct RangeQuery {
    range: Option<String>,
}

/// `GET /console`: the figures of a period against the one before, and a chart of its days.
pub async fn dashboard(
    State(console): State<Shared>,
    v: Visitor,
    Query(q): Query<RangeQuery>,
) -> Result<Page, ApiError> {
    let range = q.range.unwrap_or_else(|| "30d".into());
    let period = Period::asked(Some(&range), None, None, console.clock.now().date_naive())?;
    let (metrics, days, onboarding) = tokio::try_join!(
        console
            .dashboard
            .of_caller(&v.caller, &console.keys, period),
        console.dashboard.daily(&v.caller, &period),
        console.onboarding.progress(&v.caller.user_id),
    )?;
    render(&DashboardPage {
        links: Links,
        section: Section::Dashboard,
        range,
        ranges: RANGES,
        kpis: kpis(&metrics),
        chart: chart::daily_bars(&days, &v.display, "Verifications per day"),
        days: day_rows(&days, &v.display),
        onboarding: Some(onboarding).filter(|o| !o.dismissed && o.completed_steps < o.total_steps),
        v: &v,
    })
}

/// A notification as the inbox shows it.
pub struct Item {
    id: String,
    title: String,
    message: String,
    when: String,
    read: bool,
    action_url: Option<String>,
    action_label: Option<String>,
}

impl Item {
    fn of(n: &Notification, display: &Display) -> Self {
        Self {
            id: n.id.to_string(),
            title: n.title.clone(),
            message: n.message.clone(),
            when: display.at(&n.created_at),
            read: n.is_read,
            action_url: n.action_url.clone(),
            action_label: n.action_label.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    items: Vec<Item>,
    next: Option<String>,
    unread_only: bool,
}

/// One notification, swapped in by htmx after it is marked read (with the badge, out of band).
#[derive(Template)]
#[template(path = "notification_item.html")]
struct ItemFragment<'a> {
    v: &'a Visitor,
    item: Item,
    badge: bool,
}

/// Query of the inbox.
#[derive(Deserialize)]
pub struct InboxQuery {
    cursor: Option<String>,
    unread: Option<String>,
}

/// `GET /console/notifications`.
pub async fn notifications(
    State(console): State<Shared>,
    v: Visitor,
    Query(q): Query<InboxQuery>,
) -> Result<Page, ApiError> {
    let unread_only = q.unread.is_some();
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => Some(cursor::decode(raw).ok_or_else(|| {
            Error::invalid_field("cursor", "is not a cursor from a previous page")
        })?),
        None => None,
    };
    let page = notifications::Page {
        unread_only,
        limit: 20,
        after,
    };
    let listed = console.notifications.list(&v.caller.user_id, &page).await?;
    render(&NotificationsPage {
        links: Links,
        section: Section::Notifications,
        items: listed
            .notifications
            .iter()
            .map(|n| Item::of(n, &v.display))
            .collect(),
        next: listed.next_after.map(cursor::encode),
        unread_only,
        v: &v,
    })
}

/// The notification a path names; one that is not an id is as absent as another user's.
fn notification_id(raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound("No such notification.".into()))
}

/// `POST /console/notifications/{id}/read`: htmx gets the item back, a form the inbox.
pub async fn read_one(
    State(console): State<Shared>,
    v: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let read = console
        .notifications
        .mark_read(&v.caller.user_id, notification_id(&id)?)
        .await?;
    if !headers.contains_key("hx-request") {
        return Ok(Redirect::to("/console/notifications").into_response());
    }
    let mut v = v.clone();
    v.unread = console
        .notifications
        .unread_count(&v.caller.user_id)
        .await?;
    let item = Item::of(&read, &v.display);
    Ok(render(&ItemFragment {
        v: &v,
        item,
        badge: true,
    })?
    .into_response())
}

/// `POST /console/notifications/read-all`.
pub async fn read_all(State(console): State<Shared>, v: Visitor) -> Result<Response, ApiError> {
    console
        .notifications
        .mark_all_read(&v.caller.user_id)
        .await?;
    Ok(Redirect::to("/console/notifications").into_response())
}

#[derive(Template)]
#[template(path = "onboarding.html")]
struct OnboardingPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    progress: OnboardingProgress,
    done: Vec<String>,
}

/// Where each step is done in the console.
fn step_link(id: &str) -> &'static str {
    match id {
        "created_api_key" => "/console/keys/new",
        "configured_notifications" => "/console/profile",
        _ => "/console/keys",
    }
}

/// `GET /console/onboarding`: each step ticks itself when the user does it anywhere.
pub async fn onboarding(State(console): State<Shared>, v: Visitor) -> Result<Page, ApiError> {
    let progress = console.onboarding.progress(&v.caller.user_id).await?;
    render(&OnboardingPage {
        links: Links,
        section: Section::Onboarding,
        done: progress
            .steps
            .iter()
            .map(|s| v.display.maybe(&s.completed_at, ""))
            .collect(),
        progress,
        v: &v,
    })
}

/// `POST /console/onboarding/dismiss`.
pub async fn dismiss(State(console): State<Shared>, v: Visitor) -> Result<Response, ApiError> {
    console.onboarding.dismiss(&v.caller.user_id).await?;
    Ok(Redirect::to("/console/onboarding").into_response())
}

/// A notification preference and its label.
const PREFERENCES: [(&str, &str); 5] = [
    ("email_notifications", "Email notifications"),
    ("webhook_failure_notifications", "Webhook failures"),
    ("workflow_failure_notifications", "Workflow failures"),
    ("usage_alert_notifications", "Usage alerts"),
    ("marketing_emails", "Product news"),
];

fn preference(profile: &Profile, name: &str) -> bool {
    match name {
        "email_notifications" => profile.email_notifications,
        "webhook_failure_notifications" => profile.webhook_failure_notifications,
        "workflow_failure_notifications" => profile.workflow_failure_notifications,
        "usage_alert_notifications" => profile.usage_alert_notifications,
        "marketing_emails" => profile.marketing_emails,
        _ => false,
    }
}

/// What the profile form shows.
pub struct ProfileForm {
    name: String,
    email: String,
    timezone: String,
    date_format: String,
    time_format: String,
    preferences: Vec<(&'static str, &'static str, bool)>,
    errors: FieldErrors,
}

impl ProfileForm {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }

    fn others(&self) -> Vec<String> {
        self.errors
            .others(&["name", "timezone", "date_format", "time_format"])
    }

    fn date_formats(&self) -> [&'static str; 5] {
        DATE_FORMATS
    }

    fn zones(&self) -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
    }
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    form: ProfileForm,
    example: String,
    saved: bool,
}

/// Query of the profile page.
#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /console/profile`.
pub async fn profile(
    State(console): State<Shared>,
    v: Visitor,
    Query(q): Query<SavedQuery>,
) -> Result<Page, ApiError> {
    let profile = console.profiles.of(&v.caller.user_id).await?;
    render(&ProfilePage {
        links: Links,
        section: Section::Profile,
        example: v.display.at(&console.clock.now()),
        form: ProfileForm {
            name: profile.name.clone(),
            email: profile.email.clone(),
            timezone: profile.timezone.clone(),
            date_format: profile.date_format.clone(),
            time_format: profile.time_format.clone(),
            preferences: PREFERENCES
                .iter()
                .map(|(n, l)| (*n, *l, preference(&profile, n)))
                .collect(),
            errors: FieldErrors::default(),
        },
        saved: q.saved.is_some(),
        v: &v,
    })
}

/// `POST /console/profile`: the changes, by the API's rules. Only the notification preferences
/// that changed are sent, so saving the form alone does not tick the onboarding step.
pub async fn update_profile(
    State(console): State<Shared>,
    v: Visitor,
    fields: Fields,
) -> Result<Response, ApiError> {
    let profile = console.profiles.of(&v.caller.user_id).await?;
    let text = |name| Some(Some(fields.text(name).unwrap_or_default()));
    let mut draft = ProfileDraft {
        name: text("name"),
        timezone: text("timezone"),
        date_format: text("date_format"),
        time_format: text("time_format"),
        ..ProfileDraft::default()
    };
    for name in NOTIFICATION_PREFERENCES {
        let on = fields.ticked(name);
        if on != preference(&profile, name) {
            *draft.preference(name).expect("a notification preference") = Some(on);
        }
    }
    let changed = async {
        let changes = ProfileChanges::from_draft(draft)?;
        console.profiles.change(&v.caller, &changes).await
    }
    .await;
    match changed {
        Ok(_) => Ok(Redirect::to("/console/profile?saved=1").into_response()),
        Err(err) => {
            let form = ProfileForm {
                name: fields.text("name").unwrap_or_default(),
                email: profile.email.clone(),
                timezone: fields.text("timezone").unwrap_or_default(),
                date_format: fields.text("date_format").unwrap_or_default(),
                time_format: fields.text("time_format").unwrap_or_default(),
                preferences: PREFERENCES
                    .iter()
                    .map(|(n, l)| (*n, *l, fields.ticked(n)))
                    .collect(),
                errors: FieldErrors::of(err)?,
            };
            let status = form.errors.status();
            let page = render(&ProfilePage {
                links: Links,
                section: Section::Profile,
                example: v.display.at(&console.clock.now()),
                form,
                saved: false,
                v: &v,
            })?;
            Ok((status, page).into_response())
        }
    }
}
