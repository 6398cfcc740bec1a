//! Latchkey's domain crate, linked by every function.
//!
//! It holds everything that is not wiring: the key format and its hashing, authentication,
//! the table layout and its DynamoDB adapters, the one error type and the HTTP glue that turns
//! it into responses, and the HTTP routes of every family with the OpenAPI document they make
//! ([`api`]). Function crates only read config, build clients and mount their family's router.

pub mod account_closure;
pub mod api;
pub mod auth;
pub mod authorizer;
pub mod aws;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod http;
pub mod ids;
pub mod issue_reports;
pub mod keys;
pub mod lifecycle;
pub mod notifications;
pub mod nullable;
pub mod onboarding;
pub mod privacy;
pub mod profiles;
pub mod queue;
pub mod role;
pub mod scrub;
pub mod sessions;
pub mod store;
pub mod store_error;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod timestamp;
pub mod transition;
pub mod usage;
pub mod validate;
pub mod wiring;
pub mod worker;

pub use error::{Error, Result};
