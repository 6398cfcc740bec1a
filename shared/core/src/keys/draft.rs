//! A key's settings as a client sent them, before any rule: what a JSON body and a console form
//! both hold. [`NewKeySpec::from_draft`] and [`KeyChanges::from_draft`] are the one place the
//! key rules of the native API and the console are applied, each problem named by its field.

use chrono::{DateTime, Utc};

use super::{
    limit::RateLimit,
    spec::{
        DEFAULT_GRACE_DAYS, KeyChanges, MAX_DESCRIPTION, MAX_GRACE_DAYS, MAX_NAME, MAX_REASON,
        NewKeySpec, permissions, rate_limit, rate_limit_per_hour,
    },
};
use crate::{
    error::{Error, FieldError},
    validate::{self, Problems},
};

/// The settings of a new key or of changes to one, as sent. `None` is a setting not sent.
#[derive(Clone, Debug, Default)]
pub struct KeyDraft {
    /// Name; a new key without one is named `Default`.
    pub name: Option<String>,
    /// Permissions.
    pub permissions: Option<Vec<String>>,
    /// Read-only flag.
    pub read_only: Option<bool>,
    /// On/off switch (changes only: a new key is on).
    pub is_active: Option<bool>,
    /// Description; `Some(None)` (null) clears it, as blank does.
    pub description: Option<Option<String>>,
    /// Expiry, as a timestamp or date (new keys only).
    pub expires_at: Option<String>,
    /// The limit, in either of its spellings.
    pub rate_limit: LimitDraft,
    /// Networks the key may be used from.
    pub allowed_ips: Option<Vec<String>>,
}

/// A key's limit as sent: spatialflow's hourly number or Latchkey's own, not both.
#[derive(Clone, Debug, Default)]
pub struct LimitDraft {
    /// `rate_limit_per_hour`.
    pub per_hour: Option<i64>,
    /// `rate_limit`; `Some(None)` (null) for no limit.
    pub own: Option<Option<OwnLimit>>,
}

/// Latchkey's own limit as sent: requests per window, exact or not.
#[derive(Clone, Debug)]
pub struct OwnLimit {
    /// Requests per window.
    pub limit: i64,
    /// The window's name.
    pub window: String,
    /// Whether no window may ever admit more than `limit`.
    pub exact: bool,
}

impl LimitDraft {
    /// The limit it sets: `Ok(None)` when it names none, `Ok(Some(None))` for no limit.
    pub fn parse(self) -> Result<Option<Option<RateLimit>>, Vec<FieldError>> {
        match (self.per_hour, self.own) {
            (Some(_), Some(_)) => Err(vec![FieldError::new(
                "rate_limit",
                "send either rate_limit or rate_limit_per_hour, not both",
            )]),
            (Some(raw), None) => rate_limit_per_hour(raw)
                .map(|r| Some(Some(r)))
                .map_err(|e| vec![e]),
            (None, Some(Some(own))) => {
                rate_limit(own.limit, &own.window, own.exact).map(|r| Some(Some(r)))
            }
            (None, Some(None)) => Ok(Some(None)),
            (None, None) => Ok(None),
        }
    }
}

impl NewKeySpec {
    /// A new key from `draft`, every field checked against the contract's limits (an expiry
    /// must be after `now`); every problem is reported, each on its field.
    pub fn from_draft(draft: KeyDraft, now: DateTime<Utc>) -> Result<Self, Error> {
        let mut p = Problems::default();
        let name = match draft.name {
            Some(raw) => p.take(validate::required_text("name", &raw, MAX_NAME)),
            None => Some("Default".to_owned()),
        };
        let permissions = p.take_many(permissions(&draft.permissions.unwrap_or_default()));
        let description = match draft.description.flatten() {
            Some(raw) => p.take(validate::optional_text(
                "description",
                &raw,
                MAX_DESCRIPTION,
            )),
            None => Some(None),
        };
        let expires_at = match draft.expires_at {
            Some(raw) => p
                .take(validate::future_timestamp("expires_at", &raw, now))
                .map(Some),
            None => Some(None),
        };
        let rate = p.take_many(draft.rate_limit.parse());
        let allowed_ips = p.take_many(validate::ip_networks(
            "allowed_ips",
            &draft.allowed_ips.unwrap_or_default(),
        ));
        p.finish(|| Self {
            name: name.expect("checked"),
            permissions: permissions.expect("checked"),
            read_only: draft.read_only,
            description: description.expect("checked"),
            expires_at: expires_at.expect("checked"),
            rate_limit: rate.expect("checked"),
            allowed_ips: allowed_ips.expect("checked"),
            purpose: Default::default(),
        })
    }
}

impl KeyChanges {
    /// The changes `draft` asks for, each present field checked; every problem is reported,
    /// each on its field.
    pub fn from_draft(draft: KeyDraft) -> Result<Self, Error> {
        let mut p = Problems::default();
        let name = draft
            .name
            .and_then(|raw| p.take(validate::required_text("name", &raw, MAX_NAME)));
        let permissions = draft
            .permissions
            .and_then(|raw| p.take_many(permissions(&raw)));
        let rate = p.take_many(draft.rate_limit.parse()).flatten();
        let description = match draft.description {
            Some(Some(raw)) => p.take(validate::optional_text(
                "description",
                &raw,
                MAX_DESCRIPTION,
            )),
            Some(None) => Some(None),
            None => None,
        };
        let allowed_ips = draft
            .allowed_ips
            .and_then(|raw| p.take_many(validate::ip_networks("allowed_ips", &raw)));
        p.finish(|| Self {
            name,
            permissions,
            is_active: draft.is_active,
            rate_limit: rate,
            read_only: draft.read_only,
            description,
            allowed_ips,
            ..Self::default()
        })
    }
}

