//! The answers of the account family, built from the domain's values.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use latchkey_core::{
    auth::Role,
    dashboard::{self, DashboardMetrics},
    ids::{UserId, WorkspaceId},
    notifications::{Notification, NotificationPage},
    onboarding::{self, OnboardingProgress},
    profiles::Profile,
    timestamp::serde_rfc3339,
};

/// UserProfileResponse: the profile, with the contract's defaults for every setting never changed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Profile)]
pub struct ProfileBody {
    /// User id.
    id: UserId,
    /// Email.
    email: String,
    /// Display name.
    name: String,
    /// Role in the workspace.
    role: Role,
    /// Whether the email was verified by the identity provider.
    email_verified: bool,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "serde_rfc3339")]
    updated_at: DateTime<Utc>,
    /// Latchkey staff (never set by Latchkey itself).
    is_staff: bool,
    /// Latchkey superuser (never set by Latchkey itself).
    is_superuser: bool,
    /// Free text.
    bio: Option<String>,
    /// Picture URL.
    avatar_url: Option<String>,
    /// Phone number.
    phone_number: Option<String>,
    /// IANA time zone.
    timezone: String,
    /// Date display format.
    date_format: String,
    /// `12h` or `24h`.
    time_format: String,
    /// Email notifications.
    email_notifications: bool,
    /// Webhook failure notifications.
    webhook_failure_notifications: bool,
    /// Workflow failure notifications.
    workflow_failure_notifications: bool,
    /// Usage alert notifications.
    usage_alert_notifications: bool,
    /// Marketing emails.
    marketing_emails: bool,
    /// Tutorial tooltips.
    show_tutorial_tooltips: bool,
    /// Product tour done.
    has_completed_tour: bool,
    /// Default API version.
    default_api_version: String,
    /// The spatialflow SDK's map style preference.
    default_map_style: String,
    /// The spatialflow SDK's geofence colour preference (`#RRGGBB`).
    default_geofence_color: String,
    /// The spatialflow SDK's workflow tour flag.
    has_completed_workflow_tour: bool,
    /// Role in the workspace (the same as `role`).
    workspace_role: Option<Role>,
    /// The workspace.
    workspace_id: WorkspaceId,
    /// Company.
    company: Option<String>,
}

impl From<Profile> for ProfileBody {
    fn from(p: Profile) -> Self {
        Self {
            id: p.id,
            email: p.email,
            name: p.name,
            role: p.role,
            email_verified: p.email_verified,
            created_at: p.created_at,
            updated_at: p.updated_at,
            is_staff: p.is_staff,
            is_superuser: p.is_superuser,
            bio: p.bio,
            avatar_url: p.avatar_url,
            phone_number: p.phone_number,
            timezone: p.timezone,
            date_format: p.date_format,
            time_format: p.time_format,
            email_notifications: p.email_notifications,
            webhook_failure_notifications: p.webhook_failure_notifications,
            workflow_failure_notifications: p.workflow_failure_notifications,
            usage_alert_notifications: p.usage_alert_notifications,
            marketing_emails: p.marketing_emails,
            show_tutorial_tooltips: p.show_tutorial_tooltips,
            has_completed_tour: p.has_completed_tour,
            default_api_version: p.default_api_version,
            default_map_style: p.default_map_style,
            default_geofence_color: p.default_geofence_color,
            has_completed_workflow_tour: p.has_completed_workflow_tour,
            workspace_role: p.workspace_role,
            workspace_id: p.workspace_id,
            company: p.company,
        }
    }
}

/// A notification, as the contract's Notification.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Notification)]
pub struct NotificationBody {
    /// Id (UUIDv7).
    id: Uuid,
    /// Type.
    #[serde(rename = "type")]
    kind: String,
    /// Title.
    title: String,
    /// Message.
    message: String,
    /// Whether it was read.
    is_read: bool,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    created_at: DateTime<Utc>,
    /// When it was read.
    #[serde(with = "serde_rfc3339::option")]
    read_at: Option<DateTime<Utc>>,
    /// Details.
    data: serde_json::Value,
    /// Where the console shows the thing the notification is about.
    action_url: Option<String>,
    /// The link text for `action_url`.
    action_label: Option<String>,
}

impl From<Notification> for NotificationBody {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            title: n.title,
            message: n.message,
            is_read: n.is_read,
            created_at: n.created_at,
            read_at: n.read_at,
            data: n.data,
            action_url: n.action_url,
            action_label: n.action_label,
        }
    }
}

