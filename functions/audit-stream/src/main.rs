//! The audit stream function: tracing, config, the table's audit log and the archive bucket
//! (all it uses), handler, run.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey_aws::{Aws, CallPath, audit_stream::AuditStream, dynamo::Table, s3::S3Archive};
use latchkey_core::{
    audit::archive::Archiver,
    config::{Config, ConfigError},
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let bucket = config
        .audit_bucket
        .clone()
        .ok_or(ConfigError::Missing("LATCHKEY_AUDIT_BUCKET"))?;
    let aws = Aws::load("audit-stream").await;
    let table = Table::new(aws.dynamodb(CallPath::Background), &config.table_name);
    let archiver = Archiver::new(
        Arc::new(table.audit()),
        Arc::new(S3Archive::new(aws.s3(CallPath::Background), bucket)),
    );
    let stream = &AuditStream {
        archiver: &archiver,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, lambda_runtime::Error>(stream.handle(event.payload).await)
    }))
    .await
}
