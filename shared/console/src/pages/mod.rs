//! The console's pages, a module per area; each handler extracts, calls the use cases the API
//! calls, and renders.

pub mod account;
pub mod audit;
pub mod keys;
pub mod privacy;
pub mod security;
pub mod signin;
pub mod webhooks;
