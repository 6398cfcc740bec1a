//! Keys: the list (filtered by status), create (the secret shown once), a key's settings and
//! its actions (each behind a page saying what it does), and its usage.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use latchkey_core::{
    Error,
    ids::KeyId,
    keys::{
        draft::{self, KeyDraft, LimitDraft, OwnLimit},
        limit::RateWindow,
        model::{ApiKey, KeyStatus},
        service::IssuedKey,
        spec::{KeyChanges, NewKeySpec},
    },
};
use latchkey_http::ApiError;
use serde::Deserialize;

use crate::{
    chart,
    console::Shared,
    display::Display,
    form::{FieldErrors, Fields},
    page::{Links, Page, Section, render},
    visitor::Visitor,
};

/// The statuses the list filters by, with their labels.
const STATUSES: [(KeyStatus, &str); 5] = [
    (KeyStatus::Active, "Active"),
    (KeyStatus::Rotating, "Rotating"),
    (KeyStatus::Disabled, "Disabled"),
    (KeyStatus::Expired, "Expired"),
    (KeyStatus::Revoked, "Revoked"),
];

/// The name a status has in URLs and styles.
pub fn status_name(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "active",
        KeyStatus::Rotating => "rotating",
        KeyStatus::Disabled => "disabled",
        KeyStatus::Expired => "expired",
        KeyStatus::Revoked => "revoked",
    }
}

fn status_label(status: KeyStatus) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("", |(_, label)| label)
}

/// The status filter of `raw` (`all` or absent: none).
fn status_filter(raw: Option<&str>) -> Result<Option<KeyStatus>, Error> {
    match raw.unwrap_or("all") {
        "all" | "" => Ok(None),
        other => STATUSES
            .iter()
            .map(|(s, _)| *s)
            .find(|s| status_name(*s) == other)
            .map(Some)
            .ok_or_else(|| {
                Error::invalid_field(
                    "status",
                    "must be one of all, active, rotating, disabled, expired, revoked",
                )
            }),
    }
}

/// A key as a row of the list.
pub struct Row {
    id: String,
    name: String,
    masked: String,
    status: &'static str,
    label: &'static str,
    last_used: String,
    expires: String,
    created: String,
}

