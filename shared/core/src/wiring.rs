//! Wiring: builds, once per cold start, only the components a function asks for.
//!
//! Each accessor builds its component (and what that needs) on first use and hands out the same
//! one after, so a function's `main.rs` names what it uses and nothing else is constructed: the
//! authorizer asks for the verifier alone, and never builds erasure, the dashboard or the
//! lifecycle. What a function asks for is what its IAM policy in `template.yaml` must grant (the
//! local stack's policy guard holds the two together, in the AWS crate).
//!
//! Components are built over a [`Storage`] bundle: the DynamoDB table in the functions
//! (`latchkey_aws::wiring`), memory in in-process router tests ([`Wiring::in_memory`]).

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use crate::{
    audit::{log::AuditLog, store::AuditTrail},
    auth::{
        Authenticator,
        jwt::{JwtIssuer, JwtVerifier},
        oidc::OidcVerifier,
    },
    clock::Clock,
    config::{Config, SignInSettings},
    dashboard::Dashboard,
    issue_reports::{IssueReports, Scrubber},
    keys::{
        cache::VerifiedKeyCache,
        ratelimit::RateLimiter,
        service::{KeyEvents, KeyService},
        store::KeyStore,
        verify::{KeyVerifier, VerifierParts},
    },
    leaks::{
        HttpKeyList, KeyList, LeakIntake, LeakResponse, ScanningKeys, SecuritySettingsService,
    },
    lifecycle::Lifecycle,
    notifications::Notifications,
    onboarding::Onboarding,
    privacy::erasure::{Erasure, ErasureParts},
    profiles::{ProfileStore, Profiles},
    queue::WorkQueue,
    sessions::{Revocations, SignIn, store::SessionStore},
    store::{MemoryStorage, Storage},
    usage::{
        UsageRecorder, UsageSink,
        fold::{InboxSink, UsageFolder},
    },
    webhooks::{
        delivery::{Deliverer, DelivererParts, Transport},
        dispatch::Dispatcher,
        secret::SecretBox,
        service::{WebhookParts, Webhooks},
        url::UrlPolicy,
    },
};

/// The components of one function, each built on first use.
pub struct Wiring {
    config: Config,
    /// The storage of everything but verification.
    storage: Arc<dyn Storage>,
    /// The storage of verification: the same backend, on the tightest timeouts.
    verification: Arc<dyn Storage>,
    queue: Option<Arc<dyn WorkQueue>>,
    clock: Arc<dyn Clock>,
    cache: OnceLock<Arc<VerifiedKeyCache>>,
    store: OnceLock<Arc<dyn KeyStore>>,
    verifier: OnceLock<Arc<KeyVerifier>>,
    keys: OnceLock<Arc<KeyService>>,
    audit: OnceLock<Arc<AuditLog>>,
    profiles: OnceLock<Arc<dyn ProfileStore>>,
    auth: OnceLock<Arc<Authenticator>>,
    oidc: OnceLock<Option<Arc<OidcVerifier>>>,
    sessions: OnceLock<Arc<dyn SessionStore>>,
    notifications: OnceLock<Arc<Notifications>>,
    onboarding: OnceLock<Arc<Onboarding>>,
    erasure: OnceLock<Arc<Erasure>>,
    lifecycle: OnceLock<Arc<Lifecycle>>,
    scanning: OnceLock<Arc<ScanningKeys>>,
}

impl Wiring {
    /// Components over memory, with a queue in memory, on `clock`: a whole function's
    /// behaviour in process, for router tests.
    pub fn in_memory(config: Config, clock: Arc<dyn Clock>) -> Self {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
        let queue: Arc<dyn WorkQueue> = Arc::new(crate::queue::MemoryQueue::default());
        Self::over(config, storage.clone(), storage, Some(queue), clock)
    }

