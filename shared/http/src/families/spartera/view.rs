//! Answers of the spartera family, built from domain values: `{"message", "data"}` envelopes,
//! the key as spartera shows it, and its error body.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::input::role_id;
use crate::{api::api_keys::view::ApiKeyStats, error::ErrorReport};
use latchkey_core::{
    keys::{
        model::{ApiKey, KeyKind, KeyStatus},
        service::KeyStats,
    },
    timestamp::serde_rfc3339,
};

/// The `{"message", "data"}` envelope of every answer but the list's, one type per `data`.
macro_rules! envelope {
    ($name:ident, $schema:ident, $data:ty, $what:literal) => {
        #[doc = concat!("`{\"message\", \"data\"}` with ", $what, ".")]
        #[derive(Serialize, utoipa::ToSchema)]
        #[schema(as = $schema)]
        pub struct $name {
            /// What happened.
            pub message: &'static str,
            /// The answer.
            pub data: $data,
        }
    };
}

envelope!(KeyAnswer, SparteraKeyAnswer, SparteraKey, "the key");
envelope!(
    StatsAnswer,
    SparteraStatsAnswer,
    SparteraKeyStats,
    "the key and its usage"
);
envelope!(
    CreatedAnswer,
    SparteraCreatedAnswer,
    Created,
    "the new key's number and whole key"
);
envelope!(
    NumberAnswer,
    SparteraNumberAnswer,
    KeyNumber,
    "the key's number"
);

/// The list: a page of keys, and where it is.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SparteraKeyList)]
pub struct KeyList {
    /// What happened.
    pub message: &'static str,
    /// The page's keys.
    pub data: Vec<SparteraKey>,
    /// Where the page is.
    pub pagination: Pagination,
}

/// Where a page is.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SparteraPagination)]
pub struct Pagination {
    /// This page, from 1.
    pub page: u64,
    /// Keys per page.
    pub limit: u64,
    /// Keys matching the search in all.
    pub total: u64,
}

/// A create's `data`: the key's number (as a string) and the whole key, once.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SparteraCreated)]
pub struct Created {
    /// The key's number, as a decimal string.
    pub api_key_id: String,
    /// The whole key. It is never shown again.
    pub api_key: String,
}

/// A change's `data`: the key's number, as a string.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SparteraKeyNumber)]
pub struct KeyNumber {
    /// The key's number, as a decimal string.
    pub api_key_id: String,
}

impl KeyNumber {
    /// `key`'s number.
    pub fn of(key: &ApiKey) -> Self {
        Self {
            api_key_id: key.number.unwrap_or_default().to_string(),
        }
    }
}

/// A key as spartera shows it, with Latchkey's own fields after spartera's.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SparteraKey {
    /// The key's number in its company (an integer here; a string in the answers of changes).
    api_key_id: u64,
    /// The company (workspace).
    company_id: String,
    /// The owner.
    user_id: String,
    /// 1 owner, 2 admin, 3 member, 4 viewer (read-only).
    role_id: u8,
    /// The key's type.
    key_type: KeyKind,
    /// Made by a deployment rather than a person.
    is_system_generated: bool,
    /// The MCP deployment it is tied to.
    mcp_deployment_id: Option<String>,
    /// The endpoint it is tied to.
    endpoint_id: Option<String>,
    /// Display name.
    name: String,
    /// When it stops working, or null.
    #[serde(with = "serde_rfc3339::option")]
    expiration_date_utc: Option<DateTime<Utc>>,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    date_created: DateTime<Utc>,
    /// Last change.
    #[serde(with = "serde_rfc3339")]
    last_updated: DateTime<Utc>,
    /// `sk_****1234`.
    masked_key: String,
    /// Lifecycle status.
    status: KeyStatus,
    /// A viewer's key: read-only.
    read_only: bool,
    /// When it was revoked, or null.
    #[serde(with = "serde_rfc3339::option")]
    revoked_at: Option<DateTime<Utc>>,
    /// Why, or null.
    revocation_reason: Option<String>,
}

impl SparteraKey {
    /// `key` as spartera shows it at `now`.
    pub fn new(key: &ApiKey, now: DateTime<Utc>) -> Self {
        Self {
            api_key_id: key.number.unwrap_or_default(),
            company_id: key.workspace_id.to_string(),
            user_id: key.owner_id.to_string(),
            role_id: role_id(key.role()),
            key_type: key.purpose.kind,
            is_system_generated: key.purpose.system_generated,
            mcp_deployment_id: key.purpose.mcp_deployment_id.clone(),
            endpoint_id: key.purpose.endpoint_id.clone(),
            name: key.name.clone(),
            expiration_date_utc: key.expires_at,
            date_created: key.created_at,
            last_updated: key.updated_at,
            masked_key: key.masked_key.clone(),
            status: key.status(now),
            read_only: key.read_only,
            revoked_at: key.revoked_at,
            revocation_reason: key.revocation_reason.clone(),
        }
    }
}

/// The key with its usage: ApiKeyStats' figures (and its `id`) beside spartera's fields.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SparteraKeyStats {
    /// The key.
    #[serde(flatten)]
    key: SparteraKey,
    /// Its usage.
    #[serde(flatten)]
    usage: ApiKeyStats,
}

impl SparteraKeyStats {
    /// `stats` as spartera shows them at `now`.
    pub fn new(stats: KeyStats, now: DateTime<Utc>) -> Self {
        Self {
            key: SparteraKey::new(&stats.key, now),
            usage: ApiKeyStats::from(stats),
        }
    }
}

/// spartera's error body.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SparteraError)]
pub struct ErrorBody<'a> {
    /// The HTTP status.
    code: u16,
    /// A sentence for humans.
    message: &'a str,
    /// Each field at fault and what is wrong with it, on validation errors.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    errors: BTreeMap<&'a str, Vec<&'a str>>,
}

impl<'a> ErrorBody<'a> {
    /// `report`, answered with `status`, as spartera's error body.
    pub fn new(status: StatusCode, report: &'a ErrorReport) -> Self {
        let mut errors: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for field in &report.errors {
            errors
                .entry(field.field.as_str())
                .or_default()
                .push(field.message.as_str());
        }
        Self {
            code: status.as_u16(),
            message: &report.detail,
            errors,
        }
    }
}
