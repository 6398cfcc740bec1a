//! The audit log's archive: every event also written, as JSON Lines, to objects a SIEM reads
//! (deployed, an S3 bucket fed by the table's stream), each event exactly once, in chain order per
//! workspace, however often a batch is delivered or wherever a delivery was cut short.
//!
//! Each workspace's archive has a checkpoint: the last event (by its number in the chain) that
//! an object holds. A batch writes, per workspace, one object of the events after the checkpoint,
//! named by the first of them, then moves the checkpoint past the last (conditional on where it
//! stood). Delivered again, events at or before the checkpoint are passed over; an object written
//! before the function died, its checkpoint not moved, is written again under the same name with
//! the same first event (and perhaps more after it), so no event is ever in two objects.

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;

use super::{AuditEvent, store::AuditStore};
use crate::{ids::WorkspaceId, store_error::StoreError};

/// Where archive objects go.
#[async_trait]
pub trait ArchiveSink: Send + Sync {
    /// Writes (or replaces) the object `name` with `body`.
    async fn put(&self, name: &str, body: Vec<u8>) -> Result<(), StoreError>;
}

/// A delivered batch that could not all be archived: the position (in the batch as delivered)
/// of the first event still to do, from which the batch is to be delivered again.
#[derive(Debug, PartialEq, Eq)]
pub struct Unarchived {
    /// Position in the batch of the first event not archived.
    pub from: usize,
    /// Why.
    pub error: String,
}

/// Archives batches of events.
pub struct Archiver {
    store: Arc<dyn AuditStore>,
    sink: Arc<dyn ArchiveSink>,
}

/// The name of the object that holds `events` (one workspace's, in chain order): its workspace,
/// the day of its first event, and the first event's number, so the same first event always
/// names the same object.
pub fn object_name(events: &[AuditEvent]) -> String {
    let first = &events[0];
    format!(
        "audit/workspace={}/date={}/{:012}.jsonl",
        first.workspace_id,
        first.time.format("%Y-%m-%d"),
        first.seq
    )
}

/// One JSON line per event.
pub fn json_lines(events: &[AuditEvent]) -> Result<Vec<u8>, serde_json::Error> {
    let mut body = Vec::new();
    for event in events {
        serde_json::to_writer(&mut body, event)?;
        body.push(b'\n');
    }
    Ok(body)
}

impl Archiver {
    /// An archiver over `store` (the checkpoints) writing to `sink`.
    pub fn new(store: Arc<dyn AuditStore>, sink: Arc<dyn ArchiveSink>) -> Self {
        Self { store, sink }
    }

    /// Archives `batch` (events in the order the stream delivered them, of any workspaces):
    /// per workspace, in the order each first appears, an object of the events past its
    /// checkpoint. The first workspace that fails stops the batch: what it and those after it
    /// hold is delivered again from its first event in the batch.
    pub async fn archive(&self, batch: &[AuditEvent]) -> Result<usize, Unarchived> {
        let mut order: Vec<&WorkspaceId> = Vec::new();
        let mut by_workspace: HashMap<&WorkspaceId, Vec<(usize, &AuditEvent)>> = HashMap::new();
        for (position, event) in batch.iter().enumerate() {
            let events = by_workspace.entry(&event.workspace_id).or_default();
            if events.is_empty() {
                order.push(&event.workspace_id);
            }
            events.push((position, event));
        }
        let mut written = 0;
        for workspace in order {
            let events = &by_workspace[workspace];
            let from = events[0].0;
            match self.workspace(workspace, events).await {
                Ok(count) => written += count,
                Err(err) => {
                    return Err(Unarchived {
                        from,
                        error: err.to_string(),
                    });
                }
            }
        }
        Ok(written)
    }

