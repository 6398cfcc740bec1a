//! The console function: tracing, config and its secrets (the session signing key, the client
//! secret and the webhook key, read once from Secrets Manager), the sign-in, the console's router, run.

use latchkey_aws::{Aws, CallPath};
use latchkey_console::Console;
use latchkey_core::{
    config::{Config, SignInSettings},
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let aws = Aws::load("console").await;
    let config = Config::with_sessions(&aws)
        .await?
        .with_webhook_key(&aws)
        .await?;
    let settings = SignInSettings::load(&aws, config.sessions()).await?;
    let wiring = latchkey_aws::wiring(config, aws, CallPath::Api);
    let sign_in = wiring
        .sign_in(settings)
        .ok_or("the console signs users in through an issuer: LATCHKEY_OIDC_ISSUER is not set")?;
    latchkey_http::run(latchkey_console::router(Console::wire(&wiring, sign_in))).await
}
