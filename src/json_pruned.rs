//! Parsing JSON text into a value that keeps only the keys its reader looks at.
//!
//! A webhook delivery is a few KB, most of it (signatories, comments, business users) never read:
//! building a `serde_json::Value` of all of it is most of the cost of parsing one. What a [`Shape`]
//! leaves out is skipped, not stored. The whole text must be UTF-8 and JSON (a syntax error anywhere
//! fails the parse); what serde_json refuses only in values it builds — numbers beyond f64, lone
//! surrogate escapes, nesting deeper than 128 — is refused in kept parts and passed over in skipped
//! ones, which are never read.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Which parts of a value are kept.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// The whole value, as `serde_json` parses it.
    All,
    /// If the value is an object, only these keys (each with its own shape); any other kind of value
    /// is kept whole, so its reader can say what it found instead of an object.
    Keys(&'static [(&'static str, Shape)]),
}

impl Shape {
    fn of(self, key: &str) -> Option<Shape> {
        match self {
            Shape::All => Some(Shape::All),
            Shape::Keys(keys) => keys.iter().find(|(name, _)| *name == key).map(|(_, shape)| *shape),
        }
    }
}

/// `bytes` as JSON, with only what `shape` keeps.
pub fn from_slice(bytes: &[u8], shape: Shape) -> Result<Value, serde_json::Error> {
    // Skipped strings are not checked for UTF-8 as kept ones are: the whole text is, once.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        <serde_json::Error as serde::de::Error>::custom(format_args!("invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = shape.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self {
            Shape::All => serde::Deserialize::deserialize(deserializer),
            Shape::Keys(_) => deserializer.deserialize_any(Pruning(self)),
        }
    }
}

/// Builds a value like `serde_json`'s own, except inside objects, where keys the shape does not name
/// are skipped.
struct Pruning(Shape);

impl<'de> Visitor<'de> for Pruning {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // An array where an object was expected: kept whole, for its reader to name.
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            match self.0.of(&key) {
                Some(shape) => {
                    let value = map.next_value_seed(shape)?;
                    kept.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }
}

/// An object's key, borrowed from the text where it has no escapes (serde's own `Cow<str>` is
/// always owned): only the keys kept are copied.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHAPE: Shape = Shape::Keys(&[("a", Shape::All), ("nested", Shape::Keys(&[("keep", Shape::All)]))]);

    #[test]
    fn keeps_only_the_named_keys() {
        let text = br#"{"a": {"x": [1, 2.5, null]}, "b": {"big": [1, 2, 3]}, "nested": {"keep": "k", "drop": [{}]}}"#;
        assert_eq!(from_slice(text, SHAPE).unwrap(), json!({"a": {"x": [1, 2.5, null]}, "nested": {"keep": "k"}}));
        // Escaped keys are compared after unescaping, as serde_json's own map would hold them.
        assert_eq!(from_slice(br#"{"\u0061": true}"#, SHAPE).unwrap(), json!({"a": true}));
        // The last of a repeated key wins, as in serde_json.
        assert_eq!(from_slice(br#"{"a": 1, "a": 2}"#, SHAPE).unwrap(), json!({"a": 2}));
    }

    #[test]
    fn keeps_a_value_of_another_kind_whole() {
        for text in [r#""text""#, "12", "-3", "1.5", "true", "null", "[1, {\"b\": 2}]"] {
            let expected: Value = serde_json::from_str(text).unwrap();
            assert_eq!(from_slice(text.as_bytes(), SHAPE).unwrap(), expected, "{text}");
        }
        assert_eq!(from_slice(br#"{"nested": "text"}"#, SHAPE).unwrap(), json!({"nested": "text"}));
    }

    #[test]
    fn skipped_parts_are_still_checked() {
        for bad in [
            &br#"{"b": [1, }"#[..],
            br#"{"b": tru}"#,
            br#"{"a": 1} trailing"#,
            br#"{"b": "\x"}"#,
            b"",
            b"{\"b\": \"\xff\"}",
        ] {
            assert!(from_slice(bad, SHAPE).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
