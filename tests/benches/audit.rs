//! What the audit log costs in DynamoDB (run by `infra/local/bench` against the local stack):
//! the calls, items and bytes it adds to each change, and what a page of the log reads, unfiltered
//! and through each filter. Storage calls are counted by an interceptor on the client the stores
//! use, item sizes by DynamoDB's own rule (attribute names and values, in bytes).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use aws_sdk_dynamodb::{
    operation::{query::QueryOutput, transact_write_items::TransactWriteItemsInput},
    types::AttributeValue,
};
use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{
            Intercept,
            context::{
                AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
            },
        },
        orchestrator::Metadata,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::ConfigBag;
use latchkey_aws::dynamo::Table;
use latchkey_core::{
    audit::store::{AuditQuery, AuditStore},
    auth::{Caller, Credential, Role},
    clock::SystemClock,
    ids::{UserId, WorkspaceId},
    keys::{cache::VerifiedKeyCache, service::KeyService, spec::NewKeySpec},
};

/// Calls by operation, items written by transactions, items a query read.
#[derive(Clone, Debug, Default)]
struct Counts {
    calls: HashMap<String, u64>,
    transaction_items: u64,
    query_items_read: u64,
}

#[derive(Clone, Debug, Default)]
struct Meter(Arc<Mutex<Counts>>);

impl Meter {
    fn take(&self) -> Counts {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "AuditBenchMeter"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map_or("?", Metadata::name)
            .to_owned();
        let mut counts = self.0.lock().unwrap();
        *counts.calls.entry(name).or_default() += 1;
        if let Some(t) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            counts.transaction_items += t.transact_items().len() as u64;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(output) = context.output_or_error()
            && let Some(query) = output.downcast_ref::<QueryOutput>()
        {
            self.0.lock().unwrap().query_items_read += query.scanned_count() as u64;
        }
        Ok(())
    }
}

/// An item's size as DynamoDB bills it: each attribute's name and value, in bytes.
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len(),
                    _ => 8,
                }
        })
        .sum()
}

#[tokio::main]
async fn main() {
    let config = latchkey_tests::config();
    let meter = Meter::default();
    let sdk = latchkey_aws::clients::load_sdk_config().await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(meter.clone())
            .build(),
    );
    let table = Table::new(client.clone(), &config.table_name);
    let keys = KeyService::new(
        Arc::new(table.keys()),
        config.key_prefix.clone(),
        Arc::new(SystemClock),
        Arc::new(VerifiedKeyCache::new(
            Duration::from_secs(30),
            Arc::new(SystemClock),
        )),
    );
    let user = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
    let workspace = WorkspaceId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
    let owner = Caller {
        origin: latchkey_core::audit::Origin {
            ip: Some("203.0.113.7".into()),
            user_agent: Some("audit-bench/1.0".into()),
            request_id: Some(uuid::Uuid::new_v4().to_string()),
            family: "native".into(),
        },
        workspace_id: workspace.clone(),
        user_id: user,
        credential: Credential::Session { role: Role::Owner },
    };

    // The write side: 100 creates and 100 revokes; the log's share of each change.
    meter.take();
    let mut ids = Vec::new();
    for i in 0..100 {
        let made = keys
            .create(&owner, NewKeySpec::named(format!("bench key {i}")))
            .await
            .unwrap();
        ids.push(made.key.id);
    }
    let created = meter.take();
    for id in &ids {
        keys.revoke(&owner, *id, "bench".into()).await.unwrap();
    }
    let revoked = meter.take();
    for (what, counts) in [("create", &created), ("revoke", &revoked)] {
        let per = |op: &str| counts.calls.get(op).copied().unwrap_or(0) as f64 / 100.0;
        println!(
            "audit write cost per {what}: {:.2} GetItem (one of them the log's: the chain's head), \
             {:.2} TransactWriteItems of {:.2} items (two of them the log's: the event and the head)",
            per("GetItem"),
            per("TransactWriteItems"),
            counts.transaction_items as f64
                / counts.calls.get("TransactWriteItems").copied().unwrap_or(1) as f64,
        );
    }
    let store = table.audit();
    let (page, _) = store
        .newest_first(
            &workspace,
            &AuditQuery {
                limit: 200,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    let mut sizes = HashMap::<&str, Vec<usize>>::new();
    for event in &page {
        let item = client
            .get_item()
            .table_name(&config.table_name)
            .key("pk", AttributeValue::S(format!("AUDIT#{workspace}")))
            .key("sk", AttributeValue::S(format!("EVENT#{}", event.id)))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        let action = if event.action == "key.created" {
            "key.created"
        } else {
            "key.revoked"
        };
        sizes.entry(action).or_default().push(item_size(&item));
    }
    for (action, sizes) in &sizes {
        let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
        println!(
            "audit event item ({action}): {mean:.0} bytes on average: {} write units in a transaction \
             (2 per started KB) and {} in each of its two indexes; the head item: about 110 bytes (2 units)",
            2 * (mean / 1024.0).ceil() as u64,
            (mean / 1024.0).ceil() as u64
        );
    }

    // The read side: a page of 50 in a log of 200 events, unfiltered and through each filter.
    meter.take();
    let actor = owner.user_id.to_string();
    let target = ids[50].to_string();
    for (name, query) in [
        (
            "newest 50",
            AuditQuery {
                limit: 50,
                ..AuditQuery::default()
            },
        ),
        (
            "action=key.revoked, 50",
            AuditQuery {
                limit: 50,
                action: Some("key.revoked".into()),
                ..AuditQuery::default()
            },
        ),
        (
            "actor_id (index gsi1), 50",
            AuditQuery {
                limit: 50,
                actor_id: Some(actor.clone()),
                ..AuditQuery::default()
            },
        ),
        (
            "target_id (index gsi4), one key's 2",
            AuditQuery {
                limit: 50,
                target_id: Some(target.clone()),
                ..AuditQuery::default()
            },
        ),
    ] {
        let (events, _) = store.newest_first(&workspace, &query).await.unwrap();
        let counts = meter.take();
        let queries = counts.calls.get("Query").copied().unwrap_or(0);
        let mean = sizes.values().flatten().sum::<usize>() as f64
            / sizes.values().map(Vec::len).sum::<usize>() as f64;
        let read_kb = counts.query_items_read as f64 * mean / 1024.0;
        println!(
            "audit page ({name}): {} events, {queries} Query call(s), {} items read, {read_kb:.0} KB (about {:.0} read units strongly consistent)",
            events.len(),
            counts.query_items_read,
            (read_kb / 4.0).ceil()
        );
    }
}