    /// Components over `storage` (and `verification`, the same backend on the tightest
    /// timeouts), sending background work to `queue`, on `clock`.
    pub fn over(
        config: Config,
        storage: Arc<dyn Storage>,
        verification: Arc<dyn Storage>,
        queue: Option<Arc<dyn WorkQueue>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            config,
            storage,
            verification,
            queue,
            clock,
            cache: OnceLock::new(),
            store: OnceLock::new(),
            verifier: OnceLock::new(),
            keys: OnceLock::new(),
            profiles: OnceLock::new(),
            auth: OnceLock::new(),
            oidc: OnceLock::new(),
            sessions: OnceLock::new(),
            notifications: OnceLock::new(),
            onboarding: OnceLock::new(),
            erasure: OnceLock::new(),
            audit: OnceLock::new(),
            lifecycle: OnceLock::new(),
            scanning: OnceLock::new(),
        }
    }

    /// The configuration read at cold start.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The clock every component shares.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The verified-key cache, shared by the verifier and the key use cases so a write in this
    /// container evicts what it changed.
    fn cache(&self) -> Arc<VerifiedKeyCache> {
        self.cache
            .get_or_init(|| {
                Arc::new(VerifiedKeyCache::new(
                    self.config.key_cache_ttl,
                    self.clock(),
                ))
            })
            .clone()
    }

    fn store(&self) -> Arc<dyn KeyStore> {
        self.store.get_or_init(|| self.storage.keys()).clone()
    }

    /// The verification core, on the verification path's client and timeouts.
    pub fn verifier(&self) -> Arc<KeyVerifier> {
        self.verifier
            .get_or_init(|| {
                let storage = &self.verification;
                let sink: Arc<dyn UsageSink> = if self.config.usage_flush_interval.is_zero() {
                    storage.usage(self.config.usage_retention_days)
                } else {
                    Arc::new(InboxSink::new(storage.usage_inbox()))
                };
                let usage = UsageRecorder::new(sink, self.config.usage_flush_interval);
                Arc::new(KeyVerifier::new(VerifierParts {
                    store: storage.keys(),
                    prefix: self.config.key_prefix.clone(),
                    clock: self.clock(),
                    cache: self.cache(),
                    limiter: RateLimiter::new(storage.rates()),
                    usage: Arc::new(usage),
                    onboarding: Some(self.onboarding()),
                }))
            })
            .clone()
    }

    /// The API-key use cases.
    pub fn keys(&self) -> Arc<KeyService> {
        self.keys
            .get_or_init(|| {
                Arc::new(
                    KeyService::new(
                        self.store(),
                        self.config.key_prefix.clone(),
                        self.clock(),
                        self.cache(),
                    )
                    .with_events(KeyEvents {
                        onboarding: self.onboarding(),
                        notifications: self.notifications(),
                    })
                    .with_members(self.profiles()),
                )
            })
            .clone()
    }

    /// Profiles.
    pub fn profiles(&self) -> Arc<dyn ProfileStore> {
        self.profiles
            .get_or_init(|| self.storage.profiles())
            .clone()
    }

    /// The profile use cases.
    pub fn profile_cases(&self) -> Arc<Profiles> {
        Arc::new(Profiles::new(
            self.profiles(),
            self.onboarding(),
            self.clock(),
            self.trail(),
        ))
    }

    /// Authentication of callers (sessions and keys), provisioning first-time users.
    pub fn auth(&self) -> Arc<Authenticator> {
        self.auth
            .get_or_init(|| {
                let bound = self.config.key_cache_ttl.max(Duration::from_millis(1));
                Arc::new(
                    Authenticator::new(
                        JwtVerifier::new(self.config.sessions()),
                        self.oidc(),
                        self.verifier(),
                        self.profiles(),
                        self.clock(),
                    )
                    .with_revocations(Arc::new(Revocations::new(self.sessions(), bound)), bound),
                )
            })
            .clone()
    }

    /// The configured OpenID Connect issuer's verifier (one per container, so one key cache).
    pub fn oidc(&self) -> Option<Arc<OidcVerifier>> {
        self.oidc
            .get_or_init(|| {
                self.config
                    .oidc
                    .clone()
                    .map(|settings| Arc::new(OidcVerifier::new(settings)))
            })
            .clone()
    }

    /// Sign-in sessions, revoked tokens and sign-ins in progress.
    pub fn sessions(&self) -> Arc<dyn SessionStore> {
        self.sessions
            .get_or_init(|| self.storage.sessions())
            .clone()
    }

    /// Sign-in through the issuer, with `settings` (which carry the client secret read at cold
    /// start); `None` when no issuer is configured.
    pub fn sign_in(&self, settings: SignInSettings) -> Option<Arc<SignIn>> {
        let provider = self.oidc()?;
        Some(Arc::new(SignIn::new(
            self.sessions(),
            provider,
            Arc::new(JwtIssuer::new(self.config.sessions())),
            settings,
            self.clock(),
            self.trail(),
        )))
    }

    /// Records changes in the audit log, with the writes that make them.
    pub fn trail(&self) -> AuditTrail {
        AuditTrail::new(self.storage.audit())
    }

    /// The audit log's read use cases, over the log the key store writes to.
    pub fn audit(&self) -> Arc<AuditLog> {
        self.audit
            .get_or_init(|| Arc::new(AuditLog::new(self.storage.audit())))
            .clone()
    }

    /// Notifications.
    pub fn notifications(&self) -> Arc<Notifications> {
        self.notifications
            .get_or_init(|| {
                Arc::new(Notifications::new(
                    self.storage.notifications(),
                    self.clock(),
                ))
            })
            .clone()
    }

    /// The onboarding checklist.
    pub fn onboarding(&self) -> Arc<Onboarding> {
        self.onboarding
            .get_or_init(|| Arc::new(Onboarding::new(self.storage.onboarding(), self.clock())))
            .clone()
    }

    /// Dashboard metrics.
    pub fn dashboard(&self) -> Arc<Dashboard> {
        Arc::new(Dashboard::new(self.storage.dashboard()))
    }

    /// Issue reports.
    pub fn issue_reports(&self) -> Arc<IssueReports> {
        Arc::new(IssueReports::new(
            self.storage.issue_reports(),
            Scrubber::new(&self.config.key_prefix),
            self.notifications(),
            self.profiles(),
            self.clock(),
        ))
    }

    /// The work queue, when one is configured.
    pub fn queue(&self) -> Option<Arc<dyn WorkQueue>> {
        self.queue.clone()
    }

    /// Erasure jobs.
    pub fn erasure(&self) -> Arc<Erasure> {
        self.erasure
            .get_or_init(|| {
                Arc::new(Erasure::new(ErasureParts {
                    jobs: self.storage.erasure(),
                    notifications: self.notifications(),
                    clock: self.clock(),
                    queue: self.queue(),
                    trail: self.trail(),
                }))
            })
            .clone()
    }

    /// The fold of the usage inbox (what verifying functions put there when they flush on an
    /// interval).
    pub fn usage_folder(&self) -> UsageFolder {
        UsageFolder::new(
            self.storage.usage_inbox(),
            self.storage.usage(self.config.usage_retention_days),
        )
    }

    /// Which webhook URLs this deployment accepts.
    fn url_policy(&self) -> UrlPolicy {
        if self.config.webhooks.allow_localhost {
            UrlPolicy::AllowLocalhost
        } else {
            UrlPolicy::PublicHttps
        }
    }

    /// The box endpoint secrets are sealed in: a function that seals or signs is configured
    /// with the webhook key ([`Config::with_webhook_key`]).
    fn secret_box(&self) -> SecretBox {
        SecretBox::new(self.config.webhooks.key.as_deref().expect(
            "a function that seals or signs webhook secrets is configured with Config::with_webhook_key",
        ))
    }

    /// GitHub's secret scanning keys, from the list the configuration names (fetched on first
    /// use, and kept for the container's life as [`ScanningKeys`] says).
    pub fn scanning_keys(&self) -> Arc<ScanningKeys> {
        self.scanning
            .get_or_init(|| {
                let source: Arc<dyn KeyList> =
                    Arc::new(HttpKeyList::new(&self.config.secret_scanning_keys_url));
                Arc::new(ScanningKeys::new(source, self.clock()))
            })
            .clone()
    }

    /// Takes leak reports in: GitHub's and finders'.
    pub fn leak_intake(&self) -> Arc<LeakIntake> {
        Arc::new(LeakIntake::new(
            self.store(),
            self.config.key_prefix.clone(),
            self.queue
                .clone()
                .expect("a function that takes leak reports is configured with a work queue"),
            self.storage.address_gate(),
            self.scanning_keys(),
            self.clock(),
        ))
    }

    /// Handles leaked keys (the worker).
    pub fn leak_response(&self) -> LeakResponse {
        LeakResponse::new(
            self.store(),
            self.storage.leaks(),
            self.profiles(),
            self.notifications(),
            self.trail(),
        )
    }

    /// A workspace's security settings.
    pub fn security_settings(&self) -> Arc<SecuritySettingsService> {
        Arc::new(SecuritySettingsService::new(
            self.storage.leaks(),
            self.trail(),
            self.clock(),
        ))
    }

    /// The webhook use cases.
    pub fn webhooks(&self) -> Arc<Webhooks> {
        Arc::new(Webhooks::new(WebhookParts {
            store: self.storage.webhooks(),
            secrets: self.secret_box(),
            policy: self.url_policy(),
            queue: self.queue(),
            clock: self.clock(),
            trail: self.trail(),
        }))
    }

    /// Turns recorded changes into webhook deliveries sent to `queue`.
    pub fn webhook_dispatcher(&self, queue: Arc<dyn WorkQueue>) -> Dispatcher {
        Dispatcher::new(self.storage.webhooks(), queue, self.clock())
    }

    /// Sends webhook deliveries through `transport`, retries through `queue`.
    pub fn webhook_deliverer(
        &self,
        transport: Arc<dyn Transport>,
        queue: Arc<dyn WorkQueue>,
    ) -> Deliverer {
        Deliverer::new(DelivererParts {
            store: self.storage.webhooks(),
            secrets: self.secret_box(),
            policy: self.url_policy(),
            transport,
            queue,
            clock: self.clock(),
            trail: self.trail(),
            notifications: self.notifications(),
            profiles: self.profiles(),
        })
    }

    /// Key lifecycle sweeps and transitions.
    pub fn lifecycle(&self) -> Arc<Lifecycle> {
        self.lifecycle
            .get_or_init(|| {
                Arc::new(Lifecycle::new(
                    self.storage.lifecycle(),
                    self.store(),
                    self.notifications(),
                    self.trail(),
                ))
            })
            .clone()
    }
}
