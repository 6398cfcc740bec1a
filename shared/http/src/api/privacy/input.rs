//! The body of `POST /privacy/erasure` and its parsing into the domain's [`ErasureSpec`].

use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::{
    api_keys::input::{DeviceId, Tag},
    doc::DateOrTime,
};
use latchkey_core::error::Error;
use latchkey_core::privacy::{ErasureSpec, draft::ErasureDraft};

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

impl ErasureRequest {
    /// Validates the request by the domain's rules: each scope's required fields, `from_date`
    /// before `to_date`.
    pub fn parse(self) -> Result<ErasureSpec, Error> {
        ErasureSpec::from_draft(ErasureDraft {
            scope: self.scope,
            device_ids: self.device_ids,
            from_date: self.from_date,
            to_date: self.to_date,
            tags: self.tags,
            dry_run: self.dry_run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_core::privacy::Scope;
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
