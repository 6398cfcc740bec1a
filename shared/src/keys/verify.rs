//! The verification core: one function decides whether a presented key is usable, for the
//! verify endpoint, the authorizer and Latchkey's own APIKeyBearer authentication.
//!
//! Order of checks (the first failure decides): format and checksum (no storage read) → lookup
//! by id → secret → revoked → disabled → expired (a rotated key past its grace included) → IP
//! allowlist → required permissions.

use std::{net::IpAddr, sync::Arc};

use serde::Serialize;

use super::{
    cache::{self, VerifiedKeyCache},
    hashing,
    model::ApiKey,
    secret::{KeyPrefix, PresentedKey},
    store::KeyStore,
};
use crate::{clock::Clock, error::Error};

/// The outcome codes of VerifyResponse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    /// Usable.
    Valid,
    /// Malformed, bad checksum, unknown id or wrong secret.
    NotFound,
    /// Past its expiry or rotation grace.
    Expired,
    /// Revoked.
    Revoked,
    /// Switched off.
    Disabled,
    /// Over its hourly limit.
    RateLimited,
    /// Used from outside its allowed networks.
    Forbidden,
    /// Lacks a required permission.
    InsufficientPermissions,
}

/// A verification's outcome: the code, and the key whenever its secret matched.
#[derive(Clone, Debug)]
pub struct Verification {
    /// What was decided.
    pub code: VerifyCode,
    /// The key, when the presented secret is the key's.
    pub key: Option<ApiKey>,
}

/// Verifies presented keys against storage, through the warm-container cache.
pub struct KeyVerifier {
    store: Arc<dyn KeyStore>,
    prefix: KeyPrefix,
    clock: Arc<dyn Clock>,
    cache: Arc<VerifiedKeyCache>,
}

impl KeyVerifier {
    /// A verifier over `store` for keys with `prefix`.
    pub fn new(
        store: Arc<dyn KeyStore>,
        prefix: KeyPrefix,
        clock: Arc<dyn Clock>,
        cache: Arc<VerifiedKeyCache>,
    ) -> Self {
        Self {
            store,
            prefix,
            clock,
            cache,
        }
    }

    /// The prefix keys of this deployment carry.
    pub fn prefix(&self) -> &KeyPrefix {
        &self.prefix
    }

    /// Decides whether `presented`, used from `ip`, may act with `required` permissions.
    pub async fn verify(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
        required: &[String],
    ) -> Result<Verification, Error> {
        let not_found = Verification {
            code: VerifyCode::NotFound,
            key: None,
        };
        let Some(parsed) = PresentedKey::parse(&self.prefix, presented) else {
            return Ok(not_found);
        };
        let digest = cache::digest(parsed.full);
        let key = match self.cache.get(parsed.id, &digest) {
            Some(key) => key,
            None => {
                let Some(key) = self.store.get(parsed.id).await? else {
                    return Ok(not_found);
                };
                if !hashing::verify_key(parsed.full.to_owned(), key.secret_hash.clone()).await? {
                    return Ok(not_found);
                }
                self.cache.put(digest, key.clone());
                key
            }
        };
        let now = self.clock.now();
        let code = if key.revoked_at.is_some() {
            VerifyCode::Revoked
        } else if !key.is_active {
            VerifyCode::Disabled
        } else if key.is_expired(now) {
            VerifyCode::Expired
        } else if !key.allows_ip(ip) {
            VerifyCode::Forbidden
        } else if !key.has_permissions(required) {
            VerifyCode::InsufficientPermissions
        } else {
            VerifyCode::Valid
        };
        Ok(Verification {
            code,
            key: Some(key),
        })
    }
}
