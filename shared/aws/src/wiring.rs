//! The functions' wiring: the domain's components over the DynamoDB table and the SQS queue.

use std::sync::Arc;

use latchkey_core::{
    clock::SystemClock, config::Config, queue::WorkQueue, store::Storage, wiring::Wiring,
};

use crate::{
    clients::{Aws, CallPath},
    dynamo::Table,
    sqs::SqsQueue,
};

/// Components over the DynamoDB table and, when configured, the SQS work queue, on the wall
/// clock. Verification always runs on the tightest timeouts ([`CallPath::Verification`]);
/// everything else on `path`'s.
pub fn wiring(config: Config, aws: Aws, path: CallPath) -> Wiring {
    let table = |path| -> Arc<dyn Storage> {
        Arc::new(
            Table::new(aws.dynamodb(path), &config.table_name)
                .keeping_audit_for(config.audit_retention_days)
                .keeping_deliveries_for(config.webhooks.retention_days),
        )
    };
    let (storage, verification) = (table(path), table(CallPath::Verification));
    let queue = config
        .work_queue_url
        .as_ref()
        .map(|url| -> Arc<dyn WorkQueue> { Arc::new(SqsQueue::new(aws.sqs(path), url)) });
    Wiring::over(config, storage, verification, queue, Arc::new(SystemClock))
}
