//! Request bodies and query of the spartera family, and their parsing into the domain's specs.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use latchkey_core::error::{Error, FieldError};
use latchkey_core::{
    auth::{Caller, Role},
    ids::WorkspaceId,
    keys::{
        model::{ApiKey, KeyKind, KeyPurpose},
        service::KeyRef,
        spec::{KeyChanges, MAX_NAME, MAX_REASON, NewKeySpec},
    },
    validate::{self, Problems},
};

/// Longest `mcp_deployment_id` or `endpoint_id`.
pub const MAX_BINDING: usize = 255;
/// What a revoke without a reason records.
pub const DEFAULT_REASON: &str = "No reason given";

/// ApiKeysInput: the body of a create, and (with `reason`) of a revoke. PATCH sends ApiKeysUpdate,
/// the same fields all optional, which this type reads too: which are required is decided by
/// the use.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = SparteraApiKeysInput)]
pub struct KeysInput {
    /// The owner: omitted, or the caller (anyone else is a 403).
    user_id: Option<String>,
    /// The company (workspace): the one in the path. Required on create.
    #[schema(value_type = String)]
    company_id: Option<String>,
    /// 1 owner, 2 admin, 3 member, 4 viewer (read-only). Required on create; never above the
    /// caller's own role (403).
    #[schema(value_type = i64, minimum = 1, maximum = 4)]
    role_id: Option<i64>,
    /// `analytics` (default), `mcp` or `endpoint`.
    #[schema(value_type = Option<KeyKind>)]
    key_type: Option<String>,
    /// Made by a deployment rather than a person (default false).
    is_system_generated: Option<bool>,
    /// The MCP deployment the key is tied to; null clears it.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, max_length = 255)]
    mcp_deployment_id: Option<Option<String>>,
    /// The endpoint the key is tied to; null clears it.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, max_length = 255)]
    endpoint_id: Option<Option<String>>,
    /// Display name (default `Default`).
    #[schema(max_length = 100)]
    name: Option<String>,
    /// When the key stops working: in the future; no offset means UTC. Null clears it (PATCH).
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expiration_date_utc: Option<Option<String>>,
    /// Why the key is revoked (revoke only; default "No reason given").
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// ApiKeysUpdate, as the document shows the body of a PATCH: [`KeysInput`]'s fields, none
/// required (the same type reads them).
#[derive(utoipa::ToSchema)]
#[schema(as = SparteraApiKeysUpdate)]
#[allow(dead_code)]
pub struct KeysUpdate {
    /// The owner: omitted, or the caller (anyone else is a 403).
    user_id: Option<String>,
    /// The company (workspace): omitted, or the one in the path.
    company_id: Option<String>,
    /// 1 owner, 2 admin, 3 member, 4 viewer (read-only); never above the caller's own role.
    #[schema(minimum = 1, maximum = 4)]
    role_id: Option<i64>,
    /// `analytics`, `mcp` or `endpoint`.
    key_type: Option<KeyKind>,
    /// Made by a deployment rather than a person.
    is_system_generated: Option<bool>,
    /// The MCP deployment the key is tied to; null clears it.
    #[schema(max_length = 255)]
    mcp_deployment_id: Option<String>,
    /// The endpoint the key is tied to; null clears it.
    #[schema(max_length = 255)]
    endpoint_id: Option<String>,
    /// Display name.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    /// When the key stops working: in the future; null clears it.
    #[schema(format = DateTime)]
    expiration_date_utc: Option<String>,
    /// Why the key is revoked (revoke only; default "No reason given").
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// The body of a revoke, as the document shows it. The SDK sends its ApiKeysInput; a revoke reads
/// the scope (`user_id`, `company_id`) and `reason` from it, and accepts and ignores the rest (a
/// revoke changes nothing else, so a name or an expiry sent with it is not checked as an update's
/// would be).
#[derive(utoipa::ToSchema)]
#[schema(as = SparteraRevokeRequest)]
#[allow(dead_code)]
pub struct RevokeBody {
    /// The owner: omitted, or the caller (anyone else is a 403).
    user_id: Option<String>,
    /// The company (workspace): omitted, or the one in the path.
    company_id: Option<String>,
    /// Why the key is revoked (default "No reason given").
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// The role spartera numbers `id`.
fn role(id: i64) -> Result<Role, FieldError> {
    match id {
        1 => Ok(Role::Owner),
        2 => Ok(Role::Admin),
        3 => Ok(Role::Member),
        4 => Ok(Role::Viewer),
        _ => Err(FieldError::new(
            "role_id",
            "must be 1 (owner), 2 (admin), 3 (member) or 4 (viewer)",
        )),
    }
}

/// spartera's number of `role`.
pub fn role_id(role: Role) -> u8 {
    match role {
        Role::Owner => 1,
        Role::Admin => 2,
        Role::Member => 3,
        Role::Viewer => 4,
    }
}

fn kind(raw: &str) -> Result<KeyKind, FieldError> {
    KeyKind::parse(raw)
        .ok_or_else(|| FieldError::new("key_type", "must be one of analytics, mcp, endpoint"))
}

fn binding(field: &str, raw: Option<String>) -> Result<Option<String>, FieldError> {
    raw.map_or(Ok(None), |raw| {
        validate::optional_text(field, &raw, MAX_BINDING)
    })
}

impl KeysInput {
    /// The owner and company checks every body is held to: `company_id` (when sent) must be
    /// the path's, `user_id` (when sent) the caller.
    fn check_scope(&self, caller: &Caller, p: &mut Problems) -> Result<(), Error> {
        if self
            .user_id
            .as_deref()
            .is_some_and(|user| user != caller.user_id.as_str())
        {
            return Err(Error::Forbidden(
                "A key can only be made for the caller (user_id).".into(),
            ));
        }
        if self
            .company_id
            .as_deref()
            .is_some_and(|company| company != caller.workspace_id.as_str())
        {
            p.push(FieldError::new(
                "company_id",
                "must be the company in the path",
            ));
        }
        Ok(())
    }

