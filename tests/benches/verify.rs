//! Benchmarks of verification against the local stack (run by `infra/local/bench`, which starts
//! it): verify on a cache hit and on a miss, a key past its limit, and the authorizer handler.

use std::{collections::HashMap, hint::black_box, sync::Arc, time::Duration};

use latchkey_tests::bench;

use latchkey_aws::{authorizer, dynamo::Table};
use latchkey_core::{
    auth::{Caller, Credential, Role},
    clock::SystemClock,
    ids::{UserId, WorkspaceId},
    keys::{cache::VerifiedKeyCache, service::KeyService, verify::KeyVerifier},
    usage::AttemptContext,
};
use latchkey_http::api::api_keys::input::CreateKeyRequest;

async fn verify(verifier: &KeyVerifier, key: &str, context: &AttemptContext) {
    black_box(verifier.verify(key, &[], context).await.unwrap());
}

#[tokio::main]
async fn main() {
    let config = latchkey_tests::config();
    let client = latchkey_tests::dynamodb().await;
    let keys = KeyService::new(
        Arc::new(Table::new(client, &config.table_name).keys()),
        config.key_prefix.clone(),
        Arc::new(SystemClock),
        Arc::new(VerifiedKeyCache::new(
            Duration::from_secs(30),
            Arc::new(SystemClock),
        )),
    );
    let user = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
    let owner = Caller {
        origin: Default::default(),
        workspace_id: WorkspaceId::personal(&user),
        user_id: user,
        credential: Credential::Session { role: Role::Owner },
    };
    let spec = |body| {
        serde_json::from_value::<CreateKeyRequest>(body)
            .unwrap()
            .parse(chrono::Utc::now())
            .unwrap()
    };
    let mut fresh = Vec::new();
    for _ in 0..3 {
        fresh.push(
            keys.create(&owner, spec(serde_json::json!({})))
                .await
                .unwrap()
                .plain,
        );
    }
    let hot = keys
        .create(&owner, spec(serde_json::json!({"rate_limit_per_hour": 1})))
        .await
        .unwrap()
        .plain;
    let context = AttemptContext::default();

    let (cached, _) =
        latchkey_tests::verifier(Duration::from_secs(30), Arc::new(SystemClock)).await;
    let (uncached, _) = latchkey_tests::verifier(Duration::ZERO, Arc::new(SystemClock)).await;
    let (c, u) = (&cached, &uncached);
    let (first, second, hot, ctx) = (fresh[0].expose(), fresh[1].expose(), hot.expose(), &context);
    verify(c, first, ctx).await;
    bench("verify, cache hit (rate write to DynamoDB)", 900, |_| {
        verify(c, first, ctx)
    })
    .await;
    bench("verify, cache miss (GetItem + argon2 + rate)", 100, |_| {
        verify(u, second, ctx)
    })
    .await;
    verify(c, hot, ctx).await;
    bench("verify, cache hit, key past its limit", 10_000, |_| {
        verify(c, hot, ctx)
    })
    .await;
    bench("verify, malformed key (no storage read)", 10_000, |_| {
        verify(c, "sk_garbage", ctx)
    })
    .await;

    let event: aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../infra/events/authorizer-x-api-key.json"
            ))
            .unwrap()
            .replace("DEV_KEY", fresh[2].expose()),
        )
        .unwrap();
    let routes = HashMap::new();
    bench("authorizer handler, cache hit", 900, |_| {
        let (cached, routes, event) = (&cached, &routes, &event);
        async move {
            black_box(authorizer::authorize(cached, routes, event).await.unwrap());
        }
    })
    .await;
}
