//! The document against the routers it describes, and against its committed copy.

use std::collections::BTreeSet;

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode},
};
use tower::ServiceExt;

use super::{DOCUMENT_PATH, account, api_keys, document, document_json, privacy, signin};
use crate::testing::{offline_sign_in, offline_wiring};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

fn families() -> Vec<Router> {
    vec![
        super::key_routes(api_keys::KeysApi::wire(&offline_wiring())),
        account::router(account::AccountApi::wire(&offline_wiring())),
        privacy::router(privacy::PrivacyApi::wire(&offline_wiring())),
        {
            let wiring = offline_wiring();
            signin::router(signin::SignInApi::wire(&wiring, offline_sign_in(&wiring)))
        },
    ]
}

/// The paths a router matches. axum offers no listing, but its `Debug` names every path; an
/// empty answer fails the test below rather than passing it.
fn routed_paths(router: &Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    debug
        .split('"')
        .filter(|piece| {
            piece.starts_with("/api/")
                || piece.starts_with("/auth/")
                || piece.starts_with("/companies/")
                || piece.starts_with("/{tenantUrlCode}/")
        })
        .map(str::to_owned)
        .collect()
}

/// Whether `method` is served on `path`: anything but the 405 fallback. No request here carries
/// credentials or a body, so none reaches storage.
async fn serves(router: &Router, method: &Method, path: &str) -> bool {
    let concrete = path
        .replace("{api_key_id}", "0190a0b0-0000-7000-8000-000000000001")
        .replace("{apiKeyId}", "0190a0b0-0000-7000-8000-000000000001")
        .replace("{notification_id}", "0190a0b0-0000-7000-8000-000000000002")
        .replace("{company_id}", "company-1")
        .replace("{tenantUrlCode}", "tenant-1")
        .replace("{UserIdentifier}", "current")
        .replace("{id}", "0190a0b0-0000-7000-8000-000000000004")
        .replace("{job_id}", "0190a0b0-0000-7000-8000-000000000003");
    let request = Request::builder()
        .method(method)
        .uri(concrete)
        .body(Body::empty())
        .expect("a valid request");
    let status = router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible")
        .status();
    assert_ne!(
        status,
        StatusCode::NOT_FOUND,
        "{method} {path} fell through to the fallback"
    );
    status != StatusCode::METHOD_NOT_ALLOWED
}

fn documented() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(document()).expect("serializes");
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

#[tokio::test]
async fn the_document_names_exactly_the_routes_the_routers_serve() {
    let mut served = BTreeSet::new();
    for router in families() {
        let paths = routed_paths(&router);
        assert!(!paths.is_empty(), "no paths read from {router:?}");
        for path in paths {
            for method in &METHODS {
                if serves(&router, method, &path).await {
                    served.insert((method.to_string(), path.clone()));
                }
            }
        }
    }
    let documented = documented();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
    assert_eq!(served.len(), 68, "{served:?}");
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let path = format!("{}/../../{DOCUMENT_PATH}", env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == document_json(),
        "{DOCUMENT_PATH} is stale: run `cargo run -p latchkey-http --bin openapi`"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_both_schemes_and_the_error_body() {
    let doc = serde_json::to_value(document()).expect("serializes");
    assert_eq!(doc["openapi"], "3.1.0");
    let components = &doc["components"];
    assert_eq!(
        components["securitySchemes"]["JWTBearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        components["securitySchemes"]["APIKeyBearer"]["name"],
        "X-API-KEY"
    );
    assert_eq!(
        components["schemas"]["ErrorBody"]["required"],
        serde_json::json!(["detail", "code"])
    );
    let create = &doc["paths"]["/api/v1/account/api-keys"]["post"];
    assert_eq!(
        create["responses"]["400"]["$ref"],
        "#/components/responses/BadRequest"
    );
    assert!(create["responses"]["201"]["headers"]["X-RateLimit-Remaining"].is_object());
    let rate = &components["schemas"]["CreateKeyRequest"]["properties"]["rate_limit_per_hour"];
    assert_eq!(
        (rate["minimum"].as_i64(), rate["maximum"].as_i64()),
        (Some(1), Some(1000))
    );
    let shapes = components["schemas"]["ErasureRequest"]["oneOf"]
        .as_array()
        .expect("one shape per scope");
    let required: Vec<&serde_json::Value> = shapes.iter().map(|s| &s["required"]).collect();
    assert_eq!(
        required,
        [
            &serde_json::json!(["scope"]),
            &serde_json::json!(["scope", "device_ids"]),
            &serde_json::json!(["scope", "from_date", "to_date"]),
            &serde_json::json!(["scope", "tags"]),
        ]
    );
}

#[test]
fn every_reference_in_the_document_resolves() {
    fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    out.push(target.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc = serde_json::to_value(document()).expect("serializes");
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    let unresolved: Vec<&String> = targets
        .iter()
        .filter(|target| {
            let pointer = target.trim_start_matches('#');
            doc.pointer(pointer).is_none()
        })
        .collect();
    assert!(unresolved.is_empty(), "unresolvable: {unresolved:?}");
}
