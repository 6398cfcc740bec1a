//! The leak response on the stack: reports signed as GitHub signs them, by the stack's own key
//! pair and Node's crypto (`infra/local/github.mjs`, so no code of Latchkey's signs what Latchkey
//! verifies), posted to `/api/v1/leaks/github`; the worker revoking or flagging each live key by
//! its workspace's policy; every credential form refusing a revoked key within the cache bound;
//! and the public endpoint revoking what it is shown while saying nothing.

use std::time::{Duration, Instant};

use latchkey_core::{
    auth::Role,
    ids::KeyId,
    keys::secret::{KeyPrefix, PlainKey},
};
use latchkey_tests::{Auth, User, as_key, env, past_the_cache_bound};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const GITHUB: &str = "/api/v1/leaks/github";
const WHERE: &str = "https://github.com/octo-org/octo-repo/blob/main/.env";

fn api() -> String {
    env("LATCHKEY_API_URL")
}

/// `body` signed as GitHub signs it, by the stack's scanning key: `(key identifier, signature)`.
fn github_signature(body: &str) -> (String, String) {
    use std::io::Write;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut child = std::process::Command::new("node")
        .arg(format!("{root}/infra/local/github.mjs"))
        .arg("sign")
        .arg(env("LATCHKEY_STACK_STATE"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs infra/local/github.mjs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "github.mjs sign failed");
    let signed: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        signed["key_identifier"].as_str().unwrap().to_owned(),
        signed["signature"].as_str().unwrap().to_owned(),
    )
}

