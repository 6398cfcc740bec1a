//! User profiles: created just in time on a user's first authenticated request, read and
//! updated through `/api/v1/account/me`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{
    auth::Role,
    error::{Error, FieldError},
    ids::{UserId, WorkspaceId},
    timestamp::serde_rfc3339,
    validate,
};

/// What is known of a user when they first arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProfile {
    /// User id (`sub`).
    pub id: UserId,
    /// Email from the token, or empty.
    pub email: String,
    /// Name from the token, or empty.
    pub name: String,
    /// Workspace from the token.
    pub workspace_id: WorkspaceId,
    /// Role from the token.
    pub role: Role,
}

fn utc() -> String {
    "UTC".into()
}
fn date_format() -> String {
    "YYYY-MM-DD".into()
}
fn time_format() -> String {
    "24h".into()
}
fn api_version() -> String {
    "v1".into()
}
fn yes() -> bool {
    true
}
fn map_style() -> String {
    "streets".into()
}
fn geofence_color() -> String {
    "#3B82F6".into()
}

/// A stored profile, with the contract's defaults for every setting never changed.
/// Serialized as UserProfileResponse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Profile {
    /// User id.
    pub id: UserId,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Role in the workspace.
    pub role: Role,
    /// Whether the email was verified by the identity provider.
    #[serde(default)]
    pub email_verified: bool,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "serde_rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Latchkey staff (never set by Latchkey itself).
    #[serde(default)]
    pub is_staff: bool,
    /// Latchkey superuser (never set by Latchkey itself).
    #[serde(default)]
    pub is_superuser: bool,
    /// Free text.
    #[serde(default)]
    pub bio: Option<String>,
    /// Picture URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// IANA time zone.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Date display format.
    #[serde(default = "date_format")]
    pub date_format: String,
    /// `12h` or `24h`.
    #[serde(default = "time_format")]
    pub time_format: String,
    /// Email notifications.
    #[serde(default = "yes")]
    pub email_notifications: bool,
    /// Webhook failure notifications.
    #[serde(default = "yes")]
    pub webhook_failure_notifications: bool,
    /// Workflow failure notifications.
    #[serde(default = "yes")]
    pub workflow_failure_notifications: bool,
    /// Usage alert notifications.
    #[serde(default = "yes")]
    pub usage_alert_notifications: bool,
    /// Marketing emails.
    #[serde(default)]
    pub marketing_emails: bool,
    /// Tutorial tooltips.
    #[serde(default = "yes")]
    pub show_tutorial_tooltips: bool,
    /// Product tour done.
    #[serde(default)]
    pub has_completed_tour: bool,
    /// Default API version.
    #[serde(default = "api_version")]
    pub default_api_version: String,
    /// The spatialflow SDK's map style preference.
    #[serde(default = "map_style")]
    pub default_map_style: String,
    /// The spatialflow SDK's geofence colour preference (`#RRGGBB`).
    #[serde(default = "geofence_color")]
    pub default_geofence_color: String,
    /// The spatialflow SDK's workflow tour flag.
    #[serde(default)]
    pub has_completed_workflow_tour: bool,
    /// Role in the workspace (the same as `role`).
    #[serde(default)]
    pub workspace_role: Option<Role>,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
}

/// Body of `PUT /me`: every field optional; unknown fields are ignored; `null` clears the
/// nullable ones (`bio`, `avatar_url`, `phone_number`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct UpdateProfileRequest {
    /// Display name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 255, pattern = r"\S")]
    name: Option<Option<String>>,
    /// Free text; null or blank clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    bio: Option<Option<String>>,
    /// An http(s) URL with a host; null or blank clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^(https?://[^/?#\s]+\S*|\s*)$")]
    avatar_url: Option<Option<String>>,
    /// Digits, spaces and `+ - ( ) .`; null or blank clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 20, pattern = r"^([0-9 +().-]*[0-9][0-9 +().-]*|\s*)$")]
    phone_number: Option<Option<String>>,
    /// An IANA time zone such as `Europe/Berlin`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 50, example = "Europe/Berlin")]
    timezone: Option<Option<String>>,
    /// Date display format.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 20, pattern = r"\S")]
    date_format: Option<Option<String>>,
    /// `12h` or `24h`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = TimeFormat, required = false)]
    time_format: Option<Option<String>>,
    /// API version shown by default.
    #[serde(default, deserialize_with = "present")]
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
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 50, pattern = r"\S")]
    default_map_style: Option<Option<String>>,
    /// Geofence colour preference, `#RRGGBB` (the spatialflow SDK's).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, pattern = r"^\s*#[0-9A-Fa-f]{6}\s*$", example = "#3B82F6")]
    default_geofence_color: Option<Option<String>>,
    /// Whether the workflow tour is done (the spatialflow SDK's).
    has_completed_workflow_tour: Option<bool>,
}

