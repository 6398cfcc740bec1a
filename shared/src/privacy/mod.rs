//! GDPR Article 17 erasure of the personal data Latchkey holds about the end clients of a
//! workspace's keys: the usage events recorded at verification. Daily aggregate counters hold no
//! personal data and stay.
//!
//! A job is validated and recorded by the privacy function (a dry run is counted and completed on
//! the spot), then executed by the worker from SQS in chunks; see [`erasure`].

pub mod erasure;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{Error, FieldError},
    ids::{UserId, WorkspaceId},
    timestamp::serde_rfc3339,
    validate,
};

/// What an erasure covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every event of the workspace (`org` is an alias).
    Workspace,
    /// Events of the given devices.
    Device,
    /// Events within a time range.
    DateRange,
    /// Events carrying any of the given tags.
    Tag,
}

/// The state of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Recorded, waiting for the worker.
    Pending,
    /// Being executed.
    Running,
    /// Done.
    Completed,
    /// Gave up; `error` says why.
    Failed,
}

/// Body of `POST /privacy/erasure`. Its document schema is written out below: one shape per
/// scope, so clients see which fields each scope requires.
#[derive(Debug, Default, Deserialize)]
pub struct ErasureRequest {
    scope: Option<String>,
    device_ids: Option<Vec<String>>,
    from_date: Option<String>,
    to_date: Option<String>,
    tags: Option<Vec<String>>,
    dry_run: Option<bool>,
}

impl utoipa::PartialSchema for ErasureRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{
            Ref, RefOr,
            schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type},
        };
        let list = |item: &str, required: bool| -> RefOr<Schema> {
            let array = ArrayBuilder::new()
                .items(Ref::from_schema_name(item))
                .max_items(Some(MAX_SELECTORS));
            if required {
                array.min_items(Some(1)).into()
            } else {
                array
                    .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
                    .into()
            }
        };
        let instant = |required: bool| -> RefOr<Schema> {
            if required {
                Ref::from_schema_name("DateOrTime").into()
            } else {
                OneOfBuilder::new()
                    .item(Ref::from_schema_name("DateOrTime"))
                    .item(ObjectBuilder::new().schema_type(Type::Null))
                    .into()
            }
        };
        let shape = |scopes: &[&str], required: &[&str], description: &str| {
            let needs = |field: &str| required.contains(&field);
            let mut object = ObjectBuilder::new()
                .description(Some(description))
                .property(
                    "scope",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(scopes.iter().copied())),
                )
                .required("scope")
                .property("device_ids", list("DeviceId", needs("device_ids")))
                .property("tags", list("Tag", needs("tags")))
                .property("from_date", instant(needs("from_date")))
                .property("to_date", instant(needs("to_date")))
                .property(
                    "dry_run",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
                        .default(Some(false.into()))
                        .description(Some("Count only, delete nothing.")),
                );
            for field in required {
                object = object.required(*field);
            }
            object
        };
        OneOfBuilder::new()
            .description(Some(
                "What to erase, one shape per scope. `from_date` and `to_date` take a date (a whole \
                 UTC day, `to_date` inclusive) or an RFC 3339 timestamp (`to_date` exclusive), \
                 `from_date` first; they narrow every scope and are required for `date_range`.",
            ))
            .item(shape(
                &["workspace", "org"],
                &[],
                "Every event of the caller's workspace (`org` is an alias).",
            ))
            .item(shape(
                &["device"],
                &["device_ids"],
                "The events of these devices.",
            ))
            .item(shape(
                &["date_range"],
                &["from_date", "to_date"],
                "The events between the two instants.",
            ))
            .item(shape(
                &["tag"],
                &["tags"],
                "The events carrying any of these tags.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for ErasureRequest {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use crate::{
            keys::input::{DeviceId, Tag},
            validate::DateOrTime,
        };
        use utoipa::PartialSchema;
        schemas.push((DeviceId::name().into(), DeviceId::schema()));
        schemas.push((Tag::name().into(), Tag::schema()));
        schemas.push((DateOrTime::name().into(), DateOrTime::schema()));
    }
}

