//! Per-key hourly rate limits: fixed windows aligned to the UTC hour, counted exactly.
//!
//! Each allowed request is one conditional atomic `ADD` on the key's counter item for the window
//! (`count < limit`), so N concurrent requests against a limit L let exactly L through, across every
//! container. Once a window is spent, the container remembers it until the window ends and answers
//! without a write: a key hammered far past its limit costs at most its limit (<= 1,000 per hour)
//! plus one refused write per container per window.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;

use super::model::ApiKey;
use crate::store::StoreError;
use crate::{ids::KeyId, table};

/// The length of a window.
pub const WINDOW: TimeDelta = TimeDelta::hours(1);

/// Where a key stands in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RateStatus {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// When the window ends, as epoch seconds.
    pub reset: i64,
}

impl RateStatus {
    /// Seconds until the window ends, at least 1 (the value of `Retry-After`).
    pub fn retry_after(&self, now: DateTime<Utc>) -> u64 {
        (self.reset - now.timestamp()).max(1) as u64
    }
}

/// A rate decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    /// Counted; the status after counting.
    Allowed(RateStatus),
    /// The window is spent.
    Limited(RateStatus),
}

/// The storage port of rate windows.
#[async_trait]
pub trait RateCounter: Send + Sync {
    /// Counts one request in `key`'s window starting at `start` if fewer than `limit` were counted;
    /// returns the new count, or `None` when the window is spent.
    async fn try_increment(
        &self,
        key: KeyId,
        start: DateTime<Utc>,
        limit: u32,
    ) -> Result<Option<u64>, StoreError>;
}

/// Decides rate limits for verified keys.
pub struct RateLimiter {
    counter: Box<dyn RateCounter>,
    /// Windows known to be spent, by key: the end of the window.
    spent: Mutex<HashMap<KeyId, (DateTime<Utc>, u32)>>,
}

impl RateLimiter {
    /// A limiter counting through `counter`.
    pub fn new(counter: Box<dyn RateCounter>) -> Self {
        Self {
            counter,
            spent: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `key` at `now`, or refuses it when the window is spent.
    pub async fn acquire(
        &self,
        key: &ApiKey,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError> {
        let start = now.duration_trunc(WINDOW).expect("an hour truncates");
        let end = start + WINDOW;
        let limit = key.rate_limit_per_hour;
        let status = |remaining: u32| RateStatus {
            limit,
            remaining,
            reset: end.timestamp(),
        };
        {
            let mut spent = self.spent.lock().expect("rate lock");
            match spent.get(&key.id) {
                Some((until, at_limit)) if *until > now && *at_limit >= limit => {
                    return Ok(RateDecision::Limited(status(0)));
                }
                Some(_) => {
                    spent.remove(&key.id);
                }
                None => {}
            }
        }
        match self.counter.try_increment(key.id, start, limit).await? {
            Some(count) => Ok(RateDecision::Allowed(status(
                limit.saturating_sub(u32::try_from(count).unwrap_or(u32::MAX)),
            ))),
            None => {
                let mut spent = self.spent.lock().expect("rate lock");
                spent.retain(|_, (until, _)| *until > now);
                spent.insert(key.id, (end, limit));
                Ok(RateDecision::Limited(status(0)))
            }
        }
    }
}

/// Rate windows in the single table; each expires (TTL) an hour after it ends.
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
    async fn try_increment(
        &self,
        key: KeyId,
        start: DateTime<Utc>,
        limit: u32,
    ) -> Result<Option<u64>, StoreError> {
        let expires = start + WINDOW + WINDOW;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::key_pk(key)))
            .key(table::SK, AttributeValue::S(table::rate_sk(start)))
            .update_expression("ADD #count :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#ttl", table::TTL)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
            .expression_attribute_values(":ttl", AttributeValue::N(expires.timestamp().to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let count = out
                    .attributes
                    .and_then(|a| a.get("count").cloned())
                    .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
                    .unwrap_or(u64::from(limit));
                Ok(Some(count))
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(StoreError::sdk(err)),
        }
    }
}