/// A report of `tokens` as GitHub's body.
fn report_body(tokens: &[String]) -> String {
    serde_json::to_string(
        &tokens
            .iter()
            .map(|t| json!({"token": t, "type": "latchkey_api_key", "url": WHERE, "source": "content"}))
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

/// Posts `body` with GitHub's headers.
async fn post_report(body: &str, key_id: &str, signature: &str) -> (StatusCode, Value) {
    let headers = [
        ("Github-Public-Key-Identifier", key_id),
        ("Github-Public-Key-Signature", signature),
    ];
    let (status, text) = post(GITHUB, &headers, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Posts `body` to `path` with `headers`, as a JSON body: the status and the body's text. Sent
/// again when `cargo lambda watch` answers with its own 500 (see `Api::send`): both leak
/// endpoints take a report twice as they take it once, as GitHub's retries need.
async fn post(path: &str, headers: &[(&str, &str)], body: &str) -> (StatusCode, String) {
    let mut sent = 0;
    loop {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", api()))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        sent += 1;
        if !latchkey_tests::is_emulator_500(status, text.as_bytes())
            || sent > latchkey_tests::EMULATOR_RETRIES
        {
            return (status, text);
        }
        eprintln!("cargo lambda watch answered POST {path} with its own 500; sending it again");
    }
}

/// Reports `tokens`, signed; the answer's labels.
async fn report(tokens: &[String]) -> Vec<Value> {
    let body = report_body(tokens);
    let (key_id, signature) = github_signature(&body);
    let (status, labels) = post_report(&body, &key_id, &signature).await;
    assert_eq!(status, 200, "{labels}");
    labels.as_array().unwrap().clone()
}

fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn verify_code(key: &str) -> String {
    let reply = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/verify", api()))
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap();
    let body: Value = reply.json().await.unwrap();
    body["code"].as_str().unwrap_or_default().to_owned()
}

/// The key `id` as its owner reads it, once `done` holds (or three minutes pass: the worker beside a loaded stack).
async fn key_until(owner: &User, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let key = owner
            .call(Method::GET, &format!("/api/v1/account/api-keys/{id}"), None)
            .await
            .expect(200);
        if done(&key) {
            return key;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "the key: {key}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `owner`'s `key.leaked` events, once there are `count` (or three minutes pass).
async fn leaked_events(owner: &User, count: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let events = owner
            .call(
                Method::GET,
                "/api/v1/account/audit-events?action=key.leaked",
                None,
            )
            .await
            .expect(200)["events"]
            .as_array()
            .unwrap()
            .clone();
        if events.len() >= count {
            return events;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "events: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every way a key is presented, each refusing `key`: verification, the authorizer with the key
/// in `x-api-key` and as a bearer token, and the API with the key as the caller.
async fn refused_everywhere(key: &str) {
    assert_eq!(verify_code(key).await, "REVOKED");
    for headers in [
        json!({"x-api-key": key}),
        json!({"authorization": format!("Bearer {key}")}),
    ] {
        let answer = latchkey_tests::authorize(headers, "GET /orders", "198.51.100.1").await;
        assert_eq!(answer["isAuthorized"], false, "{answer}");
    }
    for auth in [as_key(key), Auth::Bearer(key.to_owned())] {
        latchkey_tests::Api::new()
            .send(Method::GET, "/api/v1/account/api-keys", &auth, None)
            .await
            .expect_error(401, "unauthenticated");
    }
}

#[tokio::test]
async fn a_signed_report_revokes_the_key_tells_its_owners_and_every_form_refuses_it() {
    let owner = User::with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Owner));
    let (id, key) = owner.create_key(json!({"name": "leaky"})).await;
    let (other_id, other) = owner.create_key(json!({"name": "untouched"})).await;
    assert_eq!(verify_code(&key).await, "VALID");
    let reported = Instant::now();
    let labels = report(&[key.clone(), "ghp_notours".into()]).await;
    assert_eq!(labels[0]["label"], "true_positive");
    assert_eq!(labels[0]["token_hash"], sha256_hex(&key));
    assert_eq!(labels[0]["token_type"], "latchkey_api_key");
    assert_eq!(labels[1]["label"], "false_positive");
    assert!(
        !labels.iter().any(|l| l.to_string().contains(&key)),
        "a token is never echoed"
    );
    // How long a leaked key keeps working: polled on verification, which reads through the
    // cache of one instance (the others are bound by the cache's TTL, waited out below).
    while verify_code(&key).await == "VALID" {
        assert!(reported.elapsed() < Duration::from_secs(180), "still valid");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "leak: report to first refusal {} ms",
        reported.elapsed().as_millis()
    );
    let revoked = key_until(&owner, &id, |k| !k["revoked_at"].is_null()).await;
    assert_eq!(revoked["revocation_reason"], "reported as leaked");
    past_the_cache_bound().await;
    println!(
        "leak: report to refusal everywhere within {} ms",
        reported.elapsed().as_millis()
    );
    refused_everywhere(&key).await;
    assert_eq!(verify_code(&other).await, "VALID", "only the reported key");
    let _ = other_id;
    let events = leaked_events(&owner, 1).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["actor"]["type"], "system");
    assert_eq!(event["context"]["family"], "secret-scanning");
    assert_eq!(event["targets"][0]["id"], id);
    assert_eq!(event["changes"]["url"]["to"], WHERE);
    assert_eq!(event["changes"]["response"]["to"], "revoke");
    assert!(!event.to_string().contains(&key));
    let inbox = owner
        .call(Method::GET, "/api/v1/account/notifications", None)
        .await
        .expect(200);
    let told: Vec<&Value> = inbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "api_key.leaked" || n["kind"] == "api_key.leaked")
        .collect();
    assert_eq!(told.len(), 1, "{inbox}");
    // GitHub reports it again: still a key of this deployment, and nothing more happens.
    let again = report(std::slice::from_ref(&key)).await;
    assert_eq!(again[0]["label"], "true_positive");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(leaked_events(&owner, 1).await.len(), 1, "handled once");
}

#[tokio::test]
async fn with_the_notify_policy_the_key_keeps_working_and_is_flagged_once() {
    let owner = User::with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Owner));
    owner
        .call(
            Method::PUT,
            "/api/v1/account/security-settings",
            Some(json!({"leak_response": "notify"})),
        )
        .await
        .expect(200);
    let (id, key) = owner.create_key(json!({"name": "kept"})).await;
    report(std::slice::from_ref(&key)).await;
    let events = leaked_events(&owner, 1).await;
    assert_eq!(events[0]["changes"]["response"]["to"], "notify");
    past_the_cache_bound().await;
    assert_eq!(
        verify_code(&key).await,
        "VALID",
        "the policy keeps it working"
    );
    let stored = key_until(&owner, &id, |_| true).await;
    assert!(stored["revoked_at"].is_null());
    report(std::slice::from_ref(&key)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(leaked_events(&owner, 1).await.len(), 1, "flagged once");
}

#[tokio::test]
async fn a_report_of_a_thousand_matches_is_answered_in_order() {
    let owner = User::with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Owner));
    let mut live = Vec::new();
    for n in 0..3 {
        live.push(owner.create_key(json!({"name": format!("bulk {n}")})).await);
    }
    let prefix = KeyPrefix::default();
    let mut tokens: Vec<String> = (0..997)
        .map(|n| match n % 3 {
            // Well-formed, checksum and all, naming no stored key: read and checked like a key.
            0 => PlainKey::generate(&prefix, KeyId(uuid::Uuid::new_v4()))
                .expose()
                .to_owned(),
            1 => format!("sk_{n:072}"),
            _ => format!("AKIA{n:016}"),
        })
        .collect();
    for (at, (_, key)) in [10, 500, 996].into_iter().zip(&live) {
        tokens.insert(at, key.clone());
    }
    assert_eq!(tokens.len(), 1000);
    let started = Instant::now();
    let labels = report(&tokens).await;
    println!(
        "leak: a report of 1000 matches answered in {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(labels.len(), 1000);
    for (label, token) in labels.iter().zip(&tokens) {
        assert_eq!(label["token_hash"], sha256_hex(token));
    }
    let positives: Vec<usize> = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| l["label"] == "true_positive")
        .map(|(at, _)| at)
        .collect();
    assert_eq!(positives, [10, 500, 996]);
    for (id, _) in &live {
        key_until(&owner, id, |k| {
            k["revocation_reason"] == "reported as leaked"
        })
        .await;
    }
}

#[tokio::test]
async fn a_report_githubs_signature_does_not_vouch_for_is_refused_and_does_nothing() {
    let owner = User::with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Owner));
    let (id, key) = owner.create_key(json!({"name": "safe"})).await;
    let body = report_body(std::slice::from_ref(&key));
    let (key_id, signature) = github_signature(&body);
    let altered = body.replace("content", "commit");
    let (other_id, other_signature) = github_signature(&altered);
    assert_eq!(other_id, key_id);
    let refused = [
        (altered.clone(), key_id.clone(), signature.clone()),
        (body.clone(), "0".repeat(64), signature.clone()),
        (body.clone(), key_id.clone(), other_signature.clone()),
        (body.clone(), key_id.clone(), "bm90IGEgc2lnbmF0dXJl".into()),
        // GitHub's documented example: its key is not in this stack's list.
        (
            r#"[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]"#.into(),
            "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c".into(),
            "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==".into(),
        ),
    ];
    for (body, key_id, signature) in refused {
        let (status, answer) = post_report(&body, &key_id, &signature).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["code"], "unauthenticated");
    }
    let (unsigned, _) = post(GITHUB, &[], &body).await;
    assert_eq!(unsigned, 401);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(verify_code(&key).await, "VALID");
    let stored = key_until(&owner, &id, |_| true).await;
    assert!(stored["revoked_at"].is_null());
}

