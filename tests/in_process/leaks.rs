//! The leak response's routes in process: GitHub's endpoint refuses what its signature does not
//! vouch for (and, with no copy of GitHub's keys, answers 503 rather than accept unchecked); the
//! public endpoint answers every body alike and keeps an address to its budget; the security
//! settings are the owners' and admins'. Signed reports, the worker and the revocation itself run
//! on the stack (`tests/it/leaks.rs`); the signature and cache rules in `latchkey_core::leaks`.

use axum::body::Body;
use latchkey_core::auth::Role;
use latchkey_tests::{Api, Auth, as_key, in_process};
use reqwest::Method;
use serde_json::json;

const GITHUB: &str = "/api/v1/leaks/github";
const REVOKE_LEAKED: &str = "/api/v1/keys/revoke-leaked";
const SETTINGS: &str = "/api/v1/account/security-settings";

#[tokio::test]
async fn a_report_without_githubs_signature_is_a_401_and_without_githubs_keys_a_503() {
    let app = in_process::app();
    let body =
        json!([{"token": "sk_x", "type": "latchkey_api_key", "url": "", "source": "content"}]);
    let refused = app
        .call(Method::POST, GITHUB, &[], Some(body.clone()))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.body["code"], "unauthenticated");
    let headers = [
        (
            "Github-Public-Key-Identifier",
            "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c",
        ),
        (
            "Github-Public-Key-Signature",
            "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==",
        ),
    ];
    let unavailable = app.call(Method::POST, GITHUB, &headers, Some(body)).await;
    assert_eq!(unavailable.status, 503, "{}", unavailable.body);
    assert!(unavailable.headers.contains_key("retry-after"));
}

/// `body` posted to the public endpoint from `address`.
async fn presented(address: &str, body: &str) -> latchkey_http::testing::Reply {
    let mut request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(REVOKE_LEAKED)
        .header("host", "latchkey.test")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let mut context = aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(address.to_owned());
    request
        .extensions_mut()
        .insert(lambda_http::request::RequestContext::ApiGatewayV2(context));
    in_process::app().send(request).await
}

#[tokio::test]
async fn the_public_endpoint_answers_every_body_alike_until_the_address_is_over_budget() {
    let owner = in_process::user();
    let (_, live) = owner.create_key(json!({"name": "live"})).await;
    let (dead_id, dead) = owner.create_key(json!({"name": "dead"})).await;
    owner
        .call(
            Method::POST,
            &format!("/api/v1/account/api-keys/{dead_id}/revoke"),
            Some(json!({"reason": "test"})),
        )
        .await
        .expect(200);
    let address = format!("203.0.113.{}", rand::random::<u8>());
    let bodies = [
        json!({"credentials": [live]}).to_string(),
        json!({"credentials": [dead]}).to_string(),
        json!({"credentials": ["sk_malformed"]}).to_string(),
        json!({"credentials": ["ghp_16C7e42F292c6912E7710c838347Ae178B4a"]}).to_string(),
        "{not json".to_owned(),
        String::new(),
    ];
    let mut answers = Vec::new();
    for body in &bodies {
        let reply = presented(&address, body).await;
        answers.push((reply.status.as_u16(), reply.text));
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "the same answer for a live, a dead, a malformed and a foreign key: {answers:?}"
    );
    assert_eq!(answers[0].0, 202);
    // The budget is ten a minute: the eleventh request, or one soon after when a minute turned
    // meanwhile, is refused.
    let mut sent = bodies.len();
    let refused = loop {
        let reply = presented(&address, "{}").await;
        sent += 1;
        if reply.status != 202 {
            break reply;
        }
        assert!(sent <= 20, "no refusal after {sent} requests");
    };
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["code"], "rate_limited");
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    let other = presented("203.0.113.250", "{}").await;
    assert_eq!(other.status, 202, "another address has its own budget");
}

