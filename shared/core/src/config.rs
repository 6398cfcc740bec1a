//! Typed configuration, read once at cold start from the environment.

use std::time::Duration;

use crate::keys::secret::KeyPrefix;

/// Everything a Latchkey function needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct Config {
    /// The DynamoDB table holding every aggregate (`LATCHKEY_TABLE`).
    pub table_name: String,
    /// Session signing settings (JWTBearer), in the functions that authenticate sessions (see
    /// [`Config::with_sessions`]); `None` in those that never see one (authorizer, worker,
    /// sweeper), which then never hold the secret.
    pub jwt: Option<JwtSettings>,
    /// The OpenID Connect issuer whose tokens are sessions too, if one is configured.
    pub oidc: Option<OidcSettings>,
    /// Prefix of every key this deployment issues (`LATCHKEY_KEY_PREFIX`, default `sk`).
    pub key_prefix: KeyPrefix,
    /// The revocation bound (`LATCHKEY_KEY_CACHE_TTL_SECONDS`, default 30, at most 30): how long
    /// a change to a key may take to reach every warm container, whose cache serves only while
    /// the key-change feed was read within it ([`crate::keys::changes`]); 0 turns the cache off.
    pub key_cache_ttl: Duration,
    /// How long usage counters and events may wait in memory before they are flushed
    /// (`LATCHKEY_USAGE_FLUSH_SECONDS`, default 5; 0 writes them to the keys with every
    /// verification). A flush on an interval goes to the usage inbox, which the sweeper folds
    /// ([`crate::usage::fold`]).
    pub usage_flush_interval: Duration,
    /// How long usage events are kept before DynamoDB's TTL removes them
    /// (`LATCHKEY_USAGE_RETENTION_DAYS`, default 90, 1 to 3650).
    pub usage_retention_days: u32,
    /// How long audit events are kept before DynamoDB's TTL removes them
    /// (`LATCHKEY_AUDIT_RETENTION_DAYS`, default 400, 1 to 3650).
    pub audit_retention_days: u32,
    /// Permissions the authorizer requires per route key (`"GET /orders"`), from the JSON object
    /// in `LATCHKEY_AUTHORIZER_ROUTE_PERMISSIONS` (default: none required).
    pub route_permissions: std::collections::HashMap<String, Vec<String>>,
    /// The work queue's URL (`LATCHKEY_WORK_QUEUE_URL`; needed by the functions that enqueue).
    pub work_queue_url: Option<String>,
    /// The bucket the audit log is archived to (`LATCHKEY_AUDIT_BUCKET`; the audit stream
    /// function's alone).
    pub audit_bucket: Option<String>,
    /// Erasure chunks one worker message may run before it continues in a new message
    /// (`LATCHKEY_ERASURE_CHUNKS_PER_MESSAGE`; default: until the invocation's deadline).
    pub erasure_chunks_per_message: Option<usize>,
    /// Webhook settings.
    pub webhooks: WebhookSettings,
    /// Where GitHub's secret scanning keys are published (`LATCHKEY_SECRET_SCANNING_KEYS_URL`,
    /// default GitHub's own list): the keys a report to `/api/v1/leaks/github` must be signed by.
    pub secret_scanning_keys_url: String,
}

/// Webhook settings.
#[derive(Clone, Default)]
pub struct WebhookSettings {
    /// The key endpoint secrets are sealed under (`LATCHKEY_WEBHOOK_KEY`; deployed, read at cold
    /// start from the secret `LATCHKEY_WEBHOOK_KEY_ID` names, see
    /// [`Config::with_webhook_key`]). Only the functions that seal or sign hold it.
    pub key: Option<String>,
    /// Whether `http://localhost` and `http://127.0.0.1` endpoints are allowed
    /// (`LATCHKEY_WEBHOOK_ALLOW_LOCALHOST=1`): the local stack's setting, which the template
    /// never sets.
    pub allow_localhost: bool,
    /// Days a delivery and its attempts are kept (`LATCHKEY_WEBHOOK_RETENTION_DAYS`, default 30).
    pub retention_days: u32,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("allow_localhost", &self.allow_localhost)
            .field("retention_days", &self.retention_days)
            .finish()
    }
}

