//! The audit archive's objects in an S3 bucket of the stack: JSON Lines, encrypted at rest by
//! the bucket's default (the template sets SSE), written whole by `PutObject`.

use async_trait::async_trait;
use aws_sdk_s3::{Client, primitives::ByteStream};

use latchkey_core::{audit::archive::ArchiveSink, store::StoreError};

/// Archive objects in `bucket`.
#[derive(Clone, Debug)]
pub struct S3Archive {
    client: Client,
    bucket: String,
}

impl S3Archive {
    /// Objects in `bucket`, through `client`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl ArchiveSink for S3Archive {
    async fn put(&self, name: &str, body: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(name)
            .content_type("application/x-ndjson")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| StoreError::backend(aws_sdk_s3::Error::from(err)))?;
        Ok(())
    }
}
