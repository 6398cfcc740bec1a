//! Leaked keys: GitHub's secret scanning reports ([`github`], [`report`]), anyone presenting a
//! key they found ([`intake`]), each workspace's policy for a leak ([`policy`], [`settings`]), and what the
//! worker does with a leaked key ([`response`]).
//!
//! A report is answered at once: each token is checked by its checksum, then looked up by the id
//! it carries and compared with the stored hash; the live keys found go to the work queue, and
//! the worker revokes or flags each (by its workspace's policy), notifies its owners, and records
//! `key.leaked`, which the webhooks send on. A key already handled as leaked is left alone, so a
//! report made twice, or a message delivered twice, does nothing twice.

pub mod github;
pub mod intake;
pub mod policy;
pub mod report;
pub mod response;
pub mod settings;
pub mod store;

pub use github::{HttpKeyList, KeyList, KeyListError, PublishedKey, ScanningKeys};
pub use intake::{LeakIntake, Presented};
pub use policy::{LeakPolicy, SecuritySettings};
pub use report::{GithubMatch, Label, TokenLabel};
pub use response::{LeakResponse, LeakedKey, Reporter};
pub use settings::SecuritySettingsService;
pub use store::{AddressGate, LeakStore};

/// The revocation reason of a key revoked as leaked.
pub const REASON: &str = "reported as leaked";

/// The most tokens one report (GitHub's or a finder's) may carry.
pub const MAX_TOKENS: usize = 1000;

#[cfg(test)]
mod tests;