    /// The key a create makes.
    pub fn new_key(self, caller: &Caller, now: DateTime<Utc>) -> Result<NewKeySpec, Error> {
        let mut p = Problems::default();
        self.check_scope(caller, &mut p)?;
        if self.company_id.is_none() {
            p.push(FieldError::new("company_id", "is required"));
        }
        let role = match self.role_id {
            Some(id) => p.take(role(id)),
            None => {
                p.push(FieldError::new("role_id", "is required"));
                None
            }
        };
        let name = match &self.name {
            Some(raw) => p.take(validate::required_text("name", raw, MAX_NAME)),
            None => Some("Default".to_owned()),
        };
        let kind = self.key_type.as_deref().map(kind).transpose();
        let kind = p.take(kind);
        let mcp = p.take(binding(
            "mcp_deployment_id",
            self.mcp_deployment_id.flatten(),
        ));
        let endpoint = p.take(binding("endpoint_id", self.endpoint_id.flatten()));
        let expires_at = match self.expiration_date_utc.flatten() {
            Some(raw) => p
                .take(validate::future_timestamp("expiration_date_utc", &raw, now))
                .map(Some),
            None => Some(None),
        };
        p.finish(|| {
            let role = role.expect("checked");
            let mut spec = NewKeySpec::named(name.expect("checked"));
            spec.read_only = Some(role == Role::Viewer);
            spec.expires_at = expires_at.expect("checked");
            spec.purpose = KeyPurpose {
                role: Some(role),
                kind: kind.expect("checked").unwrap_or_default(),
                system_generated: self.is_system_generated.unwrap_or(false),
                mcp_deployment_id: mcp.expect("checked"),
                endpoint_id: endpoint.expect("checked"),
            };
            spec
        })
    }

    /// The changes a PATCH makes: only the fields sent. A role sets `read_only` with it (a
    /// viewer's key is read-only, any other's not).
    pub fn changes(self, caller: &Caller, now: DateTime<Utc>) -> Result<KeyChanges, Error> {
        let mut p = Problems::default();
        self.check_scope(caller, &mut p)?;
        let role = self.role_id.and_then(|id| p.take(role(id)));
        let name = self
            .name
            .and_then(|raw| p.take(validate::required_text("name", &raw, MAX_NAME)));
        let kind = self.key_type.and_then(|raw| p.take(kind(&raw)));
        let mcp = self
            .mcp_deployment_id
            .and_then(|raw| p.take(binding("mcp_deployment_id", raw)));
        let endpoint = self
            .endpoint_id
            .and_then(|raw| p.take(binding("endpoint_id", raw)));
        let expires_at = self.expiration_date_utc.and_then(|raw| match raw {
            Some(raw) => p
                .take(validate::future_timestamp("expiration_date_utc", &raw, now))
                .map(Some),
            None => Some(None),
        });
        p.finish(|| KeyChanges {
            name,
            read_only: role.map(|r| r == Role::Viewer),
            expires_at,
            role,
            kind,
            system_generated: self.is_system_generated,
            mcp_deployment_id: mcp,
            endpoint_id: endpoint,
            ..KeyChanges::default()
        })
    }

