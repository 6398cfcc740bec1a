//! Wiring: the stores, verifiers and use cases one function needs, built once at cold start.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    auth::{Authenticator, jwt::JwtVerifier},
    clock::{Clock, SystemClock},
    config::Config,
    keys::{
        cache::VerifiedKeyCache,
        dynamo::DynamoKeyStore,
        ratelimit::{DynamoRateCounter, RateLimiter},
        service::KeyService,
        store::KeyStore,
        verify::{KeyVerifier, VerifierParts},
    },
    profiles::DynamoProfileStore,
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
}

impl Services {
    /// Builds every component over DynamoDB with the wall clock.
    pub fn new(config: &Config, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        Self::with_clock(config, dynamodb, Arc::new(SystemClock))
    }

    /// Builds every component over DynamoDB with the given clock.
    pub fn with_clock(
        config: &Config,
        dynamodb: aws_sdk_dynamodb::Client,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let store: Arc<dyn KeyStore> =
            Arc::new(DynamoKeyStore::new(dynamodb.clone(), &config.table_name));
        let cache = Arc::new(VerifiedKeyCache::new(config.key_cache_ttl));
        let usage = Arc::new(UsageRecorder::new(
            Arc::new(DynamoUsageSink::new(
                dynamodb.clone(),
                &config.table_name,
                config.usage_retention_days,
            )),
            config.usage_flush_interval,
        ));
        let verifier = Arc::new(KeyVerifier::new(VerifierParts {
            store: store.clone(),
            prefix: config.key_prefix.clone(),
            clock: clock.clone(),
            cache: cache.clone(),
            limiter: RateLimiter::new(Box::new(DynamoRateCounter::new(
                dynamodb.clone(),
                &config.table_name,
            ))),
            usage,
        }));
        let profiles = Arc::new(DynamoProfileStore::new(dynamodb, &config.table_name));
        let auth = Arc::new(Authenticator::new(
            JwtVerifier::new(&config.jwt),
            verifier.clone(),
            profiles,
        ));
        let keys = Arc::new(KeyService::new(
            store,
            config.key_prefix.clone(),
            clock.clone(),
            cache,
        ));
        Self {
            auth,
            keys,
            verifier,
            clock,
        }
    }
}

impl FromRef<Services> for Arc<Authenticator> {
    fn from_ref(services: &Services) -> Self {
        services.auth.clone()
    }
}
