//! The api-keys function: tracing, config, the components its routes use, router, run.

use latchkey::{
    api::{self, api_keys::KeysApi},
    aws::{Aws, CallPath},
    config::Config,
    http, telemetry,
    wiring::Wiring,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let aws = Aws::load("api-keys").await;
    let config = Config::with_sessions(&aws).await?;
    let wiring = Wiring::new(config, aws, CallPath::Api);
    http::run(api::key_routes(KeysApi::wire(&wiring))).await
}
