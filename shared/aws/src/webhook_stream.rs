//! The webhook dispatch function's batch handling: the table's stream records of new audit events
//! in, their deliveries made ([`Dispatcher`]), partial batch failures out.
//!
//! The event source's filter is the audit stream's (inserts of audit events); a batch's events are
//! dispatched in order, each workspace's endpoints read once per batch; events that make no
//! webhook event are passed over, as is a record whose event cannot be read (the table's own item:
//! delivering it again would never help and would stop the shard behind it). When a dispatch
//! fails, the answer names its record, and Lambda delivers the batch again from it
//! (`ReportBatchItemFailures`); the records before it are done, and doing one again is harmless
//! (its deliveries exist; their first attempts' messages are moot).

use aws_lambda_events::{
    dynamodb::Event,
    streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse},
};

use latchkey_core::webhooks::dispatch::Dispatcher;

use crate::audit_stream::inserted_events;

/// Dispatches the stream's batches.
pub struct WebhookStream<'a> {
    /// Makes deliveries.
    pub dispatcher: &'a Dispatcher,
}

impl WebhookStream<'_> {
    /// Dispatches `event`'s audit events in order; the answer names the record to deliver again
    /// from.
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let (events, sequence_numbers) = inserted_events(&event);
        let mut response = DynamoDbEventResponse::default();
        match self.dispatcher.dispatch_from(&events).await {
            Ok(made) => tracing::info!(
                records = event.records.len(),
                deliveries = made,
                "webhook events dispatched"
            ),
            Err((from, err)) => {
                tracing::warn!(
                    event_id = %events[from].id,
                    error = ?err,
                    "dispatch stopped; the rest of the batch is delivered again"
                );
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = sequence_numbers[from].clone();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }
}
