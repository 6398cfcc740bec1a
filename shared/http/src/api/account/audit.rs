//! The audit log's routes (`/api/v1/account/audit-events`), served by the account function: a
//! page of events, one event, and the chain's integrity; their query strings and answers.

use std::collections::BTreeMap;

use axum::{Json as Body, extract::State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use latchkey_core::{
    audit::{
        AuditEvent,
        chain::Integrity,
        draft::{AuditQueryDraft, TimeRange, checked_range},
        log::AuditPage,
        store::AuditQuery,
    },
    cursor,
    error::Error,
    ids::AuditEventId,
};

use super::AccountApi;
use crate::{
    Authenticated, IdPath, Query, Result, Session,
    responses::{Errors, status::*},
};

/// Query of `GET /audit-events`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQueryParams {
    /// An action (`key.revoked`), or a prefix ending in `.` (`key.`).
    #[param(max_length = 128, example = "key.")]
    action: Option<String>,
    /// Only events by this actor (a user's or a key's id).
    #[param(max_length = 128)]
    actor_id: Option<String>,
    /// Only events about this target: the thing an event acted on, its first target (a key's
    /// id, a session's, ...).
    #[param(max_length = 128)]
    target_id: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<String>,
    /// Page size.
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl AuditQueryParams {
    /// The query, checked by the domain's rules.
    pub fn parse(self) -> Result<AuditQuery, Error> {
        AuditQuery::from_draft(AuditQueryDraft {
            action: self.action,
            actor_id: self.actor_id,
            target_id: self.target_id,
            since: self.since,
            until: self.until,
            limit: self.limit,
            cursor: self.cursor,
        })
    }
}

/// Query of `GET /audit-events/integrity`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntegrityQuery {
    /// Check events at or after this time (RFC 3339); from the first when absent.
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// Check events before this time (RFC 3339); to the last when absent.
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<String>,
}

impl IntegrityQuery {
    /// The range: `since` and `until`, each a timestamp when present, `since` first.
    pub fn parse(self) -> Result<TimeRange, Error> {
        checked_range(self.since, self.until)
    }
}

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorBody {
    /// `user`, `key` or `system`.
    #[serde(rename = "type")]
    #[schema(example = "user")]
    kind: String,
    /// The user's or key's id, or the system part's name.
    id: String,
    /// A name a person recognises, when there is one.
    name: Option<String>,
}

/// What an event is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetBody {
    /// `key`, ...
    #[serde(rename = "type")]
    kind: String,
    /// Its id.
    id: String,
    /// Its name, when it has one.
    name: Option<String>,
}

/// Where a change came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContextBody {
    /// The client's address.
    ip: Option<String>,
    /// The client's `User-Agent`.
    user_agent: Option<String>,
    /// The request's `X-Request-Id`.
    request_id: Option<String>,
    /// `native`, `spartera`, `latitude.sh`, `cartovista`, `numind`, `console`, `sweeper`, ...
    family: String,
}

/// A field before and after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeBody {
    /// Before (`null`: it had none): any JSON value.
    from: Value,
    /// After (`null`: it has none): any JSON value.
    to: Value,
}

/// AuditEvent: one recorded change. No secret, hash or token ever appears in one.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventBody {
    /// Its id (a UUIDv7: ids sort by time).
    #[schema(value_type = String, format = Uuid)]
    id: uuid::Uuid,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    time: String,
    /// The workspace.
    workspace_id: String,
    /// What happened: `key.created`, `key.updated`, `key.regenerated`, `key.rotated`,
    /// `key.expiry_set`, `key.expiry_cleared`, `key.revoked`, `key.deleted`,
    /// `key.secret_generated`, `key.expiring_soon`, `key.expired`, `webhook.created`, ...
    #[schema(example = "key.revoked")]
    action: String,
    /// Who did it.
    actor: ActorBody,
    /// What it was about.
    targets: Vec<TargetBody>,
    /// From where.
    context: ContextBody,
    /// Each changed field, before and after.
    changes: BTreeMap<String, ChangeBody>,
}

