//! Background work on SQS: the messages the worker understands, and the one way to send them.

use aws_sdk_sqs::Client;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;

/// A unit of background work. Every message is safe to deliver more than once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkMessage {
    /// Run (or continue) an erasure job from its recorded progress.
    Erasure {
        /// The job.
        job_id: Uuid,
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

    /// Enqueues `message`.
    pub async fn send(&self, message: &WorkMessage) -> Result<(), Error> {
        let body = serde_json::to_string(message).map_err(Error::internal)?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(Error::internal)?;
        Ok(())
    }
}
