//! Authorization defects that only the stack can show (issue 23): a hostile `Host` or
//! `X-Forwarded-Proto` reaching each function as API Gateway's event (findings 7), and an issue
//! report read back from the table keeping no encoded key (finding 5). The authorization matrix
//! and the other rules of who may do what run in process (`tests/in_process/authorization.rs`).

use latchkey_core::auth::Role;
use latchkey_tests::{Api, Auth, issuer};
use reqwest::Method;
use serde_json::{Value, json};

/// A session of `user` in `workspace` with `role`.
fn session(user: &str, workspace: &str, role: Role) -> Auth {
    let issuer = issuer();
    let mut claims = issuer.claims(user, 3600);
    claims.email = Some(format!("{user}@example.test"));
    claims.workspace_id = Some(workspace.to_owned());
    claims.role = Some(role);
    Auth::Bearer(issuer.sign(&claims))
}

fn fresh() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Creates a key through the native API and returns its id and secret.
async fn native_key(auth: &Auth, body: Value) -> (String, String) {
    let made = Api::new()
        .send(Method::POST, "/api/v1/account/api-keys", auth, Some(body))
        .await
        .expect(201);
    (
        made["api_key"]["id"].as_str().unwrap().to_owned(),
        made["api_key"]["api_key"].as_str().unwrap().to_owned(),
    )
}

/// A hostile `Host` or `X-Forwarded-Proto` is a 400 in the contract's shape from every HTTP
/// function (the console's as its error page), never a panic's 500 (issue 23, finding 7).
#[tokio::test]
async fn a_hostile_host_or_proto_is_a_400_from_every_function() {
    let base = latchkey_tests::env("LATCHKEY_API_URL");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paths = [
        "/api/v1/account/health",
        "/api/v1/account/api-keys",
        "/api/auth/me",
        "/api/v1/account/privacy/erasure/00000000-0000-0000-0000-000000000000",
        "/console",
    ];
    for path in paths {
        for (name, value) in [
            ("host", "localhost:99999"),
            ("host", "[::1"),
            ("x-forwarded-proto", "a b"),
        ] {
            let reply = client
                .get(format!("{base}{path}"))
                .header(name, value)
                .send()
                .await
                .unwrap();
            let status = reply.status();
            let request_id = reply.headers().get("x-request-id").cloned();
            let text = reply.text().await.unwrap();
            assert_eq!(status, 400, "{path} with {name}: {value}: {text}");
            assert!(!text.contains("panicked"), "{text}");
            assert!(text.contains("is not valid"), "{text}");
            if !path.starts_with("/console") {
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(body["code"], "validation_error", "{body}");
            }
            assert!(request_id.is_some(), "{path}: no X-Request-Id");
        }
        let fine = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_ne!(fine.status(), 400, "{path} without hostile headers");
    }
}

/// An issue report keeps no key, however the client encoded it (issue 23, finding 5): read back
/// from the table.
#[tokio::test]
async fn an_issue_report_keeps_no_encoded_key() {
    let (workspace, user) = (fresh(), fresh());
    let owner = session(&user, &workspace, Role::Owner);
    let (_, secret) = native_key(&owner, json!({"name": "leaks"})).await;
    let nested: String = form_urlencoded_serialize(&format!("/cb?key={secret}&token=x"));
    let page_url = format!("https://app.example/?next={nested}");
    let escaped: String = secret
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let reply = Api::new()
        .send(
            Method::POST,
            "/api/v1/account/issue-reports",
            &owner,
            Some(Value::String(format!(
                r#"{{"description": "it broke {escaped}", "page_url": "{page_url}"}}"#
            ))),
        )
        .await
        .expect(201);
    let id = reply["id"].as_str().unwrap();
    let stored = latchkey_tests::dynamodb()
        .await
        .get_item()
        .table_name(latchkey_tests::config().table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("WORKSPACE#{workspace}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("REPORT#{id}")),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the report is stored");
    let text = format!("{stored:?}");
    assert!(!text.contains(&secret[3..]), "{text}");
    assert!(
        text.contains("https://app.example/?next="),
        "the rest stays: {text}"
    );
}

/// `text` percent-encoded as a query value.
fn form_urlencoded_serialize(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}
