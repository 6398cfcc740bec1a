//! The DynamoDB adapter of [`KeyStore`].

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, Delete, ReturnValue, TransactWriteItem, Update},
};
use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DynamoAuditStore, Item, address, put_new, transact};
use crate::table;
use latchkey_core::keys::{
    limit::{RateLimit, RateWindow},
    model::{ApiKey, DailyUsage, KeyKind, KeyPurpose},
    spec::default_rate_limit,
    store::{ChangeCursor, KeyStore},
};
use latchkey_core::{
    audit::{AuditEvent, store::AuditStore},
    ids::{KeyId, UserId, WorkspaceId},
    role::Role,
    store::StoreError,
    timestamp,
};

/// Keys in a DynamoDB table laid out as [`crate::table`] describes.
#[derive(Clone, Debug)]
pub struct DynamoKeyStore {
    client: Client,
    table: String,
    /// The audit log every change's event joins, in the change's transaction.
    audit: DynamoAuditStore,
}

impl DynamoKeyStore {
    /// An adapter over `table`, each change's event joining `audit` in the change's transaction.
    pub fn new(client: Client, table: impl Into<String>, audit: DynamoAuditStore) -> Self {
        Self {
            client,
            table: table.into(),
            audit,
        }
    }

    /// `items` and the items that record `event`, as one transaction.
    async fn transact_recorded(
        &self,
        items: Vec<TransactWriteItem>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.audit.write_with(items, Some(event)).await
    }
}

/// The stored shape of a key. Usage counters are written by verification with atomic `ADD`s, so
/// settings writes never send them (`skip_serializing`), and never overwrite them.
#[derive(Debug, Serialize, Deserialize)]
struct KeyRecord {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    /// The workspace index; absent on keys stored before it, until their next write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi4pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi4sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    id: KeyId,
    /// Absent on keys stored before numbers, until their first read gives them one. Never
    /// removed by a settings write (it is not optional once set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number: Option<u64>,
    owner_id: UserId,
    workspace_id: WorkspaceId,
    name: String,
    key_prefix: String,
    masked_key: String,
    /// Absent on keys stored before it was kept.
    #[serde(default)]
    last_slice: String,
    secret_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    paired_secret_hash: Option<String>,
    permissions: Vec<String>,
    read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    is_active: bool,
    /// The limit: `{limit, window}`, or null for none.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    rate_limit: Option<Option<RateLimitRecord>>,
    /// What keys stored before `rate_limit` existed have instead: their hourly limit. Read, never
    /// written; a settings write removes it.
    #[serde(default, skip_serializing)]
    rate_limit_per_hour: Option<u32>,
    allowed_ips: Vec<ipnet::IpNet>,
    #[serde(with = "timestamp::serde_rfc3339")]
    created_at: DateTime<Utc>,
    #[serde(with = "timestamp::serde_rfc3339")]
    updated_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::serde_rfc3339::option"
    )]
    expires_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::serde_rfc3339::option"
    )]
    revoked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revocation_reason: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::serde_rfc3339::option"
    )]
    leaked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated_to: Option<KeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated_from: Option<KeyId>,
    #[serde(default, skip_serializing)]
    usage_count: u64,
    #[serde(default, skip_serializing)]
    last_used_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing)]
    failed_attempts: u64,
    #[serde(default, skip_serializing)]
    last_failed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(default)]
    key_type: KeyKind,
    #[serde(default)]
    system_generated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mcp_deployment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoint_id: Option<String>,
    version: u64,
}

/// A stored rate limit.
#[derive(Debug, Serialize, Deserialize)]
struct RateLimitRecord {
    limit: u32,
    window: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    exact: bool,
}

