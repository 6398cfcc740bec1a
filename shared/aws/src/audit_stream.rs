//! The audit stream function's batch handling: the table's stream records of new audit events
//! in, the archive written ([`Archiver`]), partial batch failures out.
//!
//! The event source's filter sends only inserts of audit events (`AUDIT#...` / `EVENT#...`);
//! anything else that arrives is passed over. A record whose event cannot be read is logged and
//! passed over too: it is the table's own item, so delivering it again would never help and
//! would stop the shard behind it. When the archive fails part-way, the answer names the first
//! record still to do, and Lambda delivers the batch again from it (`ReportBatchItemFailures`).

use aws_lambda_events::{
    dynamodb::{Event, EventRecord},
    streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse},
};
use serde_dynamo::AttributeValue;

use latchkey_core::audit::{AuditEvent, archive::Archiver};

use crate::table;

/// The audit event a stream record inserts, if it is one.
pub fn inserted_event(record: &EventRecord) -> Option<Result<AuditEvent, serde_json::Error>> {
    let text = |item: &serde_dynamo::Item, name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    };
    let pk = text(&record.change.keys, table::PK)?;
    let sk = text(&record.change.keys, table::SK)?;
    if record.event_name != "INSERT"
        || !pk.starts_with(table::AUDIT_PK_PREFIX)
        || !sk.starts_with(table::AUDIT_EVENT_PREFIX)
    {
        return None;
    }
    let body = text(&record.change.new_image, table::BODY)?;
    Some(serde_json::from_str(&body))
}

/// The audit events `event`'s records insert, each with its record's sequence number (the
/// identifier a partial batch failure names). A record whose event cannot be read is logged and
/// passed over (see the module doc).
pub fn inserted_events(event: &Event) -> (Vec<AuditEvent>, Vec<Option<String>>) {
    let mut events = Vec::new();
    let mut sequence_numbers = Vec::new();
    for record in &event.records {
        match inserted_event(record) {
            Some(Ok(audit_event)) => {
                events.push(audit_event);
                sequence_numbers.push(record.change.sequence_number.clone());
            }
            Some(Err(err)) => tracing::error!(
                event_id = %record.event_id,
                error = %err,
                "an audit event in the stream could not be read; passed over"
            ),
            None => {}
        }
    }
    (events, sequence_numbers)
}

/// Archives the stream's batches.
pub struct AuditStream<'a> {
    /// The archive.
    pub archiver: &'a Archiver,
}

impl AuditStream<'_> {
    /// Archives `event`'s audit events; the answer names the record to deliver again from.
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let (events, sequence_numbers) = inserted_events(&event);
        let mut response = DynamoDbEventResponse::default();
        match self.archiver.archive(&events).await {
            Ok(written) => {
                tracing::info!(
                    records = event.records.len(),
                    written,
                    "audit events archived"
                )
            }
            Err(unarchived) => {
                tracing::warn!(
                    error = %unarchived.error,
                    from = unarchived.from,
                    "archiving stopped part-way; the rest of the batch is delivered again"
                );
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = sequence_numbers[unarchived.from].clone();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }
}
