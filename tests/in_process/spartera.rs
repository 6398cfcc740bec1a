//! The spartera family (`/companies/{company_id}/api-keys`) in process: a key's life by its
//! number, the same key through the native API and the other families, paging, spartera's error
//! body, roles, and isolation between companies and users. (`tests/sdk/test_spartera.py` drives
//! the same routes with spartera's own SDK.)

use latchkey_core::auth::Role;
use latchkey_tests::{Auth, Reply, User, as_key, in_process};
use reqwest::Method;
use serde_json::{Value, json};

/// A user in a company of their own, with `role`, and the company's id.
fn member_of(company: &str, role: Role) -> User {
    in_process::user_with(Some(company), Some(role))
}

fn new_company() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn keys(company: &str) -> String {
    format!("/companies/{company}/api-keys")
}

fn key_path(company: &str, key: impl std::fmt::Display) -> String {
    format!("/companies/{company}/api-keys/{key}")
}

/// Asserts spartera's error body: `code` is the status, `message` a sentence.
#[track_caller]
fn error(reply: Reply, status: u16) -> Value {
    let body = reply.expect(status);
    assert_eq!(body["code"], status, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body.get("detail").is_none(), "{body}");
    body
}

/// The fields a spartera validation error names.
#[track_caller]
fn invalid(reply: Reply) -> Vec<String> {
    let body = error(reply, 400);
    let mut fields: Vec<String> = body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("no errors: {body}"))
        .keys()
        .cloned()
        .collect();
    fields.sort();
    fields
}

async fn create(user: &User, company: &str, body: Value) -> (u64, String) {
    let created = user
        .call(Method::POST, &keys(company), Some(body))
        .await
        .expect(200);
    let number = created["data"]["api_key_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a string api_key_id: {created}"));
    (
        number.parse().unwrap(),
        created["data"]["api_key"].as_str().unwrap().to_owned(),
    )
}

async fn verify(user: &User, key: &str) -> Value {
    user.api
        .send(
            Method::POST,
            "/api/v1/keys/verify",
            &Auth::None,
            Some(json!({"key": key})),
        )
        .await
        .expect(200)
}

