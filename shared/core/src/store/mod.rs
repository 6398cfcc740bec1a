//! Storage as the domain sees it: the [`Storage`] bundle of every port, and [`memory`] adapters
//! of each with the DynamoDB adapters' semantics, for unit tests of the use cases and the
//! in-process router tests.
//!
//! The domain modules declare their small ports (`KeyStore`, `NotificationStore`, ...); the
//! DynamoDB adapters live in the AWS crate (`latchkey_aws::dynamo`), the only code in the
//! workspace that imports `aws_sdk_dynamodb`. [`StoreError`] is what an adapter's failure means
//! to the caller: a lost race, a backend that is unreachable, slow or throttling, or one that
//! failed.

pub mod bundle;
pub mod memory;

pub use bundle::{MemoryStorage, Storage};

pub use crate::store_error::StoreError;
