//! The account family on the stack: what needs the DynamoDB adapter itself (a thousand
//! notifications written straight to the table, then marked read in one call). Everything else
//! of the family runs in process (`tests/in_process/account.rs`).

use latchkey_tests::User;
use reqwest::Method;
use serde_json::json;

const NOTIFICATIONS: &str = "/api/v1/account/notifications";

#[tokio::test]
async fn mark_all_read_handles_a_thousand_in_one_call_and_is_idempotent() {
    let user = User::new();
    let config = latchkey_tests::config();
    let table =
        latchkey_aws::dynamo::Table::new(latchkey_tests::dynamodb().await, &config.table_name);
    let notifications = latchkey_core::notifications::Notifications::new(
        std::sync::Arc::new(table.notifications()),
        std::sync::Arc::new(latchkey_core::clock::SystemClock),
    );
    let owner = latchkey_core::ids::UserId::parse(&user.id).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let (n, owner) = (notifications.clone(), owner.clone());
        tasks.spawn(async move {
            n.notify(
                &owner,
                latchkey_core::notifications::NewNotification {
                    kind: latchkey_core::notifications::kinds::API_KEY_EXPIRING,
                    title: format!("n{i}"),
                    message: "m".into(),
                    data: json!({}),
                },
            )
            .await
            .unwrap()
        });
        if tasks.len() >= 32 {
            tasks.join_next().await;
        }
    }
    tasks.join_all().await;
    let before = user
        .call(Method::GET, &format!("{NOTIFICATIONS}?limit=1"), None)
        .await
        .expect(200);
    assert_eq!(before["unread_count"], 1000);
    // A thousand writes in one request can outlast the storage budget on a loaded machine: the
    // answer is then a 503 with Retry-After, and marking all read is safe to send again (what the
    // first attempt marked is not counted by the second).
    let reply = user
        .api
        .send_idempotent(
            Method::POST,
            &format!("{NOTIFICATIONS}/read-all"),
            &user.auth,
            None,
        )
        .await;
    let attempts = reply.attempts;
    let all = reply.expect(200);
    let updated = all["updated"].as_u64().expect("updated");
    if attempts == 1 {
        assert_eq!(updated, 1000, "{all}");
    } else {
        assert!(updated <= 1000, "{all}");
    }
    assert!(all["message"].is_string());
    let after = user
        .call(
            Method::GET,
            &format!("{NOTIFICATIONS}?unread_only=true"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(after["unread_count"], 0);
    assert_eq!(after["notifications"], json!([]));
    let again = user
        .call(Method::POST, &format!("{NOTIFICATIONS}/read-all"), None)
        .await
        .expect(200);
    assert_eq!(again["updated"], 0);
}