    /// The reason a revoke records (the body's other fields are held to the same scope checks
    /// and otherwise ignored).
    pub fn reason(self, caller: &Caller) -> Result<String, Error> {
        let mut p = Problems::default();
        self.check_scope(caller, &mut p)?;
        let reason = match &self.reason {
            Some(raw) => p
                .take(validate::optional_text("reason", raw, MAX_REASON))
                .map(|r| r.unwrap_or_else(|| DEFAULT_REASON.to_owned())),
            None => Some(DEFAULT_REASON.to_owned()),
        };
        p.finish(|| reason.expect("checked"))
    }
}

/// How the list is sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SparteraSortBy)]
pub enum SortBy {
    /// Creation time (default).
    #[default]
    DateCreated,
    /// Name, case-insensitively.
    Name,
    /// Expiry; keys that do not expire last.
    ExpirationDateUtc,
}

/// Which way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SparteraSortOrder)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first (default).
    #[default]
    Desc,
}

/// The list's query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page, from 1 (default 1).
    #[param(minimum = 1)]
    page: Option<i64>,
    /// Keys per page, 1..=100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// What to sort by.
    #[param(inline)]
    sort_by: Option<SortBy>,
    /// Which way.
    #[param(inline)]
    sort_order: Option<SortOrder>,
    /// Keep the keys whose name contains this, case-insensitively.
    #[param(max_length = 255)]
    search: Option<String>,
}

/// A validated list query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// Page, from 1.
    pub page: u64,
    /// Keys per page.
    pub limit: u64,
    sort_by: SortBy,
    sort_order: SortOrder,
    search: Option<String>,
}

impl ListQuery {
    /// The listing asked for.
    pub fn parse(self) -> Result<Listing, Error> {
        let mut p = Problems::default();
        let page = p.take(validate::in_range(
            "page",
            self.page.unwrap_or(1),
            1,
            i64::from(u32::MAX),
        ));
        let limit = p.take(validate::in_range(
            "limit",
            self.limit.unwrap_or(100),
            1,
            100,
        ));
        let search = self
            .search
            .map(|raw| p.take(validate::optional_text("search", &raw, 255)))
            .unwrap_or(Some(None));
        p.finish(|| Listing {
            page: page.expect("checked") as u64,
            limit: limit.expect("checked") as u64,
            sort_by: self.sort_by.unwrap_or_default(),
            sort_order: self.sort_order.unwrap_or_default(),
            search: search.expect("checked").map(|s| s.to_lowercase()),
        })
    }
}

impl Listing {
    /// The page of `keys` asked for, and how many keys match in all.
    pub fn page(&self, mut keys: Vec<ApiKey>) -> (Vec<ApiKey>, u64) {
        if let Some(search) = &self.search {
            keys.retain(|k| k.name.to_lowercase().contains(search));
        }
        keys.sort_by(|a, b| {
            let order = match self.sort_by {
                SortBy::DateCreated => a.created_at.cmp(&b.created_at),
                SortBy::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                SortBy::ExpirationDateUtc => match (a.expires_at, b.expires_at) {
                    (Some(a), Some(b)) => a.cmp(&b),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                },
            }
            .then_with(|| a.number.cmp(&b.number));
            match self.sort_order {
                SortOrder::Asc => order,
                SortOrder::Desc => order.reverse(),
            }
        });
        let total = keys.len() as u64;
        let skip = (self.page - 1).saturating_mul(self.limit);
        let page = keys
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(self.limit as usize)
            .collect();
        (page, total)
    }
}

/// The `{api_key_id}` path segment: a key's number (digits) or its id (a UUID). Anything else
/// names no key.
pub fn key_ref(raw: &str) -> Option<KeyRef> {
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse().ok().filter(|n| *n > 0).map(KeyRef::Number);
    }
    latchkey_core::ids::KeyId::parse(raw).map(KeyRef::Id)
}

