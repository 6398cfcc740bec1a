//! JWTBearer: HS256 session tokens with a configured secret, issuer and audience.
//!
//! The algorithm is pinned, so `alg: none` and switched algorithms fail like a bad signature.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::Role;
use crate::{config::JwtSettings, error::Error};

/// The claims of a session token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The workspace; absent means the user's personal workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// The role in that workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Expiry (epoch seconds).
    pub exp: i64,
    /// Issued at (epoch seconds).
    #[serde(default)]
    pub iat: i64,
    /// Not before (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The sign-in session the token belongs to (sessions Latchkey issues at sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

impl From<Claims> for super::oidc::Identity {
    fn from(claims: Claims) -> Self {
        Self {
            sub: claims.sub,
            email: claims.email,
            name: claims.name,
            workspace_id: claims.workspace_id,
            role: claims.role,
            token_id: claims.jti,
            session_id: claims.sid,
            expires_at: claims.exp,
            issued_at: Some(claims.iat),
            nonce: None,
        }
    }
}

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECONDS: u64 = 5;

/// Verifies session tokens.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    /// A verifier for `settings`.
    pub fn new(settings: &JwtSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Self {
            key: DecodingKey::from_secret(settings.secret.as_bytes()),
            validation,
        }
    }

    /// The token's claims, or a 401 saying what is wrong with it.
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        use jsonwebtoken::errors::ErrorKind;
        decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| {
                let why = match err.kind() {
                    ErrorKind::ExpiredSignature => "the session token has expired",
                    ErrorKind::ImmatureSignature => "the session token is not valid yet",
                    ErrorKind::InvalidIssuer => "the session token has the wrong issuer",
                    ErrorKind::InvalidAudience => "the session token has the wrong audience",
                    _ => "the session token is invalid",
                };
                Error::Unauthenticated(format!("Authentication failed: {why}."))
            })
    }
}

/// Signs session tokens: the sessions of a sign-in, and the dev-token command's.
pub struct JwtIssuer {
    key: EncodingKey,
    settings: JwtSettings,
}

impl JwtIssuer {
    /// An issuer for `settings`.
    pub fn new(settings: &JwtSettings) -> Self {
        Self {
            key: EncodingKey::from_secret(settings.secret.as_bytes()),
            settings: settings.clone(),
        }
    }

    /// Claims for `sub` valid for `ttl_seconds` from now, with this deployment's issuer and audience.
    pub fn claims(&self, sub: &str, ttl_seconds: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: sub.to_owned(),
            email: None,
            name: None,
            workspace_id: None,
            role: None,
            exp: now + ttl_seconds,
            iat: now,
            nbf: None,
            jti: Some(uuid::Uuid::new_v4().to_string()),
            sid: None,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
        }
    }

    /// Signs `claims` with HS256.
    pub fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .expect("HS256 signing cannot fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JwtSettings {
        JwtSettings {
            secret: "0123456789abcdef0123456789abcdef".into(),
            issuer: "latchkey-test".into(),
            audience: "latchkey-api".into(),
        }
    }

    fn b64(bytes: &[u8]) -> String {
        use base64ct::{Base64UrlUnpadded, Encoding};
        Base64UrlUnpadded::encode_string(bytes)
    }

    #[test]
    fn round_trip() {
        let issuer = JwtIssuer::new(&settings());
        let claims = issuer.claims("user-1", 60);
        let verified = JwtVerifier::new(&settings())
            .verify(&issuer.sign(&claims))
            .unwrap();
        assert_eq!(verified, claims);
    }

    #[test]
    fn rejects_expired_wrong_issuer_audience_and_signature() {
        let verifier = JwtVerifier::new(&settings());
        let issuer = JwtIssuer::new(&settings());
        let mut expired = issuer.claims("u", 60);
        expired.exp -= 3600;
        let mut wrong_iss = issuer.claims("u", 60);
        wrong_iss.iss = "someone-else".into();
        let mut wrong_aud = issuer.claims("u", 60);
        wrong_aud.aud = "other-api".into();
        let mut future = issuer.claims("u", 60);
        future.nbf = Some(future.iat + 3600);
        for claims in [expired, wrong_iss, wrong_aud, future] {
            assert!(
                verifier.verify(&issuer.sign(&claims)).is_err(),
                "{claims:?}"
            );
        }
        let other_secret = JwtIssuer::new(&JwtSettings {
            secret: "another-secret-another-secret-xx".into(),
            ..settings()
        });
        assert!(
            verifier
                .verify(&other_secret.sign(&issuer.claims("u", 60)))
                .is_err()
        );
    }

    #[test]
    fn rejects_alg_none_and_switched_algorithms() {
        let verifier = JwtVerifier::new(&settings());
        let claims = JwtIssuer::new(&settings()).claims("u", 60);
        let payload = b64(serde_json::to_string(&claims).unwrap().as_bytes());
        let none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(verifier.verify(&none).is_err());
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(settings().secret.as_bytes()),
        )
        .unwrap();
        assert!(verifier.verify(&hs512).is_err());
    }

    #[test]
    fn rejects_unknown_roles() {
        let issuer = JwtIssuer::new(&settings());
        let claims = serde_json::json!({
            "sub": "u", "exp": chrono::Utc::now().timestamp() + 60, "iss": "latchkey-test",
            "aud": "latchkey-api", "role": "superuser"
        });
        let token = encode(&Header::new(Algorithm::HS256), &claims, &issuer.key).unwrap();
        assert!(JwtVerifier::new(&settings()).verify(&token).is_err());
    }
}
