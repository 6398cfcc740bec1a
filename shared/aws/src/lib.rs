//! Latchkey's AWS adapters: everything that knows it runs on AWS.
//!
//! [`clients`] builds every AWS client (timeouts, retries, the local stack's policy guard);
//! [`dynamo`] implements every storage port of the domain over the one table [`table`] lays out;
//! [`sqs`] is the work queue; [`wiring()`] puts them under the domain's `Wiring`. The Lambda
//! event shapes of the functions that serve no HTTP live here too: the API Gateway
//! [`authorizer`], the SQS [`worker`] and the table stream's consumers, [`audit_stream`] (to [`s3`]) and
//! [`webhook_stream`].

pub mod audit_stream;
pub mod authorizer;
pub mod clients;
pub mod dynamo;
mod failure;
pub mod s3;
pub mod sqs;
pub mod table;
pub mod webhook_stream;
mod wiring;
pub mod worker;

pub use clients::{Aws, CallPath};
pub use wiring::wiring;
