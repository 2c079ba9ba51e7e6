//! JSON values to and from JavaScript without a JSON text parser or writer in the download: the
//! browser's own `JSON.parse`/`JSON.stringify` do the text, and a short walk converts between JS
//! values and `serde_json::Value`, the core's JSON type. The sidebar's build installs these as the
//! core's JSON text functions (`install_browser_json`); the full build carries serde_json's own text
//! parser for webhooks anyway.

use js_sys::{Array, Object, Reflect, JSON};
use serde_json::{Map, Number, Value};
use wasm_bindgen::{JsCast, JsValue};

/// Deeper input is refused: nothing the sidebar reads nests this far, and a circular object would
/// otherwise recurse until the stack runs out.
const MAX_DEPTH: usize = 64;

/// Integers up to 2^53 are exact in a JS number; they become JSON integers again, as they were.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Reads a plain JS value (what `JSON.parse` makes, or an object literal from the shell).
pub fn from_js(value: &JsValue) -> Result<Value, String> {
    read(value, 0)
}

fn read(value: &JsValue, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested more than {} levels deep (or circular)", MAX_DEPTH as u64));
    }
    if value.is_null() || value.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(flag) = value.as_bool() {
        return Ok(Value::Bool(flag));
    }
    if let Some(number) = value.as_f64() {
        return number_value(number).ok_or_else(|| "holds a number JSON cannot express (NaN or Infinity)".to_string());
    }
    if let Some(text) = value.as_string() {
        return Ok(Value::String(text));
    }
    if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        let mut items = Vec::with_capacity(array.length() as usize);
        for item in array.iter() {
            items.push(read(&item, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if value.is_object() && !value.is_function() {
        let object: &Object = value.unchecked_ref();
        let mut map = Map::new();
        for key in Object::keys(object).iter() {
            let Some(name) = key.as_string() else { continue };
            let item = Reflect::get(object, &key).map_err(|_| format!("{name}: could not be read"))?;
            map.insert(name, read(&item, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    Err("holds a value JSON cannot express (a function, symbol or bigint)".to_string())
}

fn number_value(number: f64) -> Option<Value> {
    if !number.is_finite() {
        return None;
    }
    // Whole numbers stay integers, so ids and counts read back as the integers they were.
    if number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER {
        return Some(if number < 0.0 { Value::from(number as i64) } else { Value::from(number as u64) });
    }
    Number::from_f64(number).map(Value::Number)
}

/// A plain JS value (objects, arrays, strings, numbers, booleans, null) for the shell.
pub fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(flag) => JsValue::from_bool(*flag),
        Value::Number(number) => JsValue::from_f64(number.as_f64().unwrap_or(f64::NAN)),
        Value::String(text) => JsValue::from_str(text),
        Value::Array(items) => items.iter().map(to_js).collect::<Array>().into(),
        Value::Object(map) => {
            let object = Object::new();
            for (key, item) in map {
                // Setting a property on a fresh plain object cannot fail.
                let _ = Reflect::set(&object, &JsValue::from_str(key), &to_js(item));
            }
            object.into()
        }
    }
}

/// JSON text to a value, through `JSON.parse`.
#[cfg_attr(not(feature = "sidebar"), allow(dead_code))]
pub fn parse_text(text: &str) -> Result<Value, String> {
    let parsed = JSON::parse(text).map_err(|error| {
        error.dyn_ref::<js_sys::Error>().map_or_else(|| "not JSON".to_string(), |e| String::from(e.message()))
    })?;
    from_js(&parsed)
}

/// A value as JSON text, through `JSON.stringify` (which cannot fail on what `to_js` makes).
#[cfg_attr(not(feature = "sidebar"), allow(dead_code))]
pub fn to_text(value: &Value) -> String {
    JSON::stringify(&to_js(value)).ok().and_then(|text| text.as_string()).unwrap_or_else(|| "null".to_string())
}

/// Makes the browser's `JSON.parse`, `JSON.stringify` and `parseFloat` the core's (feature
/// `host-json`). Called by every sidebar entry point before the core reads anything; the first
/// call installs, later ones change nothing.
#[cfg(feature = "sidebar")]
pub fn install_browser_json() {
    spotdraft_crm::json_input::install_host_json(spotdraft_crm::json_input::HostJson {
        parse: parse_text,
        stringify: to_text,
        parse_decimal: |text| Some(js_sys::Number::parse_float(text)),
    });
}
