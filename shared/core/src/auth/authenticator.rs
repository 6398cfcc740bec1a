//! Turns request credentials into a [`Caller`].

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::HeaderMap;

use super::{
    Caller, Credential, Role,
    jwt::JwtVerifier,
    oidc::{Identity, OidcVerifier},
};
use crate::{
    clock::Clock,
    error::Error,
    ids::{UserId, WorkspaceId},
    keys::{
        ratelimit::RateStatus,
        secret::{KeyPrefix, PresentedKey},
        verify::{KeyVerifier, Verification},
    },
    outcome::VerifyCode,
    profiles::{NewProfile, ProfileStore},
    usage::AttemptContext,
};

/// Whether a session token was revoked (by a logout, a refresh token's reuse or an account
/// deletion): the sessions' revocations, seen by authentication through this port.
#[async_trait]
pub trait RevocationCheck: Send + Sync {
    /// Refuses (401) a token that was revoked, whose session was, or whose user's every token
    /// until after it was issued was.
    async fn check(&self, identity: &Identity) -> Result<(), Error>;
    /// Forgets what this container remembers of `user`, whose sessions were just revoked here.
    fn forget_user(&self, user: &UserId);
}

/// The result of authenticating a request, with the acting key's rate window when a key was
/// used (for the `X-RateLimit-*` headers, which error responses carry too).
#[derive(Debug)]
pub struct Authentication {
    /// The caller, or why there is none.
    pub result: Result<Caller, Error>,
    /// The acting key's rate window.
    pub rate: Option<RateStatus>,
}

impl Authentication {
    fn failed(err: Error) -> Self {
        Self {
            result: Err(err),
            rate: None,
        }
    }
}

/// Authenticates requests and provisions first-time users.
pub struct Authenticator {
    jwt: JwtVerifier,
    oidc: Option<Arc<OidcVerifier>>,
    keys: Arc<KeyVerifier>,
    profiles: Arc<dyn ProfileStore>,
    clock: Arc<dyn Clock>,
    /// Users this container has already provisioned, so a warm container writes a profile once
    /// (an hour at most, or the revocation bound with revocations, for as many users as fit in a
    /// bounded memo).
    provisioned: moka::sync::Cache<UserId, ()>,
    /// Revoked sessions and tokens, when sessions can be revoked here.
    revocations: Option<Arc<dyn RevocationCheck>>,
}

/// The credential a request presents, before it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    /// An API key: a bearer token carrying the key prefix, the key alone in `Authorization`,
    /// `X-API-KEY` or `apiKey`.
    Key(&'a str),
    /// A session token.
    Session(&'a str),
}

impl<'a> Presented<'a> {
    /// Reads the credential of `headers`; `prefix` tells keys from session tokens. The contract's
    /// order, first match wins: `Authorization: Bearer <jwt|key>`, `Authorization: <key>` (only a
    /// value that parses as a key), `X-API-KEY`, `apiKey`.
    pub fn from_headers(headers: &'a HeaderMap, prefix: &KeyPrefix) -> Result<Self, Error> {
        let text = |name| {
            headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map_err(|_| unauthenticated("the credential header is not valid text"))
                })
                .transpose()
        };
        let authorization = text("authorization")?.map(str::trim);
        if let Some(authorization) = authorization {
            if let Some((scheme, token)) = authorization.split_once(' ')
                && scheme.eq_ignore_ascii_case("bearer")
            {
                let token = token.trim();
                if token.is_empty() {
                    return Err(unauthenticated("the bearer token is empty"));
                }
                return Ok(if PresentedKey::has_prefix(prefix, token) {
                    Self::Key(token)
                } else {
                    Self::Session(token)
                });
            }
            // latitude.sh's clients send the key with no scheme.
            if PresentedKey::parse(prefix, authorization).is_some() {
                return Ok(Self::Key(authorization));
            }
        }
        for name in ["x-api-key", "apikey"] {
            if let Some(key) = text(name)? {
                return Ok(Self::Key(key.trim()));
            }
        }
        Err(unauthenticated(if authorization.is_some() {
            "the Authorization header must be 'Bearer <token>' or an API key"
        } else {
            "no credentials were sent"
        }))
    }
}

