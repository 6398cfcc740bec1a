//! The console in process (its router beside every other over memory, `Browser::in_process`):
//! CSRF on every change, forms checked by the domain's rules with errors beside their fields,
//! another user's key a 404, what a visitor without a session meets, and the headers pages and
//! assets carry. Signing in through the provider, sign-out and renewal stay on the stack
//! (`tests/it/http_console.rs`).

use latchkey_tests::console::Browser;
use reqwest::{Method, StatusCode, header};

async fn keys_of(browser: &Browser) -> Vec<serde_json::Value> {
    browser
        .api()
        .send(
            Method::GET,
            "/api/v1/account/api-keys",
            &browser.session(),
            None,
        )
        .await
        .expect(200)
        .as_array()
        .expect("a list")
        .clone()
}

#[tokio::test]
async fn without_a_session_pages_send_you_to_sign_in() {
    let mut browser = Browser::in_process();
    let page = browser.get("/console/keys").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console/signin");
    let htmx = browser
        .send(
            browser
                .http
                .get(format!("{}/console/notifications", browser.base))
                .header("hx-request", "true"),
        )
        .await;
    assert_eq!(htmx.headers["hx-redirect"], "/console/signin");
    let signin = browser.get("/console/signin").await;
    assert_eq!(signin.status, StatusCode::OK);
    assert!(signin.html.contains("href=\"/console/login\""));
}

