//! JWTBearer from a configured OpenID Connect issuer (Cognito, Auth0, Okta, ...): its access and
//! id tokens, verified against the issuer's JWKS, are sessions like Latchkey's own.
//!
//! - Keys come from the `jwks_uri` of the issuer's discovery document, fetched on first use and
//!   cached. A token whose `kid` is not cached makes the verifier fetch them again, at most once
//!   per [`REFETCH_INTERVAL`], so a flood of made-up `kid`s costs the issuer one request a
//!   minute per container, and a rotated key is picked up within a minute.
//! - RS256 (RSA keys) and ES256 (P-256 keys) only, and the algorithm comes from the key: a token
//!   whose header names another is refused before any signature check, so `alg: none` and an
//!   HS256 token "signed" with the public key fail like a forged one.
//! - `iss` must be the issuer; `aud` (id tokens) or `client_id` (Cognito access tokens) one of the
//!   configured audiences; `exp` and `nbf` hold, with [`LEEWAY_SECONDS`] of clock skew.
//! - The issuer unreachable with no keys cached: 503, never a pass and never a 500.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation, decode, decode_header,
    jwk::{AlgorithmParameters, EllipticCurve, JwkSet},
};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use super::Role;
use crate::{config::OidcSettings, error::Error};

/// The shortest time between two fetches of the issuer's keys.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 60;
/// How long one request to the issuer may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// Who a verified token says the caller is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user id (`sub`).
    pub sub: String,
    /// The user's email, if the token carries one.
    pub email: Option<String>,
    /// The user's name, if the token carries one.
    pub name: Option<String>,
    /// The workspace claim's value, if any.
    pub workspace_id: Option<String>,
    /// The role claim's first known role, if any.
    pub role: Option<Role>,
    /// The token's id (`jti`), which a logout can revoke.
    pub token_id: Option<String>,
    /// The Latchkey session the token belongs to (`sid`), which can be revoked as a whole.
    pub session_id: Option<String>,
    /// The token's expiry (`exp`, epoch seconds).
    pub expires_at: i64,
    /// When the token was issued (`iat`, epoch seconds), if it says.
    pub issued_at: Option<i64>,
    /// The `nonce` of an id token.
    pub nonce: Option<String>,
}

/// A verification key and the one algorithm it verifies.
#[derive(Clone)]
struct VerifyingKey {
    key: DecodingKey,
    algorithm: Algorithm,
}

/// The issuer's keys this container holds, by `kid`.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, VerifyingKey>,
}

/// Verifies tokens of one OpenID Connect issuer.
pub struct OidcVerifier {
    settings: OidcSettings,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
    /// When the keys were last fetched (or a fetch was last tried): the refetch gate.
    last_fetch: Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
}

/// Where the issuer signs users in and exchanges codes, from its discovery document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// The authorization endpoint.
    pub authorization: String,
    /// The token endpoint.
    pub token: String,
}

/// A grant (a code, a refresh token, an id token) that cannot be used: 400 `invalid_grant`.
pub fn invalid_grant(why: &str) -> Error {
    Error::InvalidState {
        code: "invalid_grant",
        detail: format!("The grant is invalid: {why}."),
    }
}

fn refused(why: &str) -> Error {
    Error::Unauthenticated(format!("Authentication failed: {why}."))
}

fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Unavailable {
        retry_after: 2,
        cause: cause.into(),
    }
}

