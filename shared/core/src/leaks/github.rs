//! GitHub's signature on a secret scanning report: ECDSA P-256 with SHA-256 over the raw body,
//! DER-encoded and base64 in `Github-Public-Key-Signature`, under the key that
//! `Github-Public-Key-Identifier` names in GitHub's published list.
//!
//! The list is kept in memory ([`ScanningKeys`]): fetched at the first report, again for an
//! identifier it does not hold (at most once per [`REFETCH_INTERVAL`], so a flood of made-up
//! identifiers costs GitHub's API one request a minute), and again at the first report after it
//! is [`MAX_AGE`] old, so a key GitHub withdraws stops being trusted. While the list cannot be
//! fetched, the copy held is used, however old; with no copy at all a report is a 503 (GitHub
//! sends it again later), never accepted unchecked.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use base64ct::{Base64, Encoding};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{clock::Clock, error::Error};

/// GitHub's list of secret scanning keys, the default of `LATCHKEY_SECRET_SCANNING_KEYS_URL`.
pub const GITHUB_KEYS_URL: &str = "https://api.github.com/meta/public_keys/secret_scanning";

/// The least time between two fetches of the list.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// How old a list may be before the next report fetches it again.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// A key of the list: its identifier and its PEM (a `PUBLIC KEY`, SubjectPublicKeyInfo).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PublishedKey {
    /// What `Github-Public-Key-Identifier` names it by.
    pub key_identifier: String,
    /// The key, in PEM.
    pub key: String,
}

/// Why the list could not be had.
#[derive(Debug, thiserror::Error)]
#[error("the secret scanning key list could not be fetched: {0}")]
pub struct KeyListError(pub String);

/// Where the list comes from (GitHub's API when deployed).
#[async_trait]
pub trait KeyList: Send + Sync {
    /// The keys published now.
    async fn fetch(&self) -> Result<Vec<PublishedKey>, KeyListError>;
}

/// The list at a URL, in GitHub's shape: `{"public_keys": [{"key_identifier", "key", ...}]}`.
pub struct HttpKeyList {
    url: String,
    client: reqwest::Client,
}

impl HttpKeyList {
    /// The list at `url`, asked for with a 5 s timeout.
    pub fn new(url: impl Into<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .user_agent("latchkey-secret-scanning")
            .build()
            .expect("a client with a timeout and a user agent builds");
        Self {
            url: url.into(),
            client,
        }
    }
}

#[derive(Deserialize)]
struct ListBody {
    public_keys: Vec<PublishedKey>,
}

#[async_trait]
impl KeyList for HttpKeyList {
    async fn fetch(&self) -> Result<Vec<PublishedKey>, KeyListError> {
        let response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| KeyListError(e.to_string()))?;
        if !response.status().is_success() {
            return Err(KeyListError(format!("answered {}", response.status())));
        }
        let body: ListBody = response
            .json()
            .await
            .map_err(|e| KeyListError(e.to_string()))?;
        Ok(body.public_keys)
    }
}

/// Each identifier's key (SubjectPublicKeyInfo DER).
type Keys = HashMap<String, Vec<u8>>;

/// The list as held, and when it was fetched; when it was last asked for.
#[derive(Default)]
struct Held {
    keys: Option<(Keys, DateTime<Utc>)>,
    last_attempt: Option<DateTime<Utc>>,
}

/// GitHub's keys, cached as the module says, and the check of a report's signature.
pub struct ScanningKeys {
    source: Arc<dyn KeyList>,
    clock: Arc<dyn Clock>,
    held: tokio::sync::Mutex<Held>,
}

fn refused(why: &str) -> Error {
    Error::Unauthenticated(format!("The report's GitHub signature {why}."))
}

impl ScanningKeys {
    /// Keys from `source`, aged by `clock`.
    pub fn new(source: Arc<dyn KeyList>, clock: Arc<dyn Clock>) -> Self {
        Self {
            source,
            clock,
            held: tokio::sync::Mutex::new(Held::default()),
        }
    }

