//! Background work on SQS: the messages the worker understands, and the one way to send them.

use aws_sdk_sqs::Client;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use chrono::{DateTime, Utc};

use crate::store_error::StoreError;
use crate::{error::Error, ids::KeyId, transition::Transition};

/// A unit of background work. Every message is safe to deliver more than once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkMessage {
    /// Run (or continue) an erasure job from its recorded progress.
    Erasure {
        /// The job.
        job_id: Uuid,
    },
    /// Apply a lifecycle transition to a key, as of the sweep that found it.
    KeyTransition {
        /// The key.
        key_id: KeyId,
        /// The expiry the sweep saw (a changed expiry makes the message moot).
        expires_at: DateTime<Utc>,
        /// What is due.
        transition: Transition,
        /// The sweep's time.
        at: DateTime<Utc>,
    },
}

/// Sends work to the queue.
#[derive(Clone, Debug)]
pub struct WorkQueue {
    client: Client,
    url: String,
}

impl WorkQueue {
    /// A sender to the queue at `url`.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Enqueues `messages`, ten to a `SendMessageBatch`.
    pub async fn send_all(&self, messages: &[WorkMessage]) -> Result<(), Error> {
        for chunk in messages.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, message) in chunk.iter().enumerate() {
                let body = serde_json::to_string(message).map_err(Error::internal)?;
                entries.push(
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(Error::internal)?,
                );
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(StoreError::sdk)?;
            if !out.failed().is_empty() {
                return Err(Error::internal(std::io::Error::other(format!(
                    "{} messages were not enqueued",
                    out.failed().len()
                ))));
            }
        }
        Ok(())
    }

    /// Enqueues `message`.
    pub async fn send(&self, message: &WorkMessage) -> Result<(), Error> {
        let body = serde_json::to_string(message).map_err(Error::internal)?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }
}
