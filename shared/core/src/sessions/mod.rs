//! Sign-in through the configured OpenID Connect provider, and the sessions it makes.
//!
//! The authorization-code flow with Latchkey as a confidential client: [`SignIn::authorization_url`]
//! starts one (a random `state`; the PKCE verifier and the `nonce` derived from it with the
//! session signing key, so nothing secret is stored; the redirect URI from an exact allowlist),
//! [`SignIn::exchange`] finishes it server-side with the client secret and verifies the id token,
//! and the result is a session: a short-lived session JWT (`sid` names the session) and a
//! rotating refresh token, stored as a digest, good once. A refresh token presented a second time
//! revokes its whole session. [`SignIn::logout`] revokes the session and the presenting token;
//! every function refuses revoked tokens through [`Revocations`], within the cache bound.

pub mod model;
pub mod store;

use std::{sync::Arc, time::Duration};

use base64ct::{Base64UrlUnpadded, Encoding};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use self::{
    model::{RefreshToken, Rotation, Session},
    store::SessionStore,
};
use crate::{
    audit::{Actor, ActorKind, Change, Origin, Record, Target, store::AuditTrail},
    auth::{
        RevocationCheck,
        jwt::JwtIssuer,
        oidc::{Identity, OidcVerifier, invalid_grant},
    },
    clock::Clock,
    config::SignInSettings,
    error::Error,
    ids::{UserId, WorkspaceId},
    keys::secret::random_base62,
    timestamp,
};

/// What a successful sign-in or refresh hands the client.
#[derive(Debug)]
pub struct Tokens {
    /// The session JWT.
    pub token: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The refresh token, good once.
    pub refresh: RefreshToken,
    /// The refresh token's lifetime in seconds.
    pub refresh_expires_in: i64,
}

/// How long a started sign-in may take to come back with its code.
const SIGN_IN_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

/// The sign-in use cases.
pub struct SignIn {
    store: Arc<dyn SessionStore>,
    provider: Arc<OidcVerifier>,
    tokens: Arc<JwtIssuer>,
    settings: SignInSettings,
    clock: Arc<dyn Clock>,
    trail: AuditTrail,
}

#[derive(Deserialize)]
struct ProviderTokens {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct ProviderError {
    error: Option<String>,
}

fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Unavailable {
        retry_after: 2,
        cause: cause.into(),
    }
}