/// NotificationList.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    /// Newest first.
    notifications: Vec<NotificationBody>,
    /// Notifications in this page.
    count: usize,
    /// Unread notifications in all pages.
    unread_count: u64,
    /// Pass as `cursor` for the next page.
    next_cursor: Option<String>,
}

impl From<NotificationPage> for NotificationList {
    fn from(page: NotificationPage) -> Self {
        Self {
            count: page.notifications.len(),
            notifications: page.notifications.into_iter().map(Into::into).collect(),
            unread_count: page.unread_count,
            next_cursor: page.next_after.map(latchkey_core::cursor::encode),
        }
    }
}

/// One step in OnboardingProgressResponse.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = StepProgress)]
pub struct StepProgressBody {
    #[schema(value_type = super::input::Step)]
    id: &'static str,
    title: &'static str,
    completed: bool,
    #[serde(with = "serde_rfc3339::option")]
    completed_at: Option<DateTime<Utc>>,
}

/// OnboardingProgressResponse.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = OnboardingProgress)]
pub struct OnboardingProgressBody {
    steps: Vec<StepProgressBody>,
    completed_steps: usize,
    total_steps: usize,
    completion_percentage: u32,
    #[serde(with = "serde_rfc3339::option")]
    completed_at: Option<DateTime<Utc>>,
    dismissed: bool,
    #[serde(with = "serde_rfc3339::option")]
    dismissed_at: Option<DateTime<Utc>>,
}

impl From<OnboardingProgress> for OnboardingProgressBody {
    fn from(p: OnboardingProgress) -> Self {
        Self {
            steps: p
                .steps
                .into_iter()
                .map(|s: onboarding::StepProgress| StepProgressBody {
                    id: s.id,
                    title: s.title,
                    completed: s.completed,
                    completed_at: s.completed_at,
                })
                .collect(),
            completed_steps: p.completed_steps,
            total_steps: p.total_steps,
            completion_percentage: p.completion_percentage,
            completed_at: p.completed_at,
            dismissed: p.dismissed,
            dismissed_at: p.dismissed_at,
        }
    }
}

/// `{"successful", "total", "success_rate"}`.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct RequestSuccess {
    successful: u64,
    total: u64,
    /// Percent; null when `total` is 0.
    success_rate: Option<f64>,
}

/// The same figures in the spatialflow SDK's words: `{"successful", "total", "rate"}`.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct DeliverySuccess {
    successful: u64,
    total: u64,
    /// Percent; null when `total` is 0.
    rate: Option<f64>,
}

/// The figures of one period.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
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
#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct Change {
    requests_total: Option<f64>,
    successful: Option<f64>,
    failed_attempts: Option<f64>,
    success_rate: Option<f64>,
}

/// The previous period's figures and the change.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
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
#[derive(Debug, Serialize, PartialEq, ToSchema)]
#[schema(as = DashboardMetrics)]
pub struct DashboardMetricsBody {
    #[schema(value_type = super::input::TimeRange)]
    time_range: &'static str,
    #[serde(flatten)]
    figures: Figures,
    comparison: Comparison,
}

impl From<dashboard::Figures> for Figures {
    fn from(f: dashboard::Figures) -> Self {
        let total = f.requests_total();
        Self {
            period_start: f.period_start,
            period_end: f.period_end,
            active_keys: f.active_keys,
            requests_total: total,
            request_success: RequestSuccess {
                successful: f.successful,
                total,
                success_rate: f.success_rate,
            },
            failed_attempts: f.failed,
            active_workflows: f.active_keys,
            events_total: total,
            action_delivery_success: DeliverySuccess {
                successful: f.successful,
                total,
                rate: f.success_rate,
            },
        }
    }
}

impl From<DashboardMetrics> for DashboardMetricsBody {
    fn from(m: DashboardMetrics) -> Self {
        Self {
            time_range: m.time_range,
            figures: m.current.into(),
            comparison: Comparison {
                figures: m.previous.into(),
                change: Change {
                    requests_total: m.change.requests_total,
                    successful: m.change.successful,
                    failed_attempts: m.change.failed_attempts,
                    success_rate: m.change.success_rate,
                },
                events_change: m.change.requests_difference,
                workflows_change: m.change.active_keys_difference,
                success_rate_change: m.change.success_rate_points,
            },
        }
    }
}
