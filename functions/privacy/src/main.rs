//! The privacy function: tracing, config, clients, router, run.

use latchkey::{api, aws, config::Config, http, services::Services, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let aws = aws::Aws::load("privacy").await;
    let services = Services::new(&config, &aws, aws::CallPath::Api);
    http::run(api::privacy::router(services)).await
}
