//! The storage bundle: every storage port of the domain from one backend, so the components are
//! wired the same way over DynamoDB (the functions) and over memory (in-process router tests).

use std::sync::Arc;

use crate::{
    audit::store::AuditStore,
    dashboard::DashboardStore,
    issue_reports::IssueReportStore,
    keys::{ratelimit::RateCounter, store::KeyStore},
    leaks::store::{AddressGate, LeakStore},
    lifecycle::LifecycleStore,
    notifications::NotificationStore,
    onboarding::OnboardingStore,
    privacy::erasure::ErasureStore,
    profiles::ProfileStore,
    sessions::store::SessionStore,
    usage::{UsageSink, fold::UsageInbox},
    webhooks::store::WebhookStore,
};

use super::memory;

/// Every storage port, from one backend. Each call may build a new adapter; adapters of one
/// bundle share their backend, so what one writes the others read.
pub trait Storage: Send + Sync {
    /// Keys.
    fn keys(&self) -> Arc<dyn KeyStore>;
    /// The audit log, which the other ports write each change's event to with the change.
    fn audit(&self) -> Arc<dyn AuditStore>;
    /// Rate windows.
    fn rates(&self) -> Arc<dyn RateCounter>;
    /// Usage written directly, events kept `retention_days`.
    fn usage(&self, retention_days: u32) -> Arc<dyn UsageSink>;
    /// The usage inbox (flushes the fold sums later).
    fn usage_inbox(&self) -> Arc<dyn UsageInbox>;
    /// Profiles.
    fn profiles(&self) -> Arc<dyn ProfileStore>;
    /// Sessions, revoked tokens and sign-ins in progress.
    fn sessions(&self) -> Arc<dyn SessionStore>;
    /// Notifications.
    fn notifications(&self) -> Arc<dyn NotificationStore>;
    /// Onboarding checklists.
    fn onboarding(&self) -> Arc<dyn OnboardingStore>;
    /// Dashboard metrics.
    fn dashboard(&self) -> Arc<dyn DashboardStore>;
    /// Issue reports.
    fn issue_reports(&self) -> Arc<dyn IssueReportStore>;
    /// The expiry index and key transitions.
    fn lifecycle(&self) -> Arc<dyn LifecycleStore>;
    /// Erasure jobs.
    fn erasure(&self) -> Arc<dyn ErasureStore>;
    /// Webhook endpoints and deliveries.
    fn webhooks(&self) -> Arc<dyn WebhookStore>;
    /// Workspaces' security settings.
    fn leaks(&self) -> Arc<dyn LeakStore>;
    /// The public leak report endpoint's per-address windows.
    fn address_gate(&self) -> Arc<dyn AddressGate>;
}

/// Every port in memory, sharing state as the table's adapters do (the lifecycle marks the keys
/// the key store holds; erasure erases the events usage recorded): for in-process tests of whole
/// routers.
#[derive(Debug)]
pub struct MemoryStorage {
    audit: Arc<memory::MemoryAuditStore>,
    keys: Arc<memory::MemoryKeyStore>,
    rates: Arc<memory::MemoryRateCounter>,
    usage: Arc<memory::MemoryUsage>,
    usage_inbox: Arc<memory::MemoryUsageInbox>,
    profiles: Arc<memory::MemoryProfileStore>,
    sessions: Arc<memory::MemorySessionStore>,
    notifications: Arc<memory::MemoryNotificationStore>,
    onboarding: Arc<memory::MemoryOnboardingStore>,
    issue_reports: Arc<memory::MemoryIssueReportStore>,
    lifecycle: Arc<memory::MemoryLifecycleStore>,
    erasure: Arc<memory::MemoryErasureStore>,
    webhooks: Arc<memory::MemoryWebhookStore>,
    leaks: Arc<memory::MemoryLeakStore>,
    address_gate: Arc<memory::MemoryAddressGate>,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        let audit = Arc::new(memory::MemoryAuditStore::default());
        let keys = Arc::new(memory::MemoryKeyStore::recording_to(audit.clone()));
        let notifications = Arc::new(memory::MemoryNotificationStore::default());
        let usage = Arc::new(memory::MemoryUsage::default().counting_onto(keys.clone()));
        Self {
            lifecycle: Arc::new(memory::MemoryLifecycleStore::new(
                keys.clone(),
                notifications.clone(),
                audit.clone(),
            )),
            erasure: Arc::new(memory::MemoryErasureStore::new(
                usage.clone(),
                audit.clone(),
            )),
            webhooks: Arc::new(memory::MemoryWebhookStore::recording_to(audit.clone())),
            leaks: Arc::new(memory::MemoryLeakStore::recording_to(audit.clone())),
            address_gate: Arc::default(),
            keys,
            rates: Arc::default(),
            usage,
            usage_inbox: Arc::default(),
            profiles: Arc::new(memory::MemoryProfileStore::recording_to(audit.clone())),
            sessions: Arc::new(memory::MemorySessionStore::recording_to(audit.clone())),
            notifications,
            onboarding: Arc::default(),
            issue_reports: Arc::default(),
            audit,
        }
    }
}

impl Storage for MemoryStorage {
    fn keys(&self) -> Arc<dyn KeyStore> {
        self.keys.clone()
    }
    fn audit(&self) -> Arc<dyn AuditStore> {
        self.audit.clone()
    }
    fn rates(&self) -> Arc<dyn RateCounter> {
        self.rates.clone()
    }
    fn usage(&self, _retention_days: u32) -> Arc<dyn UsageSink> {
        self.usage.clone()
    }
    fn usage_inbox(&self) -> Arc<dyn UsageInbox> {
        self.usage_inbox.clone()
    }
    fn profiles(&self) -> Arc<dyn ProfileStore> {
        self.profiles.clone()
    }
    fn sessions(&self) -> Arc<dyn SessionStore> {
        self.sessions.clone()
    }
    fn notifications(&self) -> Arc<dyn NotificationStore> {
        self.notifications.clone()
    }
    fn onboarding(&self) -> Arc<dyn OnboardingStore> {
        self.onboarding.clone()
    }
    fn dashboard(&self) -> Arc<dyn DashboardStore> {
        self.usage.clone()
    }
    fn issue_reports(&self) -> Arc<dyn IssueReportStore> {
        self.issue_reports.clone()
    }
    fn lifecycle(&self) -> Arc<dyn LifecycleStore> {
        self.lifecycle.clone()
    }
    fn erasure(&self) -> Arc<dyn ErasureStore> {
        self.erasure.clone()
    }
    fn webhooks(&self) -> Arc<dyn WebhookStore> {
        self.webhooks.clone()
    }
    fn leaks(&self) -> Arc<dyn LeakStore> {
        self.leaks.clone()
    }
    fn address_gate(&self) -> Arc<dyn AddressGate> {
        self.address_gate.clone()
    }
}
