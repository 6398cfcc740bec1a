//! Answers of numind's sign-in routes (camelCase).

use serde::Serialize;

use latchkey_core::sessions::Tokens;

/// TokenResponse.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NumindTokenResponse)]
pub struct TokenResponse {
    /// The session token (JWTBearer).
    token: String,
    /// Its lifetime in seconds.
    expires_in: i64,
    /// The refresh token: good once, replaced by every refresh.
    refresh_token: String,
    /// The refresh token's lifetime in seconds.
    refresh_expires_in: i64,
}

impl From<Tokens> for TokenResponse {
    fn from(tokens: Tokens) -> Self {
        Self {
            token: tokens.token,
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh.expose().to_owned(),
            refresh_expires_in: tokens.refresh_expires_in,
        }
    }
}

/// User: the signed-in user as numind shows them.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NumindUser)]
pub struct User {
    /// Email.
    pub email: String,
    /// Staff or superuser.
    pub is_admin: bool,
    /// Their organization (workspace).
    pub organizations: Vec<Organization>,
}

/// An organization (workspace).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = NumindOrganization)]
pub struct Organization {
    /// The workspace id.
    pub id: String,
    /// Its name (the profile's company, or the id).
    pub name: String,
}

/// A logout's answer: `{}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = NumindLoggedOut)]
pub struct LoggedOut {}
