//! The API key aggregate: format, hashing, model, requests and responses, storage, use cases, verification.
pub mod authorizer;
pub mod backoff;
pub mod cache;
pub mod hashing;
pub mod input;
pub mod model;
pub mod outcome;
pub mod ratelimit;
pub mod secret;
pub mod service;
pub mod store;
pub mod verify;
pub mod view;