#[tokio::test]
async fn the_public_endpoint_revokes_what_it_is_shown_and_answers_alike() {
    let owner = User::with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Owner));
    let (id, key) = owner.create_key(json!({"name": "found"})).await;
    let post = |body: String| async move { post("/api/v1/keys/revoke-leaked", &[], &body).await };
    let foreign = PlainKey::generate(&KeyPrefix::default(), KeyId(uuid::Uuid::new_v4()));
    let answers = [
        post(json!({"credentials": ["sk_malformed"]}).to_string()).await,
        post(json!({"credentials": [foreign.expose()]}).to_string()).await,
        post(json!({"credentials": [key]}).to_string()).await,
    ];
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "the same answer whatever was shown: {answers:?}"
    );
    assert_eq!(answers[0].0, 202);
    let revoked = key_until(&owner, &id, |k| !k["revoked_at"].is_null()).await;
    assert_eq!(revoked["revocation_reason"], "reported as leaked");
    let events = leaked_events(&owner, 1).await;
    assert_eq!(events[0]["context"]["family"], "revoke-leaked");
    assert!(
        events[0]["changes"]["url"].is_null(),
        "a finder says nothing of where"
    );
    let dead = post(json!({"credentials": [key]}).to_string()).await;
    assert_eq!(dead, answers[0], "a dead key is answered alike");
}