impl KeyRecord {
    /// The key's limit, from whichever attribute its version of the record has; anything
    /// unreadable falls back to the default rather than to no limit.
    fn rate_limit(&self) -> Option<RateLimit> {
        match (&self.rate_limit, self.rate_limit_per_hour) {
            (Some(Some(r)), _) => RateWindow::parse(&r.window)
                .and_then(|w| RateLimit::new(r.limit, w))
                .map(|rule| rule.exact(r.exact))
                .or(Some(default_rate_limit())),
            (Some(None), _) => None,
            (None, Some(per_hour)) => RateLimit::hourly(per_hour).or(Some(default_rate_limit())),
            (None, None) => Some(default_rate_limit()),
        }
    }
}

/// Optional attributes a settings write removes when the key no longer has them.
const OPTIONAL_ATTRIBUTES: [&str; 14] = [
    "paired_secret_hash",
    "role",
    "mcp_deployment_id",
    "endpoint_id",
    table::GSI2_PK,
    table::GSI2_SK,
    "description",
    "expires_at",
    "revoked_at",
    "revocation_reason",
    "leaked_at",
    "rotated_to",
    "rotated_from",
    "rate_limit_per_hour",
];

impl From<&ApiKey> for KeyRecord {
    fn from(k: &ApiKey) -> Self {
        Self {
            pk: table::key_pk(k.id),
            sk: table::KEY_SK.into(),
            gsi1pk: table::user_pk(&k.owner_id),
            gsi1sk: table::key_by_owner_sk(k.created_at, k.id),
            gsi4pk: Some(table::workspace_keys_pk(&k.workspace_id)),
            gsi4sk: Some(table::key_by_owner_sk(k.created_at, k.id)),
            gsi2pk: k.expires_at.map(table::expiry_pk),
            gsi2sk: k.expires_at.map(|at| table::expiry_sk(at, k.id)),
            id: k.id,
            number: k.number,
            owner_id: k.owner_id.clone(),
            workspace_id: k.workspace_id.clone(),
            name: k.name.clone(),
            key_prefix: k.key_prefix.clone(),
            masked_key: k.masked_key.clone(),
            last_slice: k.last_slice.clone(),
            secret_hash: k.secret_hash.clone(),
            paired_secret_hash: k.paired_secret_hash.clone(),
            permissions: k.permissions.clone(),
            read_only: k.read_only,
            description: k.description.clone(),
            is_active: k.is_active,
            rate_limit: Some(k.rate_limit.map(|r| RateLimitRecord {
                limit: r.limit(),
                window: r.window().as_str().to_owned(),
                exact: r.is_exact(),
            })),
            rate_limit_per_hour: None,
            allowed_ips: k.allowed_ips.clone(),
            created_at: k.created_at,
            updated_at: k.updated_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            revocation_reason: k.revocation_reason.clone(),
            leaked_at: k.leaked_at,
            rotated_to: k.rotated_to,
            rotated_from: k.rotated_from,
            usage_count: k.usage_count,
            last_used_at: k.last_used_at,
            failed_attempts: k.failed_attempts,
            last_failed_at: k.last_failed_at,
            role: k.purpose.role,
            key_type: k.purpose.kind,
            system_generated: k.purpose.system_generated,
            mcp_deployment_id: k.purpose.mcp_deployment_id.clone(),
            endpoint_id: k.purpose.endpoint_id.clone(),
            version: k.version,
        }
    }
}

impl From<KeyRecord> for ApiKey {
    fn from(r: KeyRecord) -> Self {
        Self {
            rate_limit: r.rate_limit(),
            id: r.id,
            number: r.number,
            owner_id: r.owner_id,
            workspace_id: r.workspace_id,
            name: r.name,
            key_prefix: r.key_prefix,
            last_slice: if r.last_slice.is_empty() {
                legacy_last_slice(&r.masked_key)
            } else {
                r.last_slice
            },
            masked_key: r.masked_key,
            secret_hash: r.secret_hash,
            paired_secret_hash: r.paired_secret_hash,
            permissions: r.permissions,
            read_only: r.read_only,
            description: r.description,
            is_active: r.is_active,
            allowed_ips: r.allowed_ips,
            created_at: r.created_at,
            updated_at: r.updated_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            revocation_reason: r.revocation_reason,
            leaked_at: r.leaked_at,
            rotated_to: r.rotated_to,
            rotated_from: r.rotated_from,
            usage_count: r.usage_count,
            last_used_at: r.last_used_at,
            failed_attempts: r.failed_attempts,
            last_failed_at: r.last_failed_at,
            purpose: KeyPurpose {
                role: r.role,
                kind: r.key_type,
                system_generated: r.system_generated,
                mcp_deployment_id: r.mcp_deployment_id,
                endpoint_id: r.endpoint_id,
            },
            version: r.version,
        }
    }
}

