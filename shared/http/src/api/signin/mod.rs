//! numind's sign-in routes (`/api/auth`, `/api/auth/token`, `/api/auth/logout`, `/api/auth/me`),
//! served by the auth function over [`latchkey_core::sessions::SignIn`].
//!
//! numind's TokenCodeRequest carries only the code and the redirect URI, so the sign-in's
//! `state` (which the PKCE verifier and the nonce are derived from) travels in an `HttpOnly`
//! cookie `GET /api/auth` sets, as a browser keeps it; a client that keeps the state itself may
//! send it as `state` instead.

pub mod input;
pub mod view;

use crate::callers::{SESSION_OR_KEY, secured};
use crate::responses::{Errors, status::*};
use crate::{Authenticated, RequestOrigin};
use std::sync::Arc;

use axum::{
    extract::{FromRef, State},
    http::{HeaderMap, header},
    response::{AppendHeaders, IntoResponse},
};
use bytes::Bytes;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{
    input::{AuthQuery, Grant, TokenRequest},
    view::{LoggedOut, Organization, TokenResponse, User},
};
use crate::Result;
use crate::{Json, Query, cookie, set_cookie};
use latchkey_core::{
    auth::{Authenticator, oidc::invalid_grant},
    profiles::ProfileStore,
    sessions::SignIn,
    wiring::Wiring,
};

/// The cookie that carries a sign-in's state from `GET /api/auth` to the code exchange.
pub const STATE_COOKIE: &str = "latchkey_signin";

/// What the sign-in routes use.
#[derive(Clone)]
pub struct SignInApi {
    /// The sign-in use cases.
    pub sign_in: Arc<SignIn>,
    /// Authentication of callers.
    pub auth: Arc<Authenticator>,
    /// Profiles, for `me`.
    pub profiles: Arc<dyn ProfileStore>,
}

impl SignInApi {
    /// Takes what the routes use from `wiring`, with the sign-in it built.
    pub fn wire(wiring: &Wiring, sign_in: Arc<SignIn>) -> Self {
        Self {
            sign_in,
            auth: wiring.auth(),
            profiles: wiring.profiles(),
        }
    }
}

impl FromRef<SignInApi> for Arc<Authenticator> {
    fn from_ref(state: &SignInApi) -> Self {
        state.auth.clone()
    }
}

/// The auth function's router.
pub fn router(state: SignInApi) -> axum::Router {
    super::mount(routes(), state)
}

/// The family's routes, each with its operation in the document.
pub(super) fn routes() -> OpenApiRouter<SignInApi> {
    let signed_in = OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(me));
    // Signing in is what a caller does before it has anything to authenticate with.
    secured(signed_in, SESSION_OR_KEY)
        .routes(routes!(authorization_url))
        .routes(routes!(token))
}

type Svc = State<SignInApi>;

#[utoipa::path(
    get, path = "/api/auth", tag = "numind", operation_id = "numind_authorization_url",
    summary = "Start a sign-in",
    description = "The identity provider's authorization URL (code flow, `state`, `nonce`, PKCE \
        S256), as a JSON string, never a redirect. `redirectUri` must be exactly one of the \
        allowed ones. Sets the `HttpOnly` cookie `latchkey_signin` holding the state, which the \
        code exchange reads (or takes `state` from its body).",
    params(AuthQuery),
    responses(
        (status = 200, description = "The authorization URL.", body = String,
            content_type = "application/json"),
        Errors<{ BAD_REQUEST | UNAVAILABLE }>,
    ),
)]
async fn authorization_url(
    State(s): Svc,
    headers: HeaderMap,
    Query(query): Query<AuthQuery>,
) -> Result<impl IntoResponse> {
    let (url, state) = s.sign_in.authorization_url(&query.redirect_uri()?).await?;
    let cookie = set_cookie(&headers, STATE_COOKIE, &state, "/api/auth", 600);
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        axum::Json(url),
    ))
}

#[utoipa::path(
    post, path = "/api/auth/token", tag = "numind", operation_id = "numind_token",
    summary = "Finish a sign-in, or refresh",
    description = "`TokenCodeRequest`: the code is exchanged server-side with the client secret \
        and PKCE verifier, the id token verified (signature, issuer, audience, expiry, nonce), and \
        a session made. `TokenRefreshRequest`: the refresh token is spent and replaced; one \
        presented a second time revokes its whole session. A bad, used or expired code or token: \
        400 `invalid_grant`.",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The session.", body = TokenResponse),
        Errors<{ BAD_REQUEST | UNAVAILABLE }>,
    ),
)]
async fn token(
    State(s): Svc,
    headers: HeaderMap,
    RequestOrigin(origin): RequestOrigin,
    Json(body): Json<TokenRequest>,
) -> Result<axum::Json<TokenResponse>> {
    let tokens = match body.parse()? {
        Grant::Code {
            code,
            redirect_uri,
            state,
        } => {
            let state = state
                .or_else(|| cookie(&headers, STATE_COOKIE))
                .ok_or_else(|| {
                    invalid_grant("the sign-in's state is missing (the cookie GET /api/auth set)")
                })?;
            s.sign_in
                .exchange(&code, &redirect_uri, &state, &origin)
                .await?
        }
        Grant::Refresh { token } => s.sign_in.refresh(&token, &origin).await?,
    };
    Ok(axum::Json(tokens.into()))
}

#[utoipa::path(
    post, path = "/api/auth/logout", tag = "numind", operation_id = "numind_logout",
    summary = "Log out",
    description = "Body: a JSON string, the session's refresh token (or `\"\"`). Revokes the \
        session and the presenting token, which every function refuses within the cache bound \
        (30 s). With an API key: 403.",
    request_body(content = Option<String>, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged out.", body = LoggedOut),
        Errors<{ BAD_REQUEST | UNAUTHENTICATED | FORBIDDEN }>,
    ),
    security(("JWTBearer" = [])),
)]
async fn logout(
    State(s): Svc,
    headers: HeaderMap,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> Result<axum::Json<LoggedOut>> {
    let presenting = s.auth.session_of(&headers).await?;
    let refresh = input::logout_body(&body)?;
    s.sign_in
        .logout(&presenting, refresh.as_deref(), &origin)
        .await?;
    Ok(axum::Json(LoggedOut {}))
}

#[utoipa::path(
    get, path = "/api/auth/me", tag = "numind", operation_id = "numind_me",
    summary = "The signed-in user",
    responses(
        (status = 200, description = "The user.", body = User),
        Errors<{ UNAUTHENTICATED | RATE_LIMITED }>,
    ),
)]
async fn me(State(s): Svc, Authenticated(caller): Authenticated) -> Result<axum::Json<User>> {
    let profile = s.profiles.get(&caller.user_id).await?;
    let workspace = caller.workspace_id.to_string();
    let (email, is_admin, name) = match profile {
        Some(p) => (
            p.email,
            p.is_staff || p.is_superuser,
            p.company.filter(|c| !c.is_empty()),
        ),
        None => (String::new(), false, None),
    };
    Ok(axum::Json(User {
        email,
        is_admin,
        organizations: vec![Organization {
            name: name.unwrap_or_else(|| workspace.clone()),
            id: workspace,
        }],
    }))
}