    /// Checks that `signature` (base64 DER) over `body` verifies under the key `key_id` names:
    /// 401 when a header is missing, the signature is malformed or wrong, or no key has that
    /// identifier; 503 when the list was never had.
    pub async fn check(
        &self,
        key_id: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), Error> {
        let (Some(key_id), Some(signature)) = (key_id, signature) else {
            return Err(refused(
                "is missing (Github-Public-Key-Identifier and Github-Public-Key-Signature)",
            ));
        };
        let signature =
            Base64::decode_vec(signature.trim()).map_err(|_| refused("is not base64"))?;
        let Some(key) = self.key(key_id).await? else {
            return Err(refused("names a key GitHub does not publish"));
        };
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, key)
            .verify(body, &signature)
            .map_err(|_| refused("does not match the body"))
    }

    /// The key `id` names, fetching the list when the module says to.
    async fn key(&self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        let mut held = self.held.lock().await;
        let now = self.clock.now();
        let age = |at: DateTime<Utc>| (now - at).to_std().unwrap_or_default();
        if let Some((keys, fetched)) = &held.keys
            && let Some(key) = keys.get(id)
            && age(*fetched) < MAX_AGE
        {
            return Ok(Some(key.clone()));
        }
        if held
            .last_attempt
            .is_none_or(|at| age(at) >= REFETCH_INTERVAL)
        {
            held.last_attempt = Some(now);
            match self.source.fetch().await {
                Ok(list) => held.keys = Some((parsed(list), now)),
                Err(err) => tracing::warn!(error = %err, "using the secret scanning keys held"),
            }
        }
        match &held.keys {
            Some((keys, _)) => Ok(keys.get(id).cloned()),
            None => Err(Error::Unavailable {
                retry_after: REFETCH_INTERVAL.as_secs(),
                cause: Box::new(KeyListError("no copy of the list is held".into())),
            }),
        }
    }
}

