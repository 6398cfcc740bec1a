//! The key format: `<prefix>_<key id><secret><checksum>`, all base62.
//!
//! - the key id (a UUID, 22 characters) makes lookup one `GetItem`;
//! - the secret is 256 bits from the OS CSPRNG (44 characters);
//! - a CRC32 of id and secret (6 characters), as GitHub tokens carry, rejects mistyped or
//!   made-up keys before any storage read.
//!
//! Base62 and a single `_` keep the whole key selectable with a double click.

use std::fmt;

use rand::{RngCore, rngs::OsRng};
use uuid::Uuid;

use crate::ids::KeyId;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const U128_CHARS: usize = 22;
const ID_CHARS: usize = U128_CHARS;
const SECRET_CHARS: usize = 2 * U128_CHARS;
const CHECKSUM_CHARS: usize = 6;
pub(crate) const BODY_CHARS: usize = ID_CHARS + SECRET_CHARS + CHECKSUM_CHARS;
/// Characters of the key body shown in `key_prefix` (taken from the non-secret id part).
const VISIBLE_ID_CHARS: usize = 8;

/// The configurable prefix of every key: 1 to 16 lowercase ASCII letters or digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// Validates a prefix.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=16).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err("a key prefix is 1 to 16 lowercase letters or digits".into())
        }
    }

    /// The prefix without its separator.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self("sk".into())
    }
}

/// A full, plain API key. It exists only on its way to the create/rotate/regenerate response:
/// its `Debug` is redacted so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey(String);

impl fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainKey(<redacted>)")
    }
}

impl PlainKey {
    /// Mints a new key for `id` with a fresh 256-bit secret.
    pub fn generate(prefix: &KeyPrefix, id: KeyId) -> Self {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let mut body = String::with_capacity(BODY_CHARS);
        push_u128(&mut body, id.0.as_u128());
        push_u128(
            &mut body,
            u128::from_be_bytes(secret[..16].try_into().expect("16 bytes")),
        );
        push_u128(
            &mut body,
            u128::from_be_bytes(secret[16..].try_into().expect("16 bytes")),
        );
        let checksum = crc32fast::hash(body.as_bytes());
        push_fixed(&mut body, u128::from(checksum), CHECKSUM_CHARS);
        Self(format!("{}_{body}", prefix.as_str()))
    }

    /// The key, to hand to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The non-secret identifying prefix shown in listings: `sk_` and the first characters of the id part.
    pub fn key_prefix(&self) -> String {
        let cut = self.0.len() - BODY_CHARS + VISIBLE_ID_CHARS;
        self.0[..cut].to_owned()
    }

    /// The last five characters (latitude.sh's `token_last_slice`).
    pub fn last_slice(&self) -> String {
        self.0[self.0.len() - 5..].to_owned()
    }

    /// The masked form: `sk_****` and the last four characters.
    pub fn masked(&self) -> String {
        let (prefix, _) = self.0.split_at(self.0.len() - BODY_CHARS);
        format!("{prefix}****{}", &self.0[self.0.len() - 4..])
    }
}

/// A key's paired secret (cartovista's `secretKey`): 256 random bits in 44 base62 characters,
/// which from its creation on must accompany the key. Shown once; only its hash is stored.
pub struct PairedSecret(String);

impl fmt::Debug for PairedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairedSecret(<redacted>)")
    }
}

/// 256 bits from the OS CSPRNG, as 44 base62 characters: the body of every secret Latchkey
/// hands out besides keys (paired secrets, refresh tokens).
pub fn random_base62() -> String {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let mut text = String::with_capacity(SECRET_CHARS);
    push_u128(
        &mut text,
        u128::from_be_bytes(secret[..16].try_into().expect("16 bytes")),
    );
    push_u128(
        &mut text,
        u128::from_be_bytes(secret[16..].try_into().expect("16 bytes")),
    );
    text
}

impl PairedSecret {
    /// A fresh secret.
    pub fn generate() -> Self {
        Self(random_base62())
    }

    /// The secret, to hand to the key's owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A key as presented by a client, after its shape and checksum were checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresentedKey<'a> {
    /// The id embedded in the key.
    pub id: KeyId,
    /// The whole key as presented, to check against the stored hash.
    pub full: &'a str,
}