impl Row {
    fn of(key: &ApiKey, status: KeyStatus, display: &Display) -> Self {
        Self {
            id: key.id.to_string(),
            name: key.name.clone(),
            masked: key.masked_key.clone(),
            status: status_name(status),
            label: status_label(status),
            last_used: display.maybe(&key.last_used_at, "Never"),
            expires: display.maybe(&key.expires_at, "Never"),
            created: display.at(&key.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    rows: Vec<Row>,
    filter: &'static str,
    filters: Vec<(&'static str, &'static str)>,
    total: usize,
    notice: Option<&'static str>,
}

/// Query of the list.
#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    done: Option<String>,
}

/// `GET /console/keys`.
pub async fn list(
    State(console): State<Shared>,
    v: Visitor,
    Query(q): Query<ListQuery>,
) -> Result<Page, ApiError> {
    let filter = status_filter(q.status.as_deref())?;
    let now = console.keys.now();
    let keys = console.keys.list(&v.caller).await?;
    let total = keys.len();
    let rows = keys
        .iter()
        .map(|k| (k, k.status(now)))
        .filter(|(_, s)| filter.is_none_or(|f| f == *s))
        .map(|(k, s)| Row::of(k, s, &v.display))
        .collect();
    let mut filters = vec![("all", "All")];
    filters.extend(STATUSES.iter().map(|(s, l)| (status_name(*s), *l)));
    render(&KeysPage {
        links: Links,
        v: &v,
        section: Section::Keys,
        rows,
        filter: filter.map_or("all", status_name),
        filters,
        total,
        notice: match q.done.as_deref() {
            Some("deleted") => Some("The key was deleted."),
            _ => None,
        },
    })
}

/// What a key form shows: the values as sent (or stored), and what is wrong with them.
#[derive(Default)]
pub struct KeyForm {
    name: String,
    description: String,
    permissions: String,
    allowed_ips: String,
    rate_limit: String,
    rate_window: String,
    rate_exact: bool,
    expires_at: String,
    read_only: bool,
    enabled: bool,
    errors: FieldErrors,
}

impl KeyForm {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }

    fn others(&self) -> Vec<String> {
        self.errors.others(&[
            "name",
            "description",
            "permissions",
            "allowed_ips",
            "rate_limit",
            "expires_at",
        ])
    }

    fn windows(&self) -> [&'static str; 4] {
        RateWindow::ALL.map(RateWindow::as_str)
    }

    fn sent(fields: &Fields, errors: FieldErrors) -> Self {
        Self {
            name: fields.text("name").unwrap_or_default(),
            description: fields.text("description").unwrap_or_default(),
            permissions: fields.text("permissions").unwrap_or_default(),
            allowed_ips: fields.text("allowed_ips").unwrap_or_default(),
            rate_limit: fields.text("rate_limit").unwrap_or_default(),
            rate_window: fields.text("rate_window").unwrap_or_default(),
            rate_exact: fields.ticked("rate_exact"),
            expires_at: fields.text("expires_at").unwrap_or_default(),
            read_only: fields.ticked("read_only"),
            enabled: fields.ticked("enabled"),
            errors,
        }
    }

    fn stored(key: &ApiKey, display: &Display) -> Self {
        Self {
            name: key.name.clone(),
            description: key.description.clone().unwrap_or_default(),
            permissions: key.permissions.join("\n"),
            allowed_ips: key
                .allowed_ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            rate_limit: key
                .rate_limit
                .map(|r| r.limit().to_string())
                .unwrap_or_default(),
            rate_window: key
                .rate_limit
                .map_or("hour", |r| r.window().as_str())
                .to_owned(),
            rate_exact: key.rate_limit.is_some_and(|r| r.is_exact()),
            expires_at: display.date_input(&key.expires_at),
            read_only: key.read_only,
            enabled: key.is_active,
            errors: FieldErrors::default(),
        }
    }
}

/// The rate limit of a form: Latchkey's own, or none when the limit is blank.
fn rate_limit(fields: &Fields) -> Result<Option<OwnLimit>, Error> {
    let Some(raw) = fields.filled("rate_limit") else {
        return Ok(None);
    };
    let limit: i64 = raw
        .parse()
        .map_err(|_| Error::invalid_field("rate_limit", "must be a whole number"))?;
    let window = fields
        .filled("rate_window")
        .unwrap_or_else(|| "hour".into());
    let exact = fields.ticked("rate_exact");
    Ok(Some(OwnLimit {
        limit,
        window,
        exact,
    }))
}

/// The settings both key forms have, as the domain's draft of a key holds them.
fn settings(fields: &Fields) -> Result<KeyDraft, Error> {
    Ok(KeyDraft {
        name: Some(fields.text("name").unwrap_or_default()),
        description: Some(Some(fields.text("description").unwrap_or_default())),
        permissions: Some(fields.list("permissions")),
        allowed_ips: Some(fields.list("allowed_ips")),
        rate_limit: LimitDraft {
            per_hour: None,
            own: Some(rate_limit(fields)?),
        },
        ..KeyDraft::default()
    })
}

/// The expiry of a form's date (the start of that day in the user's zone), as the API takes it;
/// a value that is not a date goes to the API's parser as sent, which names the field.
fn expiry(fields: &Fields, display: &Display) -> Option<String> {
    let raw = fields.filled("expires_at")?;
    Some(
        chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
            .ok()
            .and_then(|day| display.start_of(&day))
            .unwrap_or(raw),
    )
}

#[derive(Template)]
#[template(path = "key_new.html")]
struct NewKeyPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    form: KeyForm,
}

