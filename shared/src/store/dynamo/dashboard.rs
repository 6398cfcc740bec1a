//! The DynamoDB adapter of [`DashboardStore`]: a user's daily aggregates, `USER#<user>` /
//! `DAY#<YYYY-MM-DD>`, read with one `Query` per period.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use chrono::NaiveDate;

use crate::{
    dashboard::DashboardStore,
    ids::UserId,
    store::{StoreError, table},
};

/// Daily aggregates in the single table.
#[derive(Clone, Debug)]
pub struct DynamoDashboardStore {
    client: Client,
    table: String,
}

impl DynamoDashboardStore {
    /// An adapter over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl DashboardStore for DynamoDashboardStore {
    async fn totals(
        &self,
        user: &UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(u64, u64), StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(table::user_pk(user)))
            .expression_attribute_values(":from", AttributeValue::S(table::day_sk(from)))
            .expression_attribute_values(":to", AttributeValue::S(table::day_sk(to)))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(StoreError::sdk)?;
        let number = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(items.iter().fold((0, 0), |(s, f), item| {
            (s + number(item, "success"), f + number(item, "failed"))
        }))
    }
}
