//! A sign-in session: who signed in, until when its refresh tokens work, and whether it was
//! revoked; and the secrets it hands out (refresh tokens), which are stored only as digests.

use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{ids::UserId, keys::secret::random_base62, role::Role};

/// A session made by a sign-in: the identity its tokens carry, refreshed until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Id (the `sid` of its tokens).
    pub id: Uuid,
    /// The user.
    pub user_id: UserId,
    /// Their email, from the id token.
    pub email: Option<String>,
    /// Their name, from the id token.
    pub name: Option<String>,
    /// The workspace the id token named, if any.
    pub workspace_id: Option<String>,
    /// The role the id token named, if any.
    pub role: Option<Role>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its refresh tokens stop working.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked (logout, or a used refresh token presented again).
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Whether its tokens may still be refreshed at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// A refresh token: `rt_` and 256 random bits. Shown once; stored as its [`RefreshToken::digest`].
pub struct RefreshToken(String);

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

impl RefreshToken {
    /// A fresh token.
    pub fn generate() -> Self {
        Self(format!("rt_{}", random_base62()))
    }

    /// The token, to hand to the client once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored of it.
    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

/// The SHA-256 of a presented secret (a refresh token, a sign-in's `state`), hex: how it is
/// found in storage. The secrets are 256 random bits, so a fast hash is enough (no guessing),
/// and a deterministic one lets storage look them up.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a refresh token turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// Unused and live: it is spent now, and the new one stored; the session it belongs to.
    Rotated(Session),
    /// Already spent: someone is replaying it. The session it belongs to.
    Reused(Uuid),
    /// Unknown, expired, or of a revoked or expired session.
    Unknown,
}
