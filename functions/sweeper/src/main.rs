//! The sweeper function: tracing, config, clients, handler, run. The scheduled event's `time`
//! is the sweep's "now".

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey::{
    aws,
    config::{Config, ConfigError},
    services::Services,
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let aws = aws::Aws::load("sweeper").await;
    let services = Services::new(&config, &aws, aws::CallPath::Background);
    let queue = services
        .queue
        .as_ref()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    let (lifecycle, clock) = (&services.lifecycle, &services.clock);
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            lifecycle
                .sweep(event.payload.time.unwrap_or_else(|| clock.now()), queue)
                .await
                .map_err(latchkey::Error::into_invocation_error)
        },
    ))
    .await
}
