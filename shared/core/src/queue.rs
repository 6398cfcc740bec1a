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
}