/// What the public endpoint's answer costs for each kind of token, over the stack's DynamoDB and
/// SQS, the intake built as the api-keys function builds it: live, dead (revoked), foreign
/// (well-formed, no such key) and malformed, interleaved round by round, each request from an
/// address of its own (the budget is not what is measured). Printed, never asserted: a live key
/// must cost what a dead or unknown one does (one read, one hash, one message), and only the
/// malformed token, which the public checksum rules out, may be cheaper.
#[tokio::test]
async fn the_public_endpoint_costs_the_same_for_a_live_a_dead_and_an_unknown_key() {
    use latchkey_core::{keys::spec::NewKeySpec, leaks::Presented};
    let sdk = latchkey_aws::clients::load_sdk_config().await;
    let aws = latchkey_aws::clients::Aws::unguarded(sdk);
    let wiring = latchkey_aws::wiring(
        latchkey_tests::config(),
        aws,
        latchkey_aws::clients::CallPath::Api,
    );
    let intake = wiring.leak_intake();
    let keys = wiring.keys();
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = latchkey_tests::owner_session(&uuid::Uuid::new_v4().to_string(), &workspace);
    const ROUNDS: usize = 30;
    let mut live = Vec::new();
    let mut dead = Vec::new();
    for n in 0..ROUNDS {
        live.push(
            keys.create(&owner, NewKeySpec::named("live"))
                .await
                .unwrap()
                .plain,
        );
        let gone = keys
            .create(&owner, NewKeySpec::named("dead"))
            .await
            .unwrap();
        keys.revoke(&owner, gone.key.id, format!("bench {n}"))
            .await
            .unwrap();
        dead.push(gone.plain);
    }
    let kinds = ["live", "dead", "foreign", "malformed"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    for round in 0..ROUNDS {
        let foreign = PlainKey::generate(&KeyPrefix::default(), KeyId(uuid::Uuid::new_v4()));
        let tokens = [
            live[round].expose().to_owned(),
            dead[round].expose().to_owned(),
            foreign.expose().to_owned(),
            format!("sk_{}", "x".repeat(72)),
        ];
        for (kind, token) in tokens.iter().enumerate() {
            let body = json!({ "credentials": [token] }).to_string();
            let address = format!("198.18.{}.{}", round, kind);
            let started = Instant::now();
            intake
                .presented(Presented {
                    address: Some(&address),
                    body: body.as_bytes(),
                })
                .await
                .unwrap();
            times[kind].push(started.elapsed());
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut line = format!(
        "leak: revoke-leaked cost per kind over {ROUNDS} rounds (load {})",
        load.trim()
    );
    for (kind, samples) in kinds.iter().zip(&mut times) {
        samples.sort();
        line.push_str(&format!(
            "; {kind} p50 {:.1} ms p90 {:.1} ms",
            samples[ROUNDS / 2].as_secs_f64() * 1e3,
            samples[ROUNDS * 9 / 10].as_secs_f64() * 1e3
        ));
    }
    println!("{line}");
}