/// HS256 settings shared by the verifier and the dev-token issuer.
#[derive(Clone)]
pub struct JwtSettings {
    /// The shared HMAC secret (`LATCHKEY_JWT_SECRET`, at least 32 bytes).
    pub secret: String,
    /// Expected `iss` (`LATCHKEY_JWT_ISSUER`).
    pub issuer: String,
    /// Expected `aud` (`LATCHKEY_JWT_AUDIENCE`).
    pub audience: String,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// An OpenID Connect issuer whose access and id tokens Latchkey accepts as sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer URL, exactly as its tokens' `iss` says (`LATCHKEY_OIDC_ISSUER`); its discovery
    /// document is at `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// Client ids a token must be for: its `aud` (id tokens) or `client_id` (Cognito access
    /// tokens) is one of them (`LATCHKEY_OIDC_AUDIENCES`, comma-separated, required with an issuer).
    pub audiences: Vec<String>,
    /// The claim naming the workspace (`LATCHKEY_OIDC_WORKSPACE_CLAIM`, default `workspace_id`;
    /// Cognito: `custom:workspace_id`).
    pub workspace_claim: String,
    /// The claim naming the role, a string or a list whose first known role counts
    /// (`LATCHKEY_OIDC_ROLE_CLAIM`, default `role`; Cognito: `cognito:groups`).
    pub role_claim: String,
}

impl OidcSettings {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let Some(issuer) = set("LATCHKEY_OIDC_ISSUER") else {
            return Ok(None);
        };
        let issuer = issuer.trim().trim_end_matches('/').to_owned();
        if !(issuer.starts_with("https://")
            || issuer.starts_with("http://127.0.0.1")
            || issuer.starts_with("http://localhost"))
        {
            return Err(ConfigError::Invalid {
                name: "LATCHKEY_OIDC_ISSUER",
                reason: "must be an https URL (http only for a local issuer)".into(),
            });
        }
        let audiences: Vec<String> = set("LATCHKEY_OIDC_AUDIENCES")
            .ok_or(ConfigError::Missing("LATCHKEY_OIDC_AUDIENCES"))?
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        if audiences.is_empty() {
            return Err(ConfigError::Missing("LATCHKEY_OIDC_AUDIENCES"));
        }
        Ok(Some(Self {
            issuer,
            audiences,
            workspace_claim: set("LATCHKEY_OIDC_WORKSPACE_CLAIM")
                .unwrap_or_else(|| "workspace_id".into()),
            role_claim: set("LATCHKEY_OIDC_ROLE_CLAIM").unwrap_or_else(|| "role".into()),
        }))
    }
}

/// Sign-in through the OpenID Connect issuer: Latchkey as its confidential client.
#[derive(Clone)]
pub struct SignInSettings {
    /// The client id (`LATCHKEY_OIDC_CLIENT_ID`).
    pub client_id: String,
    /// The client secret, read from Secrets Manager (the secret `LATCHKEY_OIDC_CLIENT_SECRET_ID`
    /// names) at cold start.
    pub client_secret: String,
    /// Where the provider may send users back: exact URIs (`LATCHKEY_OIDC_REDIRECT_URIS`,
    /// separated by spaces or commas).
    pub redirect_uris: Vec<String>,
    /// How long a session token lives (`LATCHKEY_SESSION_TTL_SECONDS`, default 3600).
    pub session_ttl: Duration,
    /// How long a session may be refreshed (`LATCHKEY_REFRESH_TTL_SECONDS`, default 2592000).
    pub refresh_ttl: Duration,
    /// The key the sign-in's PKCE verifier and nonce are derived with: the session signing
    /// secret.
    pub derivation_key: String,
}

impl std::fmt::Debug for SignInSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .field("session_ttl", &self.session_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish()
    }
}

impl SignInSettings {
    /// The secret id to read the client secret from, when sign-in is configured.
    pub fn client_secret_id(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
        lookup("LATCHKEY_OIDC_CLIENT_SECRET_ID").filter(|v| !v.trim().is_empty())
    }

