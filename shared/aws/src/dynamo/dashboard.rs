//! The DynamoDB adapter of [`DashboardStore`]: a user's daily aggregates, `USER#<user>` /
//! `DAY#<YYYY-MM-DD>`, read with one `Query` per period.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use chrono::NaiveDate;

use crate::table;
use latchkey_core::{
    dashboard::DashboardStore, ids::UserId, keys::model::DailyUsage, store::StoreError,
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
    async fn daily(
        &self,
        user: &UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyUsage>, StoreError> {
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
            .map_err(crate::failure::sdk)?;
        let number = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = item.get("sk")?.as_s().ok()?;
                let date = table::day_of_sk(sk)?;
                Some(DailyUsage {
                    date,
                    success: number(item, "success"),
                    failed: number(item, "failed"),
                })
            })
            .collect())
    }
}