/// `GET /console/keys/new`.
pub async fn new(v: Visitor) -> Result<Page, ApiError> {
    render(&NewKeyPage {
        links: Links,
        v: &v,
        section: Section::Keys,
        form: KeyForm {
            rate_limit: "1000".into(),
            rate_window: "hour".into(),
            ..KeyForm::default()
        },
    })
}

/// `POST /console/keys`: the key made by the API's rules; its secret shown once.
pub async fn create(
    State(console): State<Shared>,
    v: Visitor,
    fields: Fields,
) -> Result<Response, ApiError> {
    let made = async {
        // An unticked box on a new key says nothing: the owner's role decides (a viewer's keys
        // are read-only). On an existing key's form it says "read-write".
        let draft = KeyDraft {
            read_only: fields.ticked("read_only").then_some(true),
            expires_at: expiry(&fields, &v.display),
            ..settings(&fields)?
        };
        let spec = NewKeySpec::from_draft(draft, console.keys.now())?;
        console.keys.create(&v.caller, spec).await
    }
    .await;
    match made {
        Ok(issued) => Ok(secret_page(&v, &issued, Made::Created, None)?.into_response()),
        Err(err) => {
            let form = KeyForm::sent(&fields, FieldErrors::of(err)?);
            let status = form.errors.status();
            let page = render(&NewKeyPage {
                links: Links,
                v: &v,
                section: Section::Keys,
                form,
            })?;
            Ok((status, page).into_response())
        }
    }
}

/// How a secret came to be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Made {
    Created,
    Rotated,
    Regenerated,
}

#[derive(Template)]
#[template(path = "secret.html")]
struct SecretPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    made: Made,
    id: String,
    name: &'a str,
    secret: &'a str,
    old_until: Option<String>,
}

fn secret_page(
    v: &Visitor,
    issued: &IssuedKey,
    made: Made,
    old_until: Option<String>,
) -> Result<Page, ApiError> {
    render(&SecretPage {
        links: Links,
        v,
        section: Section::Keys,
        made,
        id: issued.key.id.to_string(),
        name: &issued.key.name,
        secret: issued.plain.expose(),
        old_until,
    })
}

/// The key a path names; one that is not a key id is as absent as another user's (404).
fn key_id(raw: &str) -> Result<KeyId, Error> {
    KeyId::parse(raw).ok_or_else(|| Error::NotFound("No such API key.".into()))
}

/// A key's summary, as its pages show it.
pub struct Summary {
    id: String,
    number: String,
    name: String,
    masked: String,
    status: &'static str,
    label: &'static str,
    created: String,
    updated: String,
    last_used: String,
    last_failed: String,
    expires: String,
    revoked: Option<String>,
    usage_count: u64,
    failed_attempts: u64,
    rate: String,
    can_change: bool,
}

impl Summary {
    fn of(key: &ApiKey, now: chrono::DateTime<chrono::Utc>, display: &Display) -> Self {
        let status = key.status(now);
        Self {
            id: key.id.to_string(),
            number: key.number.map(|n| n.to_string()).unwrap_or_default(),
            name: key.name.clone(),
            masked: key.masked_key.clone(),
            status: status_name(status),
            label: status_label(status),
            created: display.at(&key.created_at),
            updated: display.at(&key.updated_at),
            last_used: display.maybe(&key.last_used_at, "Never"),
            last_failed: display.maybe(&key.last_failed_at, "Never"),
            expires: display.maybe(&key.expires_at, "Never"),
            revoked: key.revoked_at.map(|at| {
                format!(
                    "{} ({})",
                    display.at(&at),
                    key.revocation_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                )
            }),
            usage_count: key.usage_count,
            failed_attempts: key.failed_attempts,
            rate: key.rate_limit.map_or("No limit".into(), |r| {
                let exact = if r.is_exact() { ", exact" } else { "" };
                format!("{} per {}{exact}", r.limit(), r.window().as_str())
            }),
            can_change: status != KeyStatus::Revoked,
        }
    }
}

#[derive(Template)]
#[template(path = "key.html")]
struct KeyPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    key: Summary,
    form: KeyForm,
    notice: Option<&'static str>,
}

