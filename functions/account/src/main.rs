//! The account function: tracing, config, router, run.

use latchkey::{http, telemetry};

mod routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    http::run(routes::router()).await
}
