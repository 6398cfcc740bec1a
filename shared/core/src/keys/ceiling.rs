//! The one rule of what a key may hold, which every key use case applies whatever family or page
//! asked: a key never acts beyond its owner's role (a viewer's keys are read-only), and a key
//! acting on Latchkey's API never grants more than it holds: no wider permissions or networks, no
//! dropped `read_only`, no higher or removed rate limit, no later or removed expiry, whether on
//! itself, on a key it creates, or on a rotation's successor.

use chrono::{DateTime, Utc};

use super::caller::Caller;
use super::{
    limit::RateLimit,
    model::{ApiKey, KeyGrant},
    spec::{NewKeySpec, default_rate_limit},
};
use crate::{error::Error, role::Role};

/// What a key made or changed by one caller for one owner may hold at most.
#[derive(Clone, Debug)]
pub struct Ceiling<'a> {
    /// The role of the key's owner in the workspace.
    owner_role: Role,
    /// The acting key's limits, when the caller is a key.
    grant: Option<&'a KeyGrant>,
    /// The caller's own role.
    caller_role: Role,
}

/// A new key's settings once the ceiling has settled what the request left unsaid.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    /// Read-only flag.
    pub read_only: bool,
    /// Rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

fn escalation(what: &str) -> Error {
    Error::Forbidden(format!(
        "An API key cannot grant more than it holds: {what}."
    ))
}

fn beyond_owner(owner: Role) -> Error {
    Error::Forbidden(format!(
        "A key cannot act beyond its owner's role ({}){}.",
        owner.as_str(),
        if owner == Role::Viewer {
            ": a viewer's keys are read-only"
        } else {
            ""
        }
    ))
}

impl<'a> Ceiling<'a> {
    /// The ceiling of a key owned by a user of `owner_role`, made or changed by `caller`.
    pub fn new(caller: &'a Caller, owner_role: Role) -> Self {
        Self {
            owner_role,
            grant: caller.grant(),
            caller_role: caller.role(),
        }
    }

    /// Refuses a key role above the caller's own or its owner's.
    fn role_allowed(&self, role: Option<Role>) -> Result<(), Error> {
        match role {
            Some(role) if role < self.caller_role => Err(Error::Forbidden(format!(
                "A key cannot be given a role above the caller's own ({}).",
                self.caller_role.as_str()
            ))),
            Some(role) if role < self.owner_role => Err(beyond_owner(self.owner_role)),
            _ => Ok(()),
        }
    }

    /// Refuses permissions or networks wider than the acting key's.
    pub fn within_grant(
        &self,
        permissions: Option<&[String]>,
        networks: Option<&[ipnet::IpNet]>,
    ) -> Result<(), Error> {
        let Some(grant) = self.grant else {
            return Ok(());
        };
        if permissions.is_some_and(|p| !grant.covers_permissions(p)) {
            return Err(escalation("the permissions exceed the calling key's"));
        }
        if networks.is_some_and(|n| !grant.covers_networks(n)) {
            return Err(escalation("allowed_ips is wider than the calling key's"));
        }
        Ok(())
    }

    /// A new key's settings: what `spec` said, refused where it is above the ceiling; what it
    /// left unsaid, at the ceiling (read-only for a viewer's key; an acting key's own limit and
    /// expiry; else the default limit and no expiry).
    pub fn settle(&self, spec: &NewKeySpec) -> Result<Settled, Error> {
        self.within_grant(Some(&spec.permissions), Some(&spec.allowed_ips))?;
        self.role_allowed(spec.purpose.role)?;
        let read_only = match spec.read_only {
            Some(false) if self.owner_role == Role::Viewer => {
                return Err(beyond_owner(self.owner_role));
            }
            Some(false) if self.grant.is_some_and(|g| g.read_only) => {
                return Err(escalation("read_only cannot be dropped"));
            }
            Some(said) => said,
            None => self.owner_role == Role::Viewer || self.grant.is_some_and(|g| g.read_only),
        };
        let rate_limit = match (spec.rate_limit, self.grant) {
            (Some(said), Some(grant)) if !grant.covers_rate_limit(said) => {
                return Err(escalation(
                    "the rate limit is higher than the calling key's, or removes it",
                ));
            }
            (Some(said), _) => said,
            (None, Some(grant)) if grant.rate_limit.is_some() => grant.rate_limit,
            (None, _) => Some(default_rate_limit()),
        };
        let expires_at = match (spec.expires_at, self.grant) {
            (Some(said), Some(grant)) if !grant.covers_expiry(Some(said)) => {
                return Err(escalation("the expiry is later than the calling key's"));
            }
            (Some(said), _) => Some(said),
            (None, Some(grant)) => grant.expires_at,
            (None, None) => None,
        };
        Ok(Settled {
            read_only,
            rate_limit,
            expires_at,
        })
    }

    /// Refuses a change that leaves `after` holding more than the ceiling allows, `before`
    /// being the key as it was. The owner's role holds after any change, whoever makes it; an
    /// acting key may tighten a key, never loosen it past itself.
    pub fn check_change(&self, before: &ApiKey, after: &ApiKey) -> Result<(), Error> {
        if after.purpose.role != before.purpose.role {
            self.role_allowed(after.purpose.role)?;
        }
        if after.role() < self.owner_role {
            return Err(beyond_owner(self.owner_role));
        }
        let Some(grant) = self.grant else {
            return Ok(());
        };
        if before.read_only && !after.read_only {
            return Err(escalation("read_only cannot be dropped"));
        }
        if after.permissions != before.permissions && !grant.covers_permissions(&after.permissions)
        {
            return Err(escalation("the permissions exceed the calling key's"));
        }
        if after.allowed_ips != before.allowed_ips && !grant.covers_networks(&after.allowed_ips) {
            return Err(escalation("allowed_ips is wider than the calling key's"));
        }
        let tighter_limit = match (after.rate_limit, before.rate_limit) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(after), Some(before)) => after.within(before),
        };
        if after.rate_limit != before.rate_limit
            && !tighter_limit
            && !grant.covers_rate_limit(after.rate_limit)
        {
            return Err(escalation(
                "the rate limit would be higher than the calling key's, or removed",
            ));
        }
        let sooner = match (after.expires_at, before.expires_at) {
            (Some(after), Some(before)) => after <= before,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if after.expires_at != before.expires_at
            && !sooner
            && !grant.covers_expiry(after.expires_at)
        {
            return Err(escalation(
                "the expiry would be later than the calling key's, or removed",
            ));
        }
        Ok(())
    }

    /// Refuses an acting key a new secret for, or a successor to, a key more powerful than
    /// itself (which would hand the caller that power).
    pub fn check_reissue(&self, key: &ApiKey) -> Result<(), Error> {
        self.within_grant(Some(&key.permissions), Some(&key.allowed_ips))?;
        let Some(grant) = self.grant else {
            return Ok(());
        };
        if !grant.covers_rate_limit(key.rate_limit) {
            return Err(escalation(
                "the key's rate limit is higher than the calling key's",
            ));
        }
        if !grant.covers_expiry(key.expires_at) {
            return Err(escalation("the key expires later than the calling key"));
        }
        if grant.read_only && !key.read_only {
            return Err(escalation("the key is not read-only"));
        }
        Ok(())
    }

    /// The expiry a rotation's successor of `old` (as it was before the rotation) starts with:
    /// none for a user, who may set one; the old key's own for an acting key, which may not
    /// hand on a key that outlives it.
    pub fn successor_expiry(&self, old: &ApiKey) -> Option<DateTime<Utc>> {
        self.grant.and(old.expires_at)
    }
}
