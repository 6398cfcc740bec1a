//! In-memory adapters of the ports, with the DynamoDB adapters' semantics (versions, conditions,
//! not-found), so the use cases get unit tests that need no running database.

pub mod keys;
pub mod profiles;

pub use keys::MemoryKeyStore;
pub use profiles::MemoryProfileStore;
