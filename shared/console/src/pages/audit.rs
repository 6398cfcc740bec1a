//! The audit log: the API's filters as a form, each event's changes as a person reads them,
//! and links to the keys it names. Owners and admins see the workspace's events; others the
//! events that concern them (the same use case the API calls decides).

use askama::Template;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use latchkey_core::{
    audit::{ActorKind, AuditEvent, draft::AuditQueryDraft, store::AuditQuery},
    cursor,
    role::Role,
};
use latchkey_http::ApiError;

use crate::{
    console::Shared,
    display::Display,
    form::FieldErrors,
    page::{Links, Section, render},
    visitor::Visitor,
};

/// The actions the form suggests.
const ACTIONS: [&str; 27] = [
    "key.",
    "key.created",
    "key.updated",
    "key.regenerated",
    "key.secret_generated",
    "key.expiry_set",
    "key.expiry_cleared",
    "key.rotated",
    "key.revoked",
    "key.deleted",
    "key.expired",
    "key.expiring_soon",
    "session.",
    "session.signed_in",
    "session.signed_out",
    "session.refresh_reused",
    "account.",
    "account.profile_updated",
    "account.deleted",
    "erasure.",
    "erasure.completed",
    "webhook.",
    "webhook.created",
    "webhook.updated",
    "webhook.secret_rotated",
    "webhook.deleted",
    "webhook.disabled",
];

/// Events on a page.
const PAGE: i64 = 25;

/// The filters, as the form sent them (dates in the visitor's zone).
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilters {
    action: Option<String>,
    actor_id: Option<String>,
    target_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

/// The form as shown again: what was sent, and what is wrong with it.
#[derive(Default)]
struct FilterForm {
    action: String,
    actor_id: String,
    target_id: String,
    since: String,
    until: String,
    errors: FieldErrors,
}

impl FilterForm {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }

    fn others(&self) -> Vec<String> {
        self.errors
            .others(&["action", "actor_id", "target_id", "since", "until"])
    }

    fn is_empty(&self) -> bool {
        [
            &self.action,
            &self.actor_id,
            &self.target_id,
            &self.since,
            &self.until,
        ]
        .iter()
        .all(|f| f.is_empty())
    }

    /// The query string of these filters, for the next page's link.
    fn query(&self) -> String {
        let filled: Vec<(&str, &str)> = [
            ("action", &self.action),
            ("actor_id", &self.actor_id),
            ("target_id", &self.target_id),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (name, value.as_str()))
        .collect();
        serde_urlencoded::to_string(filled).unwrap_or_default()
    }
}

/// A target, linked when the console has a page for it.
struct TargetCell {
    label: String,
    href: Option<String>,
}

/// One changed field, before and after, as text.
struct ChangeCell {
    field: String,
    from: String,
    to: String,
}

/// One event as a row.
struct Row {
    id: String,
    iso: String,
    when: String,
    action: String,
    actor_kind: &'static str,
    actor: String,
    targets: Vec<TargetCell>,
    changes: Vec<ChangeCell>,
    family: String,
    ip: Option<String>,
}

/// A value as a person reads it: text as itself, nothing as a dash, lists joined.
fn readable(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(text) if text.is_empty() => "(empty)".into(),
        Value::String(text) => text.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => items.iter().map(readable).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

impl Row {
    fn of(event: &AuditEvent, display: &Display) -> Self {
        Self {
            id: event.id.to_string(),
            iso: event.time.to_rfc3339(),
            when: display.at(&event.time),
            action: event.action.clone(),
            actor_kind: match event.actor.kind {
                ActorKind::User => "User",
                ActorKind::Key => "Key",
                ActorKind::System => "Latchkey",
            },
            actor: event
                .actor
                .name
                .clone()
                .unwrap_or_else(|| event.actor.id.clone()),
            targets: event
                .targets
                .iter()
                .map(|t| TargetCell {
                    label: format!(
                        "{} {}",
                        t.kind.replace('_', " "),
                        t.name.as_deref().unwrap_or(&t.id)
                    ),
                    href: (t.kind == "key").then(|| format!("/console/keys/{}", t.id)),
                })
                .collect(),
            changes: event
                .changes
                .iter()
                .map(|(field, change)| ChangeCell {
                    field: field.replace('_', " "),
                    from: readable(&change.from),
                    to: readable(&change.to),
                })
                .collect(),
            family: event.context.family.clone(),
            ip: event.context.ip.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    form: FilterForm,
    rows: Vec<Row>,
    next: Option<String>,
    whole_workspace: bool,
}

/// A date the form sent, as the start of that day in the visitor's zone; anything else as sent,
/// for the query's rules to judge.
fn day_start(display: &Display, raw: Option<&String>) -> Option<String> {
    let raw = raw.filter(|r| !r.is_empty())?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(day) => display.start_of(&day).or_else(|| Some(raw.clone())),
        Err(_) => Some(raw.clone()),
    }
}

/// `GET /console/audit`.
pub async fn list(
    State(console): State<Shared>,
    v: Visitor,
    Query(filters): Query<AuditFilters>,
) -> Result<Response, ApiError> {
    let filled = |f: &Option<String>| f.clone().filter(|s| !s.trim().is_empty());
    let mut form = FilterForm {
        action: filters.action.clone().unwrap_or_default(),
        actor_id: filters.actor_id.clone().unwrap_or_default(),
        target_id: filters.target_id.clone().unwrap_or_default(),
        since: filters.since.clone().unwrap_or_default(),
        until: filters.until.clone().unwrap_or_default(),
        errors: FieldErrors::default(),
    };
    let draft = AuditQueryDraft {
        action: filled(&filters.action),
        actor_id: filled(&filters.actor_id),
        target_id: filled(&filters.target_id),
        since: day_start(&v.display, filters.since.as_ref()),
        until: day_start(&v.display, filters.until.as_ref()),
        limit: Some(PAGE),
        cursor: filled(&filters.cursor),
    };
    let (rows, next) = match AuditQuery::from_draft(draft) {
        Ok(query) => {
            let page = console.audit.list(&v.caller, query).await?;
            let next = page.next_after.map(|after| {
                let query = form.query();
                let joint = if query.is_empty() { "" } else { "&" };
                format!(
                    "/console/audit?{query}{joint}cursor={}",
                    cursor::encode(after)
                )
            });
            let rows = page.events.iter().map(|e| Row::of(e, &v.display)).collect();
            (rows, next)
        }
        Err(err) => {
            form.errors = FieldErrors::of(err)?;
            (Vec::new(), None)
        }
    };
    let whole_workspace = matches!(v.caller.role(), Role::Owner | Role::Admin);
    let status = form.errors.status();
    let page = render(&AuditPage {
        links: Links,
        section: Section::Audit,
        form,
        rows,
        next,
        whole_workspace,
        v: &v,
    })?;
    Ok((status, page).into_response())
}
