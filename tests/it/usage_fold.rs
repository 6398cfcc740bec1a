//! The usage fold on the local stack: flushes of several containers put in the inbox in
//! DynamoDB Local, folded by the real sweeper function, read back over HTTP.

use std::sync::Arc;

use chrono::Utc;
use http::Method;
use latchkey_aws::dynamo::Table;
use latchkey_core::{
    ids::{KeyId, UserId, WorkspaceId},
    outcome::VerifyCode,
    usage::{
        AttemptContext, Tally, TallyKey, UsageBatch, UsageEvent, UsageSink,
        fold::{Fold, InboxItem, InboxSink, UsageInbox, UsageMessage},
    },
};
use latchkey_tests::User;
use serde_json::{Value, json};

async fn table() -> Table {
    Table::new(
        latchkey_tests::dynamodb().await,
        latchkey_tests::config().table_name,
    )
}

/// One container's flush: `success` verifications of the key now, as one event.
fn flush(key: &TallyKey, success: u64) -> UsageBatch {
    let at = Utc::now();
    UsageBatch {
        tallies: [(
            key.clone(),
            Tally {
                success,
                failed: 0,
                last_used_at: Some(at),
                last_failed_at: None,
            },
        )]
        .into_iter()
        .collect(),
        events: vec![UsageEvent {
            id: uuid::Uuid::new_v4(),
            at,
            count: success,
            key_id: key.key_id,
            workspace_id: WorkspaceId::personal(&key.owner_id),
            owner_id: key.owner_id.clone(),
            outcome: VerifyCode::Valid,
            context: AttemptContext::default(),
        }],
        ..UsageBatch::default()
    }
}

/// The sweeper's fold-only run, as template.yaml's fold schedule invokes it.
async fn fold() -> Value {
    let event = json!({"detail-type": "Latchkey Usage Fold", "source": "latchkey", "detail": {}});
    latchkey_tests::invoke("sweeper", &event).await
}

async fn usage_count(user: &User, id: &str) -> Value {
    let stats = user
        .call(
            Method::GET,
            &format!("/api/v1/account/api-keys/{id}/stats"),
            None,
        )
        .await
        .expect(200);
    json!([
        stats["usage_count"],
        stats["daily"][29]["success"],
        stats["last_used_at"].is_string()
    ])
}

#[tokio::test]
async fn flushes_of_many_containers_are_folded_once_each_even_resent_or_cut_short() {
    let user = User::new();
    let (id, _) = user.create_key(json!({"name": "folded"})).await;
    let key = TallyKey {
        key_id: KeyId::parse(&id).expect("a key id"),
        owner_id: UserId::parse(&user.id).expect("a user id"),
        day: Utc::now().date_naive(),
    };
    // A second key, verified and deleted before the fold: written in the same transaction as
    // the first, it must neither come back nor keep the first from being counted.
    let (gone_id, _) = user
        .create_key(json!({"name": "deleted before the fold"}))
        .await;
    let gone = TallyKey {
        key_id: KeyId::parse(&gone_id).expect("a key id"),
        ..key.clone()
    };
    let table = table().await;
    let inbox = Arc::new(table.usage_inbox());
    for success in [3, 4, 5] {
        let container = InboxSink::new(inbox.clone());
        let mut batch = flush(&key, success);
        batch.tallies.extend(flush(&gone, 1).tallies);
        assert!(container.write(batch).await.is_empty());
    }
    user.call(
        Method::DELETE,
        &format!("/api/v1/account/api-keys/{gone_id}"),
        None,
    )
    .await
    .expect(200);

    // A fold cut short: recorded (its messages taken from the inbox), and only its key's counters
    // written before its run ended.
    let item = InboxItem {
        id: uuid::Uuid::now_v7(),
        message: UsageMessage::split(flush(&key, 6), |_| true).remove(0),
    };
    inbox.put(std::slice::from_ref(&item)).await.unwrap();
    // (Another test's sweep may fold it first: then there is nothing to cut, and the sums below
    // hold all the same.)
    let cut = Fold::of(std::slice::from_ref(&item));
    if inbox.claim(&cut).await.unwrap() {
        let partial = UsageBatch {
            resend: cut.tallies.clone(),
            ..UsageBatch::default()
        };
        assert!(table.usage(90).write(partial).await.is_empty());
    }

    let report = fold().await;
    assert!(
        report.get("queries").is_none(),
        "the fold schedule does not sweep: {report}"
    );
    assert!(report["usage"].is_object(), "{report}");
    assert_eq!(
        usage_count(&user, &id).await,
        json!([18, 18, true]),
        "3 + 4 + 5 once each, and the cut fold's 6 finished without counting it twice"
    );

    user.call(
        Method::GET,
        &format!("/api/v1/account/api-keys/{gone_id}"),
        None,
    )
    .await
    .expect(404);

    // A container resending a folded message (its first put's answer was lost).
    inbox.put(std::slice::from_ref(&item)).await.unwrap();
    fold().await;
    assert_eq!(
        usage_count(&user, &id).await,
        json!([18, 18, true]),
        "the resend is dropped"
    );
}
