//! The console over HTTP against the local stack: signing in through the provider into
//! `HttpOnly` cookies, sign-out revoking the session, CSRF on every change, forms checked by the
//! API's rules with errors beside their fields, another user's key a 404, the session renewed
//! from its refresh cookie, and the headers pages and assets carry. (The browser suite,
//! `tests/browser`, drives the same pages in Chromium.)

use latchkey_tests::{
    Api, Auth,
    console::{Browser, Page},
    past_the_cache_bound, through_the_provider,
};
use reqwest::{Method, StatusCode, Url, header};

fn cookie_named<'a>(page: &'a Page, name: &str) -> &'a str {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

async fn keys_of(browser: &Browser) -> Vec<serde_json::Value> {
    latchkey_tests::keys_of(&browser.session()).await
}

#[tokio::test]
async fn signing_in_sets_httponly_cookies_and_signing_out_revokes_the_session() {
    let mut browser = Browser::new();
    let start = browser.get("/console/login").await;
    let state = cookie_named(&start, "latchkey_console_signin");
    assert!(
        state.contains("Path=/console/callback") && state.contains("HttpOnly"),
        "{state}"
    );
    let mut at_provider = Url::parse(start.location()).unwrap();
    at_provider
        .query_pairs_mut()
        .append_pair("login_hint", &uuid::Uuid::new_v4().to_string());
    let back = through_the_provider(
        at_provider.as_str(),
        &format!("{}/console/callback", browser.base),
    )
    .await;
    let done = browser
        .get(&format!(
            "/console/callback?{}",
            serde_urlencoded::to_string(&back).unwrap()
        ))
        .await;
    for name in ["latchkey_console", "latchkey_console_refresh"] {
        let cookie = cookie_named(&done, name);
        assert!(
            cookie.contains("Path=/console")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && !cookie.contains("Secure"),
            "on a local host the cookie is HttpOnly, Lax and not Secure: {cookie}"
        );
    }
    let dashboard = browser.get("/console").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.html.contains("<h1>Dashboard</h1>"));
    let session = browser.session();
    Api::new()
        .send(Method::GET, "/api/v1/account/me", &session, None)
        .await
        .expect(200);

    let out = browser
        .post("/console/signout", &[("csrf", &dashboard.csrf())])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/console/signin?signed_out=1");
    assert!(browser.cookies.is_empty(), "sign-out clears both cookies");
    past_the_cache_bound().await;
    Api::new()
        .send(Method::GET, "/api/v1/account/me", &session, None)
        .await
        .expect(401);
    let Auth::Bearer(token) = session else {
        unreachable!()
    };
    browser.cookies.insert("latchkey_console".into(), token);
    let again = browser.get("/console/keys").await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "the revoked cookie signs nobody in"
    );
    assert_eq!(again.location(), "/console/signin");
}

#[tokio::test]
async fn a_callback_without_this_browsers_sign_in_state_fails() {
    let mut browser = Browser::new();
    let start = browser.get("/console/login").await;
    let mut at_provider = Url::parse(start.location()).unwrap();
    at_provider
        .query_pairs_mut()
        .append_pair("login_hint", "someone");
    let back = through_the_provider(
        at_provider.as_str(),
        &format!("{}/console/callback", browser.base),
    )
    .await;
    // Another browser (no state cookie) brings the code back: refused, nothing signed in.
    let mut other = Browser::new();
    let done = other
        .get(&format!(
            "/console/callback?{}",
            serde_urlencoded::to_string(&back).unwrap()
        ))
        .await;
    assert_eq!(done.location(), "/console/signin?failed=1");
    assert!(other.cookies.is_empty());
    // A state that is not the one this browser started with: refused too.
    let mut forged = back.clone();
    forged.insert("state".into(), "not-the-state".into());
    let done = browser
        .get(&format!(
            "/console/callback?{}",
            serde_urlencoded::to_string(&forged).unwrap()
        ))
        .await;
    assert_eq!(done.location(), "/console/signin?failed=1");
    assert!(!browser.cookies.contains_key("latchkey_console"));
}

#[tokio::test]
async fn without_a_session_pages_send_you_to_sign_in() {
    let mut browser = Browser::new();
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
    let mut browser = Browser::signed_in(&uuid::Uuid::new_v4().to_string()).await;
    let token = browser.get("/console/keys/new").await.csrf();
    let mut other = Browser::signed_in(&uuid::Uuid::new_v4().to_string()).await;
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
    let mut browser = Browser::signed_in(&uuid::Uuid::new_v4().to_string()).await;
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
    let mut owner = Browser::signed_in(&uuid::Uuid::new_v4().to_string()).await;
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

    let mut stranger = Browser::signed_in(&uuid::Uuid::new_v4().to_string()).await;
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
async fn an_expired_session_is_renewed_from_the_refresh_cookie() {
    let mut browser = Browser::signed_in(&uuid::Uuid::new_v4().to_string()).await;
    let refresh = browser.cookies["latchkey_console_refresh"].clone();
    browser
        .cookies
        .insert("latchkey_console".into(), "expired.or.garbage".into());
    let page = browser.get("/console/keys").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let renewed = cookie_named(&page, "latchkey_console_refresh");
    assert!(
        !renewed.contains(&refresh),
        "the refresh token was spent and replaced"
    );
    assert_ne!(browser.cookies["latchkey_console"], "expired.or.garbage");
    Api::new()
        .send(Method::GET, "/api/v1/account/me", &browser.session(), None)
        .await
        .expect(200);
}

#[tokio::test]
async fn pages_are_never_cached_and_assets_are_for_a_year() {
    let mut browser = Browser::signed_in(&uuid::Uuid::new_v4().to_string()).await;
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
