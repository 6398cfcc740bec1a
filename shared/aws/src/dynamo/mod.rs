//! The DynamoDB adapters of every port, over the single table laid out as [`crate::table`]
//! describes. Items are (de)serialized with `serde_dynamo`; every write that could race is
//! conditional or transactional; reads of more than one page use the SDK's paginators.

pub mod audit;
pub mod batch;
mod bundle;
pub mod dashboard;
pub mod erasure;
pub mod issue_reports;
pub mod keys;
pub mod leaks;
pub mod lifecycle;
pub mod notifications;
pub mod onboarding;
pub mod profiles;
pub mod rates;
pub mod sessions;
pub mod usage;
pub mod usage_inbox;
pub mod webhooks;

pub use audit::DynamoAuditStore;
pub use dashboard::DynamoDashboardStore;
pub use erasure::DynamoErasureStore;
pub use issue_reports::DynamoIssueReportStore;
pub use keys::DynamoKeyStore;
pub use leaks::DynamoLeakStore;
pub use lifecycle::DynamoLifecycleStore;
pub use notifications::DynamoNotificationStore;
pub use onboarding::DynamoOnboardingStore;
pub use profiles::DynamoProfileStore;
pub use rates::DynamoRateCounter;
pub use sessions::DynamoSessionStore;
pub use usage::DynamoUsageSink;
pub use usage_inbox::DynamoUsageInbox;
pub use webhooks::DynamoWebhookStore;

use latchkey_core::store::StoreError;

/// An item, or an item's key, as the SDK takes it.
pub(crate) type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// The primary key of the item at `pk` / `sk`.
pub(crate) fn address(pk: String, sk: impl Into<String>) -> Item {
    use aws_sdk_dynamodb::types::AttributeValue;
    Item::from([
        (crate::table::PK.to_owned(), AttributeValue::S(pk)),
        (crate::table::SK.to_owned(), AttributeValue::S(sk.into())),
    ])
}

/// The condition of a write that may only create its item.
pub(crate) const NEW_ITEM_CONDITION: &str = "attribute_not_exists(pk)";

/// The condition of a write that may only change an item that exists.
pub(crate) const EXISTING_ITEM_CONDITION: &str = "attribute_exists(pk)";

/// A transaction's put of `item` into `table`, which fails if an item with its key exists.
pub(crate) fn put_new(
    table: &str,
    item: Item,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(NEW_ITEM_CONDITION)
        .build()
        .map_err(StoreError::backend)?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .put(put)
        .build())
}

/// A transaction's delete of the item at `key` in `table`, which fails if there is none.
pub(crate) fn delete_existing(
    table: &str,
    key: Item,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(EXISTING_ITEM_CONDITION)
        .build()
        .map_err(StoreError::backend)?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .delete(delete)
        .build())
}

/// The JSON `body` of `item` (an endpoint, a delivery, a workspace's settings), read back.
pub(crate) fn body_of<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let body = item
        .get(crate::table::BODY)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::backend(std::io::Error::other("an item without its body")))?;
    serde_json::from_str(body).map_err(StoreError::backend)
}

/// A transaction's put of the item at `key` holding `value` as its JSON `body` and `version`,
/// if the stored item is still at version `expected` (`None`: if there is none).
pub(crate) fn versioned_put(
    table: &str,
    mut key: Item,
    value: &impl serde::Serialize,
    version: u64,
    expected: Option<u64>,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let number = |n: u64| AttributeValue::N(n.to_string());
    key.insert(
        crate::table::BODY.into(),
        AttributeValue::S(serde_json::to_string(value).map_err(StoreError::backend)?),
    );
    key.insert(crate::table::VERSION.into(), number(version));
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(key))
        .expression_attribute_names("#v", crate::table::VERSION);
    let put = match expected {
        None => put.condition_expression("attribute_not_exists(#v)"),
        Some(version) => put
            .condition_expression("#v = :expected")
            .expression_attribute_values(":expected", number(version)),
    }
    .build()
    .map_err(StoreError::backend)?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .put(put)
        .build())
}

