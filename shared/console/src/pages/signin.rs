//! Signing in and out: the sign-in page, the start of the OpenID Connect code flow (the same
//! [`SignIn`](latchkey_core::sessions::SignIn) numind's `/api/auth` uses), its callback, and sign-out,
//! which revokes the session.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, header},
    response::{AppendHeaders, IntoResponse, Redirect, Response},
};
use latchkey_core::Error;
use latchkey_http::ApiError;
use latchkey_http::{RequestOrigin, cookie, is_local, set_cookie};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::{
    console::Shared,
    page::{Links, Page, render},
    visitor::{REFRESH_COOKIE, SIGN_IN_PAGE, Visitor, cleared_cookies, session_cookies},
};

/// The cookie carrying a sign-in's state from its start to its callback.
const STATE_COOKIE: &str = "latchkey_console_signin";
const CALLBACK_PATH: &str = "/console/callback";

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    links: Links,
    notice: Option<&'static str>,
}

/// Query of the sign-in page: why the visitor is here.
#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    failed: Option<String>,
}

/// `GET /console/signin`.
pub async fn page(Query(q): Query<SignInQuery>) -> Result<Page, ApiError> {
    let notice = if q.signed_out.is_some() {
        Some("You are signed out. Your session was ended everywhere.")
    } else if q.failed.is_some() {
        Some(
            "That sign-in did not complete (it was cancelled, expired or used already). Try again.",
        )
    } else {
        None
    };
    render(&SignInPage {
        links: Links,
        notice,
    })
}

/// Where the provider sends the browser back: this host's callback (http only on a local host).
fn callback_url(headers: &HeaderMap) -> Result<String, Error> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| Error::invalid_field("Host", "is required"))?;
    let scheme = if is_local(headers) { "http" } else { "https" };
    Ok(format!("{scheme}://{host}{CALLBACK_PATH}"))
}

/// `GET /console/login`: to the provider's authorization URL, the sign-in's state in a cookie
/// only the callback receives. The callback URL must be one of the allowed redirect URIs.
pub async fn start(
    State(console): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let redirect = callback_url(&headers)?;
    let (url, state) = console.sign_in.authorization_url(&redirect).await?;
    let cookie = set_cookie(&headers, STATE_COOKIE, &state, CALLBACK_PATH, 600);
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Redirect::to(&url),
    )
        .into_response())
}

/// Query of the provider's redirect back.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /console/callback`: the code exchanged for a session, whose tokens go into `HttpOnly`
/// cookies. The state must be the one this browser's sign-in started with.
pub async fn finish(
    State(console): State<Shared>,
    headers: HeaderMap,
    RequestOrigin(origin): RequestOrigin,
    Query(q): Query<Callback>,
) -> Result<Response, ApiError> {
    let failed = || Redirect::to(&format!("{SIGN_IN_PAGE}?failed=1")).into_response();
    let started = cookie(&headers, STATE_COOKIE);
    let (Some(code), Some(state), Some(started)) = (q.code, q.state, started) else {
        return Ok(failed());
    };
    if !bool::from(state.as_bytes().ct_eq(started.as_bytes())) {
        return Ok(failed());
    }
    let tokens = match console
        .sign_in
        .exchange(&code, &callback_url(&headers)?, &state, &origin)
        .await
    {
        Ok(tokens) => tokens,
        Err(Error::Validation { .. } | Error::Unauthenticated(_)) => return Ok(failed()),
        Err(err) => return Err(err.into()),
    };
    let [session, refresh] = session_cookies(&headers, &tokens);
    let spent = set_cookie(&headers, STATE_COOKIE, "", CALLBACK_PATH, 0);
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, session),
            (header::SET_COOKIE, refresh),
            (header::SET_COOKIE, spent),
        ]),
        Redirect::to("/console"),
    )
        .into_response())
}

/// `POST /console/signout`: the session revoked (every function refuses it within the cache
/// bound) and its cookies cleared.
pub async fn sign_out(
    State(console): State<Shared>,
    visitor: Visitor,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let refresh = cookie(&headers, REFRESH_COOKIE);
    console
        .sign_in
        .logout(
            &visitor.identity,
            refresh.as_deref(),
            &visitor.caller.origin,
        )
        .await?;
    let [session, refresh] = cleared_cookies(&headers);
    Ok((
        AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, refresh)]),
        Redirect::to(&format!("{SIGN_IN_PAGE}?signed_out=1")),
    )
        .into_response())
}
