//! Fields where an absent value and an explicit `null` mean different things (leave it as it is,
//! and clear it): in update requests, and in stored items written by more than one version. And
//! nested objects read only from JSON objects: serde's derived structs also take an array of
//! their fields in order, which no client means (`"attributes": [null, null, null]`).

use std::{fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, Visitor, value::MapAccessDeserializer},
};

/// Reads a field as `Some(None)` for `null` and `Some(Some(v))` for a value; with
/// `#[serde(default)]`, an absent field stays `None`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Reads a nested object `T` from a JSON object only (`null` is `None`); an array, or any other
/// value, is the field's 400.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    struct ObjectOnly<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or null")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
    }

    d.deserialize_any(ObjectOnly(PhantomData))
}

/// [`present`] for a nested object: `Some(None)` for `null`, `Some(Some(v))` for an object only.
pub fn present_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    object(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        a: Option<i64>,
        b: Option<i64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        #[serde(default, deserialize_with = "object")]
        inner: Option<Inner>,
    }

    #[test]
    fn a_nested_object_is_read_from_an_object_only() {
        let read = |text: &str| serde_json::from_str::<Outer>(text);
        assert_eq!(
            read(r#"{"inner": {"a": 1}}"#).unwrap().inner,
            Some(Inner {
                a: Some(1),
                b: None
            })
        );
        assert_eq!(read(r#"{"inner": null}"#).unwrap().inner, None);
        assert_eq!(read("{}").unwrap().inner, None);
        for bad in [
            r#"{"inner": [1, 2]}"#,
            r#"{"inner": [null, null, null]}"#,
            r#"{"inner": 3}"#,
            r#"{"inner": "x"}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