/// Runs `items` as one transaction: all of them or none; a failed condition anywhere is
/// [`StoreError::Conflict`].
pub(crate) async fn transact(
    client: &aws_sdk_dynamodb::Client,
    items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<(), StoreError> {
    client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
        .map_err(|e| crate::failure::conditional(e, |s| s.is_transaction_canceled_exception()))?;
    Ok(())
}

/// The single table and a client to reach it: what every adapter is built from.
#[derive(Clone, Debug)]
pub struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
    /// Days an audit event is kept before the table's TTL removes it.
    audit_retention_days: u32,
    /// Days a webhook delivery is kept before the table's TTL removes it.
    webhook_retention_days: u32,
}

impl Table {
    /// The table `name`, reached through `client`, keeping audit events the default retention.
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
            audit_retention_days: latchkey_core::audit::DEFAULT_RETENTION_DAYS,
            webhook_retention_days: 30,
        }
    }

    /// The same table, keeping webhook deliveries `days`.
    pub fn keeping_deliveries_for(self, days: u32) -> Self {
        Self {
            webhook_retention_days: days,
            ..self
        }
    }

    /// The same table, keeping audit events `days`.
    pub fn keeping_audit_for(self, days: u32) -> Self {
        Self {
            audit_retention_days: days,
            ..self
        }
    }

    /// The audit log, whose events the other adapters write with their changes.
    pub fn audit(&self) -> DynamoAuditStore {
        DynamoAuditStore::new(self.client.clone(), &self.name, self.audit_retention_days)
    }

    /// The session adapter.
    pub fn sessions(&self) -> DynamoSessionStore {
        DynamoSessionStore::new(self.client.clone(), &self.name, self.audit())
    }

    /// The key adapter.
    pub fn keys(&self) -> DynamoKeyStore {
        DynamoKeyStore::new(self.client.clone(), &self.name, self.audit())
    }

    /// The usage adapter, keeping events `retention_days`.
    pub fn usage(&self, retention_days: u32) -> DynamoUsageSink {
        DynamoUsageSink::new(self.client.clone(), &self.name, retention_days)
    }

    /// The usage inbox adapter.
    pub fn usage_inbox(&self) -> DynamoUsageInbox {
        DynamoUsageInbox::new(self.client.clone(), &self.name)
    }

    /// The rate-window adapter.
    pub fn rates(&self) -> DynamoRateCounter {
        DynamoRateCounter::new(self.client.clone(), &self.name)
    }

    /// The profile adapter.
    pub fn profiles(&self) -> DynamoProfileStore {
        DynamoProfileStore::new(self.client.clone(), &self.name, self.audit())
    }

    /// The notification adapter.
    pub fn notifications(&self) -> DynamoNotificationStore {
        DynamoNotificationStore::new(self.client.clone(), &self.name)
    }

    /// The onboarding adapter.
    pub fn onboarding(&self) -> DynamoOnboardingStore {
        DynamoOnboardingStore::new(self.client.clone(), &self.name)
    }

    /// The dashboard adapter.
    pub fn dashboard(&self) -> DynamoDashboardStore {
        DynamoDashboardStore::new(self.client.clone(), &self.name)
    }

    /// The issue-report adapter.
    pub fn issue_reports(&self) -> DynamoIssueReportStore {
        DynamoIssueReportStore::new(self.client.clone(), &self.name)
    }

    /// The lifecycle adapter.
    pub fn lifecycle(&self) -> DynamoLifecycleStore {
        DynamoLifecycleStore::new(self.client.clone(), &self.name, self.audit())
    }

    /// The erasure adapter.
    pub fn erasure(&self) -> DynamoErasureStore {
        DynamoErasureStore::new(self.client.clone(), &self.name, self.audit())
    }

    /// The security settings and report window adapter.
    pub fn leaks(&self) -> DynamoLeakStore {
        DynamoLeakStore::new(self.client.clone(), &self.name, self.audit())
    }

    /// The webhook adapter.
    pub fn webhooks(&self) -> DynamoWebhookStore {
        DynamoWebhookStore::new(
            self.client.clone(),
            &self.name,
            self.webhook_retention_days,
            self.audit(),
        )
    }
}

/// The index of each item of a cancelled transaction whose condition failed.
pub(crate) fn failed_conditions<R>(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> Option<Vec<usize>> {
    match err.as_service_error()? {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(
            c.cancellation_reasons()
                .iter()
                .enumerate()
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect(),
        ),
        _ => None,
    }
}
