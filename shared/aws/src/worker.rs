//! The worker's batch handling: SQS records in, partial batch failures out.
//!
//! Each record is one [`WorkMessage`]. A record that fails is reported in `batchItemFailures`, so
//! SQS delivers it again, and after the queue's `maxReceiveCount` (5) moves it to the dead-letter
//! queue. A job whose message fails for good, or for the fifth time, is first marked failed with its
//! error, so every job reaches a final state.

use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

use latchkey_core::queue::{WorkMessage, WorkQueue};
use latchkey_core::{
    leaks::LeakResponse,
    lifecycle::Lifecycle,
    privacy::erasure::{Budget, Erasure, RunError, RunOutcome},
    webhooks::delivery::Deliverer,
};

/// Receives after which a failing message goes to the dead-letter queue (template.yaml's
/// `maxReceiveCount`).
pub const MAX_RECEIVES: u32 = 5;
/// Time kept in reserve before the invocation's deadline (at most a fifth of what is left).
const DEADLINE_RESERVE: Duration = Duration::from_secs(10);

/// Handles work messages.
pub struct Worker<'a> {
    /// Erasure jobs.
    pub erasure: &'a Erasure,
    /// Key lifecycle transitions.
    pub lifecycle: &'a Lifecycle,
    /// Where continuations go.
    pub queue: &'a dyn WorkQueue,
    /// Chunks one message may run before it continues in a new one (`None`: until the deadline).
    pub max_chunks: Option<usize>,
    /// Webhook deliveries.
    pub webhooks: &'a Deliverer,
    /// Leaked keys.
    pub leaks: &'a LeakResponse,
}

impl Worker<'_> {
    /// Handles a batch that must be done by `deadline_ms` (epoch milliseconds, from the Lambda
    /// context); the answer names the records to deliver again (`ReportBatchItemFailures`).
    pub async fn handle(&self, event: SqsEvent, deadline_ms: u64) -> SqsBatchResponse {
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let remaining = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        let left = remaining.saturating_sub(DEADLINE_RESERVE.min(remaining / 5));
        let budget = Budget {
            deadline: Instant::now() + left,
            max_chunks: self.max_chunks,
        };
        // The batch's records at once: a slow webhook endpoint (up to its 15 s timeout) holds
        // only its own record, not the erasure steps and transitions beside it.
        let outcomes =
            futures_util::future::join_all(event.records.iter().map(|record| async move {
                let receives: u32 = record
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let done = self
                    .handle_one(record.body.as_deref().unwrap_or_default(), receives, budget)
                    .await;
                (record.message_id.clone().unwrap_or_default(), done)
            }))
            .await;
        let mut response = SqsBatchResponse::default();
        for (id, done) in outcomes {
            if !done {
                response.add_failure(id);
            }
        }
        response
    }

    /// Whether the message is done with (success, or nothing more to do).
    async fn handle_one(&self, body: &str, receives: u32, budget: Budget) -> bool {
        let message = match serde_json::from_str::<WorkMessage>(body) {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(error = %err, "unreadable work message; it will reach the dead-letter queue");
                return false;
            }
        };
        match message {
            WorkMessage::KeyTransition {
                key_id,
                expires_at,
                transition,
                at,
            } => {
                match self
                    .lifecycle
                    .apply(key_id, expires_at, transition, at)
                    .await
                {
                    Ok(_) => true,
                    Err(err) => {
                        tracing::warn!(%key_id, ?transition, error = ?err, "key transition failed; SQS will retry");
                        false
                    }
                }
            }
            WorkMessage::WebhookDelivery {
                endpoint_id,
                delivery_id,
                attempt,
                manual,
            } => match self
                .webhooks
                .attempt(endpoint_id, delivery_id, attempt, manual)
                .await
            {
                Ok(outcome) => {
                    tracing::info!(%endpoint_id, %delivery_id, attempt, ?outcome, "webhook attempt");
                    true
                }
                Err(err) => {
                    tracing::warn!(%endpoint_id, %delivery_id, attempt, error = ?err, "webhook attempt not recorded; SQS will retry");
                    false
                }
            },
            WorkMessage::KeysLeaked { leaks } => {
                // One after another: a redelivered message finds the ones done already done.
                for leak in &leaks {
                    match self.leaks.handle(leak).await {
                        Ok(applied) => {
                            tracing::info!(key_id = %leak.key_id, ?applied, "leaked key handled");
                        }
                        Err(err) => {
                            tracing::warn!(key_id = %leak.key_id, error = ?err, "leaked key not handled; SQS will redeliver this message");
                            return false;
                        }
                    }
                }
                true
            }
            WorkMessage::Erasure { job_id } => match self.erasure.run(job_id, budget).await {
                Ok(RunOutcome::Finished) => true,
                Ok(RunOutcome::Continued) => {
                    match self.queue.send(&WorkMessage::Erasure { job_id }).await {
                        Ok(()) => true,
                        Err(err) => {
                            tracing::warn!(%job_id, error = ?err, "continuation not sent; SQS will redeliver this message");
                            false
                        }
                    }
                }
                Err(RunError::Permanent(why)) => {
                    tracing::error!(%job_id, error = %why, "erasure cannot succeed");
                    self.give_up(job_id, &why).await;
                    false
                }
                Err(RunError::Transient(err)) => {
                    tracing::warn!(%job_id, receives, error = ?err, "erasure step failed; SQS will retry");
                    if receives >= MAX_RECEIVES {
                        let why = format!(
                            "gave up after {receives} attempts; the last error was logged by the worker"
                        );
                        self.give_up(job_id, &why).await;
                    }
                    false
                }
            },
        }
    }

    async fn give_up(&self, job_id: uuid::Uuid, why: &str) {
        if let Err(err) = self.erasure.fail(job_id, why).await {
            tracing::error!(%job_id, error = ?err, "could not record the job's failure");
        }
    }
}