/// The paired secret sent beside a key (cartovista's `secretKey` header), if any. A value that is
/// not text counts as none, so a key that needs one is refused.
pub fn paired_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("secretkey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Users a container remembers having provisioned.
const PROVISIONED_MEMO: u64 = 100_000;

fn provisioned_memo(ttl: Duration) -> moka::sync::Cache<UserId, ()> {
    moka::sync::Cache::builder()
        .max_capacity(PROVISIONED_MEMO)
        .time_to_live(ttl)
        .build()
}

fn unauthenticated(why: &str) -> Error {
    Error::Unauthenticated(format!("Authentication failed: {why}."))
}

impl Authenticator {
    /// An authenticator over the given verifiers and profile store.
    pub fn new(
        jwt: JwtVerifier,
        oidc: Option<Arc<OidcVerifier>>,
        keys: Arc<KeyVerifier>,
        profiles: Arc<dyn ProfileStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            jwt,
            oidc,
            keys,
            profiles,
            clock,
            provisioned: provisioned_memo(Duration::from_secs(3600)),
            revocations: None,
        }
    }

    /// The same authenticator, refusing session tokens that were revoked (logout), or whose
    /// session was, within `bound`. Deleting an account is a revocation too: another container
    /// remembers having provisioned the deleted user for `bound` at most, so the user's next
    /// sign-in after it provisions a new profile wherever it lands.
    pub fn with_revocations(
        mut self,
        revocations: Arc<dyn RevocationCheck>,
        bound: Duration,
    ) -> Self {
        self.revocations = Some(revocations);
        self.provisioned = provisioned_memo(bound);
        self
    }

    /// The verified, unrevoked session token of a request (what a logout revokes). An API key
    /// is a 403: it has no session to end.
    pub async fn session_of(&self, headers: &HeaderMap) -> Result<Identity, Error> {
        match Presented::from_headers(headers, self.keys.prefix())? {
            Presented::Key(_) => Err(Error::Forbidden(
                "Logging out needs a user session; API keys have none.".into(),
            )),
            Presented::Session(token) => self.live_session(token).await,
        }
    }

    /// A session token's identity, refused when it or its session was revoked.
    async fn live_session(&self, token: &str) -> Result<Identity, Error> {
        let identity = self.session_identity(token).await?;
        if let Some(revocations) = &self.revocations {
            revocations.check(&identity).await?;
        }
        Ok(identity)
    }

    /// The prefix that tells API keys from session tokens.
    pub fn key_prefix(&self) -> &KeyPrefix {
        self.keys.prefix()
    }

    /// The caller of a request with `headers`, sent by `client`.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        client: &AttemptContext,
    ) -> Authentication {
        match Presented::from_headers(headers, self.keys.prefix()) {
            Ok(Presented::Key(key)) => match self
                .keys
                .verify_pair(key, paired_secret(headers), &[], client)
                .await
            {
                Ok(verification) => Authentication {
                    rate: verification.rate,
                    result: key_caller(verification, self.clock.now()),
                },
                Err(err) => Authentication::failed(err),
            },
            Ok(Presented::Session(token)) => Authentication {
                result: self.by_session(token).await,
                rate: None,
            },
            Err(err) => Authentication::failed(err),
        }
    }

    /// Who a session token says the caller is: Latchkey's own HS256 sessions, or, signed with an
    /// asymmetric key, the configured OpenID Connect issuer's tokens. (An HS256 token always goes
    /// to Latchkey's own verifier, so one "signed" with the issuer's public key gets nowhere.)
    async fn session_identity(&self, token: &str) -> Result<Identity, Error> {
        let asymmetric = || {
            jsonwebtoken::decode_header(token).is_ok_and(|h| {
                !matches!(
                    h.alg,
                    jsonwebtoken::Algorithm::HS256
                        | jsonwebtoken::Algorithm::HS384
                        | jsonwebtoken::Algorithm::HS512
                )
            })
        };
        // Without an issuer, the header is read once, by Latchkey's own verifier.
        match &self.oidc {
            Some(oidc) if asymmetric() => oidc.verify(token).await,
            _ => self.jwt.verify(token).map(Identity::from),
        }
    }

    async fn by_session(&self, token: &str) -> Result<Caller, Error> {
        self.session(token).await.map(|(caller, _)| caller)
    }

    /// The caller a session token (not a key) names, with the token's identity (its session and
    /// token ids), refused when it or its session was revoked. The console's cookie holds one.
    pub async fn session(&self, token: &str) -> Result<(Caller, Identity), Error> {
        let claims = self.live_session(token).await?;
        let user_id = UserId::parse(&claims.sub)
            .ok_or_else(|| unauthenticated("the token's subject is not a valid user id"))?;
        let (workspace_id, role) = match claims.workspace_id.as_deref() {
            Some(raw) => (
                WorkspaceId::parse(raw)
                    .ok_or_else(|| unauthenticated("the token's workspace_id is not valid"))?,
                claims.role.unwrap_or(Role::Viewer),
            ),
            None => (WorkspaceId::personal(&user_id), Role::Owner),
        };
        let caller = Caller {
            origin: Default::default(),
            user_id,
            workspace_id,
            credential: Credential::Session { role },
        };
        self.provision(&caller, role, claims.email.clone(), claims.name.clone())
            .await?;
        Ok((caller, claims))
    }

    /// Just-in-time provisioning: the first authenticated request of a new `sub` creates its profile.
    async fn provision(
        &self,
        caller: &Caller,
        role: Role,
        email: Option<String>,
        name: Option<String>,
    ) -> Result<(), Error> {
        if self.provisioned.contains_key(&caller.user_id) {
            return Ok(());
        }
        self.profiles
            .ensure(
                &NewProfile {
                    id: caller.user_id.clone(),
                    email: email.unwrap_or_default(),
                    name: name.unwrap_or_default(),
                    workspace_id: caller.workspace_id.clone(),
                    role,
                },
                self.clock.now(),
            )
            .await?;
        self.provisioned.insert(caller.user_id.clone(), ());
        Ok(())
    }

    /// Forgets that `user` was provisioned here, after their profile was erased, so their next
    /// request provisions it again.
    pub fn forget(&self, user: &UserId) {
        self.provisioned.invalidate(user);
        if let Some(revocations) = &self.revocations {
            revocations.forget_user(user);
        }
    }
}

