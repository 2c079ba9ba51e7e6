//! Helpers shared by the browser test binaries (web.rs, web_sidebar.rs): the loopback
//! server's address and reading JS values by a dotted path.
#![allow(dead_code)] // each test binary uses a different part of this module

use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

/// Set at compile time by scripts/test.sh, which starts tests/support/loopback-server.mjs there.
pub const SERVER: &str = match option_env!("SDX_LOOPBACK_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8797",
};

pub fn js(json: &str) -> JsValue {
    JSON::parse(json).expect("test JSON")
}

/// `get(value, "contracts.0.name")`: object keys and array indexes, undefined when absent.
pub fn get(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |value, key| match key.parse::<u32>() {
        Ok(index) if Array::is_array(&value) => value.unchecked_into::<Array>().get(index),
        _ => Reflect::get(&value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED),
    })
}

/// The string at `path`, or "" when there is none.
pub fn text(value: &JsValue, path: &str) -> String {
    get(value, path).as_string().unwrap_or_default()
}
