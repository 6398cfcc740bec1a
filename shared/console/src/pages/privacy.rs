//! Privacy erasure: the scope form, a dry run's estimate before the real job, and the job's
//! status (which refreshes itself while the job runs).

use askama::Template;
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use latchkey_core::{
    Error,
    privacy::{ErasureJob, ErasureSpec, JobStatus, Scope, draft::ErasureDraft},
};
use latchkey_http::ApiError;
use uuid::Uuid;

use crate::{
    console::Shared,
    form::{FieldErrors, Fields},
    page::{Links, Page, Section, render},
    visitor::Visitor,
};

/// The scopes, with their labels.
const SCOPES: [(&str, &str); 4] = [
    ("workspace", "Everything in the workspace"),
    ("device", "Some devices"),
    ("date_range", "A date range"),
    ("tag", "Some tags"),
];

/// What the form shows.
#[derive(Default)]
pub struct ErasureForm {
    scope: String,
    device_ids: String,
    tags: String,
    from_date: String,
    to_date: String,
    errors: FieldErrors,
}

impl ErasureForm {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }

    fn others(&self) -> Vec<String> {
        self.errors
            .others(&["scope", "device_ids", "tags", "from_date", "to_date"])
    }

    fn sent(fields: &Fields, errors: FieldErrors) -> Self {
        Self {
            scope: fields.text("scope").unwrap_or_default(),
            device_ids: fields.text("device_ids").unwrap_or_default(),
            tags: fields.text("tags").unwrap_or_default(),
            from_date: fields.text("from_date").unwrap_or_default(),
            to_date: fields.text("to_date").unwrap_or_default(),
            errors,
        }
    }
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    scopes: [(&'static str, &'static str); 4],
    form: ErasureForm,
    estimate: Option<u64>,
}

/// `GET /console/privacy`.
pub async fn form(v: Visitor) -> Result<Page, ApiError> {
    render(&PrivacyPage {
        links: Links,
        section: Section::Privacy,
        scopes: SCOPES,
        form: ErasureForm {
            scope: "workspace".into(),
            ..ErasureForm::default()
        },
        estimate: None,
        v: &v,
    })
}

/// `POST /console/privacy`: `intent=estimate` runs a dry run and shows its count with the button
/// that erases; `intent=erase` starts the real job and shows it.
pub async fn submit(
    State(console): State<Shared>,
    v: Visitor,
    fields: Fields,
) -> Result<Response, ApiError> {
    let dry_run = fields.text("intent").as_deref() != Some("erase");
    let job = async {
        let spec = ErasureSpec::from_draft(ErasureDraft {
            scope: Some(fields.text("scope").unwrap_or_default()),
            device_ids: Some(fields.list("device_ids")),
            tags: Some(fields.list("tags")),
            from_date: fields.filled("from_date"),
            to_date: fields.filled("to_date"),
            dry_run: Some(dry_run),
        })?;
        console.erasure.request(&v.caller, spec).await
    }
    .await;
    match job {
        Ok(job) if !dry_run => {
            Ok(Redirect::to(&format!("/console/privacy/{}", job.job_id)).into_response())
        }
        Ok(job) => Ok(render(&PrivacyPage {
            links: Links,
            section: Section::Privacy,
            scopes: SCOPES,
            form: ErasureForm::sent(&fields, FieldErrors::default()),
            estimate: Some(job.estimated_count),
            v: &v,
        })?
        .into_response()),
        Err(err) => {
            let form = ErasureForm::sent(&fields, FieldErrors::of(err)?);
            let status = form.errors.status();
            let page = render(&PrivacyPage {
                links: Links,
                section: Section::Privacy,
                scopes: SCOPES,
                form,
                estimate: None,
                v: &v,
            })?;
            Ok((status, page).into_response())
        }
    }
}

/// A job as its page shows it.
pub struct JobView {
    id: String,
    status: &'static str,
    scope: &'static str,
    dry_run: bool,
    estimated: u64,
    deleted: u64,
    started: String,
    completed: String,
    error: Option<String>,
    running: bool,
}

impl JobView {
    fn of(job: &ErasureJob, v: &Visitor) -> Self {
        Self {
            id: job.job_id.to_string(),
            status: match job.status {
                JobStatus::Pending => "pending",
                JobStatus::Running => "running",
                JobStatus::Completed => "completed",
                JobStatus::Failed => "failed",
            },
            scope: match job.scope {
                Scope::Workspace => "workspace",
                Scope::Device => "device",
                Scope::DateRange => "date_range",
                Scope::Tag => "tag",
            },
            dry_run: job.dry_run,
            estimated: job.estimated_count,
            deleted: job.deleted_count,
            started: v.display.maybe(&job.started_at, "Not yet"),
            completed: v.display.maybe(&job.completed_at, "Not yet"),
            error: job.error.clone(),
            running: matches!(job.status, JobStatus::Pending | JobStatus::Running),
        }
    }
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    job: JobView,
}

/// `GET /console/privacy/{id}`: a job of the visitor's workspace (any other id is a 404).
pub async fn job(
    State(console): State<Shared>,
    v: Visitor,
    Path(id): Path<String>,
) -> Result<Page, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| Error::NotFound("No such erasure job.".into()))?;
    let job = console.erasure.get(&v.caller.workspace_id, id).await?;
    render(&JobPage {
        links: Links,
        section: Section::Privacy,
        job: JobView::of(&job, &v),
        v: &v,
    })
}
