//! The signed-in visitor of a console page: the session cookie verified (and renewed with the
//! refresh cookie once the session token has expired), every change's CSRF token checked, and
//! what every page shows of them (name, unread notifications, time preferences) loaded once.

use axum::{
    body::{Body, to_bytes},
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use latchkey_core::{
    Error,
    audit::Origin,
    auth::{Caller, oidc::Identity},
    sessions::Tokens,
};
use latchkey_http::{ApiError, MAX_BODY_BYTES, cookie, set_cookie};

use crate::{console::Shared, display::Display, form::Fields};

/// The cookie holding the session token.
pub const SESSION_COOKIE: &str = "latchkey_console";
/// The cookie holding the session's refresh token.
pub const REFRESH_COOKIE: &str = "latchkey_console_refresh";
/// The path both are sent to.
pub const COOKIE_PATH: &str = "/console";
/// Where a visitor without a session is sent.
pub const SIGN_IN_PAGE: &str = "/console/signin";
/// The header htmx requests carry the CSRF token in (forms carry the field `csrf`).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in user, as every page sees them.
#[derive(Clone, Debug)]
pub struct Visitor {
    /// The caller the use cases act for.
    pub caller: Caller,
    /// The session's token identity (its session id is what sign-out revokes).
    pub identity: Identity,
    /// The session's CSRF token, for every form and htmx request.
    pub csrf: String,
    /// Their time preferences.
    pub display: Display,
    /// Their name, or email.
    pub name: String,
    /// Unread notifications.
    pub unread: u64,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| ApiError(Error::Unauthenticated("Sign in to use the console.".into())))
    }
}

/// The middleware in front of every signed-in page.
pub async fn admit(State(console): State<Shared>, request: Request, next: Next) -> Response {
    let headers = request.headers().clone();
    let (parts, body) = request.into_parts();
    let origin = latchkey_http::ClientContext::of(&parts).origin(&parts);
    let request = Request::from_parts(parts, body);
    let from_cookie = match cookie(&headers, SESSION_COOKIE) {
        Some(token) => console.auth.session(&token).await,
        None => Err(Error::Unauthenticated("no session cookie".into())),
    };
    let (signed_in, renewed) = match from_cookie {
        Ok(signed_in) => (signed_in, None),
        Err(Error::Unauthenticated(_)) => match renew(&console, &headers, &origin).await {
            Ok(Some((tokens, signed_in))) => (signed_in, Some(tokens)),
            Ok(None) => return signed_out(&headers),
            Err(err) => return ApiError(err).into_response(),
        },
        Err(err) => return ApiError(err).into_response(),
    };
    let (mut caller, identity) = signed_in;
    caller.origin = origin;
    let Some(session) = identity.session_id.clone() else {
        return signed_out(&headers);
    };
    let request = match checked(&console, &session, request).await {
        Ok(request) => request,
        Err(err) => return ApiError(err).into_response(),
    };
    let mut request = request;
    let (profile, unread) = tokio::join!(
        console.profiles.of(&caller.user_id),
        console.notifications.unread_count(&caller.user_id),
    );
    let (display, name) = match &profile {
        Ok(p) => (
            Display::of(p),
            if p.name.is_empty() {
                p.email.clone()
            } else {
                p.name.clone()
            },
        ),
        Err(_) => (Display::default(), caller.user_id.to_string()),
    };
    request.extensions_mut().insert(Visitor {
        csrf: console.csrf.token(&session),
        caller,
        identity,
        display,
        name,
        unread: unread.unwrap_or(0),
    });
    let mut response = next.run(request).await;
    if let Some(tokens) = renewed {
        for cookie in session_cookies(&headers, &tokens) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// A new session token from the refresh cookie, when there is one that is still good.
async fn renew(
    console: &Shared,
    headers: &HeaderMap,
    origin: &Origin,
) -> Result<Option<(Tokens, (Caller, Identity))>, Error> {
    let Some(refresh) = cookie(headers, REFRESH_COOKIE) else {
        return Ok(None);
    };
    let tokens = match console.sign_in.refresh(&refresh, origin).await {
        Ok(tokens) => tokens,
        Err(Error::Validation { .. } | Error::Unauthenticated(_)) => return Ok(None),
        Err(err) => return Err(err),
    };
    let signed_in = console.auth.session(&tokens.token).await?;
    Ok(Some((tokens, signed_in)))
}

/// The cookies of a new or renewed session.
pub fn session_cookies(headers: &HeaderMap, tokens: &Tokens) -> [HeaderValue; 2] {
    [
        set_cookie(
            headers,
            SESSION_COOKIE,
            &tokens.token,
            COOKIE_PATH,
            tokens.expires_in,
        ),
        set_cookie(
            headers,
            REFRESH_COOKIE,
            tokens.refresh.expose(),
            COOKIE_PATH,
            tokens.refresh_expires_in,
        ),
    ]
}

/// The cookies that end a session in the browser.
pub fn cleared_cookies(headers: &HeaderMap) -> [HeaderValue; 2] {
    [
        set_cookie(headers, SESSION_COOKIE, "", COOKIE_PATH, 0),
        set_cookie(headers, REFRESH_COOKIE, "", COOKIE_PATH, 0),
    ]
}

/// To the sign-in page (htmx follows `HX-Redirect`), forgetting any stale cookies.
fn signed_out(headers: &HeaderMap) -> Response {
    let mut response = if headers.contains_key("hx-request") {
        (StatusCode::OK, [("hx-redirect", SIGN_IN_PAGE)]).into_response()
    } else {
        Redirect::to(SIGN_IN_PAGE).into_response()
    };
    if cookie(headers, SESSION_COOKIE).is_some() || cookie(headers, REFRESH_COOKIE).is_some() {
        for cookie in cleared_cookies(headers) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// A change (any method but GET and HEAD) must come from the console's own pages: not from
/// another site (`Sec-Fetch-Site`, `Origin`), and with the session's CSRF token in the header
/// htmx sends or in the form's `csrf` field. The body is read here (within the API's body
/// limit) and handed on unchanged.
async fn checked(console: &Shared, session: &str, request: Request) -> Result<Request, Error> {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return Ok(request);
    }
    let refused = || {
        Error::Forbidden(
            "This change did not come from the console's own page, or the page is from an \
             earlier session: reload it and try again."
                .into(),
        )
    };
    let headers = request.headers();
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| !matches!(site.as_bytes(), b"same-origin" | b"none"))
        || cross_origin(headers)
    {
        return Err(refused());
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| Error::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        })?;
    let presented = match parts.headers.get(CSRF_HEADER) {
        Some(value) => value.to_str().ok().map(str::to_owned),
        None => Fields::parse(&bytes).ok().and_then(|f| f.text("csrf")),
    };
    if !presented.is_some_and(|token| console.csrf.check(session, &token)) {
        return Err(refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Whether `Origin` names another host than the request's.
fn cross_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin.split_once("://").map(|(_, rest)| rest) != Some(host)
}
