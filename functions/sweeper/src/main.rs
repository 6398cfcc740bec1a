//! The sweeper function: tracing, config, the lifecycle, the usage folder, webhook retries and
//! the queue (all it uses), handler, run. The lifecycle schedule's event sweeps (its `time` is the
//! sweep's "now") and then folds the usage inbox; the fold schedule's event (detail-type
//! [`FOLD_ONLY`], every minute) only folds. Both send the webhook attempts the due index says are
//! due by then. The fold runs until the invocation's deadline, less a reserve; a deadline already past
//! when the event arrives (what `cargo lambda watch` gives) counts as the template's timeout.

use std::time::{Duration, Instant};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey_aws::{Aws, CallPath};
use latchkey_core::{
    config::{Config, ConfigError},
    lifecycle::SweepReport,
    telemetry,
    usage::fold::FoldReport,
};
use serde::Serialize;

/// The detail-type of template.yaml's usage fold schedule.
const FOLD_ONLY: &str = "Latchkey Usage Fold";
/// Time kept for answering after the fold stops taking new work.
const DEADLINE_RESERVE: Duration = Duration::from_secs(15);
/// template.yaml's timeout of the sweeper, for an invocation that came with no usable deadline.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one scheduled run did.
#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    sweep: Option<SweepReport>,
    usage: FoldReport,
    /// Webhook attempts the due index said were due, sent to the worker.
    webhook_retries: usize,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let wiring = latchkey_aws::wiring(config, Aws::load("sweeper").await, CallPath::Background);
    let queue = wiring
        .queue()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    let webhooks = &wiring.webhook_dispatcher(queue.clone());
    let queue = &*queue;
    let (lifecycle, folder, clock) = (&wiring.lifecycle(), &wiring.usage_folder(), &wiring.clock());
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            let now_ms = clock.now().timestamp_millis().max(0) as u64;
            let left = match Duration::from_millis(event.context.deadline.saturating_sub(now_ms)) {
                Duration::ZERO => TIMEOUT,
                left => left,
            };
            let deadline = Instant::now() + left.saturating_sub(DEADLINE_RESERVE.min(left / 4));
            // Every scheduled event's `time` is its "now" (tests move it; EventBridge's is the
            // schedule's).
            let at = event.payload.time.unwrap_or_else(|| clock.now());
            let sweep = match event.payload.detail_type.as_str() {
                FOLD_ONLY => None,
                _ => Some(
                    lifecycle
                        .sweep(at, queue)
                        .await
                        .map_err(latchkey_core::Error::into_invocation_error)?,
                ),
            };
            let webhook_retries = webhooks
                .requeue_due(at)
                .await
                .map_err(latchkey_core::Error::into_invocation_error)?;
            let usage = folder
                .run(deadline)
                .await
                .map_err(|e| latchkey_core::Error::from(e).into_invocation_error())?;
            Ok::<_, lambda_runtime::Error>(Report {
                sweep,
                usage,
                webhook_retries,
            })
        },
    ))
    .await
}
