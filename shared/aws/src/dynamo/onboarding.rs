//! The DynamoDB adapter of [`OnboardingStore`]: one item per user (`USER#<user>` /
//! `ONBOARDING`) with one attribute per mark, each set with `if_not_exists`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use chrono::{DateTime, Utc};

use crate::table;
use latchkey_core::{ids::UserId, onboarding::OnboardingStore, store::StoreError};

/// Checklists in the single table.
#[derive(Clone, Debug)]
pub struct DynamoOnboardingStore {
    client: Client,
    table: String,
}

impl DynamoOnboardingStore {
    /// An adapter over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl OnboardingStore for DynamoOnboardingStore {
    async fn set_once(
        &self,
        user: &UserId,
        mark: &'static str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::user_pk(user)))
            .key(table::SK, AttributeValue::S(table::ONBOARDING_SK.into()))
            .update_expression("SET #a = if_not_exists(#a, :now)")
            .expression_attribute_names("#a", mark)
            .expression_attribute_values(
                ":now",
                AttributeValue::S(latchkey_core::timestamp::format(at)),
            )
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(())
    }

    async fn marks(&self, user: &UserId) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::user_pk(user)))
            .key(table::SK, AttributeValue::S(table::ONBOARDING_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?
            .item
            .unwrap_or_default();
        Ok(item
            .into_iter()
            .filter_map(|(name, value)| {
                let at = DateTime::parse_from_rfc3339(value.as_s().ok()?).ok()?;
                Some((name, at.with_timezone(&Utc)))
            })
            .collect())
    }
}
