//! The in-memory adapter of [`UsageInbox`].

use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;
use uuid::Uuid;

use crate::{
    store::StoreError,
    usage::fold::{Fold, InboxItem, UsageInbox},
};

/// Shards of the memory inbox: more than one, as in DynamoDB, so a fold must gather across them.
const SHARDS: u32 = 4;

/// The inbox, its tombstones and its recorded folds, in memory, spread over shards by message id
/// as the DynamoDB adapter spreads them.
#[derive(Debug, Default)]
pub struct MemoryUsageInbox {
    state: Mutex<State>,
    failing_puts: AtomicU32,
    /// Most bytes of a fold's record as JSON (0: the default, 3 MB).
    record_bytes: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    inbox: BTreeMap<Uuid, InboxItem>,
    taken: HashSet<Uuid>,
    folds: BTreeMap<Uuid, Fold>,
}

impl MemoryUsageInbox {
    /// The next `n` puts fail, as an unreachable table would.
    pub fn fail_next_puts(&self, n: u32) {
        self.failing_puts.store(n, Ordering::SeqCst);
    }

    /// Records of more than `bytes` (as JSON) do not fit from now on.
    pub fn limit_records(&self, bytes: usize) {
        self.record_bytes.store(bytes, Ordering::SeqCst);
    }

    fn record_bytes(&self) -> usize {
        match self.record_bytes.load(Ordering::SeqCst) {
            0 => 3_000_000,
            set => set,
        }
    }

    /// Messages waiting to be folded.
    pub fn waiting(&self) -> usize {
        self.state.lock().expect("lock").inbox.len()
    }
}

#[async_trait]
impl UsageInbox for MemoryUsageInbox {
    fn shards(&self) -> u32 {
        SHARDS
    }

    /// An item holds 400 KB, counted as JSON here.
    fn fits(&self, message: &crate::usage::fold::UsageMessage) -> bool {
        serde_json::to_vec(message).is_ok_and(|json| json.len() <= 400_000)
    }

    fn record_fits(&self, fold: &crate::usage::fold::Fold) -> bool {
        serde_json::to_vec(fold).is_ok_and(|json| json.len() <= self.record_bytes())
    }

    async fn put(&self, items: &[InboxItem]) -> Result<(), StoreError> {
        if self
            .failing_puts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Unavailable(Box::new(std::io::Error::other(
                "inbox unreachable",
            ))));
        }
        let mut state = self.state.lock().expect("lock");
        for item in items {
            state.inbox.insert(item.id, item.clone());
        }
        Ok(())
    }

    async fn peek(
        &self,
        shard: u32,
        max_items: usize,
        _max_bytes: usize,
    ) -> Result<Vec<(InboxItem, usize)>, StoreError> {
        let state = self.state.lock().expect("lock");
        Ok(state
            .inbox
            .values()
            .filter(|item| (item.id.as_u128() % u128::from(SHARDS)) as u32 == shard)
            .take(max_items)
            .map(|item| {
                (
                    item.clone(),
                    serde_json::to_vec(&item.message).map_or(0, |v| v.len()),
                )
            })
            .collect())
    }

    async fn claim(&self, fold: &Fold) -> Result<bool, StoreError> {
        if !self.record_fits(fold) {
            // DynamoDB refuses such a transaction outright.
            return Err(StoreError::backend(std::io::Error::other(
                "the fold's record does not fit its transaction",
            )));
        }
        let mut state = self.state.lock().expect("lock");
        let resent: Vec<Uuid> = fold
            .taken
            .iter()
            .filter(|id| state.taken.contains(id))
            .copied()
            .collect();
        if !resent.is_empty() {
            for id in resent {
                state.inbox.remove(&id);
            }
            return Ok(false);
        }
        if !fold.taken.iter().all(|id| state.inbox.contains_key(id)) {
            return Ok(false);
        }
        for id in &fold.taken {
            state.inbox.remove(id);
            state.taken.insert(*id);
        }
        state.folds.insert(fold.id, fold.clone());
        Ok(true)
    }

    async fn unfinished(&self) -> Result<Vec<Fold>, StoreError> {
        Ok(self
            .state
            .lock()
            .expect("lock")
            .folds
            .values()
            .cloned()
            .collect())
    }

    async fn finish(&self, fold: Uuid) -> Result<(), StoreError> {
        self.state.lock().expect("lock").folds.remove(&fold);
        Ok(())
    }
}