/// Query of a page that says what was just done (`?done=saved`).
#[derive(Deserialize)]
pub struct DoneQuery {
    pub(crate) done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "saved" => Some("Settings saved."),
        "expiry" => Some("The expiry was changed."),
        "revoked" => Some("The key was revoked. It stops working within 30 seconds."),
        _ => None,
    }
}

/// `GET /console/keys/{id}`.
pub async fn detail(
    State(console): State<Shared>,
    v: Visitor,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Page, ApiError> {
    let key = console.keys.get(&v.caller, key_id(&id)?).await?;
    render(&KeyPage {
        links: Links,
        section: Section::Keys,
        key: Summary::of(&key, console.keys.now(), &v.display),
        form: KeyForm::stored(&key, &v.display),
        notice: notice(q.done.as_deref()),
        v: &v,
    })
}

/// `POST /console/keys/{id}`: the settings, changed by the API's rules.
pub async fn update(
    State(console): State<Shared>,
    v: Visitor,
    Path(id): Path<String>,
    fields: Fields,
) -> Result<Response, ApiError> {
    let id = key_id(&id)?;
    let changed = async {
        let draft = KeyDraft {
            read_only: Some(fields.ticked("read_only")),
            is_active: Some(fields.ticked("enabled")),
            ..settings(&fields)?
        };
        console
            .keys
            .update(&v.caller, id, KeyChanges::from_draft(draft)?)
            .await
    }
    .await;
    match changed {
        Ok(key) => {
            Ok(Redirect::to(&format!("/console/keys/{}?done=saved", key.id)).into_response())
        }
        Err(err) => {
            let form = KeyForm::sent(&fields, FieldErrors::of(err)?);
            let status = form.errors.status();
            let key = console.keys.get(&v.caller, id).await?;
            let page = render(&KeyPage {
                links: Links,
                section: Section::Keys,
                key: Summary::of(&key, console.keys.now(), &v.display),
                form,
                notice: None,
                v: &v,
            })?;
            Ok((status, page).into_response())
        }
    }
}

/// The actions on a key, each confirmed on its own page first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// A new key replaces it; it keeps working for a grace period.
    Rotate,
    /// A new secret, the old one stops at once.
    Regenerate,
    /// Set or clear the expiry.
    Expiry,
    /// Revoke for good, with a reason.
    Revoke,
    /// Delete.
    Delete,
}

impl Action {
    fn parse(raw: &str) -> Result<Self, Error> {
        Ok(match raw {
            "rotate" => Self::Rotate,
            "regenerate" => Self::Regenerate,
            "expiry" => Self::Expiry,
            "revoke" => Self::Revoke,
            "delete" => Self::Delete,
            _ => return Err(Error::NotFound("No such page.".into())),
        })
    }

    fn path(self) -> &'static str {
        match self {
            Self::Rotate => "rotate",
            Self::Regenerate => "regenerate",
            Self::Expiry => "expiry",
            Self::Revoke => "revoke",
            Self::Delete => "delete",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Rotate => "Rotate key",
            Self::Regenerate => "Regenerate key",
            Self::Expiry => "Change expiry",
            Self::Revoke => "Revoke key",
            Self::Delete => "Delete key",
        }
    }
}

