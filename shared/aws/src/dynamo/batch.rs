//! `BatchWriteItem` with DynamoDB's contract handled: unprocessed items are retried with
//! exponential backoff until they are written or the attempts run out.

use std::time::Duration;

use aws_sdk_dynamodb::{Client, types::WriteRequest};

use latchkey_core::store::StoreError;

/// Attempts at one batch whose items keep coming back unprocessed.
const ATTEMPTS: u32 = 8;

/// Exponential backoff with full jitter (AWS's advice for unprocessed items): a random pause up
/// to 20 ms doubled per attempt, so containers that were throttled together do not retry together.
/// A loop of its own rather than backon's: what is retried shrinks with every attempt (only the
/// unprocessed items go again), which a retry of one fixed call does not express.
fn backoff(attempt: u32) -> Duration {
    let ceiling = 20u64 << attempt.min(10);
    Duration::from_millis(rand::Rng::gen_range(&mut rand::thread_rng(), 0..=ceiling))
}

/// Writes up to 25 requests to `table`, retrying what DynamoDB leaves unprocessed. Puts and
/// deletes are idempotent, so a retried batch never duplicates anything.
pub async fn write(
    client: &Client,
    table: &str,
    mut requests: Vec<WriteRequest>,
) -> Result<(), StoreError> {
    for attempt in 0..ATTEMPTS {
        if requests.is_empty() {
            return Ok(());
        }
        let out = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        requests = out
            .unprocessed_items
            .and_then(|mut left| left.remove(table))
            .unwrap_or_default();
        if !requests.is_empty() {
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
    if requests.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Backend(Box::new(std::io::Error::other(
            format!("{} batch writes stayed unprocessed", requests.len()),
        ))))
    }
}

/// Writes any number of requests to `table`, 25 at a time (the most one batch may hold).
pub async fn write_all(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), StoreError> {
    let mut requests = requests.into_iter().peekable();
    while requests.peek().is_some() {
        write(client, table, requests.by_ref().take(25).collect()).await?;
    }
    Ok(())
}
