//! The authorizer function: tracing, config, clients, handler, run.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey::{aws, config::Config, keys::authorizer, services::Services, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let aws = aws::Aws::load("authorizer").await;
    let services = Services::new(&config, &aws, aws::CallPath::Verification);
    let (verifier, routes) = (&services.verifier, &config.route_permissions);
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            authorizer::authorize(verifier, routes, &event.payload)
                .await
                .map_err(latchkey::Error::into_invocation_error)
        },
    ))
    .await
}
