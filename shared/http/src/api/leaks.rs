//! The leak response's public routes, served by the api-keys function beside verification:
//! GitHub's secret scanning reports (`/api/v1/leaks/github`) and keys presented by whoever found
//! them (`/api/v1/keys/revoke-leaked`). Neither authenticates a caller: GitHub's signature
//! vouches for the first; the second answers alike whatever it is sent.

use axum::{Json as Body, body::Bytes, extract::State, http::HeaderMap, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use latchkey_core::leaks::{Label, Presented, TokenLabel};

use super::api_keys::KeysApi;
use crate::{
    ClientContext, Result,
    responses::{Errors, status::*},
};

/// The header naming the key GitHub signed with.
const KEY_IDENTIFIER: &str = "github-public-key-identifier";
/// The header carrying GitHub's signature.
const SIGNATURE: &str = "github-public-key-signature";

/// One match of GitHub's report.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct GithubMatchBody {
    /// What matched the registered pattern.
    token: String,
    /// The pattern's registered name.
    #[serde(rename = "type")]
    token_type: String,
    /// Where it was found (may be empty).
    #[schema(example = "https://github.com/octo-org/octo-repo/blob/main/config.env")]
    url: String,
    /// `content`, `commit`, `pull_request_description`, `npm`, ...
    #[schema(example = "content")]
    source: String,
}

/// What Latchkey makes of one token.
#[derive(Serialize, ToSchema)]
pub struct TokenLabelBody {
    /// The token's SHA-256, in hex: the token itself is never echoed.
    #[schema(example = "4f4ac26c5a8a2b19bd1fb7d0d4ec4ee1d44e5fe1c7a7a5ea0ff7b0de2e0dfca0")]
    token_hash: String,
    /// The match's `type`, as sent.
    token_type: String,
    /// `true_positive` for a key this deployment issued and still stores (live, revoked or
    /// expired), else `false_positive`.
    #[schema(example = "true_positive")]
    label: &'static str,
}

impl From<TokenLabel> for TokenLabelBody {
    fn from(label: TokenLabel) -> Self {
        Self {
            token_hash: label.token_hash,
            token_type: label.token_type,
            label: match label.label {
                Label::TruePositive => "true_positive",
                Label::FalsePositive => "false_positive",
            },
        }
    }
}

/// `{"message"}`.
#[derive(Serialize, ToSchema)]
pub struct Received {
    message: &'static str,
}

type Svc = State<KeysApi>;

/// The two routes, over the api-keys function's state (it serves them beside verification).
/// Neither authenticates a caller: GitHub's signature vouches for its reports; anyone may
/// present a found key.
pub(super) fn routes() -> OpenApiRouter<KeysApi> {
    OpenApiRouter::new()
        .routes(routes!(report_github_leaks))
        .routes(routes!(revoke_leaked_keys))
}

#[utoipa::path(
    post, path = "/api/v1/leaks/github", tag = "leak-response", operation_id = "report_github_leaks",
    summary = "GitHub's secret scanning partner endpoint",
    description = "Accepted only when `Github-Public-Key-Signature` (base64 DER ECDSA P-256 \
        SHA-256 over the raw body) verifies under the key `Github-Public-Key-Identifier` names in \
        GitHub's published list. Each live Latchkey key among the matches is handled by its \
        workspace's leak policy after the answer; the answer labels every token by its SHA-256.",
    params(
        ("Github-Public-Key-Identifier" = String, Header, description = "The key GitHub signed with."),
        ("Github-Public-Key-Signature" = String, Header, description = "Base64 DER ECDSA signature of the raw body."),
    ),
    request_body = Vec<GithubMatchBody>,
    responses(
        (status = 200, description = "Each token's label, in the report's order.", body = Vec<TokenLabelBody>),
        Errors<{ BAD_REQUEST | UNAUTHENTICATED | UNAVAILABLE }>,
    ),
)]
async fn report_github_leaks(
    State(s): Svc,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Body<Vec<TokenLabelBody>>> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let labels = s
        .leaks
        .github_report(header(KEY_IDENTIFIER), header(SIGNATURE), &body)
        .await?;
    Ok(Body(labels.into_iter().map(Into::into).collect()))
}

#[utoipa::path(
    post, path = "/api/v1/keys/revoke-leaked", tag = "leak-response", operation_id = "revoke_leaked_keys",
    summary = "Revoke keys you found",
    description = "Anyone who found a Latchkey key where it should not be may revoke it by \
        presenting it: every live key among `credentials` is revoked (reason `reported as \
        leaked`) and its owners told. The answer is the same 202 whatever the body holds, so it \
        reveals nothing; one address may send 10 reports a minute.",
    request_body(
        content = Option<serde_json::Value>,
        description = "`{\"credentials\": [\"<key>\", ...]}`, at most \
            1,000 read; any other body is taken too, and does nothing.",
    ),
    responses(
        (status = 202, description = "Taken.", body = Received),
        (status = 429, response = crate::responses::Throttled),
        Errors<{ UNAVAILABLE }>,
    ),
)]
async fn revoke_leaked_keys(
    State(s): Svc,
    ClientContext(client): ClientContext,
    body: Bytes,
) -> Result<(StatusCode, Body<Received>)> {
    let address = client.ip.map(|ip| ip.to_string());
    s.leaks
        .presented(Presented {
            address: address.as_deref(),
            body: &body,
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Body(Received {
            message: "Received. Any live key among the credentials is revoked, and its owners are told.",
        }),
    ))
}
