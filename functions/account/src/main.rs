//! The account function: tracing, config (its session signing secret and webhook key from Secrets Manager), the components its routes use, router, run.

use latchkey_aws::{Aws, CallPath};
use latchkey_core::{config::Config, telemetry};
use latchkey_http::api::account::{self, AccountApi};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let aws = Aws::load("account").await;
    let config = Config::with_sessions(&aws)
        .await?
        .with_webhook_key(&aws)
        .await?;
    let wiring = latchkey_aws::wiring(config, aws, CallPath::Api);
    latchkey_http::run(account::router(AccountApi::wire(&wiring))).await
}