fn to_item(key: &ApiKey) -> Result<Item, StoreError> {
    serde_dynamo::to_item(KeyRecord::from(key)).map_err(StoreError::backend)
}

fn from_item(item: Item) -> Result<ApiKey, StoreError> {
    serde_dynamo::from_item::<_, KeyRecord>(item)
        .map(ApiKey::from)
        .map_err(StoreError::backend)
}

/// What a key stored before `last_slice` was kept shows instead: the last 4 characters its
/// masked form kept (the 5th from the end was never stored).
fn legacy_last_slice(masked: &str) -> String {
    let tail = masked.rsplit("****").next().unwrap_or_default();
    tail.to_owned()
}

/// The pieces of an `UpdateItem` that rewrites every settings attribute of `key` and removes the
/// optional ones it lacks, on condition that the stored version is the one `key` was read at.
struct SettingsUpdate {
    expression: String,
    names: HashMap<String, String>,
    values: Item,
}

fn settings_update(key: &ApiKey) -> Result<SettingsUpdate, StoreError> {
    let mut item = to_item(key)?;
    item.remove(table::PK);
    item.remove(table::SK);
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let mut sets = Vec::with_capacity(item.len());
    for (i, (attr, value)) in item.into_iter().enumerate() {
        names.insert(format!("#s{i}"), attr);
        values.insert(format!(":s{i}"), value);
        sets.push(format!("#s{i} = :s{i}"));
    }
    let present: Vec<String> = names.values().cloned().collect();
    let removes: Vec<String> = OPTIONAL_ATTRIBUTES
        .iter()
        .enumerate()
        .filter(|(_, attr)| !present.iter().any(|n| n == *attr))
        .map(|(i, attr)| {
            names.insert(format!("#r{i}"), (*attr).to_owned());
            format!("#r{i}")
        })
        .collect();
    names.insert("#version".into(), "version".into());
    values.insert(
        ":expected".into(),
        AttributeValue::N(key.version.saturating_sub(1).to_string()),
    );
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    Ok(SettingsUpdate {
        expression,
        names,
        values,
    })
}

const VERSION_CONDITION: &str = "#version = :expected";

/// How far before the end of its last read a reader of the key-change feed reads again: longer
/// than a key write can take to land after the time it is stamped with (its retries and the
/// writers' clock skew included), so no change lands behind every reader.
const CHANGE_OVERLAP_MS: i64 = 30_000;
/// How long a recorded change is kept (by TTL): far longer than any reader reads back.
const CHANGE_KEPT_SECONDS: i64 = 86_400;
/// Most hour partitions one read of the feed visits: readers never read back further than an
/// entry of their cache lives (a quarter of an hour).
const CHANGE_MAX_HOURS: usize = 3;

fn key_address(id: KeyId) -> Item {
    address(table::key_pk(id), table::KEY_SK)
}

/// The lookup item of key number `number` of `workspace`.
fn number_address(workspace: &WorkspaceId, number: u64) -> Item {
    address(table::workspace_pk(workspace), table::key_number_sk(number))
}

/// The write of a new key's number lookup item, which fails if the number was ever given.
fn number_lookup(
    table_name: &str,
    key: &ApiKey,
    number: u64,
) -> Result<TransactWriteItem, StoreError> {
    let mut item = number_address(&key.workspace_id, number);
    item.insert(
        table::KEY_NUMBER_KEY_ID.to_owned(),
        AttributeValue::S(key.id.to_string()),
    );
    put_new(table_name, item)
}

