//! The console over HTTP against the local stack, where only the stack can show it: signing in
//! through the provider into `HttpOnly` cookies, sign-out revoking the session, a callback without
//! the browser's sign-in state, and the session renewed from its refresh cookie. (The rest of the
//! console's behaviour is tested in process, `tests/in_process/console.rs`; the browser suite,
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
