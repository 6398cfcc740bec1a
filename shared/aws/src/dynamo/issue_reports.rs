//! The DynamoDB adapter of [`IssueReportStore`]: `WORKSPACE#<workspace>` / `REPORT#<id>`.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use serde::Serialize;

use crate::table;
use latchkey_core::{
    ids::{UserId, WorkspaceId},
    issue_reports::{IssueReport, IssueReportStore, NewIssueReport},
    store::StoreError,
};

#[derive(Serialize)]
struct ReportRecord<'a> {
    pk: String,
    sk: String,
    #[serde(flatten)]
    report: &'a IssueReport,
    workspace_id: &'a WorkspaceId,
    reported_by: &'a UserId,
    #[serde(flatten)]
    details: &'a NewIssueReport,
}

/// Issue reports in the single table.
#[derive(Clone, Debug)]
pub struct DynamoIssueReportStore {
    client: Client,
    table: String,
}

impl DynamoIssueReportStore {
    /// An adapter over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl IssueReportStore for DynamoIssueReportStore {
    async fn insert(
        &self,
        workspace: &WorkspaceId,
        reported_by: &UserId,
        report: &IssueReport,
        details: &NewIssueReport,
    ) -> Result<(), StoreError> {
        let item = serde_dynamo::to_item(ReportRecord {
            pk: table::workspace_pk(workspace),
            sk: table::issue_report_sk(report.id),
            report,
            workspace_id: workspace,
            reported_by,
            details,
        })
        .map_err(StoreError::backend)?;
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(super::NEW_ITEM_CONDITION)
            .send()
            .await
            .map_err(|e| {
                crate::failure::conditional(e, |s| s.is_conditional_check_failed_exception())
            });
        match written {
            // The report's id is new to this request: an item with it is this report, put by an
            // attempt whose answer was lost (the SDK then tried again).
            Err(StoreError::Conflict) => Ok(()),
            done => done.map(|_| ()),
        }
    }
}