/// Each key of `list` whose PEM holds a public key, by identifier (one that does not is logged
/// and left out: it could verify nothing).
fn parsed(list: Vec<PublishedKey>) -> Keys {
    list.into_iter()
        .filter_map(|published| match pem::parse(published.key.as_bytes()) {
            Ok(block) if block.tag() == "PUBLIC KEY" => {
                Some((published.key_identifier, block.into_contents()))
            }
            _ => {
                tracing::warn!(key = %published.key_identifier, "a published key is not a PEM public key");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::clock::ManualClock;

    /// GitHub's documented example (docs.github.com, "Secret scanning partner program",
    /// "Implement signature verification"): the key, and a report signed with its private half.
    const GITHUB_KEY_ID: &str = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c";
    const GITHUB_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd\nAjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==\n-----END PUBLIC KEY-----\n";
    const GITHUB_SIGNATURE: &str = "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==";
    const GITHUB_PAYLOAD: &str = r#"[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]"#;

    /// A list that answers what it is told to, counting the fetches.
    #[derive(Default)]
    struct Source {
        keys: Mutex<Option<Vec<PublishedKey>>>,
        fetches: Mutex<u32>,
    }

    impl Source {
        fn publishing(keys: Vec<PublishedKey>) -> Arc<Self> {
            let source = Arc::new(Self::default());
            source.set(Some(keys));
            source
        }
        fn set(&self, keys: Option<Vec<PublishedKey>>) {
            *self.keys.lock().unwrap() = keys;
        }
        fn fetches(&self) -> u32 {
            *self.fetches.lock().unwrap()
        }
    }

    #[async_trait]
    impl KeyList for Source {
        async fn fetch(&self) -> Result<Vec<PublishedKey>, KeyListError> {
            *self.fetches.lock().unwrap() += 1;
            self.keys
                .lock()
                .unwrap()
                .clone()
                .ok_or_else(|| KeyListError("down".into()))
        }
    }

    fn github() -> PublishedKey {
        PublishedKey {
            key_identifier: GITHUB_KEY_ID.into(),
            key: GITHUB_KEY.into(),
        }
    }

    fn keys(source: Arc<Source>) -> (ScanningKeys, Arc<ManualClock>) {
        let clock = ManualClock::now();
        (ScanningKeys::new(source, clock.clone()), clock)
    }

    #[tokio::test]
    async fn githubs_documented_example_verifies() {
        let (keys, _) = keys(Source::publishing(vec![github()]));
        keys.check(
            Some(GITHUB_KEY_ID),
            Some(GITHUB_SIGNATURE),
            GITHUB_PAYLOAD.as_bytes(),
        )
        .await
        .expect("GitHub's own example verifies");
    }

    #[tokio::test]
    async fn a_changed_body_a_wrong_or_missing_signature_or_key_is_a_401() {
        let (keys, _) = keys(Source::publishing(vec![github()]));
        let altered = GITHUB_PAYLOAD.replace("some_token", "some_tokem");
        let mut flipped = Base64::decode_vec(GITHUB_SIGNATURE).unwrap();
        flipped[10] ^= 1;
        let flipped = Base64::encode_string(&flipped);
        let cases: [(Option<&str>, Option<&str>, &str); 6] = [
            (Some(GITHUB_KEY_ID), Some(GITHUB_SIGNATURE), &altered),
            (Some(GITHUB_KEY_ID), Some(&flipped), GITHUB_PAYLOAD),
            (Some(GITHUB_KEY_ID), Some("not base64!"), GITHUB_PAYLOAD),
            (Some(GITHUB_KEY_ID), None, GITHUB_PAYLOAD),
            (None, Some(GITHUB_SIGNATURE), GITHUB_PAYLOAD),
            (Some("unknown"), Some(GITHUB_SIGNATURE), GITHUB_PAYLOAD),
        ];
        for (id, signature, body) in cases {
            let err = keys
                .check(id, signature, body.as_bytes())
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::Unauthenticated(_)),
                "{id:?} {signature:?}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_unknown_identifier_refetches_at_most_once_a_minute() {
        let source = Source::publishing(vec![github()]);
        let (keys, clock) = keys(source.clone());
        let check = |id: &'static str| {
            let keys = &keys;
            async move {
                keys.check(Some(id), Some(GITHUB_SIGNATURE), GITHUB_PAYLOAD.as_bytes())
                    .await
            }
        };
        check(GITHUB_KEY_ID).await.unwrap();
        assert_eq!(source.fetches(), 1);
        for _ in 0..50 {
            assert!(check("made-up").await.is_err());
        }
        assert_eq!(
            source.fetches(),
            1,
            "a minute has not passed since the fetch"
        );
        check(GITHUB_KEY_ID).await.unwrap();
        clock.advance(chrono::Duration::seconds(61));
        assert!(check("made-up").await.is_err());
        assert!(check("made-up").await.is_err());
        assert_eq!(
            source.fetches(),
            2,
            "one fetch for the unknown id a minute on"
        );
    }

    #[tokio::test]
    async fn a_list_that_is_down_leaves_the_stale_copy_in_use() {
        let source = Source::publishing(vec![github()]);
        let (keys, clock) = keys(source.clone());
        let check = || {
            keys.check(
                Some(GITHUB_KEY_ID),
                Some(GITHUB_SIGNATURE),
                GITHUB_PAYLOAD.as_bytes(),
            )
        };
        check().await.unwrap();
        source.set(None);
        clock.advance(chrono::Duration::hours(2));
        check()
            .await
            .expect("the stale copy verifies while the list is down");
        assert_eq!(
            source.fetches(),
            2,
            "a copy past its age was refreshed, and failed"
        );
        check().await.unwrap();
        assert_eq!(source.fetches(), 2, "at most one attempt a minute");
    }

    #[tokio::test]
    async fn with_no_copy_and_the_list_down_a_report_is_a_503() {
        let source = Arc::new(Source::default());
        let (keys, clock) = keys(source.clone());
        let check = || {
            keys.check(
                Some(GITHUB_KEY_ID),
                Some(GITHUB_SIGNATURE),
                GITHUB_PAYLOAD.as_bytes(),
            )
        };
        assert!(matches!(check().await, Err(Error::Unavailable { .. })));
        assert!(matches!(check().await, Err(Error::Unavailable { .. })));
        assert_eq!(source.fetches(), 1);
        source.set(Some(vec![github()]));
        clock.advance(chrono::Duration::seconds(60));
        check().await.expect("verifies once the list is back");
    }

    #[tokio::test]
    async fn a_key_that_is_no_pem_is_left_out() {
        let broken = PublishedKey {
            key_identifier: "broken".into(),
            key: "not a key".into(),
        };
        let (keys, _) = keys(Source::publishing(vec![broken, github()]));
        keys.check(
            Some(GITHUB_KEY_ID),
            Some(GITHUB_SIGNATURE),
            GITHUB_PAYLOAD.as_bytes(),
        )
        .await
        .unwrap();
        assert!(matches!(
            keys.check(
                Some("broken"),
                Some(GITHUB_SIGNATURE),
                GITHUB_PAYLOAD.as_bytes()
            )
            .await,
            Err(Error::Unauthenticated(_))
        ));
    }
}
