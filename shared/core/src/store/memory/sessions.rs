//! An in-memory [`SessionStore`] with the DynamoDB adapter's semantics (a refresh token spends
//! once, a sign-in is taken once, revocation sticks).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::MemoryAuditStore;
use crate::{
    audit::AuditEvent,
    ids::UserId,
    sessions::{
        model::{Rotation, Session},
        store::SessionStore,
    },
    store::StoreError,
};

#[derive(Debug, Default)]
struct State {
    sign_ins: HashMap<String, (String, DateTime<Utc>)>,
    sessions: HashMap<Uuid, Session>,
    /// Refresh token digest: (session, spent).
    refresh: HashMap<String, (Uuid, bool)>,
    revoked_tokens: HashMap<String, DateTime<Utc>>,
    revoked_users: HashMap<UserId, DateTime<Utc>>,
}

/// Sessions in memory.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    state: Mutex<State>,
    /// The audit log each change's event joins, in the same step.
    audit: Arc<MemoryAuditStore>,
}

impl MemorySessionStore {
    /// Sessions whose changes' events join `audit`.
    pub fn recording_to(audit: Arc<MemoryAuditStore>) -> Self {
        Self {
            state: Mutex::default(),
            audit,
        }
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn begin_sign_in(
        &self,
        state: &str,
        redirect_uri: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut s = self.state.lock().expect("lock");
        if s.sign_ins.contains_key(state) {
            return Err(StoreError::Conflict);
        }
        s.sign_ins
            .insert(state.to_owned(), (redirect_uri.to_owned(), until));
        Ok(())
    }

    async fn take_sign_in(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let mut s = self.state.lock().expect("lock");
        Ok(s.sign_ins
            .remove(state)
            .filter(|(_, until)| now < *until)
            .map(|(uri, _)| uri))
    }

    async fn create(
        &self,
        session: &Session,
        refresh: &str,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut s = self.state.lock().expect("lock");
        if s.sessions.contains_key(&session.id) || s.refresh.contains_key(refresh) {
            return Err(StoreError::Conflict);
        }
        self.audit.append_checked(event)?;
        s.sessions.insert(session.id, session.clone());
        s.refresh.insert(refresh.to_owned(), (session.id, false));
        Ok(())
    }

    async fn rotate(
        &self,
        used: &str,
        fresh: &str,
        now: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let mut s = self.state.lock().expect("lock");
        let Some(&(session_id, spent)) = s.refresh.get(used) else {
            return Ok(Rotation::Unknown);
        };
        if spent {
            return Ok(Rotation::Reused(session_id));
        }
        let session = match s.sessions.get(&session_id) {
            Some(session) if session.is_live(now) => session.clone(),
            _ => return Ok(Rotation::Unknown),
        };
        s.refresh.insert(used.to_owned(), (session_id, true));
        s.refresh.insert(fresh.to_owned(), (session_id, false));
        Ok(Rotation::Rotated(session))
    }

    async fn session_of(&self, refresh: &str) -> Result<Option<Session>, StoreError> {
        let s = self.state.lock().expect("lock");
        Ok(s.refresh
            .get(refresh)
            .and_then(|(id, _)| s.sessions.get(id))
            .cloned())
    }

    async fn revoke(
        &self,
        sessions: &[Uuid],
        token: Option<(&str, DateTime<Utc>)>,
        now: DateTime<Utc>,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut s = self.state.lock().expect("lock");
        let known: Vec<Uuid> = sessions
            .iter()
            .copied()
            .filter(|id| s.sessions.contains_key(id))
            .collect();
        if known.is_empty() && token.is_none() {
            return Ok(());
        }
        if let Some(event) = event {
            self.audit.append_checked(event)?;
        }
        for id in known {
            if let Some(session) = s.sessions.get_mut(&id) {
                session.revoked_at.get_or_insert(now);
            }
        }
        if let Some((token_id, until)) = token {
            s.revoked_tokens.insert(token_id.to_owned(), until);
        }
        Ok(())
    }

    async fn revoke_user(
        &self,
        user: &UserId,
        at: DateTime<Utc>,
        _until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut s = self.state.lock().expect("lock");
        let latest = s.revoked_users.entry(user.clone()).or_insert(at);
        *latest = (*latest).max(at);
        Ok(())
    }

    async fn user_revoked_at(&self, user: &UserId) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .state
            .lock()
            .expect("lock")
            .revoked_users
            .get(user)
            .copied())
    }

    async fn is_revoked(
        &self,
        session: Option<Uuid>,
        token_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let s = self.state.lock().expect("lock");
        let by_session = session
            .and_then(|id| s.sessions.get(&id))
            .is_some_and(|s| s.revoked_at.is_some());
        let by_token = token_id.is_some_and(|jti| s.revoked_tokens.contains_key(jti));
        Ok(by_session || by_token)
    }
}