impl SignIn {
    /// The use cases over `store`, signing in at `provider`, minting sessions with `tokens`,
    /// recording sign-ins, sign-outs and reused refresh tokens in `trail`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        provider: Arc<OidcVerifier>,
        tokens: Arc<JwtIssuer>,
        settings: SignInSettings,
        clock: Arc<dyn Clock>,
        trail: AuditTrail,
    ) -> Self {
        Self {
            store,
            provider,
            tokens,
            settings,
            clock,
            trail,
        }
    }

    /// `purpose` of the sign-in `state`, derived with the session signing key: the PKCE
    /// verifier and the nonce need no storage and cannot be guessed from the state.
    fn derived(&self, purpose: &str, state: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.settings.derivation_key.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(state.as_bytes());
        Base64UrlUnpadded::encode_string(&mac.finalize().into_bytes())
    }

    fn allowed_redirect(&self, redirect_uri: &str) -> Result<(), Error> {
        if self
            .settings
            .redirect_uris
            .iter()
            .any(|allowed| allowed == redirect_uri)
        {
            Ok(())
        } else {
            Err(Error::invalid_field(
                "redirectUri",
                "must be one of the redirect URIs this deployment allows",
            ))
        }
    }

    /// Starts a sign-in: the provider's authorization URL (code flow, `state`, `nonce`, PKCE
    /// S256) for `redirect_uri`, which must be exactly an allowed one, and the `state`.
    pub async fn authorization_url(&self, redirect_uri: &str) -> Result<(String, String), Error> {
        self.allowed_redirect(redirect_uri)?;
        let endpoints = self.provider.endpoints().await?;
        let state = random_base62();
        let challenge = Base64UrlUnpadded::encode_string(&Sha256::digest(
            self.derived("pkce", &state).as_bytes(),
        ));
        self.store
            .begin_sign_in(
                &model::digest(&state),
                redirect_uri,
                self.clock.now() + SIGN_IN_WINDOW,
            )
            .await?;
        let mut url = reqwest::Url::parse(&endpoints.authorization)
            .map_err(|e| unavailable(format!("the provider's authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &state)
            .append_pair("nonce", &self.derived("nonce", &state))
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((url.into(), state))
    }

    /// Finishes the sign-in `state` names: exchanges `code` at the provider (with the client
    /// secret and the PKCE verifier), verifies the id token (signature, issuer, audience, expiry,
    /// the sign-in's nonce), and makes a session of it. A state that is unknown, used, expired
    /// or for another redirect URI, a code the provider refuses, or a nonce that is not the
    /// sign-in's: 400 `invalid_grant`.
    pub async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        state: &str,
        origin: &Origin,
    ) -> Result<Tokens, Error> {
        self.allowed_redirect(redirect_uri)?;
        let begun = self
            .store
            .take_sign_in(&model::digest(state), self.clock.now())
            .await?
            .ok_or_else(|| invalid_grant("the sign-in is unknown, used or expired"))?;
        if begun != redirect_uri {
            return Err(invalid_grant("the redirect URI is not the sign-in's"));
        }
        let endpoints = self.provider.endpoints().await?;
        let reply = self
            .provider
            .http()
            .post(&endpoints.token)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", &self.derived("pkce", state)),
            ])
            .send()
            .await
            .map_err(|e| unavailable(format!("the provider's token endpoint: {e}")))?;
        if reply.status().is_client_error() {
            let error = reply
                .json::<ProviderError>()
                .await
                .ok()
                .and_then(|e| e.error);
            return Err(invalid_grant(&format!(
                "the provider refused the code ({})",
                error.as_deref().unwrap_or("no reason given")
            )));
        }
        if !reply.status().is_success() {
            return Err(unavailable(format!(
                "the provider's token endpoint answered {}",
                reply.status()
            )));
        }
        let tokens: ProviderTokens = reply
            .json()
            .await
            .map_err(|e| unavailable(format!("the provider's token answer: {e}")))?;
        let id_token = tokens
            .id_token
            .ok_or_else(|| invalid_grant("the provider sent no id token"))?;
        let identity = self
            .provider
            .verify_id_token(&id_token, &self.derived("nonce", state))
            .await?;
        self.start_session(identity, origin).await
    }

    async fn start_session(&self, identity: Identity, origin: &Origin) -> Result<Tokens, Error> {
        let user_id = UserId::parse(&identity.sub)
            .ok_or_else(|| invalid_grant("the id token's subject is not a valid user id"))?;
        let now = self.clock.now();
        let session = Session {
            id: Uuid::now_v7(),
            user_id,
            email: identity.email,
            name: identity.name,
            workspace_id: identity.workspace_id,
            role: identity.role,
            created_at: now,
            expires_at: now + self.settings.refresh_ttl_chrono(),
            revoked_at: None,
        };
        let refresh = RefreshToken::generate();
        let digest = refresh.digest();
        let record = session_record(
            "session.signed_in",
            user_actor(&session.user_id, session.email.as_deref()),
            &session.user_id,
            session.workspace_id.as_deref(),
            &[session.id],
            origin,
            now,
        );
        self.trail
            .recording(record, |event| {
                let (session, digest) = (&session, &digest);
                async move { self.store.create(session, digest, &event).await }
            })
            .await?;
        Ok(self.tokens_of(&session, refresh, now))
    }

    fn tokens_of(&self, session: &Session, refresh: RefreshToken, now: DateTime<Utc>) -> Tokens {
        let ttl = self.settings.session_ttl.as_secs() as i64;
        let mut claims = self.tokens.claims(session.user_id.as_str(), ttl);
        claims.iat = now.timestamp();
        claims.exp = now.timestamp() + ttl;
        claims.email = session.email.clone();
        claims.name = session.name.clone();
        claims.workspace_id = session.workspace_id.clone();
        claims.role = session.role;
        claims.sid = Some(session.id.to_string());
        Tokens {
            token: self.tokens.sign(&claims),
            expires_in: ttl,
            refresh,
            refresh_expires_in: (session.expires_at - now).num_seconds().max(0),
        }
    }

    /// A new session token and refresh token for a refresh token, which is spent. A spent one
    /// presented again revokes its whole session; unknown, expired or revoked: 400
    /// `invalid_grant`.
    pub async fn refresh(&self, presented: &str, origin: &Origin) -> Result<Tokens, Error> {
        let now = self.clock.now();
        let fresh = RefreshToken::generate();
        let used = model::digest(presented);
        match self.store.rotate(&used, &fresh.digest(), now).await? {
            Rotation::Rotated(session) => {
                let deleted = self.store.user_revoked_at(&session.user_id).await?;
                if deleted.is_some_and(|at| session.created_at <= at) {
                    self.store.revoke(&[session.id], None, now, None).await?;
                    return Err(invalid_grant("the refresh token's session was revoked"));
                }
                Ok(self.tokens_of(&session, fresh, now))
            }
            Rotation::Reused(id) => {
                match self.store.session_of(&used).await? {
                    Some(session) => {
                        let mut record = session_record(
                            "session.refresh_reused",
                            Actor {
                                kind: ActorKind::System,
                                id: "sign-in".into(),
                                name: Some("refresh-token reuse detection".into()),
                            },
                            &session.user_id,
                            session.workspace_id.as_deref(),
                            &[id],
                            origin,
                            now,
                        );
                        if session.revoked_at.is_none() {
                            record.changes.insert(
                                "revoked_at".into(),
                                Change {
                                    from: serde_json::Value::Null,
                                    to: timestamp::format(now).into(),
                                },
                            );
                        }
                        self.trail
                            .recording(record, |event| async move {
                                self.store.revoke(&[id], None, now, Some(&event)).await
                            })
                            .await?;
                    }
                    None => self.store.revoke(&[id], None, now, None).await?,
                }
                tracing::warn!(session = %id, "a spent refresh token was presented again: session revoked");
                Err(invalid_grant(
                    "the refresh token was already used; its session is revoked",
                ))
            }
            Rotation::Unknown => Err(invalid_grant("the refresh token is unknown or expired")),
        }
    }

    /// Logs out: revokes the presenting token (until its expiry), its session, and the session
    /// of `refresh` when it is the same user's.
    pub async fn logout(
        &self,
        presenting: &Identity,
        refresh: Option<&str>,
        origin: &Origin,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let user = UserId::parse(&presenting.sub).ok_or_else(|| {
            Error::Unauthenticated("the token's subject is not a valid user id".into())
        })?;
        let mut sessions = Vec::new();
        if let Some(refresh) = refresh.filter(|r| !r.is_empty())
            && let Some(session) = self.store.session_of(&model::digest(refresh)).await?
            && session.user_id == user
        {
            sessions.push(session.id);
        }
        if let Some(session) = presenting
            .session_id
            .as_deref()
            .and_then(|sid| Uuid::parse_str(sid).ok())
            .filter(|sid| !sessions.contains(sid))
        {
            sessions.push(session);
        }
        let token = presenting.token_id.as_deref().map(|token_id| {
            let until = DateTime::from_timestamp(presenting.expires_at, 0).unwrap_or(now);
            (token_id, until.max(now))
        });
        let record = session_record(
            "session.signed_out",
            user_actor(&user, presenting.email.as_deref()),
            &user,
            presenting.workspace_id.as_deref(),
            &sessions,
            origin,
            now,
        );
        let sessions = &sessions;
        self.trail
            .recording(record, |event| async move {
                self.store.revoke(sessions, token, now, Some(&event)).await
            })
            .await?;
        Ok(())
    }
}