/// Clock display format.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum TimeFormat {
    /// 12-hour clock.
    #[schema(rename = "12h")]
    Twelve,
    /// 24-hour clock.
    #[schema(rename = "24h")]
    TwentyFour,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A new value of a profile field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileValue {
    /// A text setting.
    Text(String),
    /// An on/off setting.
    Flag(bool),
}

/// A validated profile update: field name → new value (`None` removes the field).
#[derive(Debug, Default, PartialEq)]
pub struct ProfileChanges {
    /// The changed fields.
    pub set: Vec<(&'static str, Option<ProfileValue>)>,
    /// Whether a notification preference is among them (an onboarding step).
    pub touches_notifications: bool,
}

const NOTIFICATION_PREFERENCES: [&str; 5] = [
    "email_notifications",
    "webhook_failure_notifications",
    "workflow_failure_notifications",
    "usage_alert_notifications",
    "marketing_emails",
];

fn avatar(raw: &str) -> Result<String, FieldError> {
    let url = validate::required_text("avatar_url", raw, 500)?;
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| FieldError::new("avatar_url", "must be an http(s) URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(FieldError::new(
            "avatar_url",
            "must be an http(s) URL with a host",
        ));
    }
    Ok(url)
}

fn phone(raw: &str) -> Result<String, FieldError> {
    let phone = validate::required_text("phone_number", raw, 20)?;
    if !phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        || !phone.chars().any(|c| c.is_ascii_digit())
    {
        return Err(FieldError::new(
            "phone_number",
            "may hold only digits, spaces and + - ( ) .",
        ));
    }
    Ok(phone)
}

fn timezone(raw: &str) -> Result<String, FieldError> {
    let zone = validate::required_text("timezone", raw, 50)?;
    zone.parse::<chrono_tz::Tz>()
        .map(|_| zone)
        .map_err(|_| FieldError::new("timezone", "must be an IANA time zone, e.g. Europe/Berlin"))
}

fn color(raw: &str) -> Result<String, FieldError> {
    let color = raw.trim();
    let hex = color.strip_prefix('#').unwrap_or_default();
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(color.to_owned())
    } else {
        Err(FieldError::new(
            "default_geofence_color",
            "must be a colour #RRGGBB",
        ))
    }
}

fn time_fmt(raw: &str) -> Result<String, FieldError> {
    match raw {
        "12h" | "24h" => Ok(raw.to_owned()),
        _ => Err(FieldError::new("time_format", "must be 12h or 24h")),
    }
}

