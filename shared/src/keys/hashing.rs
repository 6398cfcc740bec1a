//! argon2id at rest, as a PHC string so parameters can change without breaking old keys.
//!
//! Hashing and verification run on the blocking pool: an argon2 call takes tens of milliseconds
//! and would otherwise stall every request sharing the async worker thread.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

use super::secret::PlainKey;
use crate::error::Error;

/// Memory cost in KiB (OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Number of passes.
pub const ITERATIONS: u32 = 2;
/// Degree of parallelism.
pub const PARALLELISM: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a key synchronously; prefer [`hash_key`] on async paths.
pub fn hash_key_blocking(key: &PlainKey) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(key.expose().as_bytes(), &salt)
        .expect("argon2 hashing with valid params cannot fail")
        .to_string()
}

/// Checks a presented key against a stored PHC string synchronously. The comparison inside is constant-time.
pub fn verify_key_blocking(presented: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            hasher()
                .verify_password(presented.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes a key on the blocking pool.
pub async fn hash_key(key: PlainKey) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || hash_key_blocking(&key))
        .await
        .map_err(Error::internal)
}

/// Verifies a key on the blocking pool.
pub async fn verify_key(presented: String, phc: String) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || verify_key_blocking(&presented, &phc))
        .await
        .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ids::KeyId, keys::secret::KeyPrefix};

    #[test]
    fn round_trip_and_mismatch() {
        let key = PlainKey::generate(&KeyPrefix::default(), KeyId::new());
        let phc = hash_key_blocking(&key);
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!phc.contains(key.expose()));
        assert!(verify_key_blocking(key.expose(), &phc));
        let other = PlainKey::generate(&KeyPrefix::default(), KeyId::new());
        assert!(!verify_key_blocking(other.expose(), &phc));
        assert!(!verify_key_blocking(key.expose(), "not a phc string"));
    }

    #[test]
    fn old_parameters_still_verify() {
        let key = PlainKey::generate(&KeyPrefix::default(), KeyId::new());
        let salt = SaltString::generate(&mut OsRng);
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let phc = weaker
            .hash_password(key.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(verify_key_blocking(key.expose(), &phc));
    }
}
