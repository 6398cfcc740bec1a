//! In-memory adapters of the ports, with the DynamoDB adapters' semantics (versions, conditions,
//! not-found), so the use cases get unit tests that need no running database. Some also answer
//! what a test wants to look at (`all`, `of`, `calls`, `writes`).

pub mod audit;
pub mod erasure;
pub mod issue_reports;
pub mod keys;
pub mod leaks;
pub mod lifecycle;
pub mod notifications;
pub mod onboarding;
pub mod profiles;
pub mod rates;
pub mod sessions;
pub mod usage;
pub mod usage_inbox;
pub mod webhooks;

pub use audit::MemoryAuditStore;
pub use erasure::MemoryErasureStore;
pub use issue_reports::MemoryIssueReportStore;
pub use keys::MemoryKeyStore;
pub use leaks::{MemoryAddressGate, MemoryLeakStore};
pub use lifecycle::MemoryLifecycleStore;
pub use notifications::MemoryNotificationStore;
pub use onboarding::MemoryOnboardingStore;
pub use profiles::MemoryProfileStore;
pub use rates::MemoryRateCounter;
pub use sessions::MemorySessionStore;
pub use usage::MemoryUsage;
pub use usage_inbox::MemoryUsageInbox;
pub use webhooks::MemoryWebhookStore;