impl DynamoKeyStore {
    /// Bumps `workspace`'s key-number counter and returns the number it now stands at: never
    /// the same twice, whatever races it. A number whose key then fails to be written is
    /// skipped, never reused.
    async fn next_number(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::workspace_pk(workspace)))
            .key(
                table::SK,
                AttributeValue::S(table::KEY_NUMBERS_SK.to_owned()),
            )
            .update_expression("ADD #last :one")
            .expression_attribute_names("#last", table::KEY_NUMBERS_LAST)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        out.attributes
            .as_ref()
            .and_then(|a| a.get(table::KEY_NUMBERS_LAST))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                StoreError::backend(std::io::Error::other(
                    "the key-number counter has no number",
                ))
            })
    }

    /// The put of a new key, which fails if its id exists.
    fn new_key(&self, key: &ApiKey) -> Result<TransactWriteItem, StoreError> {
        put_new(&self.table, to_item(key)?)
    }

    /// The write of `key`'s settings, if its stored version is still `key.version - 1`.
    fn settings_write(&self, key: &ApiKey) -> Result<TransactWriteItem, StoreError> {
        let update = settings_update(key)?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_address(key.id)))
            .update_expression(update.expression)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .condition_expression(VERSION_CONDITION)
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The put of a change to key `id` into the feed, stamped with this writer's clock (what
    /// every reader compares with theirs).
    fn change(&self, id: KeyId) -> Result<TransactWriteItem, StoreError> {
        let now = Utc::now();
        let mut item = address(
            table::key_changes_pk(now),
            table::key_change_sk(now.timestamp_millis(), Uuid::new_v4()),
        );
        item.insert(
            table::KEY_CHANGE_KEY_ID.to_owned(),
            AttributeValue::S(id.to_string()),
        );
        item.insert(
            table::TTL.to_owned(),
            AttributeValue::N((now.timestamp() + CHANGE_KEPT_SECONDS).to_string()),
        );
        put_new(&self.table, item)
    }

    /// The changes of the hour partition of `hour` stamped `from_ms` or later: each one's sort
    /// key and key id.
    async fn changes_in(
        &self,
        hour: DateTime<Utc>,
        from_ms: i64,
    ) -> Result<Vec<(String, Option<KeyId>)>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk >= :from")
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_names("#sk", table::SK)
            .expression_attribute_values(":pk", AttributeValue::S(table::key_changes_pk(hour)))
            .expression_attribute_values(
                ":from",
                AttributeValue::S(table::key_change_sk_from(from_ms)),
            )
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = item.get(table::SK)?.as_s().ok()?.clone();
                let id = item
                    .get(table::KEY_CHANGE_KEY_ID)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|id| KeyId::parse(id));
                Some((sk, id))
            })
            .collect())
    }

    /// Runs `items` as one transaction; a failed condition is `Conflict`.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        transact(&self.client, items).await
    }

    /// Every key in the partition `pk` of `index` (its name, partition and sort key attributes),
    /// newest first.
    async fn newest_first(
        &self,
        (index, pk_name, sk_name): (&str, &str, &str),
        pk: String,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_names("#sk", sk_name)
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(table::KEY_BY_OWNER_PREFIX.into()),
            )
            .scan_index_forward(false)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        pages.into_iter().map(from_item).collect()
    }
}

#[async_trait]
impl KeyStore for DynamoKeyStore {
    fn audit_log(&self) -> std::sync::Arc<dyn AuditStore> {
        std::sync::Arc::new(self.audit.clone())
    }

