//! Writing JSON by hand for the types that cross into the browser (the sidebar's view, its effects
//! and messages, the deal it sends). Derived serializers would do the same job, but each derived
//! type costs the sidebar's download its own copy of serde's generic machinery; one small trait
//! onto `serde_json::Value` costs a few hundred bytes for all of them.

use serde_json::{Map, Value};

/// A value as JSON text (with `host-json`, by the host's writer: the browser's `JSON.stringify`).
pub fn to_text(value: &Value) -> String {
    #[cfg(feature = "host-json")]
    return crate::json_input::host_json().map_or_else(|| "null".to_string(), |host| (host.stringify)(value));
    #[cfg(not(feature = "host-json"))]
    value.to_string()
}

pub trait ToJson {
    fn to_json(&self) -> Value;
}

/// An object from its entries, in the order given (keys are unique by construction at call sites).
pub fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    object_from(&mut entries.into_iter())
}

/// One body for every `object` size (a copy per `N` would cost the sidebar's download).
fn object_from(entries: &mut dyn Iterator<Item = (&str, Value)>) -> Value {
    // Inserted one by one: collecting into the map sorts first, which links a whole sort routine.
    let mut map = Map::new();
    for (key, value) in entries {
        map.insert(key.to_string(), value);
    }
    Value::Object(map)
}

impl ToJson for str {
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ToJson for u64 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl ToJson for usize {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl ToJson for u32 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl ToJson for i32 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl ToJson for f64 {
    /// Non-finite numbers have no JSON form; they become null, as `JSON.stringify` does.
    fn to_json(&self) -> Value {
        serde_json::Number::from_f64(*self).map_or(Value::Null, Value::Number)
    }
}

impl ToJson for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToJson::to_json)
    }
}

impl<T: ToJson> ToJson for [T] {
    fn to_json(&self) -> Value {
        let mut items = Vec::with_capacity(self.len());
        for item in self {
            items.push(item.to_json());
        }
        Value::Array(items)
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        self.as_slice().to_json()
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn to_json(&self) -> Value {
        (**self).to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_plain_values() {
        let value = object([
            ("text", "a\"b".to_json()),
            ("missing", None::<String>.to_json()),
            ("list", vec![1u64, 2].to_json()),
            ("amount", 12.5f64.to_json()),
            ("nan", f64::NAN.to_json()),
        ]);
        assert_eq!(value, json!({"text": "a\"b", "missing": null, "list": [1, 2], "amount": 12.5, "nan": null}));
    }
}
