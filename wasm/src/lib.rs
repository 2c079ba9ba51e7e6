//! The JavaScript boundary of spotdraft-crm: the only crate that knows about JS. Every export
//! validates its arguments, calls the core (`spotdraft_crm`), and returns plain objects (one
//! configured serializer) or throws a JS `Error` carrying a stable `code` (and `problems` where input
//! was at fault). Nothing here can panic on input, so one bad message can never kill the sidebar.
//! Natively this crate is empty: it exists for `wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

#[cfg(feature = "full")]
mod api;
#[cfg(feature = "full")]
pub use api::*;
mod fetch;
mod js_json;
#[cfg(feature = "full")]
mod relay;
#[cfg(feature = "full")]
mod shared_store;
mod sidebar;
pub use sidebar::JsSidebar;
mod typescript;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use spotdraft_crm::deal::Deal;
use spotdraft_crm::error::Error;

pub(crate) type JsResult<T> = Result<T, JsValue>;

// The sidebar's build allocates little (a view, a few answers) and is downloaded on every first
// open, so it trades dlmalloc's speed on large heaps for a free-list allocator a fraction its size.
// SAFETY: the sidebar runs on the page's one thread; this build uses no threads or shared memory.
#[cfg(feature = "sidebar")]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[cfg_attr(not(feature = "full"), allow(dead_code))]
fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true).serialize_maps_as_objects(true)
}

#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub(crate) fn to_js<T: Serialize>(value: &T) -> JsResult<JsValue> {
    value
        .serialize(&serializer())
        .map_err(|e| js_error(&Error::invalid_input("", format!("could not convert the result: {e}"))))
}

/// A real `Error` with `code`, `problems`, and for SpotDraft answers `status` and `spotdraftCode`.
/// The error's message. The sidebar's build throws only for what its shell handed it (invalid input:
/// the problems say it all), so it leaves out the wording of every other error, which would cost
/// its download the text and code of all of them.
fn message(error: &Error) -> String {
    // The first problem says it; `problems` carries them all.
    #[cfg(not(feature = "full"))]
    if let Some(first) = error.problems().first() {
        return format!("invalid input: {}: {}", first.path, first.message);
    }
    #[cfg(not(feature = "full"))]
    return error.code().to_string();
    #[cfg(feature = "full")]
    error.to_string()
}

pub(crate) fn js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&message(error));
    js.set_name("SdxError");
    let set = |key: &str, value: JsValue| {
        // Reflect.set on a fresh Error object cannot fail; ignoring the result keeps this panic-free.
        let _ = js_sys::Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("code", JsValue::from_str(error.code()));
    // Built by hand (not through a serializer) so the sidebar's build needs no JS serializer at all.
    let problems = js_sys::Array::new();
    for problem in error.problems() {
        let entry = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&entry, &JsValue::from_str("path"), &JsValue::from_str(&problem.path));
        let _ = js_sys::Reflect::set(&entry, &JsValue::from_str("message"), &JsValue::from_str(&problem.message));
        problems.push(&entry);
    }
    set("problems", problems.into());
    if let Error::SpotDraft(api) = error {
        set("status", JsValue::from(api.status));
        set("spotdraftCode", api.code.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL));
    }
    set("transient", JsValue::from_bool(error.is_transient()));
    js.into()
}

pub(crate) fn invalid(path: &str, message: impl Into<String>) -> JsValue {
    js_error(&Error::invalid_input(path, message))
}

/// Reads a JS value as JSON for the core's own validating parsers.
#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub(crate) fn json_arg(value: JsValue, what: &str) -> JsResult<serde_json::Value> {
    serde_wasm_bindgen::from_value(value).map_err(|e| invalid(what, format!("could not be read: {e}")))
}

/// Reads a JS value into a typed struct. Goes through JSON so that `deny_unknown_fields` sees every
/// key (reading a struct straight from a JS object only looks at the keys it knows).
#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub(crate) fn typed_arg<T: for<'de> Deserialize<'de>>(value: JsValue, what: &str) -> JsResult<T> {
    serde_json::from_value(json_arg(value, what)?).map_err(|e| invalid(what, format!("is not valid: {e}")))
}

#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub(crate) fn deal_arg(value: JsValue) -> JsResult<Deal> {
    Deal::from_json(&json_arg(value, "deal")?).map_err(|e| js_error(&e))
}

#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub(crate) fn promise<T: Serialize>(
    work: impl std::future::Future<Output = spotdraft_crm::Result<T>> + 'static,
) -> js_sys::Promise {
    future_to_promise(async move {
        match work.await {
            Ok(value) => to_js(&value),
            Err(error) => Err(js_error(&error)),
        }
    })
}

#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub(crate) fn rejected(error: JsValue) -> js_sys::Promise {
    js_sys::Promise::reject(&error)
}

#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub(crate) fn in_browser_page() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("document")).unwrap_or(false)
}

#[wasm_bindgen]
pub fn version() -> String {
    spotdraft_crm::mapping::PLUGIN_VERSION.to_string()
}
