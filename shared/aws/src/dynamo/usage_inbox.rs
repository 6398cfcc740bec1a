//! The DynamoDB adapter of [`UsageInbox`]: messages, tombstones and recorded folds in the single
//! table (see [`table`] for their keys). Bodies are JSON compressed with DEFLATE: DynamoDB bills
//! writes by the kilobyte, and usage JSON (ids, mostly) shrinks several times.

use std::{collections::BTreeMap, io::Write};

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    primitives::Blob,
    types::{AttributeValue, DeleteRequest, Put, PutRequest, TransactWriteItem, WriteRequest},
};
use uuid::Uuid;

use crate::table;
use latchkey_core::{
    store::StoreError,
    usage::fold::{Fold, InboxItem, UsageInbox, UsageMessage},
};

/// Bytes of a fold's compressed JSON per item: well inside DynamoDB's 400 KB.
const PART_BYTES: usize = 350_000;
/// Most bytes of a fold's record, packed: nine parts, which with the fold's tombstones (at most
/// `FOLD_MESSAGES`) stay inside one transaction's 100 items and 4 MB.
const RECORD_BYTES: usize = 9 * PART_BYTES;
/// Most items of one transaction.
const TRANSACTION_ITEMS: usize = 100;
/// Most bytes of a message's compressed JSON: it is stored as one item.
const MESSAGE_BODY_BYTES: usize = PART_BYTES;
/// How long an inbox message waits to be folded before DynamoDB's TTL drops it, and how long an
/// unfinished fold is kept.
const KEEP_DAYS: i64 = 14;
/// How long a tombstone outlives its message's first put: far past the hour a container resends.
const TOMBSTONE_DAYS: i64 = 2;

/// The usage inbox in the single table.
#[derive(Debug)]
pub struct DynamoUsageInbox {
    client: Client,
    table: String,
}

impl DynamoUsageInbox {
    /// An adapter over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(&self, pk: String, sk: String) -> [(String, AttributeValue); 2] {
        [
            (table::PK.to_owned(), AttributeValue::S(pk)),
            (table::SK.to_owned(), AttributeValue::S(sk)),
        ]
    }

    /// The TTL of something made `days` after the time in a v7 `id` (now, for another id).
    fn expiry(id: Uuid, days: i64) -> AttributeValue {
        let made = id
            .get_timestamp()
            .map(|t| t.to_unix().0 as i64)
            .unwrap_or_else(|| chrono::Utc::now().timestamp());
        AttributeValue::N((made + days * 86_400).to_string())
    }

    async fn query_all(
        &self,
        pk: String,
        sk_prefix: Option<String>,
    ) -> Result<Vec<std::collections::HashMap<String, AttributeValue>>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk));
        query = match sk_prefix {
            Some(prefix) => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", table::SK)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix)),
            None => query.key_condition_expression("#pk = :pk"),
        };
        let pages: Vec<_> = query
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        pages
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(crate::failure::sdk)
    }

    async fn delete_all(&self, keys: Vec<(String, String)>) -> Result<(), StoreError> {
        let requests = keys
            .into_iter()
            .map(|(pk, sk)| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(self.key(pk, sk).into_iter().collect()))
                    .build()
                    .map_err(StoreError::backend)?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        super::batch::write_all(&self.client, &self.table, requests).await
    }
}

fn body(item: &std::collections::HashMap<String, AttributeValue>) -> Option<&[u8]> {
    item.get(table::BODY)
        .and_then(|b| b.as_b().ok())
        .map(|b| b.as_ref())
}

/// `value` as compressed JSON.
fn pack(value: &impl serde::Serialize) -> Result<Vec<u8>, StoreError> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut encoder, value).map_err(StoreError::backend)?;
    encoder.finish().map_err(StoreError::backend)
}

/// Whether `message`, compressed, fits one inbox item.
fn fits(message: &UsageMessage) -> bool {
    pack(message).is_ok_and(|packed| packed.len() <= MESSAGE_BODY_BYTES)
}

/// The JSON in a compressed body.
fn unpack(packed: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut decoder = flate2::write::DeflateDecoder::new(Vec::new());
    decoder.write_all(packed).map_err(StoreError::backend)?;
    decoder.finish().map_err(StoreError::backend)
}

