//! An erasure request as a client sent it, before any rule: what a JSON body and a console form
//! both hold, and [`ErasureSpec::from_draft`], the one place its rules are applied.

use chrono::{DateTime, Utc};

use super::{ErasureSpec, MAX_SELECTORS, Scope};
use crate::{
    error::{Error, FieldError},
    keys::spec::{MAX_DEVICE_ID, MAX_TAG},
    validate,
};

/// What to erase, as sent. `None` is a field not sent.
#[derive(Clone, Debug, Default)]
pub struct ErasureDraft {
    /// `workspace` (or `org`), `device`, `date_range` or `tag`.
    pub scope: Option<String>,
    /// Devices whose events to erase.
    pub device_ids: Option<Vec<String>>,
    /// Start of the range: a date or a timestamp.
    pub from_date: Option<String>,
    /// End of the range: a date (inclusive) or a timestamp (exclusive).
    pub to_date: Option<String>,
    /// Tags: events carrying any of them.
    pub tags: Option<Vec<String>>,
    /// Count only.
    pub dry_run: Option<bool>,
}

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

impl ErasureSpec {
    /// The erasure `draft` asks for: each scope's required fields, `from_date` before
    /// `to_date`; every problem is reported, each on its field.
    pub fn from_draft(draft: ErasureDraft) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let scope = match draft.scope.as_deref() {
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
        let device_ids =
            selectors("device_ids", draft.device_ids, MAX_DEVICE_ID).unwrap_or_else(|e| {
                errors.extend(e);
                vec![]
            });
        let tags = selectors("tags", draft.tags, MAX_TAG).unwrap_or_else(|e| {
            errors.extend(e);
            vec![]
        });
        let from = draft.from_date.as_deref().and_then(|raw| {
            instant("from_date", raw, false)
                .map_err(|e| errors.push(e))
                .ok()
        });
        let to = draft.to_date.as_deref().and_then(|raw| {
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
                if draft.from_date.is_none() {
                    errors.push(FieldError::new(
                        "from_date",
                        "is required for scope date_range",
                    ));
                }
                if draft.to_date.is_none() {
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
            dry_run: draft.dry_run.unwrap_or(false),
        })
    }
}