impl From<AuditEvent> for AuditEventBody {
    fn from(event: AuditEvent) -> Self {
        let kind = |k| {
            serde_json::to_value(k)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        Self {
            id: event.id,
            time: latchkey_core::timestamp::format(event.time),
            workspace_id: event.workspace_id.as_str().to_owned(),
            action: event.action,
            actor: ActorBody {
                kind: kind(event.actor.kind).unwrap_or_default(),
                id: event.actor.id,
                name: event.actor.name,
            },
            targets: event
                .targets
                .into_iter()
                .map(|t| TargetBody {
                    kind: t.kind,
                    id: t.id,
                    name: t.name,
                })
                .collect(),
            context: ContextBody {
                ip: event.context.ip,
                user_agent: event.context.user_agent,
                request_id: event.context.request_id,
                family: event.context.family,
            },
            changes: event
                .changes
                .into_iter()
                .map(|(field, c)| {
                    (
                        field,
                        ChangeBody {
                            from: c.from,
                            to: c.to,
                        },
                    )
                })
                .collect(),
        }
    }
}

/// A page of events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    /// Newest first.
    events: Vec<AuditEventBody>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

impl From<AuditPage> for AuditEventList {
    fn from(page: AuditPage) -> Self {
        Self {
            events: page.events.into_iter().map(Into::into).collect(),
            next_cursor: page.next_after.map(cursor::encode),
        }
    }
}

/// What an integrity check found.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrityBody {
    /// Whether every event checked matches its digest and links to the one before it.
    intact: bool,
    /// Events checked (up to and including the first that does not match).
    checked: u64,
    /// The first event that does not match.
    #[schema(value_type = Option<String>, format = Uuid)]
    first_broken: Option<uuid::Uuid>,
}

impl From<Integrity> for IntegrityBody {
    fn from(found: Integrity) -> Self {
        Self {
            intact: found.first_broken.is_none(),
            checked: found.checked,
            first_broken: found.first_broken,
        }
    }
}

type Svc = State<AccountApi>;

#[utoipa::path(
    get, path = "/api/v1/account/audit-events", tag = "audit",
    operation_id = "list_audit_events",
    summary = "The audit log, newest first: the workspace's events (owners, admins), or the caller's own",
    params(AuditQueryParams),
    responses(
        (status = 200, description = "One page of events.", body = AuditEventList),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
    security(("JWTBearer" = []), ("APIKeyBearer" = [])),
)]
pub(super) async fn list_audit_events(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Query(q): Query<AuditQueryParams>,
) -> Result<Body<AuditEventList>> {
    Ok(Body(s.audit.list(&caller, q.parse()?).await?.into()))
}

#[utoipa::path(
    get, path = "/api/v1/account/audit-events/{event_id}", tag = "audit",
    operation_id = "get_audit_event", summary = "One audit event",
    params(IdPath<AuditEventId>),
    responses(
        (status = 200, description = "The event.", body = AuditEventBody),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
    security(("JWTBearer" = []), ("APIKeyBearer" = [])),
)]
pub(super) async fn get_audit_event(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(AuditEventId(id)): IdPath<AuditEventId>,
) -> Result<Body<AuditEventBody>> {
    Ok(Body(s.audit.get(&caller, id).await?.into()))
}

#[utoipa::path(
    get, path = "/api/v1/account/audit-events/integrity", tag = "audit",
    operation_id = "check_audit_integrity",
    summary = "Recompute the workspace's audit chain over a time range (owners and admins)",
    params(IntegrityQuery),
    responses(
        (status = 200, description = "What the check found.", body = IntegrityBody),
        Errors<{ CALLER | BAD_REQUEST | FORBIDDEN }>,
    ),
)]
pub(super) async fn check_audit_integrity(
    State(s): Svc,
    Session { caller, .. }: Session,
    Query(q): Query<IntegrityQuery>,
) -> Result<Body<IntegrityBody>> {
    let (since, until) = q.parse()?;
    Ok(Body(s.audit.integrity(&caller, since, until).await?.into()))
}