fn sk(item: &std::collections::HashMap<String, AttributeValue>) -> Option<&str> {
    item.get(table::SK)
        .and_then(|s| s.as_s().ok())
        .map(String::as_str)
}

#[async_trait]
impl UsageInbox for DynamoUsageInbox {
    fn shards(&self) -> u32 {
        table::USAGE_INBOX_SHARDS
    }

    fn fits(&self, message: &UsageMessage) -> bool {
        fits(message)
    }

    fn record_fits(&self, fold: &Fold) -> bool {
        pack(fold).is_ok_and(|packed| packed.len() <= RECORD_BYTES)
            && fold.taken.len() + RECORD_BYTES.div_ceil(PART_BYTES) <= TRANSACTION_ITEMS
    }

    async fn put(&self, items: &[InboxItem]) -> Result<(), StoreError> {
        let requests = items
            .iter()
            .map(|item| {
                let (pk, sk) = table::usage_inbox_key(item.id);
                let put = PutRequest::builder()
                    .set_item(Some(self.key(pk, sk).into_iter().collect()))
                    .item(
                        table::BODY,
                        AttributeValue::B(Blob::new(pack(&item.message)?)),
                    )
                    .item(table::TTL, Self::expiry(item.id, KEEP_DAYS))
                    .build()
                    .map_err(StoreError::backend)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        super::batch::write_all(&self.client, &self.table, requests).await
    }

    async fn peek(
        &self,
        shard: u32,
        max_items: usize,
        max_bytes: usize,
    ) -> Result<Vec<(InboxItem, usize)>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_values(":pk", AttributeValue::S(table::usage_inbox_pk(shard)))
            .limit(i32::try_from(max_items).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        let mut items = Vec::new();
        let mut bytes = 0;
        for item in out.items() {
            let (Some(id), Some(packed)) =
                (sk(item).and_then(|s| Uuid::parse_str(s).ok()), body(item))
            else {
                continue;
            };
            if !items.is_empty() && bytes + packed.len() > max_bytes {
                break;
            }
            bytes += packed.len();
            let json = unpack(packed)?;
            let message: UsageMessage =
                serde_json::from_slice(&json).map_err(StoreError::backend)?;
            items.push((InboxItem { id, message }, packed.len()));
        }
        Ok(items)
    }

    /// The tombstones and the fold record are one transaction: a tombstone's condition is what
    /// makes a message folded once. The messages are deleted after it, outside it: a transaction
    /// bills every item twice, and a message is most of a fold's bytes. A message left behind by a
    /// crash before its delete meets its tombstone at the next claim and is dropped then.
    async fn claim(&self, fold: &Fold) -> Result<bool, StoreError> {
        let packed = pack(fold)?;
        let mut items = Vec::new();
        for &message in &fold.taken {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(
                    self.key(
                        table::usage_taken_pk(message),
                        table::USAGE_TAKEN_SK.to_owned(),
                    )
                    .into_iter()
                    .collect(),
                ))
                .item(table::TTL, Self::expiry(message, TOMBSTONE_DAYS))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(StoreError::backend)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        for (part, chunk) in packed.chunks(PART_BYTES).enumerate() {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(
                    self.key(
                        table::USAGE_FOLDS_PK.to_owned(),
                        table::usage_fold_sk(fold.id, part),
                    )
                    .into_iter()
                    .collect(),
                ))
                .item(table::BODY, AttributeValue::B(Blob::new(chunk.to_vec())))
                .item(table::TTL, Self::expiry(fold.id, KEEP_DAYS))
                .build()
                .map_err(StoreError::backend)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(err) = result else {
            let taken = fold
                .taken
                .iter()
                .map(|&m| table::usage_inbox_key(m))
                .collect();
            if let Err(err) = self.delete_all(taken).await {
                // Folded and recorded: the messages left are dropped when next met.
                tracing::warn!(error = %err, "folded usage messages not deleted yet");
            }
            return Ok(true);
        };
        let Some(failed) = super::failed_conditions(&err) else {
            return Err(crate::failure::sdk(err));
        };
        // A tombstone already there: that message was folded before (and is still here because
        // its delete did not happen, or came back by a resend).
        let resent: Vec<_> = failed
            .into_iter()
            .filter_map(|i| fold.taken.get(i))
            .map(|&m| table::usage_inbox_key(m))
            .collect();
        if !resent.is_empty() {
            tracing::info!(
                messages = resent.len(),
                "dropping usage messages folded before"
            );
            self.delete_all(resent).await?;
        }
        Ok(false)
    }

    async fn unfinished(&self) -> Result<Vec<Fold>, StoreError> {
        let mut parts: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for item in self
            .query_all(table::USAGE_FOLDS_PK.to_owned(), None)
            .await?
        {
            let (Some(sk), Some(json)) = (sk(&item), body(&item)) else {
                continue;
            };
            let fold = sk.split('#').next().unwrap_or_default().to_owned();
            parts.entry(fold).or_default().extend_from_slice(json);
        }
        let mut folds = Vec::new();
        for (id, packed) in parts {
            let fold = unpack(&packed).and_then(|json| {
                serde_json::from_slice::<Fold>(&json).map_err(StoreError::backend)
            });
            match fold {
                Ok(fold) => folds.push(fold),
                // Parts are deleted only once all of the fold is written: a fold missing some was
                // being forgotten when its run ended.
                Err(_) => match Uuid::parse_str(&id) {
                    Ok(id) => self.finish(id).await?,
                    Err(_) => tracing::error!(fold = %id, "unreadable fold id in the fold log"),
                },
            }
        }
        Ok(folds)
    }

    async fn finish(&self, fold: Uuid) -> Result<(), StoreError> {
        let keys = self
            .query_all(table::USAGE_FOLDS_PK.to_owned(), Some(format!("{fold}#")))
            .await?
            .iter()
            .filter_map(|item| sk(item).map(|sk| (table::USAGE_FOLDS_PK.to_owned(), sk.to_owned())))
            .collect();
        self.delete_all(keys).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use latchkey_core::{
        ids::{KeyId, UserId, WorkspaceId},
        outcome::VerifyCode,
        usage::{AttemptContext, Tally, TallyKey, UsageBatch, UsageEvent},
    };

    /// A container's five seconds at 2,000 verifications a second: every one of 1,000 keys of
    /// one owner used, one client each.
    fn busy_flush(user_agent: impl Fn(usize) -> String) -> UsageBatch {
        let owner = UserId::parse(&Uuid::new_v4().to_string()).unwrap();
        let at = Utc::now();
        let mut batch = UsageBatch::default();
        for n in 0..1_000 {
            let key = TallyKey {
                key_id: KeyId::new(),
                owner_id: owner.clone(),
                day: at.date_naive(),
            };
            batch.events.push(UsageEvent {
                id: Uuid::now_v7(),
                at,
                count: 10,
                key_id: key.key_id,
                workspace_id: WorkspaceId::personal(&owner),
                owner_id: owner.clone(),
                outcome: VerifyCode::Valid,
                context: AttemptContext {
                    ip: Some([10, 0, (n / 256) as u8, n as u8].into()),
                    user_agent: Some(user_agent(n)),
                    ..AttemptContext::default()
                },
            });
            let tally = Tally {
                success: 10,
                last_used_at: Some(at),
                ..Tally::default()
            };
            batch.tallies.insert(key, tally);
        }
        batch
    }

    #[test]
    fn a_busy_container_s_flush_is_one_item() {
        let messages = UsageMessage::split(busy_flush(|_| "wrk/4.2".into()), fits);
        assert_eq!(messages.len(), 1);
    }

    #[test]
    fn a_flush_that_does_not_compress_is_halved_until_each_half_is_one_item() {
        // 1,000 clients each with a user agent of 800 random characters: over 1 MB that
        // compression cannot bring under an item.
        let random = |_| {
            (0..25)
                .map(|_| Uuid::new_v4().simple().to_string())
                .collect()
        };
        let messages = UsageMessage::split(busy_flush(random), fits);
        assert!(messages.len() > 1);
        for message in &messages {
            assert!(pack(message).unwrap().len() <= MESSAGE_BODY_BYTES);
        }
        let events: usize = messages.iter().map(|m| m.events.len()).sum();
        let tallies: usize = messages.iter().map(|m| m.tallies.len()).sum();
        assert_eq!((tallies, events), (1_000, 1_000));
    }
}
