//! The sweeper function: tracing, config, the lifecycle and the queue (all it uses), handler,
//! run. The scheduled event's `time` is the sweep's "now".

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey::{
    aws::{Aws, CallPath},
    config::{Config, ConfigError},
    telemetry,
    wiring::Wiring,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let wiring = Wiring::new(config, Aws::load("sweeper").await, CallPath::Background);
    let queue = &wiring
        .queue()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    let (lifecycle, clock) = (&wiring.lifecycle(), &wiring.clock());
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
