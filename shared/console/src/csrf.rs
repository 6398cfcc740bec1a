//! CSRF tokens: an HMAC of the session's id under a key derived from the session signing key,
//! so a token is good for exactly one session, needs no storage, and outlives the session
//! token's refreshes (which keep the session id).

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Makes and checks the CSRF tokens of sessions.
#[derive(Clone)]
pub struct Csrf {
    key: [u8; 32],
}

impl Csrf {
    /// Tokens under a key derived from `signing_secret` (never the signing key itself).
    pub fn new(signing_secret: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(signing_secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(b"latchkey console csrf v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, session: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(session.as_bytes());
        mac
    }

    /// The token of `session` (a session id).
    pub fn token(&self, session: &str) -> String {
        Base64UrlUnpadded::encode_string(&self.mac(session).finalize().into_bytes())
    }

    /// Whether `presented` is `session`'s token, compared in constant time.
    pub fn check(&self, session: &str, presented: &str) -> bool {
        Base64UrlUnpadded::decode_vec(presented)
            .is_ok_and(|tag| self.mac(session).verify_slice(&tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_token_is_good_for_its_session_only() {
        let csrf = Csrf::new("a-signing-secret-of-at-least-32-bytes!");
        let token = csrf.token("session-1");
        assert!(csrf.check("session-1", &token));
        assert!(!csrf.check("session-2", &token));
        assert!(!Csrf::new("another-signing-secret-of-32-bytes!!").check("session-1", &token));
        assert!(!csrf.check("session-1", ""));
    }

    proptest! {
        #[test]
        fn no_made_up_token_passes(presented in "[ -~]{0,64}") {
            let csrf = Csrf::new("a-signing-secret-of-at-least-32-bytes!");
            prop_assume!(presented != csrf.token("s"));
            prop_assert!(!csrf.check("s", &presented));
        }
    }
}