/// A validated erasure request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureSpec {
    /// The scope.
    pub scope: Scope,
    /// Devices (scope `device`).
    pub device_ids: Vec<String>,
    /// Tags (scope `tag`).
    pub tags: Vec<String>,
    /// Start of the time range (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// End of the time range (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Count only.
    pub dry_run: bool,
}

/// Most devices or tags in one request.
pub const MAX_SELECTORS: usize = 100;

/// A date (the whole UTC day) or a timestamp; for the range's `end`, a date means the end of that day.
fn instant(field: &str, raw: &str, end: bool) -> Result<DateTime<Utc>, FieldError> {
    let at = validate::timestamp(field, raw)?;
    if !(end && crate::timestamp::is_date_only(raw)) {
        return Ok(at);
    }
    at.checked_add_days(chrono::Days::new(1)).ok_or_else(|| {
        FieldError::new(
            field,
            crate::timestamp::TimestampError::OutOfRange.to_string(),
        )
    })
}

fn selectors(
    field: &str,
    raw: Option<Vec<String>>,
    max_len: usize,
) -> Result<Vec<String>, Vec<FieldError>> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_SELECTORS {
        return Err(vec![FieldError::new(
            field,
            format!("must hold at most {MAX_SELECTORS} entries"),
        )]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        match validate::required_text(&format!("{field}[{i}]"), v, max_len) {
            Ok(v) if !out.contains(&v) => out.push(v),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

impl ErasureRequest {
    /// Validates the request: each scope's required fields, `from_date` before `to_date`.
    pub fn parse(self) -> Result<ErasureSpec, Error> {
        let mut errors = Vec::new();
        let scope = match self.scope.as_deref() {
            Some("workspace" | "org") => Some(Scope::Workspace),
            Some("device") => Some(Scope::Device),
            Some("date_range") => Some(Scope::DateRange),
            Some("tag") => Some(Scope::Tag),
            Some(other) => {
                errors.push(FieldError::new(
                    "scope",
                    format!("{other:?} is not one of workspace, org, device, date_range, tag"),
                ));
                None
            }
            None => {
                errors.push(FieldError::new("scope", "is required"));
                None
            }
        };
        let device_ids = selectors(
            "device_ids",
            self.device_ids,
            crate::keys::input::MAX_DEVICE_ID,
        )
        .unwrap_or_else(|e| {
            errors.extend(e);
            vec![]
        });
        let tags = selectors("tags", self.tags, crate::keys::input::MAX_TAG).unwrap_or_else(|e| {
            errors.extend(e);
            vec![]
        });
        let from = self.from_date.as_deref().and_then(|raw| {
            instant("from_date", raw, false)
                .map_err(|e| errors.push(e))
                .ok()
        });
        let to = self.to_date.as_deref().and_then(|raw| {
            instant("to_date", raw, true)
                .map_err(|e| errors.push(e))
                .ok()
        });
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            errors.push(FieldError::new("from_date", "must be before to_date"));
        }
        match scope {
            Some(Scope::Device) if device_ids.is_empty() => errors.push(FieldError::new(
                "device_ids",
                "is required for scope device",
            )),
            Some(Scope::Tag) if tags.is_empty() => {
                errors.push(FieldError::new("tags", "is required for scope tag"))
            }
            Some(Scope::DateRange) => {
                if self.from_date.is_none() {
                    errors.push(FieldError::new(
                        "from_date",
                        "is required for scope date_range",
                    ));
                }
                if self.to_date.is_none() {
                    errors.push(FieldError::new(
                        "to_date",
                        "is required for scope date_range",
                    ));
                }
            }
            _ => {}
        }
        if !errors.is_empty() {
            return Err(Error::invalid_fields(errors));
        }
        Ok(ErasureSpec {
            scope: scope.expect("checked"),
            device_ids,
            tags,
            from,
            to,
            dry_run: self.dry_run.unwrap_or(false),
        })
    }
}

/// Where a page of a target's events ends, as the store that gave it out spells it: opaque to
/// the domain, kept in the job so a run resumes exactly there.
pub type ResumeKey = std::collections::HashMap<String, String>;

/// Where a running job is: the target it is on and the key to resume after.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Index into the job's targets.
    pub target: usize,
    /// The last evaluated key of the previous page, within the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ResumeKey>,
}

/// An erasure job as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErasureJob {
    /// Id.
    pub job_id: Uuid,
    /// The workspace erased.
    pub workspace_id: WorkspaceId,
    /// Who asked (notified when it ends).
    pub requested_by: UserId,
    /// Scope.
    pub scope: Scope,
    /// Devices.
    #[serde(default)]
    pub device_ids: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Range start.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Range end.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Days with events in scope, fixed at creation, so targets never shift under a cursor.
    #[serde(default)]
    pub days: Vec<NaiveDate>,
    /// Count only.
    pub dry_run: bool,
    /// State.
    pub status: JobStatus,
    /// Events in scope when the job was created.
    pub estimated_count: u64,
    /// Events erased so far.
    pub deleted_count: u64,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// First run.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// End.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Where it is.
    #[serde(default)]
    pub progress: Progress,
    /// Optimistic-concurrency version: every state change is conditional on it.
    pub version: u64,
}

