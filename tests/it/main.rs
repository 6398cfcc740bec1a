//! Every integration and end-to-end test, in one binary so the suite links once. Each module is
//! one family or layer; all of them run against the local stack that `infra/local/test` starts.
//! The fault tests (`tests/faults.rs`) stay a binary of their own: they pause the stack's shared
//! storage, so they run alone, after these.

mod audit;
mod dynamodb_keys;
mod erasure;
mod event_fixtures;
mod http_account;
mod http_authorization;
mod http_cartovista;
mod http_console;
mod http_oidc;
mod http_privacy;
mod http_signin;
mod http_verify;
mod leaks;
mod lifecycle;
mod usage_fold;
mod verification;
mod webhooks;
