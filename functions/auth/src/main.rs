//! The auth function: tracing, config and its secrets (the session signing key and the client
//! secret, read once from Secrets Manager), the sign-in, router, run.

use latchkey_aws::{Aws, CallPath};
use latchkey_core::{
    config::{Config, SignInSettings},
    telemetry,
};
use latchkey_http::api::signin::{self, SignInApi};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let aws = Aws::load("auth").await;
    let config = Config::with_sessions(&aws).await?;
    let settings = SignInSettings::load(&aws, config.sessions()).await?;
    let wiring = latchkey_aws::wiring(config, aws, CallPath::Api);
    let sign_in = wiring
        .sign_in(settings)
        .ok_or("sign-in needs an issuer: LATCHKEY_OIDC_ISSUER is not set")?;
    latchkey_http::run(signin::router(SignInApi::wire(&wiring, sign_in))).await
}