    async fn get(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_address(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        out.item.map(from_item).transpose()
    }

    async fn list_by_owner(&self, owner: &UserId) -> Result<Vec<ApiKey>, StoreError> {
        self.newest_first(
            (table::GSI1, table::GSI1_PK, table::GSI1_SK),
            table::user_pk(owner),
        )
        .await
    }

    async fn list_by_workspace(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError> {
        self.newest_first(
            (table::GSI4, table::GSI4_PK, table::GSI4_SK),
            table::workspace_keys_pk(workspace),
        )
        .await
    }

    async fn reserve_number(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        self.next_number(workspace).await
    }

    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<ApiKey, StoreError> {
        let number = match key.number {
            Some(number) => number,
            None => self.next_number(&key.workspace_id).await?,
        };
        let key = ApiKey {
            number: Some(number),
            ..key.clone()
        };
        self.transact_recorded(
            vec![
                self.new_key(&key)?,
                number_lookup(&self.table, &key, number)?,
            ],
            event,
        )
        .await?;
        Ok(key)
    }

    async fn update(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        self.transact_recorded(vec![self.settings_write(key)?, self.change(key.id)?], event)
            .await
    }

    async fn rotate(
        &self,
        old: &ApiKey,
        new: &ApiKey,
        event: &AuditEvent,
    ) -> Result<ApiKey, StoreError> {
        let number = match new.number {
            Some(number) => number,
            None => self.next_number(&new.workspace_id).await?,
        };
        let new = ApiKey {
            number: Some(number),
            ..new.clone()
        };
        self.transact_recorded(
            vec![
                self.settings_write(old)?,
                self.change(old.id)?,
                self.new_key(&new)?,
                number_lookup(&self.table, &new, number)?,
            ],
            event,
        )
        .await?;
        Ok(new)
    }

    async fn number(&self, key: &ApiKey) -> Result<u64, StoreError> {
        if let Some(number) = key.number {
            return Ok(number);
        }
        let number = self.next_number(&key.workspace_id).await?;
        let set = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_address(key.id)))
            .update_expression("SET #number = :number")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#number)")
            .expression_attribute_names("#number", "number")
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_values(":number", AttributeValue::N(number.to_string()))
            .build()
            .map_err(StoreError::backend)?;
        let written = self
            .transact(vec![
                TransactWriteItem::builder().update(set).build(),
                number_lookup(&self.table, key, number)?,
            ])
            .await;
        match written {
            Ok(()) => Ok(number),
            Err(StoreError::Conflict) => self
                .get(key.id)
                .await?
                .and_then(|stored| stored.number)
                .ok_or(StoreError::Conflict),
            Err(other) => Err(other),
        }
    }