/// A user as an event's actor.
fn user_actor(user: &UserId, email: Option<&str>) -> Actor {
    Actor {
        kind: ActorKind::User,
        id: user.to_string(),
        name: email.map(str::to_owned),
    }
}

/// The record of `action` on `sessions` of `user`, in the workspace the session names (their
/// personal one when it names none).
fn session_record(
    action: &str,
    actor: Actor,
    user: &UserId,
    workspace: Option<&str>,
    sessions: &[Uuid],
    origin: &Origin,
    now: DateTime<Utc>,
) -> Record {
    Record {
        workspace_id: workspace
            .and_then(WorkspaceId::parse)
            .unwrap_or_else(|| WorkspaceId::personal(user)),
        action: action.to_owned(),
        actor,
        targets: sessions
            .iter()
            .map(|id| Target {
                kind: "session".into(),
                id: id.to_string(),
                name: None,
            })
            .collect(),
        origin: origin.clone(),
        changes: Default::default(),
        users: vec![user.to_string()],
        time: now,
    }
}

/// Whether a session token was revoked, remembered per container for at most the cache bound:
/// a logout or an account deletion reaches every function within it.
pub struct Revocations {
    store: Arc<dyn SessionStore>,
    seen: moka::sync::Cache<String, bool>,
    users: moka::sync::Cache<UserId, Option<DateTime<Utc>>>,
}

