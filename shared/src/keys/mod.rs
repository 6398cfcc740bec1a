//! The API key aggregate: format, hashing, model, requests and responses, storage, use cases, verification.

pub mod cache;
pub mod dynamo;
pub mod hashing;
pub mod input;
pub mod model;
pub mod secret;
pub mod service;
pub mod store;
pub mod verify;
pub mod view;
