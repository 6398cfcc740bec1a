//! The worker function: tracing, config, erasure, the lifecycle and the queue (all it uses),
//! handler, run.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey_aws::{Aws, CallPath, worker::Worker};
use latchkey_core::{
    config::{Config, ConfigError},
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let max_chunks = config.erasure_chunks_per_message;
    let wiring = latchkey_aws::wiring(config, Aws::load("worker").await, CallPath::Background);
    let queue = wiring
        .queue()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    let (erasure, lifecycle) = (wiring.erasure(), wiring.lifecycle());
    let worker = &Worker {
        erasure: &erasure,
        lifecycle: &lifecycle,
        queue: queue.as_ref(),
        max_chunks,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(worker.handle(event.payload, event.context.deadline).await)
    }))
    .await
}
