//! The DynamoDB adapters of [`LeakStore`] and [`AddressGate`]: a workspace's security settings
//! (`WORKSPACE#<workspace>` / `SETTINGS#security`, written with its audit event in one
//! transaction, conditional on its version) and the public revocation endpoint's per-address
//! windows (`LEAKREPORTS#<address>` / `WINDOW#<start>`, one conditional `ADD` per request as
//! key rate windows count, expiring by the table's TTL).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use super::{DynamoAuditStore, address, body_of, versioned_put};
use crate::table;
use latchkey_core::{
    audit::AuditEvent,
    ids::WorkspaceId,
    leaks::{
        SecuritySettings,
        store::{AddressGate, LeakStore},
    },
    store::StoreError,
};

/// Security settings and report windows in the single table.
#[derive(Clone, Debug)]
pub struct DynamoLeakStore {
    client: Client,
    table: String,
    /// The audit log each settings change's event joins, in the change's transaction.
    audit: DynamoAuditStore,
}

impl DynamoLeakStore {
    /// An adapter over `table`, recording to `audit`.
    pub fn new(client: Client, table: impl Into<String>, audit: DynamoAuditStore) -> Self {
        Self {
            client,
            table: table.into(),
            audit,
        }
    }
}

#[async_trait]
impl LeakStore for DynamoLeakStore {
    async fn settings(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Option<SecuritySettings>, StoreError> {
        let (pk, sk) = table::security_settings_key(workspace);
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(address(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?
            .item;
        item.as_ref().map(body_of).transpose()
    }

    async fn put_settings(
        &self,
        workspace: &WorkspaceId,
        settings: &SecuritySettings,
        expected: u64,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (pk, sk) = table::security_settings_key(workspace);
        let put = versioned_put(
            &self.table,
            address(pk, sk),
            settings,
            settings.version,
            (expected > 0).then_some(expected),
        )?;
        self.audit.write_with(vec![put], Some(event)).await
    }
}

#[async_trait]
impl AddressGate for DynamoLeakStore {
    async fn admit(
        &self,
        client_address: &str,
        window_start: DateTime<Utc>,
        window_seconds: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let expires = window_start.timestamp() + 2 * window_seconds;
        let admitted = super::rates::reserve(
            &self.client,
            &self.table,
            table::leak_report_window_key(client_address, window_start),
            (1, limit),
            expires,
        )
        .await?;
        Ok(admitted.is_some())
    }
}
