//! Erasure jobs in the single table (`JOB#<id>` / `JOB`); every change is conditional on the
//! job's version, so two workers holding the same message never both apply a step.

use std::collections::HashMap;

use aws_sdk_dynamodb::{Client, types::AttributeValue};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ErasureJob;
use crate::{store::StoreError, table};

#[derive(Serialize, Deserialize)]
struct JobRecord {
    pk: String,
    sk: String,
    #[serde(flatten)]
    job: ErasureJob,
}

/// The primary key of a job's item.
pub fn job_key(id: Uuid) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (table::PK.to_owned(), AttributeValue::S(table::job_pk(id))),
        (
            table::SK.to_owned(),
            AttributeValue::S(table::JOB_SK.to_owned()),
        ),
    ])
}

/// The stored item of `job`.
pub fn job_item(job: &ErasureJob) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(JobRecord {
        pk: table::job_pk(job.job_id),
        sk: table::JOB_SK.into(),
        job: job.clone(),
    })
    .map_err(StoreError::backend)
}

/// Reads and writes jobs.
#[derive(Clone, Debug)]
pub struct JobStore {
    client: Client,
    table: String,
}

impl JobStore {
    /// Jobs in `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One job.
    pub async fn get(&self, id: Uuid) -> Result<Option<ErasureJob>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        out.item
            .map(|item| {
                serde_dynamo::from_item::<_, JobRecord>(item)
                    .map(|r| r.job)
                    .map_err(StoreError::backend)
            })
            .transpose()
    }

    /// Stores a new job.
    pub async fn insert(&self, job: &ErasureJob) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(job)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| {
                StoreError::conditional(e, |s| s.is_conditional_check_failed_exception())
            })?;
        Ok(())
    }

    /// Removes a job that was never announced (its message could not be queued).
    pub async fn remove(&self, id: Uuid) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Replaces `job` if the stored one is still at `job.version - 1`.
    pub async fn update(&self, job: &ErasureJob) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(job)?))
            .condition_expression("version = :expected")
            .expression_attribute_values(
                ":expected",
                AttributeValue::N(job.version.saturating_sub(1).to_string()),
            )
            .send()
            .await
            .map_err(|e| {
                StoreError::conditional(e, |s| s.is_conditional_check_failed_exception())
            })?;
        Ok(())
    }

    /// The table's name (for transactions that include a job write).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The client (for transactions that include a job write).
    pub fn client(&self) -> &Client {
        &self.client
    }
}