/// The `{company_id}` path segment names the caller's workspace; any other company is a 404.
pub fn company(caller: &Caller, raw: &str) -> Result<(), Error> {
    if WorkspaceId::parse(raw).is_some_and(|company| company == caller.workspace_id) {
        Ok(())
    } else {
        Err(no_company())
    }
}

/// The answer for a company that is not the caller's.
pub fn no_company() -> Error {
    Error::NotFound("No company with that id.".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use latchkey_core::{auth::Credential, ids::UserId};
    use proptest::prelude::*;

    fn caller(role: Role) -> Caller {
        let user = UserId::parse("u-1").unwrap();
        Caller {
            origin: Default::default(),
            workspace_id: WorkspaceId::parse("c-1").unwrap(),
            user_id: user,
            credential: Credential::Session { role },
        }
    }

    fn input(body: serde_json::Value) -> KeysInput {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn a_create_needs_the_company_and_a_role_and_a_viewer_key_is_read_only() {
        let now = Utc::now();
        let who = caller(Role::Owner);
        let spec = input(serde_json::json!({"company_id": "c-1", "role_id": 4}))
            .new_key(&who, now)
            .unwrap();
        assert_eq!(spec.read_only, Some(true));
        assert_eq!(spec.name, "Default");
        assert_eq!(spec.purpose.kind, KeyKind::Analytics);
        let err = input(serde_json::json!({"role_id": 9}))
            .new_key(&who, now)
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        let fields: Vec<String> = match err {
            Error::Validation { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(fields, ["company_id", "role_id"]);
        let other_user =
            input(serde_json::json!({"company_id": "c-1", "role_id": 3, "user_id": "u-2"}));
        assert_eq!(
            other_user.new_key(&who, now).unwrap_err().status().as_u16(),
            403
        );
        let past = input(serde_json::json!({"company_id": "c-1", "role_id": 3,
            "expiration_date_utc": "2001-01-01T00:00:00"}));
        assert_eq!(past.new_key(&who, now).unwrap_err().status().as_u16(), 400);
    }

    #[test]
    fn a_key_path_is_a_positive_number_or_a_uuid() {
        assert_eq!(key_ref("12"), Some(KeyRef::Number(12)));
        assert_eq!(key_ref("0"), None);
        assert_eq!(key_ref("99999999999999999999999"), None);
        assert_eq!(key_ref("-1"), None);
        assert_eq!(key_ref(""), None);
        let id = latchkey_core::ids::KeyId::new();
        assert_eq!(key_ref(&id.to_string()), Some(KeyRef::Id(id)));
    }

    proptest! {
        /// Whatever a body holds, each use parses it to a value or a 4xx, and never panics.
        #[test]
        fn any_body_parses_or_is_a_4xx(
            company in prop::option::of("c-1|c-2|"),
            role in prop::option::of(-2i64..8),
            kind in prop::option::of("analytics|mcp|endpoint|other|"),
            name in prop::option::of(".{0,120}"),
            binding in prop::option::of(prop::option::of(".{0,300}")),
            expiry in prop::option::of(prop::option::of("[0-9T:+Z-]{0,30}")),
            reason in prop::option::of(".{0,600}"),
        ) {
            let now = Utc::now();
            let make = || KeysInput {
                user_id: None,
                company_id: company.clone(),
                role_id: role,
                key_type: kind.clone(),
                is_system_generated: None,
                mcp_deployment_id: binding.clone(),
                endpoint_id: binding.clone(),
                name: name.clone(),
                expiration_date_utc: expiry.clone(),
                reason: reason.clone(),
            };
            let who = caller(Role::Member);
            for result in [
                make().new_key(&who, now).map(|_| ()),
                make().changes(&who, now).map(|_| ()),
                make().reason(&who).map(|_| ()),
            ] {
                if let Err(err) = result {
                    prop_assert!(err.status().is_client_error(), "{err:?}");
                }
            }
        }

        /// Any path segment names a key or nothing, and never panics.
        #[test]
        fn any_key_path_parses_or_names_nothing(raw in ".{0,40}") {
            let _ = key_ref(&raw);
        }
    }
}
