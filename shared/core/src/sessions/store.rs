//! The storage port of sessions, sign-ins in progress and revoked tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{Rotation, Session};
use crate::{audit::AuditEvent, ids::UserId, store_error::StoreError};

/// Stores sessions. Every item carries a TTL, so nothing outlives its use.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Remembers a sign-in in progress: its `state`'s digest and the redirect URI it was for,
    /// until `until`.
    async fn begin_sign_in(
        &self,
        state: &str,
        redirect_uri: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Takes a sign-in in progress by its `state`'s digest, once: the redirect URI it was for,
    /// or `None` when it is unknown, already taken or past `now`.
    async fn take_sign_in(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;
    /// Stores a new session and its first refresh token (by digest), with `event`, in one
    /// transaction.
    async fn create(
        &self,
        session: &Session,
        refresh: &str,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Spends the refresh token `used` (a digest) and stores `fresh` in its place, in one
    /// transaction that also requires its session to be unrevoked; or says why not.
    async fn rotate(
        &self,
        used: &str,
        fresh: &str,
        now: DateTime<Utc>,
    ) -> Result<Rotation, StoreError>;
    /// The session a refresh token (a digest, spent or not) belongs to.
    async fn session_of(&self, refresh: &str) -> Result<Option<Session>, StoreError>;
    /// Revokes `sessions` (their refresh tokens stop working, their access tokens are refused;
    /// one already revoked keeps its time, one that does not exist is passed over) and the token
    /// `token` (its id, `jti`, until it would have expired anyway), with `event` when given, in
    /// one transaction. Nothing to revoke: nothing written, the event neither.
    async fn revoke(
        &self,
        sessions: &[Uuid],
        token: Option<(&str, DateTime<Utc>)>,
        now: DateTime<Utc>,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError>;
    /// Revokes every session and token of `user` made at or before `at` (their account was
    /// deleted), remembered until `until`, past which no such token or session lives anyway.
    /// A later `at` replaces an earlier one.
    async fn revoke_user(
        &self,
        user: &UserId,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// When every session and token of `user` made until then was revoked, if ever.
    async fn user_revoked_at(&self, user: &UserId) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Whether the session `session` is revoked, or the token `token_id` is.
    async fn is_revoked(
        &self,
        session: Option<Uuid>,
        token_id: Option<&str>,
    ) -> Result<bool, StoreError>;
}
