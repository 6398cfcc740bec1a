//! The webhook dispatch function: tracing, config, the webhook store and the queue (all it uses),
//! handler, run.

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey_aws::{Aws, CallPath, webhook_stream::WebhookStream};
use latchkey_core::{
    config::{Config, ConfigError},
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let wiring = latchkey_aws::wiring(
        config,
        Aws::load("webhook-dispatch").await,
        CallPath::Background,
    );
    let queue = wiring
        .queue()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    let dispatcher = wiring.webhook_dispatcher(queue);
    let stream = &WebhookStream {
        dispatcher: &dispatcher,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, lambda_runtime::Error>(stream.handle(event.payload).await)
    }))
    .await
}
