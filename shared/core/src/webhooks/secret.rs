//! An endpoint's signing secret: `whsec_` + base64 of 32 random bytes, shown once, and kept
//! sealed (AES-256-GCM under the deployment's webhook key, bound to its endpoint) because the
//! worker must sign with it again: a digest would not do.

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, KeyInit, Payload},
};
use base64ct::{Base64, Encoding};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The prefix of every signing secret (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret in plain: only where the contract shows it once, and in the worker's hand.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl SigningSecret {
    /// 32 fresh random bytes.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The HMAC key.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// As shown to its owner: `whsec_<base64>`.
    pub fn reveal(&self) -> String {
        format!("{SECRET_PREFIX}{}", Base64::encode_string(&self.0))
    }

    /// A shown secret read back (tests, receivers).
    pub fn parse(shown: &str) -> Option<Self> {
        let b64 = shown.strip_prefix(SECRET_PREFIX)?;
        Base64::decode_vec(b64)
            .ok()
            .filter(|b| !b.is_empty())
            .map(Self)
    }
}

/// Seals and opens secrets under the deployment's webhook key (`LATCHKEY_WEBHOOK_KEY`, from
/// Secrets Manager when deployed).
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

/// A sealed secret could not be opened: the deployment's key changed, or the item was edited.
#[derive(Debug, thiserror::Error)]
#[error("a webhook secret could not be opened with this deployment's webhook key")]
pub struct SealError;

const SEALED_PREFIX: &str = "v1:";

impl SecretBox {
    /// A box whose key is derived from `key_material` (any length; SHA-256 of it, under a label).
    pub fn new(key_material: &str) -> Self {
        let key = Sha256::new()
            .chain_update(b"latchkey webhook secrets v1\0")
            .chain_update(key_material.as_bytes())
            .finalize();
        Self {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(<[u8; 32]>::from(key))),
        }
    }

    /// `secret` sealed for the endpoint `owner` names (a sealed secret opens for it alone).
    pub fn seal(&self, secret: &SigningSecret, owner: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.bytes(),
                    aad: owner.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of 32 bytes cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{SEALED_PREFIX}{}", Base64::encode_string(&out))
    }

    /// The secret `sealed` holds, sealed for `owner`.
    pub fn open(&self, sealed: &str, owner: &str) -> Result<SigningSecret, SealError> {
        let raw = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| Base64::decode_vec(b).ok())
            .filter(|raw| raw.len() > 12)
            .ok_or(SealError)?;
        let (nonce, body) = raw.split_at(12);
        self.cipher
            .decrypt(
                &Nonce::from(<[u8; 12]>::try_from(nonce).map_err(|_| SealError)?),
                Payload {
                    msg: body,
                    aad: owner.as_bytes(),
                },
            )
            .map(SigningSecret)
            .map_err(|_| SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_shown_as_whsec_and_read_back() {
        let secret = SigningSecret::generate();
        let shown = secret.reveal();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(Base64::decode_vec(&shown[6..]).unwrap().len(), 32);
        assert_eq!(SigningSecret::parse(&shown), Some(secret.clone()));
        assert!(!format!("{secret:?}").contains(&shown[6..]));
    }

    #[test]
    fn a_sealed_secret_opens_for_its_endpoint_under_its_key_only() {
        let secret = SigningSecret::generate();
        let sealed = SecretBox::new("key one").seal(&secret, "endpoint-a");
        assert!(!sealed.contains(&secret.reveal()[6..]));
        assert_eq!(
            SecretBox::new("key one")
                .open(&sealed, "endpoint-a")
                .unwrap(),
            secret
        );
        assert!(
            SecretBox::new("key one")
                .open(&sealed, "endpoint-b")
                .is_err()
        );
        assert!(
            SecretBox::new("key two")
                .open(&sealed, "endpoint-a")
                .is_err()
        );
        assert!(
            SecretBox::new("key one")
                .open("v1:AAAA", "endpoint-a")
                .is_err()
        );
        assert!(
            SecretBox::new("key one")
                .open("garbage", "endpoint-a")
                .is_err()
        );
    }
}