/// The grace periods offered for a rotation, in days.
const GRACE_DAYS: [(i64, &str); 5] = [
    (0, "None: the old key stops now"),
    (1, "1 day"),
    (7, "7 days"),
    (30, "30 days"),
    (90, "90 days"),
];

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    action: Action,
    key: Summary,
    expires_at: String,
    grace: i64,
    grace_days: [(i64, &'static str); 5],
    reason: String,
    errors: FieldErrors,
}

/// `GET /console/keys/{id}/{action}`: what the action will do, and its form.
pub async fn confirm(
    State(console): State<Shared>,
    v: Visitor,
    Path((id, action)): Path<(String, String)>,
) -> Result<Page, ApiError> {
    let action = Action::parse(&action)?;
    let key = console.keys.get(&v.caller, key_id(&id)?).await?;
    render(&ConfirmPage {
        links: Links,
        section: Section::Keys,
        action,
        expires_at: v.display.date_input(&key.expires_at),
        key: Summary::of(&key, console.keys.now(), &v.display),
        grace: 7,
        grace_days: GRACE_DAYS,
        reason: String::new(),
        errors: FieldErrors::default(),
        v: &v,
    })
}

/// `POST /console/keys/{id}/{action}`: the action, by the API's rules.
pub async fn act(
    State(console): State<Shared>,
    v: Visitor,
    Path((id, action)): Path<(String, String)>,
    fields: Fields,
) -> Result<Response, ApiError> {
    let action = Action::parse(&action)?;
    let id = key_id(&id)?;
    let keys = &console.keys;
    let done: Result<Response, Error> = async {
        Ok(match action {
            Action::Rotate => {
                let days = match fields.filled("grace_period_days") {
                    Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
                        Error::invalid_field("grace_period_days", "must be a whole number")
                    })?),
                    None => None,
                };
                let grace = draft::grace_days(days)?;
                let issued = keys.rotate(&v.caller, id, grace).await?;
                let old = keys.get(&v.caller, id).await?;
                let until = v.display.maybe(&old.expires_at, "now");
                secret_page(&v, &issued, Made::Rotated, Some(until))?.into_response()
            }
            Action::Regenerate => {
                let issued = keys.regenerate(&v.caller, id).await?;
                secret_page(&v, &issued, Made::Regenerated, None)?.into_response()
            }
            Action::Expiry => {
                let at = if fields.text("intent").as_deref() == Some("clear") {
                    None
                } else {
                    let raw = expiry(&fields, &v.display).ok_or_else(|| {
                        Error::invalid_field("expires_at", "choose a day, or clear the expiry")
                    })?;
                    draft::new_expiry(Some(&raw), keys.now())?
                };
                keys.set_expiration(&v.caller, id, at).await?;
                Redirect::to(&format!("/console/keys/{id}?done=expiry")).into_response()
            }
            Action::Revoke => {
                let reason =
                    draft::revoke_reason(Some(&fields.text("reason").unwrap_or_default()))?;
                keys.revoke(&v.caller, id, reason).await?;
                Redirect::to(&format!("/console/keys/{id}?done=revoked")).into_response()
            }
            Action::Delete => {
                keys.delete(&v.caller, id).await?;
                Redirect::to("/console/keys?done=deleted").into_response()
            }
        })
    }
    .await;
    match done {
        Ok(response) => Ok(response),
        Err(err) => {
            let errors = FieldErrors::of(err)?;
            let status = errors.status();
            let key = keys.get(&v.caller, id).await?;
            let page = render(&ConfirmPage {
                links: Links,
                section: Section::Keys,
                action,
                expires_at: fields.text("expires_at").unwrap_or_default(),
                key: Summary::of(&key, keys.now(), &v.display),
                grace: fields
                    .filled("grace_period_days")
                    .and_then(|g| g.parse().ok())
                    .unwrap_or(7),
                grace_days: GRACE_DAYS,
                reason: fields.text("reason").unwrap_or_default(),
                errors,
                v: &v,
            })?;
            Ok((status, page).into_response())
        }
    }
}

/// A day of a usage table.
pub struct DayRow {
    /// The day, in the user's date format.
    pub day: String,
    /// Successful verifications.
    pub success: u64,
    /// Failed verifications.
    pub failed: u64,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    key: Summary,
    chart: String,
    days: Vec<DayRow>,
    success: u64,
    failed: u64,
}

/// `GET /console/keys/{id}/usage`: the last 30 days as a chart and a table, and the counters.
pub async fn usage(
    State(console): State<Shared>,
    v: Visitor,
    Path(id): Path<String>,
) -> Result<Page, ApiError> {
    let stats = console.keys.stats(&v.caller, key_id(&id)?).await?;
    let (success, failed) = chart::totals(&stats.daily);
    render(&UsagePage {
        links: Links,
        section: Section::Keys,
        key: Summary::of(&stats.key, console.keys.now(), &v.display),
        chart: chart::daily_bars(
            &stats.daily,
            &v.display,
            "Verifications of this key per day",
        ),
        success,
        failed,
        days: day_rows(&stats.daily, &v.display),
        v: &v,
    })
}

