//! Fields where an absent value and an explicit `null` mean different things (leave it as it is,
//! and clear it): in update requests, and in stored items written by more than one version.

use serde::{Deserialize, Deserializer};

/// Reads a field as `Some(None)` for `null` and `Some(Some(v))` for a value; with
/// `#[serde(default)]`, an absent field stays `None`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