/// A revocation's reason, which is required: 1 to 500 characters.
pub fn revoke_reason(raw: Option<&str>) -> Result<String, Error> {
    let raw = raw.ok_or_else(|| Error::invalid_field("reason", "is required"))?;
    validate::required_text("reason", raw, MAX_REASON).map_err(|e| Error::invalid_fields(vec![e]))
}

/// A rotation's grace period in days: 0 to 90, 7 when not sent.
pub fn grace_days(raw: Option<i64>) -> Result<i64, Error> {
    validate::in_range(
        "grace_period_days",
        raw.unwrap_or(DEFAULT_GRACE_DAYS),
        0,
        MAX_GRACE_DAYS,
    )
    .map_err(|e| Error::invalid_fields(vec![e]))
}

/// A new expiry: `Ok(None)` removes it (not sent, empty or `null`); a time must be after `now`.
pub fn new_expiry(raw: Option<&str>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
    let raw = raw.unwrap_or_default().trim();
    if raw.is_empty() || raw == "null" {
        return Ok(None);
    }
    validate::future_timestamp("expires_at", raw, now)
        .map(Some)
        .map_err(|e| Error::invalid_fields(vec![e]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::Validation { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn every_problem_of_a_draft_is_named_by_its_field_at_once() {
        let draft = KeyDraft {
            name: Some(" ".into()),
            permissions: Some(vec!["ok".into(), "not ok".into()]),
            description: Some(Some("x".repeat(MAX_DESCRIPTION + 1))),
            expires_at: Some("2025-01-01".into()),
            rate_limit: LimitDraft {
                per_hour: Some(10),
                own: Some(None),
            },
            allowed_ips: Some(vec!["nowhere".into()]),
            ..KeyDraft::default()
        };
        let new = fields(NewKeySpec::from_draft(draft.clone(), now()).unwrap_err());
        assert_eq!(
            new,
            [
                "name",
                "permissions[1]",
                "description",
                "expires_at",
                "rate_limit",
                "allowed_ips[0]"
            ]
        );
        let changed = fields(KeyChanges::from_draft(draft).unwrap_err());
        assert!(!changed.contains(&"expires_at".to_owned()), "{changed:?}");
    }

    #[test]
    fn a_new_key_takes_defaults_and_changes_leave_what_was_not_sent() {
        let spec = NewKeySpec::from_draft(KeyDraft::default(), now()).unwrap();
        assert_eq!(spec, NewKeySpec::named("Default"));
        assert_eq!(
            KeyChanges::from_draft(KeyDraft::default()).unwrap(),
            KeyChanges::default()
        );
        let cleared = KeyChanges::from_draft(KeyDraft {
            description: Some(Some("  ".into())),
            rate_limit: LimitDraft {
                per_hour: None,
                own: Some(None),
            },
            ..KeyDraft::default()
        })
        .unwrap();
        assert_eq!(cleared.description, Some(None));
        assert_eq!(cleared.rate_limit, Some(None));
    }

    #[test]
    fn reasons_grace_and_expiry_keep_their_bounds() {
        assert_eq!(fields(revoke_reason(None).unwrap_err()), ["reason"]);
        assert_eq!(revoke_reason(Some(" leaked ")).unwrap(), "leaked");
        assert_eq!(grace_days(None).unwrap(), DEFAULT_GRACE_DAYS);
        assert_eq!(
            fields(grace_days(Some(91)).unwrap_err()),
            ["grace_period_days"]
        );
        assert_eq!(new_expiry(Some(" null "), now()).unwrap(), None);
        assert_eq!(
            fields(new_expiry(Some("2025-12-31"), now()).unwrap_err()),
            ["expires_at"]
        );
        assert!(new_expiry(Some("2026-02-01"), now()).unwrap().is_some());
    }

    proptest! {
        #[test]
        fn any_draft_is_a_spec_or_field_errors(
            name in proptest::option::of("\\PC{0,120}"),
            permissions in proptest::option::of(proptest::collection::vec("\\PC{0,12}", 0..4)),
            description in proptest::option::of(proptest::option::of("\\PC{0,20}")),
            expires_at in proptest::option::of("\\PC{0,30}"),
            per_hour in proptest::option::of(any::<i64>()),
            limit in proptest::option::of(proptest::option::of((any::<i64>(), "\\PC{0,8}", any::<bool>()))),
            allowed_ips in proptest::option::of(proptest::collection::vec("[0-9a-f.:/]{0,20}", 0..3)),
        ) {
            let draft = KeyDraft {
                name,
                permissions,
                description,
                expires_at,
                rate_limit: LimitDraft {
                    per_hour,
                    own: limit.map(|own| own.map(|(limit, window, exact)| OwnLimit { limit, window, exact })),
                },
                allowed_ips,
                ..KeyDraft::default()
            };
            for result in [
                NewKeySpec::from_draft(draft.clone(), now()).map(|_| ()),
                KeyChanges::from_draft(draft).map(|_| ()),
            ] {
                if let Err(err) = result {
                    prop_assert!(matches!(err, Error::Validation { ref errors, .. } if !errors.is_empty()), "{err:?}");
                }
            }
        }
    }
}