    /// The settings from the process environment, with the client secret read from Secrets
    /// Manager (what a function that signs users in does at cold start).
    pub async fn load(secrets: &impl SecretSource, jwt: &JwtSettings) -> Result<Self, BoxError> {
        let env = |name: &str| std::env::var(name).ok();
        let secret_id = Self::client_secret_id(env)
            .ok_or("LATCHKEY_OIDC_CLIENT_SECRET_ID is not set: sign-in needs the client secret")?;
        let client_secret = secrets.secret(&secret_id).await?;
        Ok(Self::from_lookup(env, client_secret, jwt)?)
    }

    /// The settings from `lookup`, with the client secret already read and `jwt`'s secret to
    /// derive with.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        client_secret: String,
        jwt: &JwtSettings,
    ) -> Result<Self, ConfigError> {
        let client_id = lookup("LATCHKEY_OIDC_CLIENT_ID")
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing("LATCHKEY_OIDC_CLIENT_ID"))?;
        let redirect_uris: Vec<String> = lookup("LATCHKEY_OIDC_REDIRECT_URIS")
            .unwrap_or_default()
            .split([' ', ','])
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if redirect_uris.is_empty() {
            return Err(ConfigError::Missing("LATCHKEY_OIDC_REDIRECT_URIS"));
        }
        Ok(Self {
            client_id,
            client_secret,
            redirect_uris,
            session_ttl: Duration::from_secs(number(
                &lookup,
                "LATCHKEY_SESSION_TTL_SECONDS",
                3600,
                60..=86_400,
            )?),
            refresh_ttl: Duration::from_secs(number(
                &lookup,
                "LATCHKEY_REFRESH_TTL_SECONDS",
                2_592_000,
                3600..=31_536_000,
            )?),
            derivation_key: jwt.secret.clone(),
        })
    }

    /// [`SignInSettings::refresh_ttl`] as a date offset.
    pub fn refresh_ttl_chrono(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.refresh_ttl.as_secs() as i64)
    }
}

