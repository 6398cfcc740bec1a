//! Request bodies and query strings of the API-keys family, and their parsing into the domain's
//! specs ([`latchkey_core::keys::spec`]).
//!
//! Parse, don't validate: each `*Request` turns into a value the service can trust, or into a 400
//! listing every field at fault.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use latchkey_core::error::{Error, FieldError};
use latchkey_core::{
    keys::draft::{self, KeyDraft, LimitDraft, OwnLimit},
    keys::spec::{
        DEFAULT_EXPIRING_DAYS, KeyChanges, MAX_DEVICE_ID, MAX_PRESENTED_KEY, MAX_TAG, MAX_TAGS,
        NewKeySpec, VerifySpec, permissions,
    },
    validate::{self, Problems},
};

/// Body of `POST /api-keys`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CreateKeyRequest {
    /// Name; surrounding whitespace is trimmed.
    #[schema(min_length = 1, max_length = 100, default = "Default", pattern = r"\S")]
    name: Option<String>,
    /// Permissions the key holds; duplicates are dropped.
    #[schema(value_type = Option<Vec<Permission>>, max_items = 50)]
    permissions: Option<Vec<String>>,
    /// A read-only key may not call mutating routes.
    #[schema(default = false)]
    read_only: Option<bool>,
    /// Free text; blank means none.
    #[schema(max_length = 500)]
    description: Option<String>,
    /// When the key stops working; must be in the future.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// Requests allowed per hour (spatialflow's setting); not together with `rate_limit`.
    #[schema(minimum = 1, maximum = 1000, default = 1000)]
    rate_limit_per_hour: Option<i64>,
    /// Latchkey's own limit, for keys that guard real traffic: requests per window, or null for
    /// no limit. Governs the key instead of `rate_limit_per_hour`; not together with it.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present_object")]
    #[schema(value_type = Option<RateLimitBody>)]
    rate_limit: Option<Option<RateLimitBody>>,
    /// Where the key may be used from; empty or absent means anywhere.
    #[schema(value_type = Option<Vec<Network>>, max_items = 100)]
    allowed_ips: Option<Vec<String>>,
}

/// At most `limit` requests per `window`; windows are aligned to the UTC clock.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RateLimitBody {
    /// Requests allowed per window.
    #[schema(minimum = 1, maximum = 10000000)]
    limit: i64,
    /// The window's length.
    #[schema(value_type = RateWindowName)]
    window: String,
    /// Whether no window may ever admit more than `limit`. Exact limits cost a storage write
    /// before each instance's first request of each window; otherwise (the default) that first
    /// request is admitted at once and counted behind it, so a window may admit at most one
    /// request more per instance that first meets the key after the budget ran out.
    #[serde(default)]
    #[schema(default = false)]
    exact: bool,
}

/// The length of a rate window.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RateWindowName {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

/// `rate_limit` as the domain's draft holds it.
fn own_limit(own: Option<Option<RateLimitBody>>) -> Option<Option<OwnLimit>> {
    own.map(|own| {
        own.map(|body| OwnLimit {
            limit: body.limit,
            window: body.window,
            exact: body.exact,
        })
    })
}

/// A permission: 1 to 100 letters, digits and `_ : . * / -`.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_:.*/-]+$")]
#[allow(dead_code)]
pub struct Permission(String);

/// An IPv4 or IPv6 address, or a CIDR network such as `10.0.0.0/8` or `2001:db8::/32`.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, min_length = 2, max_length = 43, pattern = r"^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$")]
#[allow(dead_code)]
pub struct Network(String);

impl CreateKeyRequest {
    /// Validates every field against the contract's limits (the domain's rules for a new key).
    pub fn parse(self, now: DateTime<Utc>) -> Result<NewKeySpec, Error> {
        let draft = KeyDraft {
            name: self.name,
            permissions: self.permissions,
            read_only: self.read_only,
            is_active: None,
            description: self.description.map(Some),
            expires_at: self.expires_at,
            rate_limit: LimitDraft {
                per_hour: self.rate_limit_per_hour,
                own: own_limit(self.rate_limit),
            },
            allowed_ips: self.allowed_ips,
        };
        NewKeySpec::from_draft(draft, now)
    }
}