fn revoked() -> Error {
    Error::Unauthenticated("Authentication failed: the session was revoked.".into())
}

impl Revocations {
    /// Checks over `store`, each answer kept for `bound`.
    pub fn new(store: Arc<dyn SessionStore>, bound: Duration) -> Self {
        Self {
            store,
            seen: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(bound)
                .build(),
            users: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(bound)
                .build(),
        }
    }

    async fn token_revoked(&self, identity: &Identity) -> Result<bool, Error> {
        let session = identity
            .session_id
            .as_deref()
            .and_then(|sid| Uuid::parse_str(sid).ok());
        if session.is_none() && identity.token_id.is_none() {
            return Ok(false);
        }
        let memo = format!(
            "{}|{}",
            session.map(|s| s.to_string()).unwrap_or_default(),
            identity.token_id.as_deref().unwrap_or_default()
        );
        if let Some(revoked) = self.seen.get(&memo) {
            return Ok(revoked);
        }
        let revoked = self
            .store
            .is_revoked(session, identity.token_id.as_deref())
            .await?;
        self.seen.insert(memo, revoked);
        Ok(revoked)
    }

    async fn user_revoked(&self, identity: &Identity) -> Result<bool, Error> {
        let Some(user) = UserId::parse(&identity.sub) else {
            return Ok(false);
        };
        let revoked_at = match self.users.get(&user) {
            Some(at) => at,
            None => {
                let at = self.store.user_revoked_at(&user).await?;
                self.users.insert(user, at);
                at
            }
        };
        // A token that does not say when it was issued is as old as can be.
        let issued_at = identity.issued_at.unwrap_or(i64::MIN);
        Ok(revoked_at.is_some_and(|at| issued_at <= at.timestamp()))
    }
}

#[async_trait::async_trait]
impl RevocationCheck for Revocations {
    /// Refuses (401) a token that was revoked, whose session was, or whose user's every token
    /// until after it was issued was (account deletion).
    async fn check(&self, identity: &Identity) -> Result<(), Error> {
        let (token, user) = tokio::join!(self.token_revoked(identity), self.user_revoked(identity));
        if token? || user? {
            Err(revoked())
        } else {
            Ok(())
        }
    }

