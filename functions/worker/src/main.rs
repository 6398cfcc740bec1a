//! The worker function: tracing, config (its webhook key from Secrets Manager), erasure, the
//! lifecycle, webhook delivery, the leak response and the queue (all it uses), handler, run.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey_aws::{Aws, CallPath, worker::Worker};
use latchkey_core::{
    config::{Config, ConfigError},
    telemetry,
    webhooks::transport::{HttpTransport, SystemResolver},
};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let aws = Aws::load("worker").await;
    let config = Config::from_env()?.with_webhook_key(&aws).await?;
    let max_chunks = config.erasure_chunks_per_message;
    let wiring = latchkey_aws::wiring(config, aws, CallPath::Background);
    let queue = wiring
        .queue()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    let (erasure, lifecycle) = (wiring.erasure(), wiring.lifecycle());
    let transport = Arc::new(HttpTransport::new(Arc::new(SystemResolver)));
    let webhooks = wiring.webhook_deliverer(transport, queue.clone());
    let leaks = wiring.leak_response();
    let worker = &Worker {
        erasure: &erasure,
        lifecycle: &lifecycle,
        queue: queue.as_ref(),
        max_chunks,
        webhooks: &webhooks,
        leaks: &leaks,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(worker.handle(event.payload, event.context.deadline).await)
    }))
    .await
}
