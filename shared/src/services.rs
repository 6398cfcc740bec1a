//! Wiring: the stores, verifiers and use cases one function needs, built once at cold start.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::lifecycle::Lifecycle;

use crate::{
    auth::{Authenticator, jwt::JwtVerifier},
    aws::{Aws, CallPath},
    clock::{Clock, SystemClock},
    config::Config,
    dashboard::Dashboard,
    issue_reports::{IssueReports, Scrubber},
    keys::{
        cache::VerifiedKeyCache,
        dynamo::DynamoKeyStore,
        ratelimit::{DynamoRateCounter, RateLimiter},
        service::{KeyEvents, KeyService},
        store::KeyStore,
        verify::{KeyVerifier, VerifierParts},
    },
    notifications::Notifications,
    onboarding::Onboarding,
    privacy::{erasure::Erasure, jobs::JobStore},
    profiles::{DynamoProfileStore, ProfileStore},
    queue::WorkQueue,
    usage::{UsageRecorder, dynamo::DynamoUsageSink},
};

/// Everything a handler may reach, cheap to clone (axum state).
#[derive(Clone)]
pub struct Services {
    /// Authentication of callers.
    pub auth: Arc<Authenticator>,
    /// API-key use cases.
    pub keys: Arc<KeyService>,
    /// The verification core.
    pub verifier: Arc<KeyVerifier>,
    /// The clock every component shares.
    pub clock: Arc<dyn Clock>,
    /// Profiles.
    pub profiles: Arc<dyn ProfileStore>,
    /// Notifications.
    pub notifications: Arc<Notifications>,
    /// The onboarding checklist.
    pub onboarding: Arc<Onboarding>,
    /// Dashboard metrics.
    pub dashboard: Arc<Dashboard>,
    /// Erasure jobs.
    pub erasure: Arc<Erasure>,
    /// The work queue, when configured.
    pub queue: Option<WorkQueue>,
    /// Key lifecycle sweeps and transitions.
    pub lifecycle: Arc<Lifecycle>,
    /// Issue reports.
    pub issue_reports: Arc<IssueReports>,
}

impl Services {
    /// Builds every component with the wall clock. Verification always runs on the tightest
    /// timeouts ([`CallPath::Verification`]); everything else on `path`'s.
    pub fn new(config: &Config, aws: &Aws, path: CallPath) -> Self {
        Self::with_clock(config, aws, path, Arc::new(SystemClock))
    }

    /// Builds every component with the given clock.
    pub fn with_clock(config: &Config, aws: &Aws, path: CallPath, clock: Arc<dyn Clock>) -> Self {
        let dynamodb = aws.dynamodb(path);
        let verification = aws.dynamodb(CallPath::Verification);
        let queue = config
            .work_queue_url
            .as_ref()
            .map(|url| WorkQueue::new(aws.sqs(path), url));
        let store: Arc<dyn KeyStore> =
            Arc::new(DynamoKeyStore::new(dynamodb.clone(), &config.table_name));
        let cache = Arc::new(VerifiedKeyCache::new(config.key_cache_ttl, clock.clone()));
        let onboarding = Arc::new(Onboarding::new(
            dynamodb.clone(),
            &config.table_name,
            clock.clone(),
        ));
        let notifications = Arc::new(Notifications::new(
            dynamodb.clone(),
            &config.table_name,
            clock.clone(),
        ));
        let dashboard = Arc::new(Dashboard::new(dynamodb.clone(), &config.table_name));
        let erasure = Arc::new(Erasure::new(
            JobStore::new(dynamodb.clone(), &config.table_name),
            notifications.clone(),
            clock.clone(),
            queue.clone(),
        ));
        let usage = Arc::new(UsageRecorder::new(
            Arc::new(DynamoUsageSink::new(
                verification.clone(),
                &config.table_name,
                config.usage_retention_days,
            )),
            config.usage_flush_interval,
        ));
        let verifier = Arc::new(KeyVerifier::new(VerifierParts {
            store: Arc::new(DynamoKeyStore::new(
                verification.clone(),
                &config.table_name,
            )),
            prefix: config.key_prefix.clone(),
            clock: clock.clone(),
            cache: cache.clone(),
            limiter: RateLimiter::new(Box::new(DynamoRateCounter::new(
                verification,
                &config.table_name,
            ))),
            usage,
            onboarding: Some(onboarding.clone()),
        }));
        let profiles: Arc<dyn ProfileStore> = Arc::new(DynamoProfileStore::new(
            dynamodb.clone(),
            &config.table_name,
        ));
        let auth = Arc::new(Authenticator::new(
            JwtVerifier::new(&config.jwt),
            verifier.clone(),
            profiles.clone(),
            clock.clone(),
        ));
        let lifecycle = Arc::new(Lifecycle::new(
            dynamodb.clone(),
            &config.table_name,
            store.clone(),
            notifications.clone(),
        ));
        let keys = Arc::new(
            KeyService::new(store, config.key_prefix.clone(), clock.clone(), cache).with_events(
                KeyEvents {
                    onboarding: onboarding.clone(),
                    notifications: notifications.clone(),
                },
            ),
        );
        let issue_reports = Arc::new(IssueReports::new(
            dynamodb.clone(),
            &config.table_name,
            Scrubber::new(&config.key_prefix),
            notifications.clone(),
            profiles.clone(),
            clock.clone(),
        ));
        Self {
            issue_reports,
            auth,
            keys,
            verifier,
            clock,
            profiles,
            notifications,
            onboarding,
            dashboard,
            erasure,
            queue,
            lifecycle,
        }
    }
}

impl FromRef<Services> for Arc<Authenticator> {
    fn from_ref(services: &Services) -> Self {
        services.auth.clone()
    }
}
