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
        self.send_batches(messages, 0).await
    }

    /// Enqueues `message` with SQS's `DelaySeconds` (through the same `SendMessageBatch`, so the
    /// functions' policies grant one action).
    async fn send_delayed(
        &self,
        message: &WorkMessage,
        delay: std::time::Duration,
    ) -> Result<(), Error> {
        let seconds = delay.as_secs().min(MAX_DELAY_SECONDS) as i32;
        self.send_batches(std::slice::from_ref(message), seconds)
            .await
    }
}

/// The longest delay SQS gives a message.
const MAX_DELAY_SECONDS: u64 = 900;

impl SqsQueue {
    async fn send_batches(
        &self,
        messages: &[WorkMessage],
        delay_seconds: i32,
    ) -> Result<(), Error> {
        for chunk in messages.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, message) in chunk.iter().enumerate() {
                let body = serde_json::to_string(message).map_err(Error::internal)?;
                entries.push(
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .set_delay_seconds((delay_seconds > 0).then_some(delay_seconds))
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