/// A failure reading configuration or a secret, for a function's `main` to report.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where deployed secrets are read at cold start: Secrets Manager when deployed (the AWS crate's
/// `Aws`), a fixed value in tests.
pub trait SecretSource {
    /// The current value of the secret `id` names.
    fn secret(&self, id: &str) -> impl Future<Output = Result<String, BoxError>> + Send;
}

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The variable is not set.
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    /// The variable is set to something unusable.
    #[error("invalid environment variable {name}: {reason}")]
    Invalid {
        /// Variable name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The longest the verification cache may keep a key: the documented revocation bound.
pub const MAX_KEY_CACHE_TTL: Duration = Duration::from_secs(30);

impl Config {
    /// The configuration of a function that authenticates sessions: [`Config::from_env`] with
    /// the session signing secret read once, at cold start, from Secrets Manager (the secret
    /// `LATCHKEY_JWT_SECRET_ID` names); `LATCHKEY_JWT_SECRET` itself only where no id is set
    /// (tests and tools).
    pub async fn with_sessions(secrets: &impl SecretSource) -> Result<Self, BoxError> {
        let env = |name: &str| std::env::var(name).ok();
        let secret = match env("LATCHKEY_JWT_SECRET_ID").filter(|id| !id.trim().is_empty()) {
            Some(id) => Some(secrets.secret(&id).await?),
            None => None,
        };
        let config = Self::from_lookup(|name| match name {
            "LATCHKEY_JWT_SECRET" => secret.clone().or_else(|| env(name)),
            _ => env(name),
        })?;
        if config.jwt.is_none() {
            return Err(ConfigError::Missing("LATCHKEY_JWT_SECRET_ID").into());
        }
        Ok(config)
    }

    /// This configuration with the webhook key read from Secrets Manager (the secret
    /// `LATCHKEY_WEBHOOK_KEY_ID` names) when that is set; else `LATCHKEY_WEBHOOK_KEY`
    /// itself (the local stack, tests), which must then be set.
    pub async fn with_webhook_key(mut self, secrets: &impl SecretSource) -> Result<Self, BoxError> {
        match std::env::var("LATCHKEY_WEBHOOK_KEY_ID")
            .ok()
            .filter(|id| !id.trim().is_empty())
        {
            Some(id) => self.webhooks.key = Some(secrets.secret(&id).await?),
            None if self.webhooks.key.is_some() => {}
            None => return Err(ConfigError::Missing("LATCHKEY_WEBHOOK_KEY_ID").into()),
        }
        Ok(self)
    }

    /// The session signing settings of a function built [`Config::with_sessions`].
    pub fn sessions(&self) -> &JwtSettings {
        self.jwt.as_ref().expect(
            "a function that authenticates sessions is configured with Config::with_sessions",
        )
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let jwt = match lookup("LATCHKEY_JWT_SECRET") {
            Some(secret) if !secret.trim().is_empty() => Some(JwtSettings::from_lookup(&lookup)?),
            _ => None,
        };
        let oidc = OidcSettings::from_lookup(&lookup)?;
        let key_prefix = match lookup("LATCHKEY_KEY_PREFIX") {
            Some(raw) if !raw.is_empty() => {
                KeyPrefix::parse(&raw).map_err(|reason| ConfigError::Invalid {
                    name: "LATCHKEY_KEY_PREFIX",
                    reason,
                })?
            }
            _ => KeyPrefix::default(),
        };
        let max_ttl = MAX_KEY_CACHE_TTL.as_secs();
        let key_cache_ttl = Duration::from_secs(number(
            &lookup,
            "LATCHKEY_KEY_CACHE_TTL_SECONDS",
            max_ttl,
            0..=max_ttl,
        )?);
        let usage_flush_interval =
            Duration::from_secs(number(&lookup, "LATCHKEY_USAGE_FLUSH_SECONDS", 5, 0..=300)?);
        let usage_retention_days =
            number(&lookup, "LATCHKEY_USAGE_RETENTION_DAYS", 90, 1..=3650)? as u32;
        let audit_retention_days = number(
            &lookup,
            "LATCHKEY_AUDIT_RETENTION_DAYS",
            u64::from(crate::audit::DEFAULT_RETENTION_DAYS),
            1..=3650,
        )? as u32;
        let route_permissions = match lookup("LATCHKEY_AUTHORIZER_ROUTE_PERMISSIONS") {
            Some(raw) if !raw.trim().is_empty() => {
                serde_json::from_str(&raw).map_err(|e| ConfigError::Invalid {
                    name: "LATCHKEY_AUTHORIZER_ROUTE_PERMISSIONS",
                    reason: format!("must be a JSON object of route keys to permission lists: {e}"),
                })?
            }
            _ => Default::default(),
        };
        let erasure_chunks_per_message = match lookup("LATCHKEY_ERASURE_CHUNKS_PER_MESSAGE") {
            Some(raw) if !raw.trim().is_empty() => Some(number(
                &lookup,
                "LATCHKEY_ERASURE_CHUNKS_PER_MESSAGE",
                0,
                1..=1_000_000,
            )? as usize),
            _ => None,
        };
        let webhooks = WebhookSettings {
            key: lookup("LATCHKEY_WEBHOOK_KEY").filter(|v| !v.trim().is_empty()),
            allow_localhost: number(&lookup, "LATCHKEY_WEBHOOK_ALLOW_LOCALHOST", 0, 0..=1)? == 1,
            retention_days: number(&lookup, "LATCHKEY_WEBHOOK_RETENTION_DAYS", 30, 1..=400)? as u32,
        };
        Ok(Self {
            webhooks,
            secret_scanning_keys_url: lookup("LATCHKEY_SECRET_SCANNING_KEYS_URL")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| crate::leaks::github::GITHUB_KEYS_URL.to_owned()),
            work_queue_url: lookup("LATCHKEY_WORK_QUEUE_URL").filter(|v| !v.trim().is_empty()),
            audit_bucket: lookup("LATCHKEY_AUDIT_BUCKET").filter(|v| !v.trim().is_empty()),
            erasure_chunks_per_message,
            route_permissions,
            table_name: required("LATCHKEY_TABLE")?,
            jwt,
            oidc,
            key_prefix,
            key_cache_ttl,
            usage_flush_interval,
            usage_retention_days,
            audit_retention_days,
        })
    }
}