    /// Forgets what this container remembers of `user`, whose sessions were just revoked here.
    fn forget_user(&self, user: &UserId) {
        self.users.invalidate(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemorySessionStore;

    /// A live session of one day from `now`.
    fn session(now: DateTime<Utc>) -> Session {
        Session {
            id: Uuid::now_v7(),
            user_id: UserId::parse("u-1").unwrap(),
            email: None,
            name: None,
            workspace_id: None,
            role: None,
            created_at: now,
            expires_at: now + chrono::Duration::days(1),
            revoked_at: None,
        }
    }

    /// The sign-in event of `session`, first in its workspace's chain.
    fn signed_in(session: &Session) -> crate::audit::AuditEvent {
        let record = session_record(
            "session.signed_in",
            user_actor(&session.user_id, None),
            &session.user_id,
            None,
            &[session.id],
            &Origin::default(),
            session.created_at,
        );
        crate::audit::chain::seal(record, &Default::default())
    }

    fn identity(session: Option<Uuid>, token: Option<&str>) -> Identity {
        Identity {
            sub: "u-1".into(),
            email: None,
            name: None,
            workspace_id: None,
            role: None,
            token_id: token.map(str::to_owned),
            session_id: session.map(|s| s.to_string()),
            expires_at: 0,
            issued_at: Some(Utc::now().timestamp()),
            nonce: None,
        }
    }

    /// A revoked session or token is refused by a container that had not seen it; one that
    /// had remembers its answer for the bound, and no longer.
    #[tokio::test]
    async fn revocation_reaches_every_container_within_the_bound() {
        let store = Arc::new(MemorySessionStore::default());
        let now = Utc::now();
        let session = session(now);
        store
            .create(&session, "digest", &signed_in(&session))
            .await
            .unwrap();
        let bound = Duration::from_millis(200);
        let warm = Revocations::new(store.clone(), bound);
        let token = identity(Some(session.id), Some("jti-1"));
        warm.check(&token).await.unwrap();
        warm.check(&identity(None, None)).await.unwrap();

        store.revoke(&[session.id], None, now, None).await.unwrap();
        let cold = Revocations::new(store.clone(), bound);
        assert!(cold.check(&token).await.is_err());
        assert!(
            warm.check(&token).await.is_ok(),
            "remembered within the bound"
        );
        tokio::time::sleep(bound + Duration::from_millis(50)).await;
        assert!(warm.check(&token).await.is_err(), "refused after the bound");

        store
            .revoke(
                &[],
                Some(("jti-2", now + chrono::Duration::hours(1))),
                now,
                None,
            )
            .await
            .unwrap();
        let err = cold
            .check(&identity(None, Some("jti-2")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "unauthenticated");
    }

    /// A user's revocation (account deletion) refuses every token issued until then, in a
    /// container that had remembered it as good once the bound passes, and none issued later.
    #[tokio::test]
    async fn revoking_a_user_refuses_every_token_issued_until_then() {
        let store = Arc::new(MemorySessionStore::default());
        let bound = Duration::from_millis(200);
        let warm = Revocations::new(store.clone(), bound);
        let now = Utc::now();
        let mut old = identity(None, None);
        old.issued_at = Some(now.timestamp() - 60);
        warm.check(&old).await.unwrap();
        store
            .revoke_user(&UserId::parse("u-1").unwrap(), now, now)
            .await
            .unwrap();
        let cold = Revocations::new(store.clone(), bound);
        assert_eq!(
            cold.check(&old).await.unwrap_err().code(),
            "unauthenticated"
        );
        let undated = Identity {
            issued_at: None,
            ..old.clone()
        };
        assert!(
            cold.check(&undated).await.is_err(),
            "no iat: as old as can be"
        );
        let mut later = old.clone();
        later.issued_at = Some(now.timestamp() + 1);
        cold.check(&later).await.unwrap();
        assert!(
            warm.check(&old).await.is_ok(),
            "remembered within the bound"
        );
        warm.forget_user(&UserId::parse("u-1").unwrap());
        assert!(
            warm.check(&old).await.is_err(),
            "forgotten where it was revoked"
        );
    }

    /// A refresh token spends once; the second presentation is a reuse.
    #[tokio::test]
    async fn a_refresh_token_spends_once() {
        let store = MemorySessionStore::default();
        let now = Utc::now();
        let session = session(now);
        store
            .create(&session, "first", &signed_in(&session))
            .await
            .unwrap();
        assert!(matches!(
            store.rotate("first", "second", now).await.unwrap(),
            Rotation::Rotated(_)
        ));
        assert_eq!(
            store.rotate("first", "third", now).await.unwrap(),
            Rotation::Reused(session.id)
        );
        store.revoke(&[session.id], None, now, None).await.unwrap();
        assert_eq!(
            store.rotate("second", "fourth", now).await.unwrap(),
            Rotation::Unknown
        );
    }
}
