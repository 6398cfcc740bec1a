//! The account function: tracing, config, the components its routes use, router, run.

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
    let config = Config::from_env()?;
    let wiring = Wiring::new(config, Aws::load("account").await, CallPath::Api);
    http::run(account::router(AccountApi::wire(&wiring))).await
}