/// An optional whole number within `range`, or `default` when unset.
fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(raw) = lookup(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!(
                "{raw:?} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        })
}

impl JwtSettings {
    /// Reads the JWT settings alone (the dev-token command needs nothing else).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let secret = required("LATCHKEY_JWT_SECRET")?;
        if secret.len() < 32 {
            return Err(ConfigError::Invalid {
                name: "LATCHKEY_JWT_SECRET",
                reason: "must be at least 32 bytes for HS256".into(),
            });
        }
        Ok(Self {
            secret,
            issuer: required("LATCHKEY_JWT_ISSUER")?,
            audience: required("LATCHKEY_JWT_AUDIENCE")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const BASE: [(&str, &str); 4] = [
        ("LATCHKEY_TABLE", "t"),
        ("LATCHKEY_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("LATCHKEY_JWT_ISSUER", "iss"),
        ("LATCHKEY_JWT_AUDIENCE", "aud"),
    ];

    #[test]
    fn defaults_apply() {
        let config = Config::from_lookup(env(&BASE)).unwrap();
        assert_eq!(config.key_prefix.as_str(), "sk");
        assert_eq!(config.key_cache_ttl, MAX_KEY_CACHE_TTL);
        assert_eq!(config.audit_retention_days, 400);
    }

    #[test]
    fn audit_retention_is_read_and_bounded() {
        let mut pairs = BASE.to_vec();
        pairs.push(("LATCHKEY_AUDIT_RETENTION_DAYS", "30"));
        assert_eq!(
            Config::from_lookup(env(&pairs))
                .unwrap()
                .audit_retention_days,
            30
        );
        for bad in ["0", "3651", "a year"] {
            let mut pairs = BASE.to_vec();
            pairs.push(("LATCHKEY_AUDIT_RETENTION_DAYS", bad));
            let err = Config::from_lookup(env(&pairs)).unwrap_err();
            assert!(
                err.to_string().contains("LATCHKEY_AUDIT_RETENTION_DAYS"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn missing_variable_is_named() {
        let err = Config::from_lookup(env(&BASE[1..])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing environment variable LATCHKEY_TABLE"
        );
    }

    #[test]
    fn cache_ttl_over_the_bound_is_refused() {
        let mut pairs = BASE.to_vec();
        pairs.push(("LATCHKEY_KEY_CACHE_TTL_SECONDS", "31"));
        let err = Config::from_lookup(env(&pairs)).unwrap_err();
        assert!(err.to_string().contains("LATCHKEY_KEY_CACHE_TTL_SECONDS"));
    }

    #[test]
    fn short_jwt_secret_is_refused() {
        let mut pairs = BASE.to_vec();
        pairs[1] = ("LATCHKEY_JWT_SECRET", "short");
        assert!(Config::from_lookup(env(&pairs)).is_err());
    }

    #[test]
    fn an_oidc_issuer_needs_its_audiences_and_https() {
        assert_eq!(Config::from_lookup(env(&BASE)).unwrap().oidc, None);
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = BASE.to_vec();
            pairs.extend_from_slice(extra);
            Config::from_lookup(env(&pairs))
        };
        let issuer = (
            "LATCHKEY_OIDC_ISSUER",
            "https://cognito-idp.eu-west-1.amazonaws.com/pool/",
        );
        assert!(matches!(
            with(&[issuer]),
            Err(ConfigError::Missing("LATCHKEY_OIDC_AUDIENCES"))
        ));
        let oidc = with(&[
            issuer,
            ("LATCHKEY_OIDC_AUDIENCES", " web, cli ,"),
            ("LATCHKEY_OIDC_ROLE_CLAIM", "cognito:groups"),
        ])
        .unwrap()
        .oidc
        .unwrap();
        assert_eq!(
            oidc.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/pool"
        );
        assert_eq!(oidc.audiences, ["web", "cli"]);
        assert_eq!(
            (oidc.workspace_claim.as_str(), oidc.role_claim.as_str()),
            ("workspace_id", "cognito:groups")
        );
        assert!(
            with(&[
                ("LATCHKEY_OIDC_ISSUER", "http://idp.example"),
                ("LATCHKEY_OIDC_AUDIENCES", "web"),
            ])
            .is_err()
        );
    }
}
