//! The worker function: tracing, config, erasure, the lifecycle and the queue (all it uses),
//! handler, run.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey::{
    aws::{Aws, CallPath},
    config::{Config, ConfigError},
    telemetry,
    wiring::Wiring,
    worker::Worker,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let max_chunks = config.erasure_chunks_per_message;
    let wiring = Wiring::new(config, Aws::load("worker").await, CallPath::Background);
    let queue = wiring
        .queue()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    let (erasure, lifecycle) = (wiring.erasure(), wiring.lifecycle());
    let worker = &Worker {
        erasure: &erasure,
        lifecycle: &lifecycle,
        queue: &queue,
        max_chunks,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(worker.handle(event.payload, event.context.deadline).await)
    }))
    .await
}