impl OidcVerifier {
    /// A verifier for the issuer `settings` name.
    pub fn new(settings: OidcSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .expect("a client with a timeout builds");
        Self {
            settings,
            http,
            keys: RwLock::default(),
            last_fetch: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times this verifier has fetched the issuer's keys (a metric, and the refetch
    /// test's witness).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The issuer whose tokens this verifier accepts.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The identity `token` carries, a 401 saying what is wrong with it, or a 503 when the
    /// issuer's keys cannot be had.
    pub async fn verify(&self, token: &str) -> Result<Identity, Error> {
        let header = decode_header(token).map_err(|_| refused("the token is malformed"))?;
        let kid = header
            .kid
            .ok_or_else(|| refused("the token names no signing key (kid)"))?;
        let key = self.key(&kid).await?;
        if header.alg != key.algorithm {
            return Err(refused("the token's algorithm is not its key's"));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        let claims = decode::<HashMap<String, Value>>(token, &key.key, &validation)
            .map_err(|err| {
                use jsonwebtoken::errors::ErrorKind;
                refused(match err.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    ErrorKind::InvalidIssuer => "the token has the wrong issuer",
                    _ => "the token is invalid",
                })
            })?
            .claims;
        if !self.for_us(&claims) {
            return Err(refused("the token is for another audience"));
        }
        Ok(self.identity(&claims))
    }

    /// Whether the token was issued to one of the configured clients.
    fn for_us(&self, claims: &HashMap<String, Value>) -> bool {
        let wanted = |v: &Value| {
            v.as_str()
                .is_some_and(|s| self.settings.audiences.iter().any(|a| a == s))
        };
        let audience = match claims.get("aud") {
            Some(Value::Array(items)) => items.iter().any(wanted),
            Some(other) => wanted(other),
            None => false,
        };
        audience || claims.get("client_id").is_some_and(wanted)
    }

    fn identity(&self, claims: &HashMap<String, Value>) -> Identity {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let role = match claims.get(&self.settings.role_claim) {
            Some(Value::String(one)) => Role::from_name(one),
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(Value::as_str)
                .find_map(Role::from_name),
            _ => None,
        };
        Identity {
            sub: text("sub").unwrap_or_default(),
            email: text("email"),
            name: text("name"),
            workspace_id: text(&self.settings.workspace_claim),
            role,
            token_id: text("jti"),
            session_id: None,
            expires_at: claims
                .get("exp")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            issued_at: claims.get("iat").and_then(Value::as_i64),
            nonce: text("nonce"),
        }
    }

    /// The identity an id token of a sign-in carries: a token [`OidcVerifier::verify`] accepts,
    /// whose `nonce` is the one the sign-in sent (else a 400 `invalid_grant`).
    pub async fn verify_id_token(&self, token: &str, nonce: &str) -> Result<Identity, Error> {
        let identity = self.verify(token).await.map_err(|err| match err {
            Error::Unavailable { .. } => err,
            other => invalid_grant(&other.to_string()),
        })?;
        let matches = identity.nonce.as_deref().is_some_and(|sent| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                sent.as_bytes(),
                nonce.as_bytes(),
            ))
        });
        if !matches {
            return Err(invalid_grant("the id token's nonce is not the sign-in's"));
        }
        Ok(identity)
    }

    /// The issuer's authorization and token endpoints (its discovery document, read again each
    /// time: sign-ins are rare next to verifications).
    pub async fn endpoints(&self) -> Result<Endpoints, Error> {
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let discovery: Discovery = self.get_json(&url).await?;
        match (discovery.authorization_endpoint, discovery.token_endpoint) {
            (Some(authorization), Some(token)) => Ok(Endpoints {
                authorization,
                token,
            }),
            _ => Err(unavailable(
                "the issuer's discovery document names no authorization or token endpoint",
            )),
        }
    }

    /// The HTTP client the verifier fetches with (timeouts set), for the sign-in's code exchange.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The key named `kid`, fetching the issuer's keys when it is not cached and the last fetch
    /// is at least [`REFETCH_INTERVAL`] old.
    async fn key(&self, kid: &str) -> Result<VerifyingKey, Error> {
        if let Some(key) = self.keys.read().await.keys.get(kid) {
            return Ok(key.clone());
        }
        let mut last = self.last_fetch.lock().await;
        // Another request may have fetched while this one waited for the gate.
        let holding_any = {
            let keys = self.keys.read().await;
            if let Some(key) = keys.keys.get(kid) {
                return Ok(key.clone());
            }
            !keys.keys.is_empty()
        };
        let recently = last.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL);
        if !recently {
            *last = Some(Instant::now());
            match self.fetch().await {
                Ok(fresh) => {
                    let mut keys = self.keys.write().await;
                    keys.keys = fresh;
                    if let Some(key) = keys.keys.get(kid) {
                        return Ok(key.clone());
                    }
                    return Err(refused("the token's signing key is not the issuer's"));
                }
                Err(err) if !holding_any => return Err(err),
                Err(err) => {
                    tracing::warn!(error = %err, "the issuer's keys could not be refreshed");
                }
            }
        } else if !holding_any {
            return Err(unavailable(
                "the issuer's keys could not be fetched in the last minute",
            ));
        }
        Err(refused("the token's signing key is not the issuer's"))
    }

    /// The issuer's current keys: discovery, then its `jwks_uri`. Keys of other types, curves or
    /// algorithms are left out.
    async fn fetch(&self) -> Result<HashMap<String, VerifyingKey>, Error> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let discovery: Discovery = self.get_json(&url).await?;
        if discovery.issuer.trim_end_matches('/') != self.settings.issuer {
            return Err(unavailable(format!(
                "the discovery document names issuer {}, not the configured one",
                discovery.issuer
            )));
        }
        let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let algorithm = match &jwk.algorithm {
                    AlgorithmParameters::RSA(_) => Algorithm::RS256,
                    AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                        Algorithm::ES256
                    }
                    _ => return None,
                };
                let declared = jwk.common.key_algorithm.map(|a| format!("{a:?}"));
                if declared.is_some_and(|a| a != format!("{algorithm:?}")) {
                    return None;
                }
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, VerifyingKey { key, algorithm }))
            })
            .collect())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, Error> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| unavailable(format!("the issuer did not answer {url}: {err}")))?;
        response
            .json()
            .await
            .map_err(|err| unavailable(format!("the issuer's answer to {url} is not JSON: {err}")))
    }
}
