//! The privacy function: tracing, config, the components its routes use, router, run.

use latchkey::{
    api::privacy::{self, PrivacyApi},
    aws::{Aws, CallPath},
    config::Config,
    http, telemetry,
    wiring::Wiring,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let aws = Aws::load("privacy").await;
    let config = Config::with_sessions(&aws).await?;
    let wiring = Wiring::new(config, aws, CallPath::Api);
    http::run(privacy::router(PrivacyApi::wire(&wiring))).await
}
