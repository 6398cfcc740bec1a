//! The authorizer function: tracing, config, the verifier (all it uses), handler, run.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{LambdaEvent, service_fn};
use latchkey_aws::{Aws, CallPath, authorizer};
use latchkey_core::{config::Config, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let wiring = latchkey_aws::wiring(
        config,
        Aws::load("authorizer").await,
        CallPath::Verification,
    );
    let verifier = &wiring.verifier();
    let routes = &wiring.config().route_permissions;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            authorizer::authorize(verifier, routes, &event.payload)
                .await
                .map_err(latchkey_core::Error::into_invocation_error)
        },
    ))
    .await
}
