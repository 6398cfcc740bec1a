//! The API key aggregate: format, hashing, model, validated specs, storage port, use cases,
//! verification. Its HTTP shapes live in the HTTP crate (`latchkey_http::api::api_keys`).

pub mod backoff;
pub mod cache;
pub mod caller;
pub mod ceiling;
pub mod changes;
pub mod draft;
pub mod hashing;
pub mod limit;
pub mod model;
pub mod ratelimit;
pub mod reach;
pub mod record;
pub mod secret;
pub mod service;
pub mod spec;
pub mod store;
pub mod verify;
