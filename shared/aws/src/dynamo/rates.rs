//! The DynamoDB adapter of [`RateCounter`]: one counter item per key and window holding the
//! requests reserved so far, each reservation one conditional `ADD`.

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use chrono::{DateTime, Utc};

use crate::table;
use latchkey_core::{
    ids::KeyId,
    keys::{limit::RateWindow, ratelimit::RateCounter},
    store::StoreError,
};

/// Rate windows in the single table; each expires (TTL) one window's length after it ends.
#[derive(Clone, Debug)]
pub struct DynamoRateCounter {
    client: Client,
    table: String,
}

impl DynamoRateCounter {
    /// An adapter over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl RateCounter for DynamoRateCounter {
    async fn reserve(
        &self,
        key: KeyId,
        window: RateWindow,
        start: DateTime<Utc>,
        slice: u32,
        limit: u32,
    ) -> Result<Option<u64>, StoreError> {
        let expires = start + window.length() + window.length();
        reserve(
            &self.client,
            &self.table,
            (table::key_pk(key), table::rate_sk(window, start)),
            (slice, limit),
            expires.timestamp(),
        )
        .await
    }
}

/// Adds `slice` to the counter item at `at` if the total stays within `limit` (the item
/// expiring by the table's TTL at `expires`, epoch seconds): the total after it, or `None` when
/// the slice does not fit. One conditional `ADD`: whatever the interleaving across instances, no
/// counter passes its limit. Key rate windows and the public leak report endpoint's per-address
/// windows count with it.
pub(crate) async fn reserve(
    client: &Client,
    table_name: &str,
    (pk, sk): (String, String),
    (slice, limit): (u32, u32),
    expires: i64,
) -> Result<Option<u64>, StoreError> {
    let Some(most_before) = limit.checked_sub(slice) else {
        return Ok(None);
    };
    let result = client
        .update_item()
        .table_name(table_name)
        .key(table::PK, AttributeValue::S(pk))
        .key(table::SK, AttributeValue::S(sk))
        .update_expression("ADD #count :slice SET #ttl = :ttl")
        .condition_expression("attribute_not_exists(#count) OR #count <= :most")
        .expression_attribute_names("#count", table::RATE_RESERVED)
        .expression_attribute_names("#ttl", table::TTL)
        .expression_attribute_values(":slice", AttributeValue::N(slice.to_string()))
        .expression_attribute_values(":most", AttributeValue::N(most_before.to_string()))
        .expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await;
    match result {
        Ok(out) => {
            let reserved = out
                .attributes
                .and_then(|a| a.get(table::RATE_RESERVED).cloned())
                .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
                .unwrap_or(u64::from(limit));
            Ok(Some(reserved))
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(crate::failure::sdk(err)),
    }
}
