//! Background work: the messages the worker understands, and the port they are sent through
//! (SQS when deployed: the AWS crate's `SqsQueue`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use chrono::{DateTime, Utc};

use crate::{error::Error, ids::KeyId, transition::Transition};

/// A unit of background work. Every message is safe to deliver more than once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkMessage {
    /// Run (or continue) an erasure job from its recorded progress.
    Erasure {
        /// The job.
        job_id: Uuid,
    },
    /// Apply a lifecycle transition to a key, as of the sweep that found it.
    KeyTransition {
        /// The key.
        key_id: KeyId,
        /// The expiry the sweep saw (a changed expiry makes the message moot).
        expires_at: DateTime<Utc>,
        /// What is due.
        transition: Transition,
        /// The sweep's time.
        at: DateTime<Utc>,
    },
    /// Make an attempt at a webhook delivery.
    WebhookDelivery {
        /// The endpoint.
        endpoint_id: Uuid,
        /// The delivery.
        delivery_id: Uuid,
        /// Which attempt (1 for the first): a message for any other is moot.
        attempt: u32,
        /// A retry someone asked for: one attempt, no schedule after it.
        #[serde(default)]
        manual: bool,
    },
    /// Handle keys reported as leaked, each by its workspace's policy (none: a report that found
    /// no live key, sent all the same so a finder's report costs the same whatever it held).
    KeysLeaked {
        /// The live keys a report named (at most [`crate::leaks::intake::LEAKS_PER_MESSAGE`]).
        leaks: Vec<crate::leaks::LeakedKey>,
    },
}

/// Where background work is sent. Every message is safe to deliver more than once.
#[async_trait]
pub trait WorkQueue: Send + Sync + std::fmt::Debug {
    /// Enqueues `messages`: all of them, or an error.
    async fn send_all(&self, messages: &[WorkMessage]) -> Result<(), Error>;

    /// Enqueues `message`.
    async fn send(&self, message: &WorkMessage) -> Result<(), Error> {
        self.send_all(std::slice::from_ref(message)).await
    }

    /// Enqueues `message` to be received after `delay` (at most 15 minutes).
    async fn send_delayed(
        &self,
        message: &WorkMessage,
        delay: std::time::Duration,
    ) -> Result<(), Error>;
}

/// A queue in memory that keeps what is sent, for tests of the use cases and the in-process
/// routers.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    sent: std::sync::Mutex<Vec<(WorkMessage, std::time::Duration)>>,
}

impl MemoryQueue {
    /// Every message sent so far, with its delay, and none after.
    pub fn take(&self) -> Vec<(WorkMessage, std::time::Duration)> {
        std::mem::take(&mut *self.sent.lock().expect("queue lock"))
    }
}

#[async_trait]
impl WorkQueue for MemoryQueue {
    async fn send_all(&self, messages: &[WorkMessage]) -> Result<(), Error> {
        let mut sent = self.sent.lock().expect("queue lock");
        sent.extend(
            messages
                .iter()
                .cloned()
                .map(|m| (m, std::time::Duration::ZERO)),
        );
        Ok(())
    }

    async fn send_delayed(
        &self,
        message: &WorkMessage,
        delay: std::time::Duration,
    ) -> Result<(), Error> {
        self.sent
            .lock()
            .expect("queue lock")
            .push((message.clone(), delay));
        Ok(())
    }
}
