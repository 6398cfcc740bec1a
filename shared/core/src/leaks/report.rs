//! GitHub's report and Latchkey's answer to it: the body `[{"token", "type", "url", "source"}]`
//! (read only after its signature verified), and each token labelled by its SHA-256 (hex, as
//! [`crate::sessions::model::digest`] makes it), never echoed.

use serde::Deserialize;

use super::MAX_TOKENS;
use crate::error::Error;

/// Where a match was found is kept to this many characters.
const MAX_URL_CHARS: usize = 2048;
/// The match's type and source are kept to this many characters.
const MAX_NAME_CHARS: usize = 100;

/// One match of GitHub's report.
#[derive(Clone, Deserialize)]
pub struct GithubMatch {
    /// What matched the pattern: possibly a key.
    pub token: String,
    /// The name the pattern was registered under.
    #[serde(rename = "type")]
    pub token_type: String,
    /// Where it was found (may be empty).
    #[serde(default)]
    pub url: String,
    /// What kind of place it was found in (`content`, `commit`, `npm`, ...).
    #[serde(default)]
    pub source: String,
}

impl std::fmt::Debug for GithubMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubMatch")
            .field("token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("url", &self.url)
            .field("source", &self.source)
            .finish()
    }
}

/// Whether a token was a key of this deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// A key this deployment issued and still stores (live, revoked or expired).
    TruePositive,
    /// Anything else.
    FalsePositive,
}

/// The answer about one token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenLabel {
    /// The token's SHA-256, in hex.
    pub token_hash: String,
    /// The match's type, as GitHub sent it.
    pub token_type: String,
    /// What it was.
    pub label: Label,
}

/// `text` cut to at most `chars` characters.
fn clamp(mut text: String, chars: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(chars) {
        text.truncate(at);
    }
    text
}

/// Reads a verified report: a JSON array of at most [`MAX_TOKENS`] matches (400 otherwise);
/// long places are shortened.
pub fn parse(body: &[u8]) -> Result<Vec<GithubMatch>, Error> {
    let matches: Vec<GithubMatch> = serde_json::from_slice(body).map_err(|e| {
        Error::invalid_field(
            "body",
            format!(
                "a report is a JSON array of {{\"token\", \"type\", \"url\", \"source\"}}: {e}"
            ),
        )
    })?;
    if matches.len() > MAX_TOKENS {
        return Err(Error::invalid_field(
            "body",
            format!("a report carries at most {MAX_TOKENS} matches"),
        ));
    }
    Ok(matches
        .into_iter()
        .map(|m| GithubMatch {
            token: m.token,
            token_type: clamp(m.token_type, MAX_NAME_CHARS),
            url: clamp(m.url, MAX_URL_CHARS),
            source: clamp(m.source, MAX_NAME_CHARS),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn githubs_example_body_reads() {
        let body = br#"[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]"#;
        let matches = parse(body).unwrap();
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].token, "some_token");
        assert_eq!(matches[0].url, "https://example.com/base-repo-url/");
        assert!(!format!("{:?}", matches[0]).contains("some_token"));
    }

    #[test]
    fn a_token_is_named_by_its_sha256_in_hex() {
        let named = crate::sessions::model::digest;
        assert_eq!(
            named("some_token"),
            "9a45520a1213f15016d2d768b5fb3d904492a44ee274b44d4de8803e00fb536a"
        );
        assert_eq!(
            named(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_body_that_is_no_report_or_too_long_is_a_400() {
        let too_many = format!(
            "[{}]",
            vec![r#"{"token":"t","type":"x"}"#; MAX_TOKENS + 1].join(",")
        );
        for body in [
            &b"{}"[..],
            b"",
            b"[{\"type\":\"x\"}]",
            b"[1]",
            too_many.as_bytes(),
        ] {
            assert!(matches!(parse(body), Err(Error::Validation { .. })));
        }
        let most = format!(
            "[{}]",
            vec![r#"{"token":"t","type":"x"}"#; MAX_TOKENS].join(",")
        );
        assert_eq!(parse(most.as_bytes()).unwrap().len(), MAX_TOKENS);
    }

    #[test]
    fn long_places_are_shortened() {
        let body = serde_json::json!([{"token": "t", "type": "x".repeat(500), "url": "é".repeat(5000), "source": "s"}]);
        let matches = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(matches[0].url.chars().count(), MAX_URL_CHARS);
        assert_eq!(matches[0].token_type.len(), MAX_NAME_CHARS);
    }

    proptest! {
        #[test]
        fn any_body_is_read_or_refused_without_a_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn any_array_of_matches_reads(tokens in proptest::collection::vec(".{0,80}", 0..20)) {
            let body = serde_json::Value::Array(tokens.iter().map(|t| serde_json::json!({"token": t, "type": "latchkey"})).collect());
            let matches = parse(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(matches.len(), tokens.len());
        }
    }
}
