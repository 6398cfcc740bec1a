//! Reports of leaked keys as they arrive (the HTTP side): GitHub's signed reports, answered with a
//! label per token, and keys presented by whoever found them, answered alike whatever they are.
//! Both find the live keys among the tokens and hand them to the worker ([`super::response`]),
//! so the answer never waits on the revocations, notifications and webhooks a leak sets off.

use std::sync::Arc;

use chrono::{DurationRound, TimeDelta};
use futures_util::{StreamExt, stream};
use serde::Deserialize;

use super::{
    MAX_TOKENS,
    github::ScanningKeys,
    report::{self, Label, TokenLabel},
    response::{LeakedKey, Reporter, unhandled},
    store::AddressGate,
};
use crate::{
    clock::Clock,
    error::Error,
    keys::{
        hashing,
        model::ApiKey,
        secret::{KeyPrefix, PresentedKey},
        store::KeyStore,
    },
    queue::{WorkMessage, WorkQueue},
};

/// Requests one client address may make to the public revocation endpoint per window.
pub const PRESENTED_PER_WINDOW: u32 = 10;
/// The window of [`PRESENTED_PER_WINDOW`], in seconds.
pub const PRESENTED_WINDOW_SECONDS: i64 = 60;
/// Tokens looked up at once.
const LOOKUPS_AT_ONCE: usize = 32;
/// Leaks one work message carries (each with a place up to 2,048 characters: well within SQS's
/// 256 KiB).
pub const LEAKS_PER_MESSAGE: usize = 50;

/// The body of `POST /api/v1/keys/revoke-leaked`, as far as it is read.
#[derive(Deserialize)]
struct PresentedBody {
    credentials: Vec<String>,
}

/// Keys presented to the public revocation endpoint.
pub struct Presented<'a> {
    /// The client's address (the per-address budget's key).
    pub address: Option<&'a str>,
    /// The request body, whatever it is.
    pub body: &'a [u8],
}

/// Takes reports in.
pub struct LeakIntake {
    keys: Arc<dyn KeyStore>,
    prefix: KeyPrefix,
    queue: Arc<dyn WorkQueue>,
    gate: Arc<dyn AddressGate>,
    scanning: Arc<ScanningKeys>,
    clock: Arc<dyn Clock>,
}

impl LeakIntake {
    /// Intake finding keys of `prefix` in `keys`, sending leaks to `queue`.
    pub fn new(
        keys: Arc<dyn KeyStore>,
        prefix: KeyPrefix,
        queue: Arc<dyn WorkQueue>,
        gate: Arc<dyn AddressGate>,
        scanning: Arc<ScanningKeys>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys,
            prefix,
            queue,
            gate,
            scanning,
            clock,
        }
    }

    /// GitHub's report: its signature checked over the raw `body` (401, or 503 without GitHub's
    /// keys), its matches read (400), the live keys among them sent to the worker, and each
    /// token labelled, in the report's order.
    pub async fn github_report(
        &self,
        key_id: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<TokenLabel>, Error> {
        self.scanning.check(key_id, signature, body).await?;
        let matches = report::parse(body)?;
        let now = self.clock.now();
        let found = self
            .find(matches.iter().map(|m| m.token.clone()).collect())
            .await?;
        let mut leaks = Vec::new();
        let mut labels = Vec::with_capacity(matches.len());
        for (found, m) in found.iter().zip(&matches) {
            if let Some(key) = found
                && unhandled(key, now)
            {
                leaks.push(LeakedKey {
                    key_id: key.id,
                    url: Some(m.url.clone()).filter(|url| !url.is_empty()),
                    source: Some(m.source.clone()).filter(|source| !source.is_empty()),
                    reporter: Reporter::Github,
                    reported_at: now,
                });
            }
            labels.push(TokenLabel {
                token_hash: crate::sessions::model::digest(&m.token),
                token_type: m.token_type.clone(),
                label: if found.is_some() {
                    Label::TruePositive
                } else {
                    Label::FalsePositive
                },
            });
        }
        if !leaks.is_empty() {
            self.send(leaks).await?;
        }
        Ok(labels)
    }

    /// Keys someone presents: within the address's budget (else 429), every live key among the
    /// first [`MAX_TOKENS`] credentials is sent to the worker. Anything else, a body that is no
    /// list of credentials included, is taken without a word: the caller learns nothing. A report
    /// with any well-formed key sends one message however many of its keys are live (up to
    /// [`LEAKS_PER_MESSAGE`] of them), so a live key costs what a dead or unknown one does.
    pub async fn presented(&self, presented: Presented<'_>) -> Result<(), Error> {
        let now = self.clock.now();
        let window = TimeDelta::seconds(PRESENTED_WINDOW_SECONDS);
        let start = now.duration_trunc(window).unwrap_or(now);
        let address = presented.address.unwrap_or("unknown");
        if !self
            .gate
            .admit(
                address,
                start,
                PRESENTED_WINDOW_SECONDS,
                PRESENTED_PER_WINDOW,
            )
            .await?
        {
            return Err(Error::Throttled {
                detail: format!(
                    "At most {PRESENTED_PER_WINDOW} reports a minute are taken from one address."
                ),
                retry_after: (start + window - now).num_seconds().max(1) as u64,
            });
        }
        let Ok(body) = serde_json::from_slice::<PresentedBody>(presented.body) else {
            return Ok(());
        };
        let mut tokens = body.credentials;
        tokens.truncate(MAX_TOKENS);
        if !tokens
            .iter()
            .any(|t| PresentedKey::parse(&self.prefix, t).is_some())
        {
            return Ok(());
        }
        let leaks: Vec<LeakedKey> = self
            .find(tokens)
            .await?
            .into_iter()
            .flatten()
            .filter(|key| unhandled(key, now))
            .map(|key| LeakedKey {
                key_id: key.id,
                url: None,
                source: None,
                reporter: Reporter::Finder,
                reported_at: now,
            })
            .collect();
        self.send(leaks).await
    }

    /// Sends `leaks` to the worker, [`LEAKS_PER_MESSAGE`] to a message (one message, empty,
    /// when there are none).
    async fn send(&self, leaks: Vec<LeakedKey>) -> Result<(), Error> {
        let messages: Vec<WorkMessage> = if leaks.is_empty() {
            vec![WorkMessage::KeysLeaked { leaks }]
        } else {
            leaks
                .chunks(LEAKS_PER_MESSAGE)
                .map(|chunk| WorkMessage::KeysLeaked {
                    leaks: chunk.to_vec(),
                })
                .collect()
        };
        self.queue.send_all(&messages).await
    }

    /// The stored key each token is, in order ([`LeakIntake::lookup`], several at once).
    async fn find(&self, tokens: Vec<String>) -> Result<Vec<Option<ApiKey>>, Error> {
        stream::iter(tokens.into_iter().map(|token| self.lookup(token)))
            .buffered(LOOKUPS_AT_ONCE)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// The stored key `token` is: its checksum first (no read for what is no key of this
    /// deployment), then the key its id names, whose hash must match the whole token. A
    /// well-formed token whose key is gone is checked against a decoy hash, so it takes as long.
    async fn lookup(&self, token: String) -> Result<Option<ApiKey>, Error> {
        let Some(presented) = PresentedKey::parse(&self.prefix, &token) else {
            return Ok(None);
        };
        let key = self.keys.get(presented.id).await?;
        let hash = key
            .as_ref()
            .map_or_else(|| hashing::decoy().to_owned(), |k| k.secret_hash.clone());
        let matches = hashing::verify_key(token, hash).await?;
        Ok(key.filter(|_| matches))
    }
}
