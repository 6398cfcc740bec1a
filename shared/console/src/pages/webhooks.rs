//! Webhook endpoints: the list with a form to add one, each endpoint's page (its settings, a test
//! event, a new secret, deletion, and its delivery log with a retry per delivery), and a secret
//! shown once. Every action goes through the use cases the API calls, with their rules and their
//! authorization (owners and admins).

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use latchkey_core::{
    Error,
    webhooks::{
        Delivery, DeliveryStatus, WebhookEndpoint,
        draft::{EndpointChanges, EndpointDraft},
        events,
    },
};
use latchkey_http::ApiError;
use uuid::Uuid;

use super::keys::DoneQuery;
use crate::{
    console::Shared,
    form::{FieldErrors, Fields},
    page::{Links, Page, Section, render},
    visitor::Visitor,
};

/// The event types an endpoint can ask for (the test event goes to every endpoint).
fn types() -> Vec<&'static str> {
    events::TYPES
        .iter()
        .copied()
        .filter(|t| *t != events::TEST)
        .collect()
}

/// What the endpoint form shows.
pub struct EndpointForm {
    url: String,
    description: String,
    all: bool,
    events: Vec<String>,
    enabled: bool,
    errors: FieldErrors,
}

impl Default for EndpointForm {
    fn default() -> Self {
        Self {
            url: String::new(),
            description: String::new(),
            all: true,
            events: vec![],
            enabled: true,
            errors: FieldErrors::default(),
        }
    }
}

impl EndpointForm {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }

    fn others(&self) -> Vec<String> {
        self.errors
            .others(&["url", "description", "events", "enabled"])
    }

    fn wants(&self, kind: &&str) -> bool {
        self.events.iter().any(|e| e == kind)
    }

    fn of(endpoint: &WebhookEndpoint) -> Self {
        Self {
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            all: endpoint.events.iter().any(|e| e == events::ALL),
            events: endpoint.events.clone(),
            enabled: endpoint.enabled,
            errors: FieldErrors::default(),
        }
    }

    fn sent(fields: &Fields, errors: FieldErrors) -> Self {
        Self {
            url: fields.text("url").unwrap_or_default(),
            description: fields.text("description").unwrap_or_default(),
            all: fields.ticked("all_events"),
            events: fields.all("events"),
            enabled: fields.ticked("enabled"),
            errors,
        }
    }
}

/// The form's fields as the domain's draft: every event type, or those ticked.
fn draft(fields: &Fields) -> EndpointDraft {
    EndpointDraft {
        url: Some(fields.text("url").unwrap_or_default()),
        description: Some(fields.text("description").unwrap_or_default()),
        events: Some(if fields.ticked("all_events") {
            vec![events::ALL.to_owned()]
        } else {
            fields.all("events")
        }),
        enabled: Some(fields.ticked("enabled")),
    }
}

/// An endpoint as a row of the list.
pub struct EndpointRow {
    id: String,
    url: String,
    description: String,
    events: String,
    enabled: bool,
    disabled_reason: Option<String>,
}

impl EndpointRow {
    fn of(e: &WebhookEndpoint) -> Self {
        Self {
            id: e.id.to_string(),
            url: e.url.clone(),
            description: e.description.clone(),
            events: if e.events.iter().any(|t| t == events::ALL) {
                "every event".into()
            } else {
                e.events.join(", ")
            },
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    rows: Vec<EndpointRow>,
    form: EndpointForm,
    types: Vec<&'static str>,
}

async fn list_page(
    console: &Shared,
    v: &Visitor,
    form: EndpointForm,
) -> Result<(axum::http::StatusCode, Page), ApiError> {
    let status = form.errors.status();
    let endpoints = console.webhooks.list(&v.caller).await?;
    let page = render(&ListPage {
        links: Links,
        section: Section::Webhooks,
        rows: endpoints.iter().map(EndpointRow::of).collect(),
        form,
        types: types(),
        v,
    })?;
    Ok((status, page))
}

/// `GET /console/webhooks`.
pub async fn list(State(console): State<Shared>, v: Visitor) -> Result<Response, ApiError> {
    Ok(list_page(&console, &v, EndpointForm::default())
        .await?
        .into_response())
}

#[derive(Template)]
#[template(path = "webhook_secret.html")]
struct SecretPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    id: String,
    url: String,
    secret: String,
    rotated: bool,
}

/// `POST /console/webhooks`: adds an endpoint and shows its secret, once.
pub async fn create(
    State(console): State<Shared>,
    v: Visitor,
    fields: Fields,
) -> Result<Response, ApiError> {
    let made = async {
        let spec = EndpointChanges::from_draft(draft(&fields), console.webhooks.policy(), true)?;
        console.webhooks.create(&v.caller, spec).await
    }
    .await;
    match made {
        Ok(made) => Ok(render(&SecretPage {
            links: Links,
            section: Section::Webhooks,
            id: made.endpoint.id.to_string(),
            url: made.endpoint.url.clone(),
            secret: made.secret,
            rotated: false,
            v: &v,
        })?
        .into_response()),
        Err(err) => {
            let form = EndpointForm::sent(&fields, FieldErrors::of(err)?);
            Ok(list_page(&console, &v, form).await?.into_response())
        }
    }
}

/// An attempt as the log shows it.
pub struct AttemptView {
    when: String,
    iso: String,
    outcome: String,
    duration_ms: u64,
}

/// A delivery as the log shows it.
pub struct DeliveryView {
    id: String,
    event_type: String,
    webhook_id: String,
    status: &'static str,
    attempts: Vec<AttemptView>,
    next: Option<String>,
    retryable: bool,
}

impl DeliveryView {
    fn of(d: &Delivery, v: &Visitor) -> Self {
        Self {
            id: d.id.to_string(),
            event_type: d.event_type.clone(),
            webhook_id: d.webhook_id.clone(),
            status: match d.status {
                DeliveryStatus::Pending => "pending",
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Failed => "failed",
            },
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptView {
                    when: v.display.at(&a.at),
                    iso: latchkey_core::timestamp::format(a.at),
                    outcome: match (&a.status_code, &a.error) {
                        (Some(code), None) => format!("{code}"),
                        (Some(code), Some(_)) => format!("{code}"),
                        (None, Some(error)) => error.clone(),
                        (None, None) => "no answer".into(),
                    },
                    duration_ms: a.duration_ms,
                })
                .collect(),
            next: d.next_attempt_at.as_ref().map(|t| v.display.at(t)),
            retryable: d.status != DeliveryStatus::Pending,
        }
    }
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct DetailPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    id: String,
    endpoint: EndpointRow,
    form: EndpointForm,
    types: Vec<&'static str>,
    deliveries: Vec<DeliveryView>,
    done: Option<&'static str>,
}