/// The caller a key verification names, or the error the contract gives for its code.
fn key_caller(verification: Verification, now: DateTime<Utc>) -> Result<Caller, Error> {
    let refused = match verification.code {
        VerifyCode::Valid => None,
        VerifyCode::NotFound => Some(unauthenticated("the API key is not valid")),
        VerifyCode::Expired => Some(unauthenticated("the API key has expired")),
        VerifyCode::Revoked => Some(unauthenticated("the API key has been revoked")),
        VerifyCode::Disabled => Some(unauthenticated("the API key is disabled")),
        VerifyCode::Forbidden => Some(Error::Forbidden(
            "The API key may not be used from this address.".into(),
        )),
        VerifyCode::InsufficientPermissions => {
            Some(Error::Forbidden("The API key may not do this.".into()))
        }
        VerifyCode::RateLimited => {
            let rate = verification.rate.unwrap_or(RateStatus {
                limit: 0,
                remaining: 0,
                reset: 0,
            });
            Some(Error::RateLimited {
                limit: rate.limit,
                retry_after: rate.retry_after(now),
            })
        }
    };
    if let Some(err) = refused {
        return Err(err);
    }
    let key = verification
        .key
        .ok_or_else(|| Error::internal(std::io::Error::other("valid verification without key")))?;
    Ok(Caller {
        origin: Default::default(),
        user_id: key.owner_id.clone(),
        workspace_id: key.workspace_id.clone(),
        credential: Credential::ApiKey(key.grant()),
    })
}

#[cfg(test)]
mod tests {
    use http::{HeaderName, HeaderValue};
    use proptest::prelude::*;

    use super::*;
    use crate::{ids::KeyId, keys::secret::PlainKey};

    fn presented(pairs: &[(&str, &str)]) -> Result<String, &'static str> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        match Presented::from_headers(&headers, &KeyPrefix::default()) {
            Ok(Presented::Key(key)) => Ok(format!("key {key}")),
            Ok(Presented::Session(token)) => Ok(format!("session {token}")),
            Err(err) => Err(err.code()),
        }
    }

    #[test]
    fn every_credential_form_in_the_contract_s_order() {
        let key = PlainKey::generate(&KeyPrefix::default(), KeyId::new());
        let key = key.expose();
        let other = PlainKey::generate(&KeyPrefix::default(), KeyId::new());
        let other = other.expose();
        let as_key = Ok(format!("key {key}"));
        assert_eq!(
            presented(&[("authorization", &format!("Bearer {key}"))]),
            as_key
        );
        assert_eq!(presented(&[("authorization", key)]), as_key, "latitude.sh");
        assert_eq!(presented(&[("x-api-key", key)]), as_key);
        assert_eq!(presented(&[("apikey", key)]), as_key, "cartovista");
        assert_eq!(
            presented(&[("authorization", "Bearer a.b.c")]),
            Ok("session a.b.c".into())
        );
        assert_eq!(
            presented(&[("authorization", key), ("x-api-key", other)]),
            as_key,
            "Authorization comes first"
        );
        assert_eq!(
            presented(&[("x-api-key", key), ("apikey", other)]),
            as_key,
            "X-API-KEY before apiKey"
        );
        assert_eq!(
            presented(&[("authorization", "Basic dTpw"), ("x-api-key", key)]),
            as_key,
            "an Authorization that is neither goes on to the key headers"
        );
        assert_eq!(
            presented(&[("authorization", "Basic dTpw")]),
            Err("unauthenticated")
        );
        assert_eq!(
            presented(&[("authorization", "sk_not-a-key")]),
            Err("unauthenticated"),
            "a bare value must parse as a key"
        );
        assert_eq!(
            presented(&[("authorization", "Bearer ")]),
            Err("unauthenticated")
        );
        assert_eq!(presented(&[]), Err("unauthenticated"));
    }

    proptest! {
        /// Whatever the headers hold, reading them is a credential or a 401, never a panic.
        #[test]
        fn any_headers_read_as_a_credential_or_a_401(
            authorization in prop::option::of("[ -~]{0,80}"),
            x_api_key in prop::option::of("[ -~]{0,80}"),
            api_key in prop::option::of("[ -~]{0,80}"),
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in [("authorization", authorization), ("x-api-key", x_api_key), ("apikey", api_key)] {
                if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    headers.insert(name, value);
                }
            }
            if let Err(err) = Presented::from_headers(&headers, &KeyPrefix::default()) {
                prop_assert_eq!(err.code(), "unauthenticated");
            }
        }
    }
}