/// The rows of a usage table, newest first.
pub fn day_rows(days: &[latchkey_core::keys::model::DailyUsage], display: &Display) -> Vec<DayRow> {
    days.iter()
        .rev()
        .map(|d| DayRow {
            day: display.day(&d.date),
            success: d.success,
            failed: d.failed,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_http::error::Status;
    use proptest::prelude::*;

    #[test]
    fn every_status_filters_by_its_name() {
        assert_eq!(status_filter(None).unwrap(), None);
        assert_eq!(status_filter(Some("all")).unwrap(), None);
        for (status, _) in STATUSES {
            assert_eq!(
                status_filter(Some(status_name(status))).unwrap(),
                Some(status)
            );
        }
        assert_eq!(
            status_filter(Some("lost")).unwrap_err().status().as_u16(),
            400
        );
    }

    #[test]
    fn a_blank_limit_is_no_limit_and_a_word_is_a_field_error() {
        let limit = |form: &[u8]| rate_limit(&Fields::parse(form).unwrap());
        assert!(limit(b"rate_limit=&rate_window=hour").unwrap().is_none());
        let own = limit(b"rate_limit=50&rate_window=minute").unwrap().unwrap();
        assert_eq!(
            (own.limit, own.window.as_str(), own.exact),
            (50, "minute", false)
        );
        let own = limit(b"rate_limit=50&rate_window=day&rate_exact=on")
            .unwrap()
            .unwrap();
        assert_eq!(
            (own.limit, own.window.as_str(), own.exact),
            (50, "day", true)
        );
        let err = FieldErrors::of(limit(b"rate_limit=lots").unwrap_err()).unwrap();
        assert_eq!(
            err.get("rate_limit").as_deref(),
            Some("must be a whole number")
        );
    }

    #[test]
    fn a_key_form_is_checked_by_the_domains_rules_with_errors_on_its_fields() {
        let fields = Fields::parse(
            b"name=+&permissions=ok%0Abad+one&allowed_ips=10.0.0.0%2F8%0Anowhere&rate_limit=0&rate_window=fortnight",
        )
        .unwrap();
        let err = KeyChanges::from_draft(settings(&fields).unwrap()).unwrap_err();
        let errors = FieldErrors::of(err).unwrap();
        assert!(errors.get("name").is_some(), "a blank name");
        assert!(errors.get("permissions").is_some(), "a bad permission");
        assert!(errors.get("allowed_ips").is_some(), "a bad network");
        let limit = errors.get("rate_limit").expect("a bad limit and window");
        assert!(
            limit.contains("window") && limit.contains("limit"),
            "{limit}"
        );
        assert!(
            errors
                .others(&["name", "permissions", "allowed_ips", "rate_limit"])
                .is_empty()
        );
    }

    proptest! {
        #[test]
        fn any_status_filter_is_a_status_or_a_400(raw in "\\PC{0,16}") {
            if let Err(err) = status_filter(Some(&raw)) {
                prop_assert_eq!(err.status().as_u16(), 400);
            }
        }

        #[test]
        fn any_rate_limit_field_is_a_limit_or_a_field_error(raw in "\\PC{0,16}") {
            let fields = Fields(vec![("rate_limit".into(), raw)]);
            if let Err(err) = rate_limit(&fields) {
                prop_assert!(FieldErrors::of(err).unwrap().get("rate_limit").is_some());
            }
        }

        #[test]
        fn any_action_path_is_an_action_or_a_404(raw in "[a-z]{0,12}") {
            if let Err(err) = Action::parse(&raw) {
                prop_assert_eq!(err.status().as_u16(), 404);
            }
        }
    }
}