    async fn find_number(
        &self,
        workspace: &WorkspaceId,
        number: u64,
    ) -> Result<Option<KeyId>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(number_address(workspace, number)))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(out
            .item
            .as_ref()
            .and_then(|item| item.get(table::KEY_NUMBER_KEY_ID))
            .and_then(|v| v.as_s().ok())
            .and_then(|id| KeyId::parse(id)))
    }

    async fn rehash(&self, id: KeyId, old: &str, new: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_address(id)))
            .update_expression("SET secret_hash = :new")
            .condition_expression("secret_hash = :old")
            .expression_attribute_values(":old", AttributeValue::S(old.to_owned()))
            .expression_attribute_values(":new", AttributeValue::S(new.to_owned()))
            .send()
            .await
            .map_err(|e| {
                crate::failure::conditional(e, |s| s.is_conditional_check_failed_exception())
            })?;
        Ok(())
    }

    async fn delete(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_address(key.id)))
            .condition_expression(VERSION_CONDITION)
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", AttributeValue::N(key.version.to_string()))
            .build()
            .map_err(StoreError::backend)?;
        let mut items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.change(key.id)?,
        ];
        if let Some(number) = key.number {
            let lookup = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(number_address(&key.workspace_id, number)))
                .build()
                .map_err(StoreError::backend)?;
            items.push(TransactWriteItem::builder().delete(lookup).build());
        }
        self.transact_recorded(items, event).await
    }

    fn change_cursor(&self) -> ChangeCursor {
        ChangeCursor {
            position: Utc::now().timestamp_millis(),
            seen: Vec::new(),
        }
    }

    async fn changes_after(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<KeyId>, ChangeCursor), StoreError> {
        let now = Utc::now();
        let now_ms = now.timestamp_millis();
        let from_ms = cursor.position.min(now_ms) - CHANGE_OVERLAP_MS;
        let from = DateTime::from_timestamp_millis(from_ms).unwrap_or(now);
        let first_hour = from
            .duration_trunc(TimeDelta::hours(1))
            .map_err(StoreError::backend)?;
        let hours: Vec<_> = std::iter::successors(Some(first_hour), |h| {
            Some(*h + TimeDelta::hours(1)).filter(|next| *next <= now)
        })
        .collect();
        if hours.len() > CHANGE_MAX_HOURS {
            return Err(StoreError::backend(std::io::Error::other(
                "the key-change feed was asked to read back more than its readers ever do",
            )));
        }
        let mut changed = Vec::new();
        let mut seen = Vec::new();
        for hour in hours {
            for (sk, id) in self.changes_in(hour, from_ms).await? {
                if !cursor.seen.contains(&sk) {
                    changed.extend(id);
                }
                if table::key_change_stamp(&sk).is_some_and(|at| at >= now_ms - CHANGE_OVERLAP_MS) {
                    seen.push(sk);
                }
            }
        }
        let next = ChangeCursor {
            position: now_ms,
            seen,
        };
        Ok((changed, next))
    }

    async fn daily_usage(
        &self,
        id: KeyId,
        since: NaiveDate,
    ) -> Result<Vec<DailyUsage>, StoreError> {
        #[derive(Deserialize)]
        struct DayRecord {
            sk: String,
            #[serde(default)]
            success: u64,
            #[serde(default)]
            failed: u64,
        }
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_names("#sk", table::SK)
            .expression_attribute_values(":pk", AttributeValue::S(table::key_pk(id)))
            .expression_attribute_values(":from", AttributeValue::S(table::day_sk(since)))
            .expression_attribute_values(
                ":to",
                AttributeValue::S(format!("{}~", table::DAY_SK_PREFIX)),
            )
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        items
            .into_iter()
            .map(|item| {
                let day: DayRecord = serde_dynamo::from_item(item).map_err(StoreError::backend)?;
                let date = day
                    .sk
                    .strip_prefix(table::DAY_SK_PREFIX)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .ok_or_else(|| {
                        StoreError::backend(std::io::Error::other(format!(
                            "bad day item {}",
                            day.sk
                        )))
                    })?;
                Ok(DailyUsage {
                    date,
                    success: day.success,
                    failed: day.failed,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(extra: serde_json::Value) -> ApiKey {
        let mut record = serde_json::json!({
            "pk": "KEY#x", "sk": "KEY", "gsi1pk": "USER#u", "gsi1sk": "KEY#t",
            "id": "0190a0c4-5b1e-7000-8000-000000000001",
            "owner_id": "user-1", "workspace_id": "ws-1", "name": "n", "key_prefix": "sk_test",
            "masked_key": "sk_****abcd", "secret_hash": "$argon2id$...", "permissions": [],
            "read_only": false, "is_active": true, "allowed_ips": [],
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "version": 1
        });
        record
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let item: Item = serde_dynamo::to_item(record).unwrap();
        from_item(item).unwrap()
    }

    #[test]
    fn keys_stored_before_windows_keep_their_hourly_limit() {
        let old = stored(serde_json::json!({"rate_limit_per_hour": 7}));
        assert_eq!(old.rate_limit, RateLimit::hourly(7));
    }

    #[test]
    fn a_limit_and_no_limit_both_survive_a_round_trip() {
        for rule in [RateLimit::new(5, RateWindow::Second), None] {
            let mut key = stored(serde_json::json!({}));
            key.rate_limit = rule;
            let item = to_item(&key).unwrap();
            assert!(!item.contains_key("rate_limit_per_hour"));
            assert_eq!(from_item(item).unwrap().rate_limit, rule);
        }
    }
}