/// Body of `PUT /api-keys/{id}`: every field optional. `description: null` clears it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct UpdateKeyRequest {
    /// New name.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    /// New permissions (replace the old ones).
    #[schema(value_type = Option<Vec<Permission>>, max_items = 50)]
    permissions: Option<Vec<String>>,
    /// Switch the key off (false) or back on (true).
    is_active: Option<bool>,
    /// New hourly limit (spatialflow's setting); not together with `rate_limit`.
    #[schema(minimum = 1, maximum = 1000)]
    rate_limit_per_hour: Option<i64>,
    /// New limit of Latchkey's own, or null for no limit; not together with
    /// `rate_limit_per_hour`.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present_object")]
    #[schema(value_type = Option<RateLimitBody>)]
    rate_limit: Option<Option<RateLimitBody>>,
    /// New read-only flag.
    read_only: Option<bool>,
    /// New description; null or blank clears it.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    description: Option<Option<String>>,
    /// New networks (replace the old ones).
    #[schema(value_type = Option<Vec<Network>>, max_items = 100)]
    allowed_ips: Option<Vec<String>>,
}

impl UpdateKeyRequest {
    /// Validates the fields that are present (the domain's rules for changes).
    pub fn parse(self) -> Result<KeyChanges, Error> {
        KeyChanges::from_draft(KeyDraft {
            name: self.name,
            permissions: self.permissions,
            read_only: self.read_only,
            is_active: self.is_active,
            description: self.description,
            expires_at: None,
            rate_limit: LimitDraft {
                per_hour: self.rate_limit_per_hour,
                own: own_limit(self.rate_limit),
            },
            allowed_ips: self.allowed_ips,
        })
    }
}

/// Body of `POST /api-keys/{id}/revoke`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    /// Why the key is revoked, kept for audit.
    #[schema(value_type = String, min_length = 1, max_length = 500, pattern = r"\S")]
    reason: Option<String>,
}

impl RevokeRequest {
    /// The reason is required: 1 to 500 characters.
    pub fn parse(self) -> Result<String, Error> {
        draft::revoke_reason(self.reason.as_deref())
    }
}

/// Query of `POST /api-keys/{id}/rotate`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RotateQuery {
    /// Days the old key keeps working; 0 ends it at once.
    #[param(minimum = 0, maximum = 90, default = 7)]
    grace_period_days: Option<i64>,
}

impl RotateQuery {
    /// Grace period in days: 0..=90, default 7.
    pub fn parse(self) -> Result<i64, Error> {
        draft::grace_days(self.grace_period_days)
    }
}

/// Query of `GET /api-keys/expiring`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiringQuery {
    /// Look-ahead in days.
    #[param(minimum = 1, maximum = 365, default = 30)]
    days: Option<i64>,
}

impl ExpiringQuery {
    /// Look-ahead in days: 1..=365, default 30.
    pub fn parse(self) -> Result<i64, Error> {
        validate::in_range("days", self.days.unwrap_or(DEFAULT_EXPIRING_DAYS), 1, 365)
            .map_err(|e| Error::invalid_fields(vec![e]))
    }
}

/// Query of `PATCH /api-keys/{id}/expiration`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpirationQuery {
    /// The new expiry, in the future: a timestamp (RFC 3339, or ISO 8601 with `Z`, `+HH:MM`,
    /// `+HHMM`, `+HH` or no offset, meaning UTC) or a date (its UTC midnight). Absent (the SDK
    /// omits a `None`), empty or `null` removes the expiry.
    #[param(value_type = Option<String>, example = "2027-01-01T00:00:00Z")]
    expires_at: Option<String>,
}

impl ExpirationQuery {
    /// `Ok(None)` removes the expiry (absent, empty or `null`); a time must be in the future.
    pub fn parse(self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
        draft::new_expiry(self.expires_at.as_deref(), now)
    }
}

/// Body of `POST /api/v1/keys/verify`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct VerifyRequest {
    /// The presented key. A malformed one is not a 400 but the outcome `NOT_FOUND`.
    #[schema(value_type = String, max_length = 512)]
    key: Option<String>,
    /// The key's paired secret (a cartovista `generateSecret`), which a key that has one must
    /// come with: without it, or with another, the outcome is `NOT_FOUND`.
    #[schema(max_length = 512)]
    secret: Option<String>,
    /// Permissions the key must all hold.
    #[schema(value_type = Option<Vec<Permission>>, max_items = 50)]
    permissions: Option<Vec<String>>,
    /// The end client's device, recorded with the usage event.
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    device_id: Option<String>,
    /// Tags recorded with the usage event.
    #[schema(value_type = Option<Vec<Tag>>, max_items = 20)]
    tags: Option<Vec<String>>,
    /// The end client's address, when the caller is a proxy.
    #[schema(value_type = Option<String>, min_length = 2, max_length = 45, pattern = r"^[0-9A-Fa-f:.]+$")]
    ip: Option<String>,
}