fn endpoint_id(raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound("No webhook endpoint with that id.".into()))
}

async fn detail_page(
    console: &Shared,
    v: &Visitor,
    id: Uuid,
    form: Option<EndpointForm>,
    done: Option<&'static str>,
) -> Result<Response, ApiError> {
    let endpoint = console.webhooks.get(&v.caller, id).await?;
    let page = console.webhooks.deliveries(&v.caller, id, None, 50).await?;
    let form = form.unwrap_or_else(|| EndpointForm::of(&endpoint));
    let status = form.errors.status();
    let page = render(&DetailPage {
        links: Links,
        section: Section::Webhooks,
        id: id.to_string(),
        endpoint: EndpointRow::of(&endpoint),
        form,
        types: types(),
        deliveries: page
            .deliveries
            .iter()
            .map(|d| DeliveryView::of(d, v))
            .collect(),
        done,
        v,
    })?;
    Ok((status, page).into_response())
}

/// What a `?done=` query names, as the page says it.
fn done_of(query: Option<&str>) -> Option<&'static str> {
    match query? {
        "saved" => Some("Saved."),
        "tested" => Some("A test event is on its way; its delivery is at the top of the log."),
        "retried" => Some("The delivery is on its way again."),
        _ => None,
    }
}

/// `GET /console/webhooks/{id}`: another workspace's endpoint is a 404.
pub async fn detail(
    State(console): State<Shared>,
    v: Visitor,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, ApiError> {
    let id = endpoint_id(&id)?;
    detail_page(&console, &v, id, None, done_of(q.done.as_deref())).await
}

/// `POST /console/webhooks/{id}`: saves the settings.
pub async fn update(
    State(console): State<Shared>,
    v: Visitor,
    Path(id): Path<String>,
    fields: Fields,
) -> Result<Response, ApiError> {
    let id = endpoint_id(&id)?;
    let saved = async {
        let changes =
            EndpointChanges::from_draft(draft(&fields), console.webhooks.policy(), false)?;
        console.webhooks.update(&v.caller, id, changes).await
    }
    .await;
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("/console/webhooks/{id}?done=saved")).into_response()),
        Err(err) => {
            let form = EndpointForm::sent(&fields, FieldErrors::of(err)?);
            detail_page(&console, &v, id, Some(form), None).await
        }
    }
}

/// `POST /console/webhooks/{id}/{action}`: `test`, `rotate` (shows the new secret once) or
/// `delete`.
pub async fn act(
    State(console): State<Shared>,
    v: Visitor,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = endpoint_id(&id)?;
    let webhooks = &console.webhooks;
    Ok(match action.as_str() {
        "test" => {
            webhooks.test(&v.caller, id).await?;
            Redirect::to(&format!("/console/webhooks/{id}?done=tested")).into_response()
        }
        "rotate" => {
            let secret = webhooks.rotate_secret(&v.caller, id).await?;
            let endpoint = webhooks.get(&v.caller, id).await?;
            render(&SecretPage {
                links: Links,
                section: Section::Webhooks,
                id: id.to_string(),
                url: endpoint.url,
                secret,
                rotated: true,
                v: &v,
            })?
            .into_response()
        }
        "delete" => {
            webhooks.delete(&v.caller, id).await?;
            Redirect::to("/console/webhooks").into_response()
        }
        _ => return Err(Error::NotFound("No such action.".into()).into()),
    })
}

/// `POST /console/webhooks/{id}/deliveries/{delivery}/retry`.
pub async fn retry(
    State(console): State<Shared>,
    v: Visitor,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = endpoint_id(&id)?;
    let delivery = Uuid::parse_str(&delivery)
        .map_err(|_| Error::NotFound("No delivery with that id.".into()))?;
    console.webhooks.retry(&v.caller, id, delivery).await?;
    Ok(Redirect::to(&format!("/console/webhooks/{id}?done=retried")).into_response())
}
