//! The DynamoDB table as the domain's [`Storage`] bundle: one adapter per port, all over the
//! same table.

use std::sync::Arc;

use latchkey_core::{
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
    store::Storage,
    usage::{UsageSink, fold::UsageInbox},
    webhooks::store::WebhookStore,
};

use super::Table;

impl Storage for Table {
    fn keys(&self) -> Arc<dyn KeyStore> {
        Arc::new(self.keys())
    }
    fn audit(&self) -> Arc<dyn AuditStore> {
        Arc::new(self.audit())
    }
    fn rates(&self) -> Arc<dyn RateCounter> {
        Arc::new(self.rates())
    }
    fn usage(&self, retention_days: u32) -> Arc<dyn UsageSink> {
        Arc::new(self.usage(retention_days))
    }
    fn usage_inbox(&self) -> Arc<dyn UsageInbox> {
        Arc::new(self.usage_inbox())
    }
    fn profiles(&self) -> Arc<dyn ProfileStore> {
        Arc::new(self.profiles())
    }
    fn sessions(&self) -> Arc<dyn SessionStore> {
        Arc::new(self.sessions())
    }
    fn notifications(&self) -> Arc<dyn NotificationStore> {
        Arc::new(self.notifications())
    }
    fn onboarding(&self) -> Arc<dyn OnboardingStore> {
        Arc::new(self.onboarding())
    }
    fn dashboard(&self) -> Arc<dyn DashboardStore> {
        Arc::new(self.dashboard())
    }
    fn issue_reports(&self) -> Arc<dyn IssueReportStore> {
        Arc::new(self.issue_reports())
    }
    fn lifecycle(&self) -> Arc<dyn LifecycleStore> {
        Arc::new(self.lifecycle())
    }
    fn erasure(&self) -> Arc<dyn ErasureStore> {
        Arc::new(self.erasure())
    }
    fn webhooks(&self) -> Arc<dyn WebhookStore> {
        Arc::new(Table::webhooks(self))
    }
    fn leaks(&self) -> Arc<dyn LeakStore> {
        Arc::new(Table::leaks(self))
    }
    fn address_gate(&self) -> Arc<dyn AddressGate> {
        Arc::new(Table::leaks(self))
    }
}