#[tokio::test]
async fn a_key_s_life_by_its_number_is_the_same_key_everywhere() {
    let company = new_company();
    let owner = member_of(&company, Role::Owner);
    let (number, key) = create(
        &owner,
        &company,
        json!({"company_id": company, "role_id": 3, "name": " mcp ", "key_type": "mcp",
            "mcp_deployment_id": "dep-1", "unknown": true}),
    )
    .await;
    assert!(number >= 1);
    assert_eq!(verify(&owner, &key).await["code"], "VALID");

    let read = owner
        .call(Method::GET, &key_path(&company, number), None)
        .await
        .expect(200);
    let data = &read["data"];
    assert_eq!(data["api_key_id"], number, "an integer here: {data}");
    assert_eq!(data["company_id"], company);
    assert_eq!(data["user_id"], owner.id);
    assert_eq!(data["role_id"], 3);
    assert_eq!(data["key_type"], "mcp");
    assert_eq!(data["mcp_deployment_id"], "dep-1");
    assert_eq!(data["endpoint_id"], Value::Null);
    assert_eq!(data["is_system_generated"], false);
    assert_eq!(data["name"], "mcp");
    assert_eq!(data["status"], "active");
    assert_eq!(
        data["masked_key"],
        format!("sk_****{}", &key[key.len() - 4..])
    );
    assert!(!read.to_string().contains(&key), "the key is shown once");

    // The native API sees the same key, with the same number, and reads it by its UUID too.
    let native = owner
        .call(Method::GET, "/api/v1/account/api-keys", None)
        .await
        .expect(200);
    let mine = native
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["number"] == number)
        .unwrap_or_else(|| panic!("numbered in the native list: {native}"))
        .clone();
    let id = mine["id"].as_str().unwrap();
    let by_id = owner
        .call(Method::GET, &key_path(&company, id), None)
        .await
        .expect(200);
    assert_eq!(by_id["data"]["api_key_id"], number);

    // PATCH: role 4 makes it read-only; the key itself never changes.
    let patched = owner
        .call(
            Method::PATCH,
            &key_path(&company, number),
            Some(json!({"role_id": 4, "endpoint_id": "ep-9", "mcp_deployment_id": null})),
        )
        .await
        .expect(200);
    assert_eq!(patched["data"]["api_key_id"], number.to_string());
    let read = owner
        .call(Method::GET, &key_path(&company, number), None)
        .await
        .expect(200);
    assert_eq!(read["data"]["role_id"], 4);
    assert_eq!(read["data"]["read_only"], true);
    assert_eq!(read["data"]["endpoint_id"], "ep-9");
    assert_eq!(read["data"]["mcp_deployment_id"], Value::Null);
    latchkey_tests::in_process::past_the_cache_bound().await;
    assert_eq!(verify(&owner, &key).await["code"], "VALID");
    error(
        owner
            .api
            .send(
                Method::POST,
                &keys(&company),
                &as_key(&key),
                Some(json!({})),
            )
            .await,
        403,
    );

    // Stats: the key with its usage.
    let stats = owner
        .call(
            Method::GET,
            &format!("{}/stats", key_path(&company, number)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(stats["data"]["api_key_id"], number);
    assert!(
        stats["data"]["usage_count"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert_eq!(stats["data"]["daily"].as_array().unwrap().len(), 30);

    // Revoke with a reason: refused everywhere, still readable; a second revoke is a 400.
    let revoke = format!("{}/revoke", key_path(&company, number));
    let revoked = owner
        .call(
            Method::POST,
            &revoke,
            Some(json!({"company_id": company, "role_id": 4, "reason": "leaked"})),
        )
        .await
        .expect(200);
    assert_eq!(revoked["data"]["api_key_id"], number.to_string());
    latchkey_tests::in_process::past_the_cache_bound().await;
    assert_eq!(verify(&owner, &key).await["code"], "REVOKED");
    assert_eq!(owner.key(id).await["status"], "revoked");
    let read = owner
        .call(Method::GET, &key_path(&company, number), None)
        .await
        .expect(200);
    assert_eq!(read["data"]["status"], "revoked");
    assert_eq!(read["data"]["revocation_reason"], "leaked");
    error(owner.call(Method::POST, &revoke, None).await, 400);

    // Delete: gone, and its number is never given again.
    let deleted = owner
        .call(Method::DELETE, &key_path(&company, number), None)
        .await
        .expect(200);
    assert_eq!(deleted["data"]["api_key_id"], number.to_string());
    error(
        owner
            .call(Method::GET, &key_path(&company, number), None)
            .await,
        404,
    );
    let (next, _) = create(
        &owner,
        &company,
        json!({"company_id": company, "role_id": 3}),
    )
    .await;
    assert!(next > number, "{next} after {number}");
}

/// A revoke without a body records the default reason; keys made through the other families
/// are numbered and managed here too.
#[tokio::test]
async fn keys_of_every_family_are_numbered_and_revoked_here() {
    let company = new_company();
    let owner = member_of(&company, Role::Owner);
    let (native_id, native_key) = owner.create_key(json!({"name": "native"})).await;
    let latitude = owner
        .call(Method::POST, "/auth/api_keys", None)
        .await
        .expect(201);
    let latitude_id = latitude["data"]["id"].as_str().unwrap().to_owned();
    let numind = owner
        .call(
            Method::POST,
            "/api/auth/api-keys",
            Some(json!({"name": "numind"})),
        )
        .await
        .expect(200);
    let listed = owner
        .call(Method::GET, &keys(&company), None)
        .await
        .expect(200);
    let data = listed["data"].as_array().unwrap();
    assert_eq!(listed["pagination"]["total"], 3);
    let mut numbers: Vec<u64> = data
        .iter()
        .map(|k| k["api_key_id"].as_u64().unwrap())
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 3, "distinct numbers: {listed}");
    let number_of = |id: &str| {
        let path = key_path(&company, id);
        let owner = owner.clone();
        async move {
            owner.call(Method::GET, &path, None).await.expect(200)["data"]["api_key_id"]
                .as_u64()
                .unwrap()
        }
    };
    let native_number = number_of(&native_id).await;
    assert_eq!(owner.key(&native_id).await["number"], native_number);
    number_of(&latitude_id).await;
    number_of(numind["id"].as_str().unwrap()).await;

    owner
        .call(
            Method::POST,
            &format!("{}/revoke", key_path(&company, native_number)),
            None,
        )
        .await
        .expect(200);
    let native = owner.key(&native_id).await;
    assert_eq!(native["status"], "revoked");
    assert_eq!(native["revocation_reason"], "No reason given");
    latchkey_tests::in_process::past_the_cache_bound().await;
    assert_eq!(verify(&owner, &native_key).await["code"], "REVOKED");
}

#[tokio::test]
async fn the_list_pages_sorts_and_searches() {
    let company = new_company();
    let owner = member_of(&company, Role::Owner);
    for name in ["alpha", "Beta", "gamma", "delta"] {
        latchkey_tests::in_process::a_moment_passes().await;
        create(
            &owner,
            &company,
            json!({"company_id": company, "role_id": 3, "name": name}),
        )
        .await;
    }
    let names = |reply: Value| -> Vec<String> {
        reply["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |query: &'static str| {
        let owner = owner.clone();
        let path = format!("{}?{query}", keys(&company));
        async move { owner.call(Method::GET, &path, None).await }
    };
    let newest_first = list("").await.expect(200);
    assert_eq!(
        names(newest_first.clone()),
        ["delta", "gamma", "Beta", "alpha"]
    );
    assert_eq!(
        newest_first["pagination"],
        json!({"page": 1, "limit": 100, "total": 4})
    );
    assert_eq!(
        names(list("sort_by=name&sort_order=asc").await.expect(200)),
        ["alpha", "Beta", "delta", "gamma"]
    );
    let second = list("sort_by=name&sort_order=asc&limit=3&page=2")
        .await
        .expect(200);
    assert_eq!(names(second.clone()), ["gamma"]);
    assert_eq!(
        second["pagination"],
        json!({"page": 2, "limit": 3, "total": 4})
    );
    let found = list("search=TA&sort_by=date_created&sort_order=asc")
        .await
        .expect(200);
    assert_eq!(names(found.clone()), ["Beta", "delta"]);
    assert_eq!(found["pagination"]["total"], 2);
    assert_eq!(invalid(list("limit=0&page=0").await), ["limit", "page"]);
    for bad in ["limit=101", "sort_by=owner", "sort_order=up", "page=x"] {
        error(list(bad).await, 400);
    }
}

#[tokio::test]
async fn bad_input_is_spartera_s_400_and_nothing_is_written() {
    let company = new_company();
    let owner = member_of(&company, Role::Owner);
    assert_eq!(
        invalid(
            owner
                .call(
                    Method::POST,
                    &keys(&company),
                    Some(json!({"role_id": 0, "key_type": "x"}))
                )
                .await
        ),
        ["company_id", "key_type", "role_id"]
    );
    assert_eq!(
        invalid(
            owner
                .call(
                    Method::POST,
                    &keys(&company),
                    Some(json!({"company_id": "another", "role_id": 3,
                        "name": "n".repeat(101), "endpoint_id": "e".repeat(256),
                        "expiration_date_utc": "2001-01-01T00:00:00"})),
                )
                .await
        ),
        ["company_id", "endpoint_id", "expiration_date_utc", "name"]
    );
    for body in [
        json!({"company_id": company, "role_id": "3"}),
        json!({"company_id": company, "role_id": 3.5}),
        json!({"company_id": company, "role_id": 3, "is_system_generated": "no"}),
        json!([]),
    ] {
        error(
            owner.call(Method::POST, &keys(&company), Some(body)).await,
            400,
        );
    }
    error(
        owner
            .call(
                Method::POST,
                &keys(&company),
                Some(json!({"company_id": company, "role_id": 3, "user_id": "someone-else"})),
            )
            .await,
        403,
    );
    let listed = owner
        .call(Method::GET, &keys(&company), None)
        .await
        .expect(200);
    assert_eq!(listed["data"], json!([]), "nothing was written");

    let unauthenticated = owner
        .api
        .send(Method::GET, &keys(&company), &Auth::None, None)
        .await;
    assert!(unauthenticated.headers.contains_key("www-authenticate"));
    error(unauthenticated, 401);
    for path in ["0", "-1", "x", "99999999999999999999999"] {
        error(
            owner
                .call(Method::GET, &key_path(&company, path), None)
                .await,
            404,
        );
    }
}

/// Owners and admins manage every key of their company, members and viewers their own, no one
/// a role above their own; another company is a 404, even by a number that exists there.
#[tokio::test]
async fn roles_and_companies_bound_what_a_caller_reaches() {
    let company = new_company();
    let (owner, admin, member, viewer) = (
        member_of(&company, Role::Owner),
        member_of(&company, Role::Admin),
        member_of(&company, Role::Member),
        member_of(&company, Role::Viewer),
    );
    let (member_number, _) = create(
        &member,
        &company,
        json!({"company_id": company, "role_id": 3}),
    )
    .await;
    error(
        member
            .call(
                Method::POST,
                &keys(&company),
                Some(json!({"company_id": company, "role_id": 2})),
            )
            .await,
        403,
    );
    error(
        viewer
            .call(
                Method::POST,
                &keys(&company),
                Some(json!({"company_id": company, "role_id": 3})),
            )
            .await,
        403,
    );
    let (viewer_number, viewer_key) = create(
        &viewer,
        &company,
        json!({"company_id": company, "role_id": 4}),
    )
    .await;
    let (owner_number, _) = create(
        &owner,
        &company,
        json!({"company_id": company, "role_id": 1}),
    )
    .await;

    let numbers = |user: User| {
        let path = keys(&company);
        async move {
            let listed = user.call(Method::GET, &path, None).await.expect(200);
            let mut numbers: Vec<u64> = listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["api_key_id"].as_u64().unwrap())
                .collect();
            numbers.sort_unstable();
            numbers
        }
    };
    let mut everyone = vec![member_number, viewer_number, owner_number];
    everyone.sort_unstable();
    assert_eq!(numbers(owner.clone()).await, everyone);
    assert_eq!(numbers(admin.clone()).await, everyone);
    assert_eq!(numbers(member.clone()).await, [member_number]);
    assert_eq!(numbers(viewer.clone()).await, [viewer_number]);

    admin
        .call(
            Method::PATCH,
            &key_path(&company, member_number),
            Some(json!({"name": "renamed by the admin"})),
        )
        .await
        .expect(200);
    error(
        member
            .call(Method::GET, &key_path(&company, owner_number), None)
            .await,
        404,
    );
    // The viewer's read-only key reads, and cannot write.
    viewer
        .api
        .send(Method::GET, &keys(&company), &as_key(&viewer_key), None)
        .await
        .expect(200);
    error(
        viewer
            .api
            .send(
                Method::PATCH,
                &key_path(&company, viewer_number),
                &as_key(&viewer_key),
                Some(json!({"name": "x"})),
            )
            .await,
        403,
    );

    // Another company: its path is a 404, and so is a number that exists only here.
    let elsewhere = new_company();
    let outsider = member_of(&elsewhere, Role::Owner);
    error(outsider.call(Method::GET, &keys(&company), None).await, 404);
    error(
        outsider
            .call(Method::GET, &key_path(&elsewhere, member_number), None)
            .await,
        404,
    );
    error(
        outsider
            .call(Method::DELETE, &key_path(&company, member_number), None)
            .await,
        404,
    );
    assert_eq!(numbers(owner).await, everyone, "nothing was deleted");
}
