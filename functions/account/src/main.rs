//! The account function: tracing, config (its session signing secret from Secrets Manager), the components its routes use, router, run.

use latchkey::{
    api::account::{self, AccountApi},
    aws::{Aws, CallPath},
    config::Config,
    http, telemetry,
    wiring::Wiring,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let aws = Aws::load("account").await;
    let config = Config::with_sessions(&aws).await?;
    let wiring = Wiring::new(config, aws, CallPath::Api);
    http::run(account::router(AccountApi::wire(&wiring))).await
}