#[tokio::test]
async fn changes_without_the_sessions_csrf_token_are_refused_and_write_nothing() {
    let mut browser = Browser::in_process_signed_in(&uuid::Uuid::new_v4().to_string());
    let token = browser.get("/console/keys/new").await.csrf();
    let mut other = Browser::in_process_signed_in(&uuid::Uuid::new_v4().to_string());
    let others_token = other.get("/console").await.csrf();
    fn form(csrf: &str) -> Vec<(&str, &str)> {
        vec![("name", "Sneaky"), ("csrf", csrf)]
    }
    for (csrf, why) in [
        ("", "no token"),
        ("forged", "a made-up token"),
        (others_token.as_str(), "another session's token"),
    ] {
        let page = browser.post("/console/keys", &form(csrf)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{why}");
        assert!(
            page.html.contains("did not come from the console"),
            "{why}: {}",
            page.html
        );
    }
    let cross_site = browser
        .send(
            browser
                .http
                .post(format!("{}/console/keys", browser.base))
                .header("sec-fetch-site", "cross-site")
                .form(&form(&token)),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let foreign_origin = browser
        .send(
            browser
                .http
                .post(format!("{}/console/keys", browser.base))
                .header("origin", "https://evil.example")
                .form(&form(&token)),
        )
        .await;
    assert_eq!(foreign_origin.status, StatusCode::FORBIDDEN);
    assert!(keys_of(&browser).await.is_empty(), "nothing was created");

    // The page's own token, in the form or in htmx's header, is what works.
    let made = browser.post("/console/keys", &form(&token)).await;
    assert_eq!(made.status, StatusCode::OK);
    assert!(made.html.contains("You will not see this key again"));
    let read = browser
        .send(
            browser
                .http
                .post(format!("{}/console/notifications/read-all", browser.base))
                .header("x-csrf-token", &token),
        )
        .await;
    assert_eq!(read.status, StatusCode::SEE_OTHER);
    assert_eq!(keys_of(&browser).await.len(), 1);
}

#[tokio::test]
async fn forms_are_checked_by_the_apis_rules_with_errors_beside_their_fields() {
    let mut browser = Browser::in_process_signed_in(&uuid::Uuid::new_v4().to_string());
    let csrf = browser.get("/console/keys/new").await.csrf();
    let page = browser
        .post_refused(
            "/console/keys",
            &[
                ("csrf", csrf.as_str()),
                ("name", "   "),
                ("allowed_ips", "10.0.0.1\nnot-an-address"),
                ("rate_limit", "lots"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.html.contains("id=\"rate_limit-error\""),
        "{}",
        page.html
    );
    let page = browser
        .post_refused(
            "/console/keys",
            &[
                ("csrf", csrf.as_str()),
                ("name", "   "),
                ("allowed_ips", "10.0.0.1\nnot-an-address"),
                ("rate_limit", "0"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    for field in ["name", "allowed_ips", "rate_limit"] {
        assert!(
            page.html.contains(&format!("id=\"{field}-error\"")),
            "{field} has its error beside it: {}",
            page.html
        );
    }
    assert!(
        page.html.contains("not-an-address"),
        "what was sent is kept"
    );
    assert!(keys_of(&browser).await.is_empty(), "nothing was written");

    let profile = browser
        .post_refused(
            "/console/profile",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Ann"),
                ("timezone", "Mars/Olympus"),
                ("date_format", "YYYY-MM-DD"),
                ("time_format", "13h"),
            ],
        )
        .await;
    assert_eq!(profile.status, StatusCode::BAD_REQUEST, "{}", profile.html);
    assert!(
        profile.html.contains("id=\"timezone-error\"")
            && profile.html.contains("id=\"time_format-error\"")
    );
    let erase = browser
        .post_refused(
            "/console/privacy",
            &[
                ("csrf", csrf.as_str()),
                ("scope", "device"),
                ("intent", "estimate"),
            ],
        )
        .await;
    assert_eq!(erase.status, StatusCode::BAD_REQUEST);
    assert!(
        erase.html.contains("id=\"device_ids-error\""),
        "{}",
        erase.html
    );
}

#[tokio::test]
async fn another_users_key_is_a_404_on_every_page_of_it() {
    let mut owner = Browser::in_process_signed_in(&uuid::Uuid::new_v4().to_string());
    let csrf = owner.get("/console/keys/new").await.csrf();
    owner
        .post(
            "/console/keys",
            &[("csrf", csrf.as_str()), ("name", "Mine")],
        )
        .await;
    let id = keys_of(&owner).await[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        owner.get(&format!("/console/keys/{id}")).await.status,
        StatusCode::OK
    );

    let mut stranger = Browser::in_process_signed_in(&uuid::Uuid::new_v4().to_string());
    let theirs = stranger.get("/console").await.csrf();
    for path in ["", "/usage", "/rotate", "/revoke", "/delete"] {
        let page = stranger.get(&format!("/console/keys/{id}{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "GET {path}");
        assert!(page.html.contains("Not Found"));
    }
    let delete = stranger
        .post(
            &format!("/console/keys/{id}/delete"),
            &[("csrf", theirs.as_str())],
        )
        .await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    assert_eq!(
        owner.get(&format!("/console/keys/{id}")).await.status,
        StatusCode::OK,
        "still there"
    );
    for path in [
        "/console/keys/not-a-key",
        &format!("/console/keys/{id}/launch"),
        "/console/privacy/not-a-job",
        "/console/nowhere",
    ] {
        assert_eq!(
            owner.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn pages_are_never_cached_and_assets_are_for_a_year() {
    let mut browser = Browser::in_process_signed_in(&uuid::Uuid::new_v4().to_string());
    let page = browser.get("/console/keys").await;
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        page.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let at = page.html.find("/console/assets/console.").unwrap();
    let css = page.html[at..].split('"').next().unwrap().to_owned();
    let asset = browser.get(&css).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(
        asset.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(
        asset.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert_eq!(
        browser
            .get("/console/assets/console.000000000000.css")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// The audit page: the workspace's events for its owner, their own for a member, keys linked,
/// readable changes, and a filter the domain refuses shown beside its field with a 400.
#[tokio::test]
async fn the_audit_page_shows_whose_change_it_was_to_whom_may_see_it() {
    use latchkey_core::auth::Role;
    let workspace = uuid::Uuid::new_v4().to_string();
    let (owner_id, member_id) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let mut owner =
        Browser::in_process_signed_in_as(&owner_id, Some(&workspace), Some(Role::Owner));
    let mut member =
        Browser::in_process_signed_in_as(&member_id, Some(&workspace), Some(Role::Member));
    for (browser, name) in [(&mut owner, "Owner key"), (&mut member, "Member key")] {
        let csrf = browser.get("/console/keys/new").await.csrf();
        browser
            .post("/console/keys", &[("csrf", csrf.as_str()), ("name", name)])
            .await;
    }
    let owner_key = keys_of(&owner).await[0]["id"].as_str().unwrap().to_owned();

    let all = owner.get("/console/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.html.contains("Every change in this workspace"));
    assert!(
        all.html
            .contains(&format!("href=\"/console/keys/{owner_key}\""))
    );
    assert!(
        all.html.contains("key Owner key") && all.html.contains("key Member key"),
        "{}",
        all.html
    );
    assert!(
        all.html.contains("name</span>: — → Owner key"),
        "{}",
        all.html
    );
    assert!(all.html.contains(">console<"), "made through the console");

    let own = member.get("/console/audit").await;
    assert!(own.html.contains("key Member key"));
    assert!(
        !own.html.contains("key Owner key"),
        "a member sees their own"
    );

    let refused = owner
        .get("/console/audit?action=&since=2026-12-09&until=2026-12-01&actor_id=x")
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains("id=\"since-error\""),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("value=\"x\""), "the filters are kept");
    let filtered = owner
        .get(&format!("/console/audit?target_id={owner_key}"))
        .await;
    assert!(filtered.html.contains("key Owner key"));
    assert!(!filtered.html.contains("key Member key"));
}
