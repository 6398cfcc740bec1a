//! The api-keys function: tracing, config, the components its routes use, router, run.

use latchkey_aws::{Aws, CallPath};
use latchkey_core::{
    config::{Config, ConfigError},
    telemetry,
};
use latchkey_http::api::{self, api_keys::KeysApi};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let aws = Aws::load("api-keys").await;
    let config = Config::with_sessions(&aws).await?;
    let wiring = latchkey_aws::wiring(config, aws, CallPath::Api);
    // Leaked keys reported here are handled by the worker.
    wiring
        .queue()
        .ok_or(ConfigError::Missing("LATCHKEY_WORK_QUEUE_URL"))?;
    latchkey_http::run(api::key_routes(KeysApi::wire(&wiring))).await
}
