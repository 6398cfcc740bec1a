//! argon2id at rest, as a PHC string, so parameters can change without breaking stored keys.
//!
//! A key's secret is 256 bits from the OS CSPRNG, not a password: guessing it is hopeless at any
//! hash cost, so memory-hardness buys nothing (NIST SP 800-63B §5.1.2.2 asks only an approved
//! one-way function for secrets of at least 112 bits). The parameters are therefore argon2id's
//! cheapest that still make a PHC string: 16 KiB, one pass, one lane, about 20 µs here, where
//! the password parameters used before (19 MiB, two passes) cost 20-40 ms of CPU on every cache
//! miss. A hash made with other parameters still verifies (the PHC string names its own), and
//! [`needs_rehash`] tells the verifier to store a new one after the next successful check.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

use super::secret::PlainKey;
use crate::error::Error;

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 16;
/// Number of passes.
pub const ITERATIONS: u32 = 1;
/// Degree of parallelism.
pub const PARALLELISM: u32 = 1;

/// Hashes costing more memory than this (the old password parameters) run on the blocking pool;
/// cheaper ones run inline, where a thread hop would cost more than the hash.
const INLINE_MAX_KIB: u32 = 1024;

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a key.
pub fn hash_key(key: &PlainKey) -> String {
    hash_secret(key.expose())
}

/// Hashes a presented key that verified (to upgrade its stored hash).
pub fn hash_secret(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 hashing with valid params cannot fail")
        .to_string()
}

/// A hash of a random secret no key has, at the current parameters: what an unknown key id's
/// guesses are checked against, so they cost what a known id's wrong guesses cost.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_secret(&super::secret::random_base62()));
    &DECOY
}

/// Checks a presented key against a stored PHC string synchronously, with the parameters the
/// string names. The comparison inside is constant-time.
pub fn verify_key_blocking(presented: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            hasher()
                .verify_password(presented.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verifies a key: inline at the current parameters (the PHC string parsed once), on the
/// blocking pool at costly old ones.
pub async fn verify_key(presented: String, phc: String) -> Result<bool, Error> {
    let Ok(hash) = PasswordHash::new(&phc) else {
        return Ok(false);
    };
    if Params::try_from(&hash).is_ok_and(|p| p.m_cost() <= INLINE_MAX_KIB) {
        return Ok(hasher()
            .verify_password(presented.as_bytes(), &hash)
            .is_ok());
    }
    tokio::task::spawn_blocking(move || verify_key_blocking(&presented, &phc))
        .await
        .map_err(Error::internal)
}

/// Whether a stored hash was made with other than the current algorithm and parameters.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let current = Params::try_from(&hash).ok().is_some_and(|p| {
        p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
    });
    !(hash.algorithm.as_str() == "argon2id" && current)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{ids::KeyId, keys::secret::KeyPrefix};

    /// A hash at the password parameters keys were stored with before.
    pub(crate) fn old_hash_of(secret: &str) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19 * 1024, 2, 1, None).unwrap(),
        )
        .hash_password(secret.as_bytes(), &salt)
        .unwrap()
        .to_string()
    }

    #[test]
    fn round_trip_and_mismatch() {
        let key = PlainKey::generate(&KeyPrefix::default(), KeyId::new());
        let phc = hash_key(&key);
        assert!(phc.starts_with("$argon2id$v=19$m=16,t=1,p=1$"), "{phc}");
        assert!(!phc.contains(key.expose()));
        assert!(verify_key_blocking(key.expose(), &phc));
        let other = PlainKey::generate(&KeyPrefix::default(), KeyId::new());
        assert!(!verify_key_blocking(other.expose(), &phc));
        assert!(!verify_key_blocking(key.expose(), "not a phc string"));
        assert!(!needs_rehash(&phc));
    }

    #[tokio::test]
    async fn old_parameters_still_verify_and_ask_for_a_rehash() {
        let key = PlainKey::generate(&KeyPrefix::default(), KeyId::new());
        let phc = old_hash_of(key.expose());
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_key(key.expose().to_owned(), phc.clone())
                .await
                .unwrap()
        );
        assert!(needs_rehash(&phc));
        assert!(!needs_rehash("not a phc string"), "nothing to upgrade from");
    }
}
