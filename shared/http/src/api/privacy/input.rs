//! The body of `POST /privacy/erasure` and its parsing into the domain's [`ErasureSpec`].

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::{
    api_keys::input::{DeviceId, Tag},
    doc::DateOrTime,
};
use latchkey_core::error::{Error, FieldError};
use latchkey_core::{
    keys::spec::{MAX_DEVICE_ID, MAX_TAG},
    privacy::{ErasureSpec, MAX_SELECTORS, Scope},
    validate,
};

/// Body of `POST /privacy/erasure` (its document schema is [`ErasureRequestSchema`]).
#[derive(Debug, Default, Deserialize)]
pub struct ErasureRequest {
    scope: Option<String>,
    device_ids: Option<Vec<String>>,
    from_date: Option<String>,
    to_date: Option<String>,
    tags: Option<Vec<String>>,
    dry_run: Option<bool>,
}

/// What to erase, one shape per scope. `from_date` and `to_date` take a date (a whole UTC day,
/// `to_date` inclusive) or an RFC 3339 timestamp (`to_date` exclusive), `from_date` first; they
/// narrow every scope and are required for `date_range`.
// The document's schema of `ErasureRequest`, derived from a serde enum whose variants each name
// their scope first, so the document shows which fields each scope requires. Requests are parsed
// through the lenient `ErasureRequest` instead, so a bad one gets a 400 naming every field at
// fault rather than the first serde error.
#[derive(ToSchema)]
#[serde(untagged)]
#[schema(as = ErasureRequest)]
#[allow(dead_code)]
pub enum ErasureRequestSchema {
    /// Every event of the caller's workspace (`org` is an alias).
    Workspace {
        #[schema(inline)]
        scope: WorkspaceScope,
        /// Devices whose events to erase; narrows the scope.
        #[schema(max_items = 100)]
        device_ids: Option<Vec<DeviceId>>,
        /// Tags: events carrying any of them; narrows the scope.
        #[schema(max_items = 100)]
        tags: Option<Vec<Tag>>,
        /// Start of the range.
        from_date: Option<DateOrTime>,
        /// End of the range.
        to_date: Option<DateOrTime>,
        /// Count only, delete nothing.
        #[schema(default = false)]
        dry_run: Option<bool>,
    },
    /// The events of these devices.
    Device {
        #[schema(inline)]
        scope: DeviceScope,
        /// Devices whose events to erase (at least one).
        #[schema(min_items = 1, max_items = 100)]
        device_ids: Vec<DeviceId>,
        /// Tags: events carrying any of them; narrows the scope.
        #[schema(max_items = 100)]
        tags: Option<Vec<Tag>>,
        /// Start of the range.
        from_date: Option<DateOrTime>,
        /// End of the range.
        to_date: Option<DateOrTime>,
        /// Count only, delete nothing.
        #[schema(default = false)]
        dry_run: Option<bool>,
    },
    /// The events between the two instants.
    DateRange {
        #[schema(inline)]
        scope: DateRangeScope,
        /// Devices whose events to erase; narrows the scope.
        #[schema(max_items = 100)]
        device_ids: Option<Vec<DeviceId>>,
        /// Tags: events carrying any of them; narrows the scope.
        #[schema(max_items = 100)]
        tags: Option<Vec<Tag>>,
        /// Start of the range.
        from_date: DateOrTime,
        /// End of the range.
        to_date: DateOrTime,
        /// Count only, delete nothing.
        #[schema(default = false)]
        dry_run: Option<bool>,
    },
    /// The events carrying any of these tags.
    Tag {
        #[schema(inline)]
        scope: TagScope,
        /// Devices whose events to erase; narrows the scope.
        #[schema(max_items = 100)]
        device_ids: Option<Vec<DeviceId>>,
        /// Tags: events carrying any of them (at least one).
        #[schema(min_items = 1, max_items = 100)]
        tags: Vec<Tag>,
        /// Start of the range.
        from_date: Option<DateOrTime>,
        /// End of the range.
        to_date: Option<DateOrTime>,
        /// Count only, delete nothing.
        #[schema(default = false)]
        dry_run: Option<bool>,
    },
}

/// `workspace`, or its alias `org`.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum WorkspaceScope {
    /// The workspace.
    Workspace,
    /// An alias of `workspace`.
    Org,
}

/// `device`.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum DeviceScope {
    /// Devices.
    Device,
}

/// `date_range`.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum DateRangeScope {
    /// A time range.
    DateRange,
}

/// `tag`.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TagScope {
    /// Tags.
    Tag,
}

/// A date (the whole UTC day) or a timestamp; for the range's `end`, a date means the end of that day.
fn instant(field: &str, raw: &str, end: bool) -> Result<DateTime<Utc>, FieldError> {
    let at = validate::timestamp(field, raw)?;
    if !(end && latchkey_core::timestamp::is_date_only(raw)) {
        return Ok(at);
    }
    at.checked_add_days(chrono::Days::new(1)).ok_or_else(|| {
        FieldError::new(
            field,
            latchkey_core::timestamp::TimestampError::OutOfRange.to_string(),
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
        let device_ids =
            selectors("device_ids", self.device_ids, MAX_DEVICE_ID).unwrap_or_else(|e| {
                errors.extend(e);
                vec![]
            });
        let tags = selectors("tags", self.tags, MAX_TAG).unwrap_or_else(|e| {
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