/// PrivacyErasureResponse.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ErasureResponse {
    job_id: Uuid,
    status: JobStatus,
    estimated_count: u64,
    deleted_count: u64,
    #[serde(with = "serde_rfc3339::option")]
    started_at: Option<DateTime<Utc>>,
    #[serde(with = "serde_rfc3339::option")]
    completed_at: Option<DateTime<Utc>>,
    dry_run: bool,
    scope: Scope,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl From<&ErasureJob> for ErasureResponse {
    fn from(job: &ErasureJob) -> Self {
        Self {
            job_id: job.job_id,
            status: job.status,
            estimated_count: job.estimated_count,
            deleted_count: job.deleted_count,
            started_at: job.started_at,
            completed_at: job.completed_at,
            dry_run: job.dry_run,
            scope: job.scope,
            error: job.error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<ErasureSpec, Error> {
        serde_json::from_value::<ErasureRequest>(v).unwrap().parse()
    }

    fn fields(v: serde_json::Value) -> Vec<String> {
        match parse(v) {
            Err(Error::Validation { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scopes_need_their_fields() {
        assert_eq!(
            parse(json!({"scope": "org"})).unwrap().scope,
            Scope::Workspace
        );
        assert_eq!(fields(json!({})), ["scope"]);
        assert_eq!(fields(json!({"scope": "everything"})), ["scope"]);
        assert_eq!(fields(json!({"scope": "device"})), ["device_ids"]);
        assert_eq!(fields(json!({"scope": "tag", "tags": []})), ["tags"]);
        assert_eq!(
            fields(json!({"scope": "date_range"})),
            ["from_date", "to_date"]
        );
        assert_eq!(
            fields(
                json!({"scope": "date_range", "from_date": "2026-02-01", "to_date": "2026-01-01"})
            ),
            ["from_date"]
        );
        assert_eq!(
            fields(json!({"scope": "workspace", "from_date": "nope"})),
            ["from_date"]
        );
        assert_eq!(
            fields(json!({"scope": "device", "device_ids": [""]})),
            ["device_ids[0]", "device_ids"]
        );
    }

    #[test]
    fn dates_cover_whole_days() {
        let spec = parse(
            json!({"scope": "date_range", "from_date": "2026-01-01", "to_date": "2026-01-01"}),
        )
        .unwrap();
        assert_eq!((spec.to.unwrap() - spec.from.unwrap()).num_hours(), 24);
        assert!(!spec.dry_run);
    }
}
