//! Turns request credentials into a [`Caller`].

use std::{collections::HashSet, net::IpAddr, sync::Arc, sync::Mutex};

use http::HeaderMap;

use super::{Caller, Credential, Role, jwt::JwtVerifier};
use crate::{
    error::Error,
    ids::{UserId, WorkspaceId},
    keys::{
        secret::PresentedKey,
        verify::{KeyVerifier, VerifyCode},
    },
    profiles::{NewProfile, ProfileStore},
};

/// Authenticates requests and provisions first-time users.
pub struct Authenticator {
    jwt: JwtVerifier,
    keys: Arc<KeyVerifier>,
    profiles: Arc<dyn ProfileStore>,
    /// Users this container has already provisioned, so a warm container writes a profile once.
    provisioned: Mutex<HashSet<UserId>>,
}

/// The credential a request presents, before it is checked.
enum Presented<'a> {
    Key(&'a str),
    Session(&'a str),
}

fn unauthenticated(why: &str) -> Error {
    Error::Unauthenticated(format!("Authentication failed: {why}."))
}

impl Authenticator {
    /// An authenticator over the given verifiers and profile store.
    pub fn new(jwt: JwtVerifier, keys: Arc<KeyVerifier>, profiles: Arc<dyn ProfileStore>) -> Self {
        Self {
            jwt,
            keys,
            profiles,
            provisioned: Mutex::new(HashSet::new()),
        }
    }

    fn presented<'a>(&self, headers: &'a HeaderMap) -> Result<Presented<'a>, Error> {
        let text = |name| {
            headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map_err(|_| unauthenticated("the credential header is not valid text"))
                })
                .transpose()
        };
        if let Some(key) = text("x-api-key")? {
            return Ok(Presented::Key(key.trim()));
        }
        let Some(authorization) = text("authorization")? else {
            return Err(unauthenticated("no credentials were sent"));
        };
        let token = authorization
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| unauthenticated("the Authorization header must be 'Bearer <token>'"))?;
        if PresentedKey::has_prefix(self.keys.prefix(), token) {
            Ok(Presented::Key(token))
        } else {
            Ok(Presented::Session(token))
        }
    }

    /// The caller of a request with `headers`, sent from `source_ip`.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        source_ip: Option<IpAddr>,
    ) -> Result<Caller, Error> {
        match self.presented(headers)? {
            Presented::Key(key) => self.by_key(key, source_ip).await,
            Presented::Session(token) => self.by_session(token).await,
        }
    }

    async fn by_key(&self, presented: &str, source_ip: Option<IpAddr>) -> Result<Caller, Error> {
        let verification = self.keys.verify(presented, source_ip, &[]).await?;
        let refused = match verification.code {
            VerifyCode::Valid => None,
            VerifyCode::NotFound => Some(unauthenticated("the API key is not valid")),
            VerifyCode::Expired => Some(unauthenticated("the API key has expired")),
            VerifyCode::Revoked => Some(unauthenticated("the API key has been revoked")),
            VerifyCode::Disabled => Some(unauthenticated("the API key is disabled")),
            VerifyCode::Forbidden => Some(Error::Forbidden(
                "The API key may not be used from this address.".into(),
            )),
            VerifyCode::InsufficientPermissions | VerifyCode::RateLimited => {
                Some(Error::Forbidden("The API key may not do this.".into()))
            }
        };
        if let Some(err) = refused {
            return Err(err);
        }
        let key = verification.key.ok_or_else(|| {
            Error::internal(std::io::Error::other("valid verification without key"))
        })?;
        Ok(Caller {
            user_id: key.owner_id.clone(),
            workspace_id: key.workspace_id.clone(),
            credential: Credential::ApiKey(key.grant()),
        })
    }

    async fn by_session(&self, token: &str) -> Result<Caller, Error> {
        let claims = self.jwt.verify(token)?;
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
            user_id,
            workspace_id,
            credential: Credential::Session { role },
        };
        self.provision(&caller, claims.email, claims.name).await?;
        Ok(caller)
    }

    /// Just-in-time provisioning: the first authenticated request of a new `sub` creates its profile.
    async fn provision(
        &self,
        caller: &Caller,
        email: Option<String>,
        name: Option<String>,
    ) -> Result<(), Error> {
        if self
            .provisioned
            .lock()
            .expect("lock")
            .contains(&caller.user_id)
        {
            return Ok(());
        }
        let role = match caller.credential {
            Credential::Session { role } => role,
            Credential::ApiKey(_) => Role::Viewer,
        };
        self.profiles
            .ensure(&NewProfile {
                id: caller.user_id.clone(),
                email: email.unwrap_or_default(),
                name: name.unwrap_or_default(),
                workspace_id: caller.workspace_id.clone(),
                role,
            })
            .await?;
        self.provisioned
            .lock()
            .expect("lock")
            .insert(caller.user_id.clone());
        Ok(())
    }
}
