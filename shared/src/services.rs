//! Wiring: the stores, verifiers and use cases one function needs, built once at cold start.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    auth::{Authenticator, jwt::JwtVerifier},
    clock::{Clock, SystemClock},
    config::Config,
    keys::{
        cache::VerifiedKeyCache, dynamo::DynamoKeyStore, service::KeyService, store::KeyStore,
        verify::KeyVerifier,
    },
    profiles::DynamoProfileStore,
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
        let verifier = Arc::new(KeyVerifier::new(
            store.clone(),
            config.key_prefix.clone(),
            clock.clone(),
            cache.clone(),
        ));
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
