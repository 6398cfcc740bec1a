//! The worker function: tracing, config, clients, handler, run.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey::{
    aws,
    config::{Config, ConfigError},
    services::Services,
    telemetry,
    worker::Worker,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let aws = aws::Aws::load("worker").await;
    let services = Services::new(&config, &aws, aws::CallPath::Background);
    let queue = services
        .queue
        .as_ref()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    let worker = &Worker {
        erasure: &services.erasure,
        lifecycle: &services.lifecycle,
        queue,
        max_chunks: config.erasure_chunks_per_message,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(worker.handle(event.payload, event.context.deadline).await)
    }))
    .await
}