/// An end client's device id: 1 to 128 characters, not only whitespace.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, min_length = 1, max_length = 128, pattern = r"\S")]
#[allow(dead_code)]
pub struct DeviceId(String);

/// A usage tag: 1 to 64 characters, not only whitespace.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, min_length = 1, max_length = 64, pattern = r"\S")]
#[allow(dead_code)]
pub struct Tag(String);

impl VerifyRequest {
    /// Validates the request; the key itself is judged by verification, not here.
    pub fn parse(self) -> Result<VerifySpec, Error> {
        let mut p = Problems::default();
        let key = match self.key {
            Some(key) if key.chars().count() <= MAX_PRESENTED_KEY => Some(key),
            Some(_) => p.take(Err(FieldError::new(
                "key",
                format!("must be at most {MAX_PRESENTED_KEY} characters"),
            ))),
            None => p.take(Err(FieldError::new("key", "is required"))),
        };
        let secret = match self.secret {
            Some(secret) if secret.chars().count() > MAX_PRESENTED_KEY => {
                p.take(Err(FieldError::new(
                    "secret",
                    format!("must be at most {MAX_PRESENTED_KEY} characters"),
                )))
            }
            secret => Some(secret),
        };
        let permissions = p.take_many(permissions(&self.permissions.unwrap_or_default()));
        let device_id = match self.device_id {
            Some(raw) => {
                p.take(validate::required_text("device_id", &raw, MAX_DEVICE_ID).map(Some))
            }
            None => Some(None),
        };
        let tags = self.tags.unwrap_or_default();
        if tags.len() > MAX_TAGS {
            p.push(FieldError::new(
                "tags",
                format!("must hold at most {MAX_TAGS} entries"),
            ));
        }
        let tags: Vec<String> = tags
            .iter()
            .enumerate()
            .filter_map(|(i, t)| p.take(validate::required_text(&format!("tags[{i}]"), t, MAX_TAG)))
            .collect();
        let ip = match self.ip {
            Some(raw) => p.take(
                raw.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| FieldError::new("ip", format!("{raw:?} is not an IP address"))),
            ),
            None => Some(None),
        };
        p.finish(|| VerifySpec {
            key: key.expect("checked"),
            secret: secret.expect("checked"),
            permissions: permissions.expect("checked"),
            device_id: device_id.expect("checked"),
            tags,
            ip: ip.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use latchkey_core::keys::limit::RateLimit;
    use serde_json::json;

    fn create(body: serde_json::Value) -> Result<NewKeySpec, Error> {
        serde_json::from_value::<CreateKeyRequest>(body)
            .unwrap()
            .parse(Utc::now())
    }

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::Validation { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_rate_limit_is_an_object_or_null() {
        for body in [json!({"rate_limit": [5, "day"]}), json!({"rate_limit": 5})] {
            let bytes = body.to_string();
            let err = crate::extract::parse_json::<CreateKeyRequest>(bytes.as_bytes()).unwrap_err();
            assert_eq!(err.status().as_u16(), 400, "{body}");
        }
    }

    #[test]
    fn create_defaults() {
        let spec = create(json!({})).unwrap();
        assert_eq!(spec.name, "Default");
        assert!(spec.permissions.is_empty());
        assert_eq!(spec.read_only, None, "unsaid: the ceiling settles it");
        assert_eq!(
            spec.rate_limit, None,
            "unsaid: the default, or an acting key's own"
        );
        assert_eq!(spec.description, None);
        assert_eq!(spec.expires_at, None);
    }

    #[test]
    fn create_reports_every_bad_field() {
        let err = create(json!({
            "name": "x".repeat(101),
            "permissions": ["ok", "has space"],
            "description": "d".repeat(501),
            "expires_at": "2001-01-01T00:00:00Z",
            "rate_limit_per_hour": 0,
            "allowed_ips": ["300.1.1.1"]
        }))
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "name",
                "permissions[1]",
                "description",
                "expires_at",
                "rate_limit_per_hour",
                "allowed_ips[0]"
            ]
        );
    }

    #[test]
    fn rate_limit_bounds() {
        assert!(create(json!({"rate_limit_per_hour": 1})).is_ok());
        assert!(create(json!({"rate_limit_per_hour": 1000})).is_ok());
        assert!(create(json!({"rate_limit_per_hour": 1001})).is_err());
        assert!(create(json!({"rate_limit_per_hour": -5})).is_err());
    }

    #[test]
    fn a_key_s_own_limit_takes_any_window_or_none() {
        use latchkey_core::keys::limit::RateWindow;
        let spec =
            create(json!({"rate_limit": {"limit": 10_000_000, "window": "second"}})).unwrap();
        assert_eq!(
            spec.rate_limit,
            Some(RateLimit::new(10_000_000, RateWindow::Second))
        );
        let unlimited = create(json!({"rate_limit": null})).unwrap();
        assert_eq!(unlimited.rate_limit, Some(None));
        let err = create(json!({"rate_limit": {"limit": 0, "window": "week"}})).unwrap_err();
        assert_eq!(fields(err), ["rate_limit.limit", "rate_limit.window"]);
        let both = create(json!({"rate_limit": null, "rate_limit_per_hour": 5})).unwrap_err();
        assert_eq!(fields(both), ["rate_limit"]);
        let update = |body| {
            serde_json::from_value::<UpdateKeyRequest>(body)
                .unwrap()
                .parse()
                .unwrap()
                .rate_limit
        };
        assert_eq!(update(json!({})), None);
        assert_eq!(update(json!({"rate_limit": null})), Some(None));
        assert_eq!(
            update(json!({"rate_limit_per_hour": 7})),
            Some(RateLimit::hourly(7))
        );
        assert_eq!(
            update(json!({"rate_limit": {"limit": 3, "window": "day"}})),
            Some(RateLimit::new(3, RateWindow::Day))
        );
    }

    #[test]
    fn update_distinguishes_null_from_absent() {
        let clear: UpdateKeyRequest = serde_json::from_value(json!({"description": null})).unwrap();
        assert_eq!(clear.parse().unwrap().description, Some(None));
        let keep: UpdateKeyRequest = serde_json::from_value(json!({"name": "n"})).unwrap();
        let changes = keep.parse().unwrap();
        assert_eq!(changes.description, None);
        assert_eq!(changes.name.as_deref(), Some("n"));
    }

    #[test]
    fn revoke_needs_a_reason() {
        assert!(RevokeRequest { reason: None }.parse().is_err());
        assert!(
            RevokeRequest {
                reason: Some(" ".into())
            }
            .parse()
            .is_err()
        );
        assert!(
            RevokeRequest {
                reason: Some("r".repeat(501))
            }
            .parse()
            .is_err()
        );
        assert_eq!(
            RevokeRequest {
                reason: Some("leaked".into())
            }
            .parse()
            .unwrap(),
            "leaked"
        );
    }

    #[test]
    fn verify_requests() {
        let parse =
            |v: serde_json::Value| serde_json::from_value::<VerifyRequest>(v).unwrap().parse();
        let spec =
            parse(json!({"key": "sk_x", "tags": ["a"], "device_id": "d1", "ip": "10.0.0.1"}))
                .unwrap();
        assert_eq!(spec.tags, ["a"]);
        assert_eq!(spec.ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(fields(parse(json!({})).unwrap_err()), ["key"]);
        assert_eq!(
            fields(
                parse(json!({"key": "k", "ip": "nope", "device_id": "", "tags": ["", "ok"]}))
                    .unwrap_err()
            ),
            ["device_id", "tags[0]", "ip"]
        );
        assert_eq!(
            fields(parse(json!({"key": "k".repeat(513)})).unwrap_err()),
            ["key"]
        );
    }

    #[test]
    fn query_ranges() {
        assert_eq!(RotateQuery::default().parse().unwrap(), 7);
        assert!(
            RotateQuery {
                grace_period_days: Some(91)
            }
            .parse()
            .is_err()
        );
        assert!(
            RotateQuery {
                grace_period_days: Some(-1)
            }
            .parse()
            .is_err()
        );
        assert_eq!(ExpiringQuery::default().parse().unwrap(), 30);
        assert!(ExpiringQuery { days: Some(0) }.parse().is_err());
        assert!(ExpiringQuery { days: Some(366) }.parse().is_err());
    }

    #[test]
    fn expiration_accepts_clear_and_repairs_plus() {
        let now = Utc::now();
        let q = |v: Option<&str>| {
            ExpirationQuery {
                expires_at: v.map(str::to_owned),
            }
            .parse(now)
        };
        assert_eq!(q(Some("")).unwrap(), None);
        assert_eq!(q(Some("null")).unwrap(), None);
        assert_eq!(q(None).unwrap(), None, "the SDK omits a None");
        assert!(q(Some("2001-01-01T00:00:00Z")).is_err());
        assert!(q(Some("2999-01-01T10:00:00 02:00")).unwrap().is_some());
    }
}
