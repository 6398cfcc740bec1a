//! Page cursors: the id of the last item of a page, base64url, so a client treats it as opaque
//! and a hand-edited one is told apart from a real one.

use base64ct::{Base64UrlUnpadded, Encoding};
use uuid::Uuid;

/// The cursor of a page that ends at `id`.
pub fn encode(id: Uuid) -> String {
    Base64UrlUnpadded::encode_string(id.as_bytes())
}

/// The id a cursor of [`encode`] resumes after; `None` for any other text.
pub fn decode(raw: &str) -> Option<Uuid> {
    let bytes = Base64UrlUnpadded::decode_vec(raw).ok()?;
    Uuid::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_cursor_names_its_id_and_nothing_else_is_one(raw in ".{0,40}", id in any::<u128>()) {
            let id = Uuid::from_u128(id);
            prop_assert_eq!(decode(&encode(id)), Some(id));
            if let Some(found) = decode(&raw) {
                prop_assert_eq!(encode(found), raw);
            }
        }
    }
}