impl<'a> PresentedKey<'a> {
    /// Checks shape, prefix and checksum; no storage is read. `None` means "no such key".
    pub fn parse(prefix: &KeyPrefix, raw: &'a str) -> Option<Self> {
        let body = raw
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.strip_prefix('_'))?;
        if body.len() != BODY_CHARS || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let (payload, checksum) = body.split_at(ID_CHARS + SECRET_CHARS);
        let expected = decode(checksum)?;
        if u128::from(crc32fast::hash(payload.as_bytes())) != expected {
            return None;
        }
        let id = decode(&payload[..ID_CHARS])?;
        Some(Self {
            id: KeyId(Uuid::from_u128(id)),
            full: raw,
        })
    }

    /// Whether `raw` looks like a key of this deployment (for `Authorization: Bearer`).
    pub fn has_prefix(prefix: &KeyPrefix, raw: &str) -> bool {
        raw.strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.starts_with('_'))
    }
}

fn push_u128(out: &mut String, value: u128) {
    push_fixed(out, value, U128_CHARS);
}

fn push_fixed(out: &mut String, mut value: u128, width: usize) {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    out.push_str(std::str::from_utf8(&digits).expect("alphabet is ASCII"));
}

fn decode(chars: &str) -> Option<u128> {
    chars.bytes().try_fold(0u128, |acc, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        acc.checked_mul(62)?.checked_add(u128::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix() -> KeyPrefix {
        KeyPrefix::default()
    }

    #[test]
    fn generated_key_has_the_documented_shape() {
        let id = KeyId::new();
        let key = PlainKey::generate(&prefix(), id);
        let raw = key.expose();
        assert!(raw.starts_with("sk_"));
        assert_eq!(raw.len(), 3 + BODY_CHARS);
        assert!(raw[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
        let parsed = PresentedKey::parse(&prefix(), raw).expect("own key parses");
        assert_eq!(parsed.id, id);
    }

    #[test]
    fn secrets_differ_for_the_same_id() {
        let id = KeyId::new();
        let a = PlainKey::generate(&prefix(), id);
        let b = PlainKey::generate(&prefix(), id);
        assert_ne!(a, b);
        assert_eq!(a.key_prefix(), b.key_prefix());
    }

    #[test]
    fn any_single_character_change_fails_the_checksum() {
        let key = PlainKey::generate(&prefix(), KeyId::new());
        let raw = key.expose();
        for i in 3..raw.len() {
            let mut bytes = raw.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let mutated = String::from_utf8(bytes).unwrap();
            assert!(
                PresentedKey::parse(&prefix(), &mutated).is_none(),
                "mutation at {i} passed"
            );
        }
    }

    #[test]
    fn malformed_keys_are_rejected() {
        let key = PlainKey::generate(&prefix(), KeyId::new());
        let raw = key.expose();
        for bad in [
            "",
            "sk_",
            "sk_abc",
            &raw[..raw.len() - 1],
            &format!("{raw}a"),
            &raw.replacen("sk_", "pk_", 1),
            &raw.replacen("sk_", "sk-", 1),
            &raw.replace(&raw[10..11], "-"),
        ] {
            assert!(
                PresentedKey::parse(&prefix(), bad).is_none(),
                "{bad:?} parsed"
            );
        }
        let other = KeyPrefix::parse("live").unwrap();
        assert!(PresentedKey::parse(&other, raw).is_none());
    }

    #[test]
    fn masking_and_prefix_hide_the_secret() {
        let key = PlainKey::generate(&prefix(), KeyId::new());
        let raw = key.expose();
        assert_eq!(key.masked(), format!("sk_****{}", &raw[raw.len() - 4..]));
        assert_eq!(key.key_prefix(), raw[..11]);
        assert!(!format!("{key:?}").contains(&raw[3..]));
    }

    #[test]
    fn base62_round_trips_extremes() {
        for value in [0u128, 1, 61, 62, u128::MAX] {
            let mut s = String::new();
            push_u128(&mut s, value);
            assert_eq!(s.len(), U128_CHARS);
            assert_eq!(decode(&s), Some(value));
        }
        assert_eq!(decode(&"z".repeat(U128_CHARS)), None, "overflow is refused");
    }

    #[test]
    fn prefix_validation() {
        assert!(KeyPrefix::parse("sk").is_ok());
        assert!(KeyPrefix::parse("live2").is_ok());
        for bad in ["", "SK", "s_k", "a-b", &"a".repeat(17)] {
            assert!(KeyPrefix::parse(bad).is_err(), "{bad:?}");
        }
    }
}
