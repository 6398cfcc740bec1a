//! The DynamoDB adapter of [`ProfileStore`]: `USER#<user>` / `PROFILE`, with the member index
//! entry (`gsi1`: `MEMBERS#<workspace>` / `USER#<user>`) on the same item.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, TransactWriteItem, Update},
};
use chrono::{DateTime, Utc};

use super::DynamoAuditStore;
use crate::table;
use latchkey_core::{
    audit::AuditEvent,
    ids::{UserId, WorkspaceId},
    profiles::{Member, NewProfile, Profile, ProfileChanges, ProfileStore, ProfileValue},
    store::StoreError,
};

fn attribute(value: &ProfileValue) -> AttributeValue {
    match value {
        ProfileValue::Text(text) => AttributeValue::S(text.clone()),
        ProfileValue::Flag(flag) => AttributeValue::Bool(*flag),
    }
}

/// Profiles in the single table.
#[derive(Clone, Debug)]
pub struct DynamoProfileStore {
    client: Client,
    table: String,
    /// The audit log each change's event joins, in the change's transaction.
    audit: DynamoAuditStore,
}

impl DynamoProfileStore {
    /// An adapter over `table`, recording to `audit`.
    pub fn new(client: Client, table: impl Into<String>, audit: DynamoAuditStore) -> Self {
        Self {
            client,
            table: table.into(),
            audit,
        }
    }

    fn address(user: &UserId) -> HashMap<String, AttributeValue> {
        super::address(table::user_pk(user), table::PROFILE_SK)
    }
}

#[async_trait]
impl ProfileStore for DynamoProfileStore {
    /// One `UpdateItem` that fills only what is missing: a new profile is created whole, and a
    /// profile stored before the member index existed gains its index entry.
    async fn ensure(&self, profile: &NewProfile, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let now = latchkey_core::timestamp::format(at);
        let role: AttributeValue =
            serde_dynamo::to_attribute_value(profile.role).map_err(StoreError::backend)?;
        let fields = [
            ("id", AttributeValue::S(profile.id.to_string())),
            ("email", AttributeValue::S(profile.email.clone())),
            ("name", AttributeValue::S(profile.name.clone())),
            (
                "workspace_id",
                AttributeValue::S(profile.workspace_id.to_string()),
            ),
            ("role", role.clone()),
            ("workspace_role", role),
            ("created_at", AttributeValue::S(now.clone())),
            ("updated_at", AttributeValue::S(now)),
            (
                table::GSI1_PK,
                AttributeValue::S(table::members_pk(&profile.workspace_id)),
            ),
            (
                table::GSI1_SK,
                AttributeValue::S(table::member_sk(&profile.id)),
            ),
        ];
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        for (i, (field, value)) in fields.into_iter().enumerate() {
            names.insert(format!("#f{i}"), field.to_owned());
            values.insert(format!(":f{i}"), value);
            sets.push(format!("#f{i} = if_not_exists(#f{i}, :f{i})"));
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::address(&profile.id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        let existed = out
            .attributes
            .is_some_and(|old| old.contains_key("created_at"));
        Ok(!existed)
    }

    async fn get(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::address(user)))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        out.item
            .map(|item| serde_dynamo::from_item(item).map_err(StoreError::backend))
            .transpose()
    }

    async fn update(
        &self,
        user: &UserId,
        changes: &ProfileChanges,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Profile, StoreError> {
        let [seen, seen_legacy] = latchkey_core::timestamp::stored_forms(seen);
        let mut names = HashMap::from([("#updated_at".to_owned(), "updated_at".to_owned())]);
        let mut values = HashMap::from([
            (
                ":updated_at".to_owned(),
                AttributeValue::S(latchkey_core::timestamp::format(at)),
            ),
            (":seen".to_owned(), AttributeValue::S(seen)),
            (":seen_legacy".to_owned(), AttributeValue::S(seen_legacy)),
        ]);
        let mut sets = vec!["#updated_at = :updated_at".to_owned()];
        let mut removes = Vec::new();
        for (i, (field, value)) in changes.set.iter().enumerate() {
            names.insert(format!("#f{i}"), (*field).to_owned());
            match value {
                Some(v) => {
                    values.insert(format!(":f{i}"), attribute(v));
                    sets.push(format!("#f{i} = :f{i}"));
                }
                None => removes.push(format!("#f{i}")),
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::address(user)))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .condition_expression(
                "attribute_exists(pk) AND (#updated_at = :seen OR #updated_at = :seen_legacy)",
            )
            .build()
            .map_err(StoreError::backend)?;
        let update = TransactWriteItem::builder().update(update).build();
        self.audit.write_with(vec![update], Some(event)).await?;
        self.get(user).await?.ok_or(StoreError::Conflict)
    }

    async fn members(&self, workspace: &WorkspaceId) -> Result<Vec<Member>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(table::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", table::GSI1_PK)
            .expression_attribute_values(":pk", AttributeValue::S(table::members_pk(workspace)))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        items
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(StoreError::backend))
            .collect()
    }

    async fn erase(&self, user: &UserId, event: &AuditEvent) -> Result<(), StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_names("#sk", table::SK)
            .expression_attribute_values(":pk", AttributeValue::S(table::user_pk(user)))
            .projection_expression("#pk, #sk")
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        let sort_key = |item: &HashMap<String, AttributeValue>| {
            item.get(table::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let items = items
            .into_iter()
            .filter(|item| !sort_key(item).starts_with(table::DAY_SK_PREFIX));
        // The profile goes last, so an erasure cut short leaves a profile to erase again.
        let (profile, rest): (Vec<_>, Vec<_>) =
            items.partition(|item| sort_key(item) == table::PROFILE_SK);
        let deletes = |items: Vec<HashMap<String, AttributeValue>>| {
            items
                .into_iter()
                .map(|key| {
                    aws_sdk_dynamodb::types::DeleteRequest::builder()
                        .set_key(Some(key))
                        .build()
                        .map(|delete| {
                            aws_sdk_dynamodb::types::WriteRequest::builder()
                                .delete_request(delete)
                                .build()
                        })
                        .map_err(StoreError::backend)
                })
                .collect::<Result<Vec<_>, _>>()
        };
        super::batch::write_all(&self.client, &self.table, deletes(rest)?).await?;
        if profile.is_empty() {
            return Ok(());
        }
        let delete = super::delete_existing(&self.table, Self::address(user))?;
        match self.audit.write_with(vec![delete], Some(event)).await {
            // Erased by a racing call, which recorded it.
            Err(StoreError::Conflict) if self.get(user).await?.is_none() => Ok(()),
            done => done,
        }
    }
}
