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