    /// Archives one workspace's events of a batch; how many were new.
    async fn workspace(
        &self,
        workspace: &WorkspaceId,
        events: &[(usize, &AuditEvent)],
    ) -> Result<usize, StoreError> {
        let through = self.store.archived_through(workspace).await?;
        let mut fresh: Vec<AuditEvent> = events
            .iter()
            .map(|(_, e)| *e)
            .filter(|e| e.seq > through)
            .cloned()
            .collect();
        fresh.sort_by_key(|e| e.seq);
        fresh.dedup_by_key(|e| e.seq);
        let (Some(first), Some(last)) = (fresh.first(), fresh.last()) else {
            return Ok(0);
        };
        if first.seq != through + 1 {
            tracing::warn!(
                workspace = %workspace,
                archived_through = through,
                first = first.seq,
                "audit events missing from the archive (expired before they were streamed?)"
            );
        }
        let last = last.seq;
        let body = json_lines(&fresh).map_err(StoreError::backend)?;
        self.sink.put(&object_name(&fresh), body).await?;
        match self.store.mark_archived(workspace, through, last).await {
            // Another delivery of the same events moved it first: they are archived.
            Ok(()) | Err(StoreError::Conflict) => Ok(fresh.len()),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::BTreeMap,
        sync::{
            Mutex,
            atomic::{AtomicUsize, Ordering},
        },
    };

    use super::*;
    use crate::{
        audit::{
            Actor, ActorKind, Record,
            chain::{self, Head},
        },
        store::memory::MemoryAuditStore,
    };

    /// Objects in memory. While `fail_after` is not `usize::MAX`, the put that reaches it
    /// writes its object and then fails, as a function killed before it moved the checkpoint.
    struct Bucket {
        objects: Mutex<HashMap<String, Vec<u8>>>,
        puts: AtomicUsize,
        fail_after: AtomicUsize,
    }

    impl Bucket {
        fn failing_after(puts: usize) -> Self {
            Self {
                objects: Mutex::default(),
                puts: AtomicUsize::new(0),
                fail_after: AtomicUsize::new(puts),
            }
        }

        fn heal(&self) {
            self.fail_after.store(usize::MAX, Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl ArchiveSink for Bucket {
        async fn put(&self, name: &str, body: Vec<u8>) -> Result<(), StoreError> {
            let done = self.puts.fetch_add(1, Ordering::SeqCst) + 1;
            self.objects.lock().unwrap().insert(name.to_owned(), body);
            if done == self.fail_after.load(Ordering::SeqCst) {
                return Err(StoreError::backend(std::io::Error::other("killed")));
            }
            Ok(())
        }
    }

    impl Bucket {
        /// Every archived event, per workspace, in the order of the objects' names.
        fn read(&self) -> BTreeMap<String, Vec<u64>> {
            let objects = self.objects.lock().unwrap();
            let mut names: Vec<&String> = objects.keys().collect();
            names.sort();
            let mut found: BTreeMap<String, Vec<u64>> = BTreeMap::new();
            for name in names {
                for line in std::str::from_utf8(&objects[name]).unwrap().lines() {
                    let event: AuditEvent = serde_json::from_str(line).unwrap();
                    found
                        .entry(event.workspace_id.to_string())
                        .or_default()
                        .push(event.seq);
                }
            }
            found
        }
    }

    /// `count` sealed events of each of `workspaces`, interleaved as a stream delivers them.
    fn stream(workspaces: &[WorkspaceId], count: u64) -> Vec<AuditEvent> {
        let mut heads: HashMap<WorkspaceId, Head> = HashMap::new();
        let mut events = Vec::new();
        for _ in 0..count {
            for workspace in workspaces {
                let head = heads.entry(workspace.clone()).or_default();
                let record = Record {
                    workspace_id: workspace.clone(),
                    action: "key.created".into(),
                    actor: Actor {
                        kind: ActorKind::System,
                        id: "test".into(),
                        name: None,
                    },
                    targets: vec![],
                    origin: Default::default(),
                    changes: Default::default(),
                    users: vec![],
                    time: chrono::Utc::now(),
                };
                let event = chain::seal(record, head);
                *head = chain::head_after(&event);
                events.push(event);
            }
        }
        events
    }

    fn workspaces(n: usize) -> Vec<WorkspaceId> {
        (0..n)
            .map(|_| WorkspaceId::parse(&uuid::Uuid::new_v4().to_string()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_batch_cut_short_and_delivered_again_archives_each_event_once_in_order() {
        let spaces = workspaces(3);
        let first = stream(&spaces, 6);
        let (batch, next) = first.split_at(12);
        for kill in 1..=3 {
            let store = Arc::new(MemoryAuditStore::default());
            let bucket = Arc::new(Bucket::failing_after(kill));
            let archiver = Archiver::new(store.clone(), bucket.clone());
            let cut = archiver.archive(batch).await.unwrap_err();
            assert_eq!(
                cut.from,
                kill - 1,
                "delivered again from the workspace that failed"
            );
            bucket.heal();
            // Lambda delivers the batch again from the failed record, then perhaps once more
            // whole (a retry after a timeout), then the next batch.
            archiver.archive(&batch[cut.from..]).await.unwrap();
            assert_eq!(archiver.archive(batch).await.unwrap(), 0, "nothing twice");
            archiver.archive(next).await.unwrap();
            let found = bucket.read();
            for workspace in &spaces {
                assert_eq!(
                    found[&workspace.to_string()],
                    (1..=6).collect::<Vec<u64>>(),
                    "every event once, in order (killed after {kill} objects)"
                );
            }
        }
    }

    #[test]
    fn an_object_is_named_by_its_workspace_day_and_first_event() {
        let spaces = workspaces(1);
        let events = stream(&spaces, 2);
        let name = object_name(&events[1..]);
        assert!(name.starts_with(&format!("audit/workspace={}/date=", spaces[0])));
        assert!(name.ends_with("/000000000002.jsonl"), "{name}");
        let body = json_lines(&events).unwrap();
        assert_eq!(body.iter().filter(|b| **b == b'\n').count(), 2);
    }
}
