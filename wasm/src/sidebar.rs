//! The sidebar's half of the boundary: converts and forwards to the core's `SidebarSession`, which
//! holds the whole loop (events in, relay calls run, `{view, effects}` out). The shell renders views,
//! runs timers and forwards clicks; nothing else.
//!
//! Values cross as plain JS objects, converted by `js_json` from and to the core's JSON type: no
//! serializer framework and no JSON text parser in the download.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::fetch::{EarlyRequest, FetchTransport};
use super::{invalid, js_error, js_json, JsResult};
use spotdraft_crm::sidebar::{HostSession, SidebarSession};

#[wasm_bindgen(js_name = SdxSidebar)]
pub struct JsSidebar {
    session: Rc<SidebarSession<FetchTransport>>,
    host: Rc<JsHost>,
}

/// The host's `refreshSession`, when it gave one: resolves to a fresh token.
struct JsHost {
    refresh_session: Option<js_sys::Function>,
}

impl HostSession for JsHost {
    async fn fresh_token(&self) -> Option<String> {
        let asked = self.refresh_session.as_ref()?.call0(&JsValue::NULL).ok()?;
        JsFuture::from(js_sys::Promise::resolve(&asked)).await.ok()?.as_string().filter(|t| !t.is_empty())
    }
}

/// `{ url, authorization, response }`, or nothing.
fn early(value: &JsValue) -> JsResult<Option<EarlyRequest>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let member = |key: &str| js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    let text =
        |key: &str| member(key).as_string().ok_or_else(|| invalid(&format!("earlyRequest.{key}"), "expected text"));
    let response = member("response")
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| invalid("earlyRequest.response", "expected a promise"))?;
    Ok(Some(EarlyRequest { url: text("url")?, authorization: text("authorization")?, response }))
}

fn read(value: &JsValue, what: &str) -> JsResult<serde_json::Value> {
    js_json::from_js(value).map_err(|reason| invalid(what, reason))
}

fn output(result: spotdraft_crm::Result<serde_json::Value>) -> JsResult<JsValue> {
    result.map(|value| js_json::to_js(&value)).map_err(|error| js_error(&error))
}

#[wasm_bindgen(js_class = SdxSidebar)]
impl JsSidebar {
    /// `init`: `{ environment, relayUrl, token, tzOffsetMinutes }`; `deal`: the host's `{ id, name? }`,
    /// only a first render (the sidebar reads the deal itself from the CRM through the relay);
    /// `refreshSession`: resolves to a fresh token when the relay says the session expired;
    /// `earlyRequest`: a request the page started before the wasm was ready, used as the answer to
    /// the first call only when it is exactly that call.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SidebarInit")] init: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SidebarHostDeal")] deal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(() => Promise<string>) | undefined")] refresh_session: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EarlyRequest | null")] early_request: JsValue,
    ) -> JsResult<JsSidebar> {
        #[cfg(feature = "sidebar")]
        js_json::install_browser_json();
        let transport = FetchTransport::with_early_request(early(&early_request)?);
        let session = SidebarSession::new(transport, &read(&init, "init")?, &read(&deal, "deal")?)
            .map_err(|error| js_error(&error))?;
        let refresh_session = match refresh_session.dyn_into::<js_sys::Function>() {
            Ok(function) => Some(function),
            Err(other) if other.is_undefined() || other.is_null() => None,
            Err(_) => return Err(invalid("refreshSession", "expected a function")),
        };
        Ok(JsSidebar { session: Rc::new(session), host: Rc::new(JsHost { refresh_session }) })
    }

    /// Applies an event (a click, a host event, a tick); returns `{ view, effects }`. A malformed
    /// event changes nothing and throws `invalid_input`.
    #[wasm_bindgen(unchecked_return_type = "SidebarOutput")]
    pub fn update(&self, #[wasm_bindgen(unchecked_param_type = "SidebarEvent")] event: JsValue) -> JsResult<JsValue> {
        output(self.session.update(&read(&event, "msg")?))
    }

    /// The current view (e.g. for a re-render as relative times age).
    #[wasm_bindgen(unchecked_return_type = "SidebarView")]
    pub fn view(&self) -> JsResult<JsValue> {
        output(self.session.view())
    }

    /// Runs the relay call an output handed over as `{ type: "call", id }` and applies its outcome;
    /// resolves to the next `{ view, effects }`. A failed call is part of the view, never a
    /// rejection; rejects only for an id that names no waiting call.
    #[wasm_bindgen(unchecked_return_type = "Promise<SidebarOutput>")]
    pub fn perform(&self, id: u32) -> js_sys::Promise {
        let session = Rc::clone(&self.session);
        let host = Rc::clone(&self.host);
        wasm_bindgen_futures::future_to_promise(async move { output(session.perform(id, &*host).await) })
    }
}