impl UpdateProfileRequest {
    /// Validates every present field.
    pub fn parse(self) -> Result<ProfileChanges, Error> {
        type Check = fn(&str) -> Result<String, FieldError>;
        let mut errors = Vec::new();
        let mut set: Vec<(&'static str, Option<ProfileValue>)> = Vec::new();
        let texts: [(&'static str, Option<Option<String>>, bool, Check); 10] = [
            ("name", self.name, false, |v| {
                validate::required_text("name", v, 255)
            }),
            ("bio", self.bio, true, |v| {
                validate::required_text("bio", v, 1000)
            }),
            ("avatar_url", self.avatar_url, true, avatar),
            ("phone_number", self.phone_number, true, phone),
            ("timezone", self.timezone, false, timezone),
            ("date_format", self.date_format, false, |v| {
                validate::required_text("date_format", v, 20)
            }),
            ("time_format", self.time_format, false, time_fmt),
            (
                "default_api_version",
                self.default_api_version,
                false,
                |v| validate::required_text("default_api_version", v, 10),
            ),
            ("default_map_style", self.default_map_style, false, |v| {
                validate::required_text("default_map_style", v, 50)
            }),
            (
                "default_geofence_color",
                self.default_geofence_color,
                false,
                color,
            ),
        ];
        for (field, value, nullable, check) in texts {
            match value {
                None => {}
                Some(None) if nullable => set.push((field, None)),
                Some(None) => errors.push(FieldError::new(field, "must not be null")),
                Some(Some(raw)) if nullable && raw.trim().is_empty() => set.push((field, None)),
                Some(Some(raw)) => match check(&raw) {
                    Ok(v) => set.push((field, Some(ProfileValue::Text(v)))),
                    Err(e) => errors.push(e),
                },
            }
        }
        let flags = [
            ("email_notifications", self.email_notifications),
            (
                "webhook_failure_notifications",
                self.webhook_failure_notifications,
            ),
            (
                "workflow_failure_notifications",
                self.workflow_failure_notifications,
            ),
            ("usage_alert_notifications", self.usage_alert_notifications),
            ("marketing_emails", self.marketing_emails),
            ("show_tutorial_tooltips", self.show_tutorial_tooltips),
            ("has_completed_tour", self.has_completed_tour),
            (
                "has_completed_workflow_tour",
                self.has_completed_workflow_tour,
            ),
        ];
        let mut touches_notifications = false;
        for (field, value) in flags {
            if let Some(v) = value {
                touches_notifications |= NOTIFICATION_PREFERENCES.contains(&field);
                set.push((field, Some(ProfileValue::Flag(v))));
            }
        }
        if errors.is_empty() {
            Ok(ProfileChanges {
                set,
                touches_notifications,
            })
        } else {
            Err(Error::invalid_fields(errors))
        }
    }
}

/// The storage port of profiles.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// Creates the profile unless it exists, as of `at`; returns whether it was created.
    async fn ensure(&self, profile: &NewProfile, at: DateTime<Utc>) -> Result<bool, Error>;
    /// The profile of `user`.
    async fn get(&self, user: &UserId) -> Result<Option<Profile>, Error>;
    /// Applies `changes` and returns the profile after them.
    async fn update(
        &self,
        user: &UserId,
        changes: &ProfileChanges,
        at: DateTime<Utc>,
    ) -> Result<Profile, Error>;
    /// The members of `workspace` that have a profile, with their roles.
    async fn members(&self, workspace: &WorkspaceId) -> Result<Vec<Member>, Error>;
    /// Erases everything stored under `user` (profile, notifications, onboarding) except the
    /// daily aggregates, which hold no personal data. Idempotent.
    async fn erase(&self, user: &UserId) -> Result<(), Error>;
}

/// A workspace member, as the member index knows them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Member {
    /// The user.
    #[serde(rename = "id")]
    pub user_id: UserId,
    /// Their role.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(body: serde_json::Value) -> Vec<String> {
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
        assert_eq!(fields(json!({"name": "n".repeat(256)})), ["name"]);
        assert_eq!(fields(json!({"bio": "b".repeat(1001)})), ["bio"]);
        assert_eq!(fields(json!({"avatar_url": "ftp://x"})), ["avatar_url"]);
        assert_eq!(fields(json!({"avatar_url": "https://"})), ["avatar_url"]);
        assert_eq!(fields(json!({"phone_number": "call me"})), ["phone_number"]);
        assert_eq!(fields(json!({"timezone": "Mars/Olympus"})), ["timezone"]);
        assert_eq!(fields(json!({"time_format": "25h"})), ["time_format"]);
        assert_eq!(fields(json!({"timezone": null})), ["timezone"]);
        assert_eq!(
            fields(json!({"default_api_version": "v12345678901"})),
            ["default_api_version"]
        );
        assert_eq!(
            fields(json!({"default_geofence_color": "blue"})),
            ["default_geofence_color"]
        );
        assert_eq!(
            fields(json!({"default_map_style": "m".repeat(51)})),
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
}
