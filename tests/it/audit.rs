//! The audit log on DynamoDB Local: an event edited in the table is named by the integrity check,
//! and twenty changes racing in one workspace leave one unbroken chain (they serialize on the
//! chain's head item and retry). The query API's behaviour is tested in process
//! (`tests/in_process/audit.rs`).

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::join_all;
use latchkey_core::auth::Role;
use latchkey_tests::User;
use reqwest::Method;
use serde_json::{Value, json};

const EVENTS: &str = "/api/v1/account/audit-events";

async fn integrity(owner: &User) -> Value {
    owner
        .call(Method::GET, &format!("{EVENTS}/integrity"), None)
        .await
        .expect(200)
}

/// The stored item of `workspace`'s event `id`.
fn address(workspace: &str, id: &str) -> std::collections::HashMap<String, AttributeValue> {
    [
        (
            "pk".to_owned(),
            AttributeValue::S(format!("AUDIT#{workspace}")),
        ),
        ("sk".to_owned(), AttributeValue::S(format!("EVENT#{id}"))),
    ]
    .into()
}

#[tokio::test]
async fn an_event_edited_in_the_table_is_named_by_the_integrity_check() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = User::with(Some(&workspace), Some(Role::Owner));
    for name in ["one", "two", "three"] {
        owner.create_key(json!({"name": name})).await;
    }
    assert_eq!(
        integrity(&owner).await,
        json!({"intact": true, "checked": 3, "first_broken": null})
    );
    let page = owner.call(Method::GET, EVENTS, None).await.expect(200);
    let middle = page["events"][1]["id"].as_str().unwrap().to_owned();

    let dynamodb = latchkey_tests::dynamodb().await;
    let table = latchkey_tests::config().table_name;
    let stored = dynamodb
        .get_item()
        .table_name(&table)
        .set_key(Some(address(&workspace, &middle)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the event is stored");
    let body = stored["body"].as_s().unwrap();
    let event: Value = serde_json::from_str(body).unwrap();
    let time = chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).unwrap();
    let expires: i64 = stored["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(
        expires,
        (time + chrono::Duration::days(400)).timestamp(),
        "kept AuditRetentionDays (400 by default), then the table's TTL removes it"
    );
    let edited = body.replace("\"two\"", "\"not what happened\"");
    assert_ne!(&edited, body, "the event names its key");
    let mut item = stored.clone();
    item.insert("body".into(), AttributeValue::S(edited));
    dynamodb
        .put_item()
        .table_name(&table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();

    assert_eq!(
        integrity(&owner).await,
        json!({"intact": false, "checked": 2, "first_broken": middle})
    );
}

#[tokio::test]
async fn twenty_racing_changes_in_one_workspace_keep_one_unbroken_chain() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = User::with(Some(&workspace), Some(Role::Owner));
    let made = join_all((0..20).map(|i| {
        let owner = &owner;
        async move {
            owner
                .call(
                    Method::POST,
                    "/api/v1/account/api-keys",
                    Some(json!({"name": format!("racer-{i}")})),
                )
                .await
                .status
                .as_u16()
        }
    }))
    .await;
    assert!(made.iter().all(|status| *status == 201), "{made:?}");
    let page = owner
        .call(Method::GET, &format!("{EVENTS}?limit=50"), None)
        .await
        .expect(200);
    assert_eq!(page["events"].as_array().unwrap().len(), 20);
    assert_eq!(
        integrity(&owner).await,
        json!({"intact": true, "checked": 20, "first_broken": null})
    );
}

