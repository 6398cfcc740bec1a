//! Latchkey's domain: what a key, a session, an account and their use cases are, and the ports
//! their storage and queue sit behind.
//!
//! Nothing here knows HTTP, AWS or Lambda: the domain [`Error`] says what went wrong and the
//! HTTP crate (`latchkey-http`) decides its status; the ports ([`store::Storage`],
//! [`queue::WorkQueue`], [`config::SecretSource`]) are implemented over DynamoDB, SQS and Secrets
//! Manager by the AWS crate (`latchkey-aws`), and over memory here ([`store::memory`]), so every
//! use case runs in a unit test and every route in process.

pub mod account_closure;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod dashboard;
pub mod error;
pub mod ids;
pub mod issue_reports;
pub mod keys;
pub mod leaks;
pub mod lifecycle;
pub mod notifications;
pub mod nullable;
pub mod onboarding;
pub mod outcome;
pub mod privacy;
pub mod profiles;
pub mod queue;
pub mod role;
pub mod scrub;
pub mod sessions;
pub mod store;
pub mod store_error;
pub mod telemetry;
pub mod timestamp;
pub mod transition;
pub mod usage;
pub mod validate;
pub mod webhooks;
pub mod wiring;

pub use error::{Error, Result};