#[tokio::test]
async fn only_owners_and_admins_with_a_session_read_or_set_the_leak_policy() {
    let workspace = uuid::Uuid::new_v4().to_string();
    for role in [Role::Member, Role::Viewer] {
        let user = in_process::user_with(Some(&workspace), Some(role));
        user.call(Method::GET, SETTINGS, None)
            .await
            .expect_error(403, "forbidden");
        user.call(
            Method::PUT,
            SETTINGS,
            Some(json!({"leak_response": "notify"})),
        )
        .await
        .expect_error(403, "forbidden");
    }
    let admin = in_process::user_with(Some(&workspace), Some(Role::Admin));
    assert_eq!(
        admin.call(Method::GET, SETTINGS, None).await.expect(200),
        json!({"leak_response": "revoke"})
    );
    let (_, key) = admin.create_key(json!({})).await;
    admin
        .api
        .send(
            Method::PUT,
            SETTINGS,
            &as_key(&key),
            Some(json!({"leak_response": "notify"})),
        )
        .await
        .expect_error(403, "forbidden");
    Api::in_process()
        .send(Method::GET, SETTINGS, &Auth::None, None)
        .await
        .expect_error(401, "unauthenticated");
    for bad in [
        json!({"leak_response": "ignore"}),
        json!({}),
        json!({"leak_response": 1}),
    ] {
        admin
            .call(Method::PUT, SETTINGS, Some(bad))
            .await
            .expect_error(400, "validation_error");
    }
    assert_eq!(
        admin
            .call(
                Method::PUT,
                SETTINGS,
                Some(json!({"leak_response": "notify"}))
            )
            .await
            .expect(200),
        json!({"leak_response": "notify"})
    );
    let owner = in_process::user_with(Some(&workspace), Some(Role::Owner));
    assert_eq!(
        owner.call(Method::GET, SETTINGS, None).await.expect(200)["leak_response"],
        "notify"
    );
    let elsewhere =
        in_process::user_with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Owner));
    assert_eq!(
        elsewhere
            .call(Method::GET, SETTINGS, None)
            .await
            .expect(200)["leak_response"],
        "revoke",
        "another workspace keeps its own"
    );
    let events = owner
        .call(
            Method::GET,
            "/api/v1/account/audit-events?action=workspace.settings_updated",
            None,
        )
        .await
        .expect(200);
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        events["events"][0]["changes"]["leak_response"]["to"],
        "notify"
    );
}

/// The code block after `marker` in the README.
fn readme_block(marker: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the README");
    let after = &readme[readme.find(marker).expect("the marker is in the README")..];
    let start = after.find("```").unwrap();
    let body = &after[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_owned()
}

/// What the README's Python check says of each token.
fn python_says(tokens: &[String]) -> Vec<bool> {
    use std::io::Write;
    let script = format!(
        "{}\nimport json, sys\nprint(json.dumps([is_latchkey_key(t) for t in json.load(sys.stdin)]))\n",
        readme_block("<!-- key-check -->")
    );
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(tokens).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the README's check ran");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_readmes_pattern_and_check_take_our_keys_and_nothing_else() {
    use latchkey_core::{
        ids::KeyId,
        keys::secret::{KeyPrefix, PlainKey},
    };
    let pattern = readme_block("<!-- key-pattern -->");
    let pattern = regex::Regex::new(&format!("^(?:{})$", pattern.trim())).unwrap();
    let ours: Vec<String> = (0..1000)
        .map(|_| {
            PlainKey::generate(&KeyPrefix::default(), KeyId(uuid::Uuid::new_v4()))
                .expose()
                .to_owned()
        })
        .collect();
    assert!(
        ours.iter().all(|k| pattern.is_match(k)),
        "every key matches"
    );
    assert!(python_says(&ours).iter().all(|&ok| ok), "every key checks");
    let others: Vec<String> = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/leaks/other-formats.txt"
    ))
    .unwrap()
    .lines()
    .filter(|l| !l.is_empty() && !l.starts_with('#'))
    .map(str::to_owned)
    .collect();
    assert!(others.len() > 20);
    for other in &others {
        assert!(!pattern.is_match(other), "the pattern matched {other}");
    }
    assert!(python_says(&others).iter().all(|&ok| !ok));
    let changed: Vec<String> = ours
        .iter()
        .take(200)
        .enumerate()
        .map(|(n, key)| {
            let at = 3 + n % 72;
            let mut bytes = key.clone().into_bytes();
            bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
            String::from_utf8(bytes).unwrap()
        })
        .collect();
    assert!(
        python_says(&changed).iter().all(|&ok| !ok),
        "one character changed fails the checksum"
    );
}