/// The archive bucket's objects under `workspace`: its events as the objects hold them, in the
/// order of the objects' names (each names its first event's number) and their lines.
async fn archived(workspace: &str) -> Vec<Value> {
    let s3 = latchkey_aws::Aws::unguarded(latchkey_aws::clients::load_sdk_config().await)
        .s3(latchkey_aws::CallPath::Background);
    let bucket = latchkey_tests::env("LATCHKEY_AUDIT_BUCKET");
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(format!("audit/workspace={workspace}/"))
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    names.sort_by_key(|name| name.rsplit('/').next().unwrap_or_default().to_owned());
    let mut events = Vec::new();
    for name in names {
        let object = s3
            .get_object()
            .bucket(&bucket)
            .key(&name)
            .send()
            .await
            .unwrap();
        let body = object.body.collect().await.unwrap().into_bytes();
        for line in std::str::from_utf8(&body).unwrap().lines() {
            events.push(serde_json::from_str(line).unwrap());
        }
    }
    events
}

/// The numbers of `events` in chain order, as archived.
fn numbers(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

/// Every event of a run reaches the archive through the table's stream (the local bridge feeds
/// it to the audit-stream function, as Lambda does): each exactly once, in chain order, the same
/// event the API shows.
#[tokio::test]
async fn every_event_reaches_the_archive_once_in_chain_order() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = User::with(Some(&workspace), Some(Role::Owner));
    for name in ["a", "b", "c", "d"] {
        let (id, _) = owner.create_key(json!({"name": name})).await;
        owner
            .call(
                Method::PUT,
                &format!("/api/v1/account/api-keys/{id}"),
                Some(json!({"name": format!("{name}-2")})),
            )
            .await
            .expect(200);
    }
    let page = owner
        .call(Method::GET, &format!("{EVENTS}?limit=200"), None)
        .await
        .expect(200);
    let mut shown: Vec<Value> = page["events"].as_array().unwrap().clone();
    shown.reverse();
    let mut found = Vec::new();
    for _ in 0..120 {
        found = archived(&workspace).await;
        if found.len() >= shown.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(
        numbers(&found),
        (1..=8).collect::<Vec<u64>>(),
        "each once, in order"
    );
    for (archived, shown) in found.iter().zip(&shown) {
        assert_eq!(archived["id"], shown["id"]);
        assert_eq!(archived["digest"].as_str().map(str::len), Some(64));
        assert_eq!(archived["action"], shown["action"]);
    }
}

/// A sink that writes `remaining` objects to the bucket and then never answers: the function
/// killed part-way through a batch.
struct KilledAfter {
    inner: latchkey_aws::s3::S3Archive,
    remaining: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl latchkey_core::audit::archive::ArchiveSink for KilledAfter {
    async fn put(
        &self,
        name: &str,
        body: Vec<u8>,
    ) -> Result<(), latchkey_core::store_error::StoreError> {
        use std::sync::atomic::Ordering;
        if self.remaining.fetch_sub(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        self.inner.put(name, body).await
    }
}

/// `count` events of each of `workspaces`, sealed in their chains, as the stream's records of
/// their inserts (interleaved, as one shard delivers them). They are never written to the
/// table, so the bridge does not stream them too.
fn stream_batch(workspaces: &[String], count: u64) -> Value {
    use latchkey_core::audit::{Actor, ActorKind, Record, chain};
    let mut heads = std::collections::HashMap::new();
    let mut records = Vec::new();
    for _ in 0..count {
        for workspace in workspaces {
            let head = heads
                .entry(workspace.clone())
                .or_insert_with(Default::default);
            let record = Record {
                workspace_id: latchkey_core::ids::WorkspaceId::parse(workspace).unwrap(),
                action: "key.created".into(),
                actor: Actor {
                    kind: ActorKind::System,
                    id: "stream-test".into(),
                    name: None,
                },
                targets: vec![],
                origin: Default::default(),
                changes: Default::default(),
                users: vec![],
                time: chrono::Utc::now(),
            };
            let event = chain::seal(record, head);
            *head = chain::head_after(&event);
            records.push(latchkey_tests::stream_insert(&event, records.len() + 1));
        }
    }
    json!({ "Records": records })
}

/// The function killed part-way through a batch (two objects written, the third never
/// finished, no checkpoint moved for it), then the batch delivered again to the audit-stream
/// function on the stack, then once more: every event in the archive exactly once, in order.
#[tokio::test]
async fn a_batch_killed_part_way_and_delivered_again_is_archived_once() {
    use latchkey_core::audit::archive::Archiver;
    let workspaces: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let batch = stream_batch(&workspaces, 5);
    let sdk = latchkey_aws::clients::load_sdk_config().await;
    let aws = latchkey_aws::Aws::unguarded(sdk);
    let table = latchkey_aws::dynamo::Table::new(
        aws.dynamodb(latchkey_aws::CallPath::Background),
        latchkey_tests::config().table_name,
    );
    let sink = KilledAfter {
        inner: latchkey_aws::s3::S3Archive::new(
            aws.s3(latchkey_aws::CallPath::Background),
            latchkey_tests::env("LATCHKEY_AUDIT_BUCKET"),
        ),
        remaining: 2.into(),
    };
    let archiver = Archiver::new(
        std::sync::Arc::new(table.audit()),
        std::sync::Arc::new(sink),
    );
    let stream = latchkey_aws::audit_stream::AuditStream {
        archiver: &archiver,
    };
    let event = serde_json::from_value(batch.clone()).unwrap();
    let killed =
        tokio::time::timeout(std::time::Duration::from_secs(3), stream.handle(event)).await;
    assert!(killed.is_err(), "the invocation died part-way");
    assert_eq!(
        archived(&workspaces[0]).await.len(),
        5,
        "the first object was written"
    );
    assert_eq!(archived(&workspaces[3]).await.len(), 0, "the last was not");

    for _ in 0..2 {
        let answer = latchkey_tests::invoke("audit-stream", &batch).await;
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }
    for workspace in &workspaces {
        let found = archived(workspace).await;
        assert_eq!(
            numbers(&found),
            (1..=5).collect::<Vec<u64>>(),
            "{workspace}"
        );
    }
}

/// The filters by actor and by target read their indexes on DynamoDB Local (`gsi1`, `gsi4`):
/// a key acting is found by its id among its owner's changes, a key's own changes by its id.
#[tokio::test]
async fn the_actor_and_target_filters_find_their_events_through_the_indexes() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = User::with(Some(&workspace), Some(Role::Owner));
    let (acting_id, acting) = owner.create_key(json!({"name": "acting"})).await;
    let (target_id, _) = owner.create_key(json!({"name": "target"})).await;
    owner
        .call(
            Method::PUT,
            &format!("/api/v1/account/api-keys/{target_id}"),
            Some(json!({"name": "target-2"})),
        )
        .await
        .expect(200);
    owner
        .api
        .send(
            Method::POST,
            "/api/v1/account/api-keys",
            &latchkey_tests::as_key(&acting),
            Some(json!({"name": "made by a key"})),
        )
        .await
        .expect(201);
    let page = |query: String| {
        let owner = &owner;
        async move {
            owner
                .call(Method::GET, &format!("{EVENTS}?{query}"), None)
                .await
                .expect(200)
        }
    };
    let by_key = page(format!("actor_id={acting_id}")).await;
    assert_eq!(by_key["events"].as_array().unwrap().len(), 1);
    assert_eq!(by_key["events"][0]["targets"][0]["name"], "made by a key");
    let by_owner = page(format!("actor_id={}", owner.id)).await;
    assert_eq!(by_owner["events"].as_array().unwrap().len(), 3);
    let about = page(format!("target_id={target_id}")).await;
    let actions: Vec<&str> = about["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["key.updated", "key.created"]);
    let both = page(format!(
        "actor_id={}&target_id={target_id}&limit=1",
        owner.id
    ))
    .await;
    assert_eq!(both["events"][0]["action"], "key.updated");
    assert!(both["next_cursor"].is_string());
}
