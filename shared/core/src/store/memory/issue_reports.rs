//! The in-memory adapter of [`IssueReportStore`].

use std::sync::Mutex;

use async_trait::async_trait;

use crate::{
    ids::{UserId, WorkspaceId},
    issue_reports::{IssueReport, IssueReportStore, NewIssueReport},
    store::StoreError,
};

/// A stored report with who made it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredReport {
    /// The workspace it belongs to.
    pub workspace: WorkspaceId,
    /// Who reported it.
    pub reported_by: UserId,
    /// The report.
    pub report: IssueReport,
    /// Its scrubbed details.
    pub details: NewIssueReport,
}

/// Issue reports in memory.
#[derive(Debug, Default)]
pub struct MemoryIssueReportStore {
    reports: Mutex<Vec<StoredReport>>,
}

impl MemoryIssueReportStore {
    /// Every stored report, oldest first.
    pub fn all(&self) -> Vec<StoredReport> {
        self.reports.lock().expect("lock").clone()
    }
}

#[async_trait]
impl IssueReportStore for MemoryIssueReportStore {
    async fn insert(
        &self,
        workspace: &WorkspaceId,
        reported_by: &UserId,
        report: &IssueReport,
        details: &NewIssueReport,
    ) -> Result<(), StoreError> {
        let mut reports = self.reports.lock().expect("lock");
        if reports.iter().any(|r| r.report.id == report.id) {
            return Err(StoreError::Conflict);
        }
        reports.push(StoredReport {
            workspace: workspace.clone(),
            reported_by: reported_by.clone(),
            report: report.clone(),
            details: details.clone(),
        });
        Ok(())
    }
}
