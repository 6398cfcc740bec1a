//! The work queue on SQS.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use latchkey_core::{
    error::Error,
    queue::{WorkMessage, WorkQueue},
};

/// The work queue on SQS.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    /// A sender to the queue at `url`.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl WorkQueue for SqsQueue {
    /// Enqueues `messages`, ten to a `SendMessageBatch`.
    async fn send_all(&self, messages: &[WorkMessage]) -> Result<(), Error> {
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
                .map_err(crate::failure::sdk)?;
            if !out.failed().is_empty() {
                return Err(Error::internal(std::io::Error::other(format!(
                    "{} messages were not enqueued",
                    out.failed().len()
                ))));
            }
        }
        Ok(())
    }
}
