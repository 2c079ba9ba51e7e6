//! The sidebar's half of the boundary: the state machine (update → view + effects) and the relay
//! calls behind its effects. The shell renders views, runs timers and forwards clicks; nothing else.
//!
//! Values cross as plain JS objects, converted by `js_json` from and to the core's JSON type and
//! read by hand (`sidebar::wire`): no serializer framework and no JSON text parser in the download.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::fetch::FetchTransport;
use super::{invalid, js_error, js_json, JsResult};
use spotdraft_crm::json_output::{object, ToJson};
use spotdraft_crm::model::Environment;
use spotdraft_crm::sidebar::{wire, Effect, Msg, RelayClient, Sidebar};

/// `init`: `{ environment, relayUrl, token, tzOffsetMinutes? }`, read by hand like every sidebar
/// input (see `sidebar::wire`).
struct SidebarInit {
    environment: Environment,
    relay_url: String,
    token: String,
    tz_offset_minutes: i32,
}

impl SidebarInit {
    /// A problem comes back as (path, message).
    fn from_json(value: &Value) -> Result<SidebarInit, (String, String)> {
        const KEYS: [&str; 4] = ["environment", "relayUrl", "token", "tzOffsetMinutes"];
        let problem = |key: &str, message: String| (format!("init.{key}"), message);
        let map = value.as_object().ok_or_else(|| ("init".to_string(), "expected an object".to_string()))?;
        if let Some(unknown) = map.keys().find(|key| !KEYS.contains(&key.as_str())) {
            return Err(problem(unknown, format!("unknown key; expected one of: {}", KEYS.join(", "))));
        }
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| problem(key, "expected a string".into()))
        };
        let environment = text("environment")?;
        let offset = match map.get("tzOffsetMinutes") {
            None | Some(Value::Null) => Some(0),
            Some(value) => {
                value.as_i64().and_then(|minutes| i32::try_from(minutes).ok()).filter(|m| m.abs() <= 24 * 60)
            }
        };
        Ok(SidebarInit {
            environment: Environment::parse(&environment)
                .ok_or_else(|| problem("environment", format!("\"{environment}\" is not uat or production")))?,
            relay_url: text("relayUrl")?,
            token: text("token")?,
            tz_offset_minutes: offset
                .ok_or_else(|| problem("tzOffsetMinutes", "expected whole minutes within a day".into()))?,
        })
    }
}

#[wasm_bindgen(js_name = SdxSidebar)]
pub struct JsSidebar {
    state: Rc<RefCell<Sidebar>>,
    relay: Rc<RelayClient<FetchTransport>>,
    tz_offset_minutes: i32,
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn read(value: &JsValue, what: &str) -> JsResult<Value> {
    js_json::from_js(value).map_err(|reason| invalid(what, reason))
}

#[wasm_bindgen(js_class = SdxSidebar)]
impl JsSidebar {
    /// `init`: `{ environment, relayUrl, token, tzOffsetMinutes }`; `deal`: the host's `{ id, name? }`,
    /// only a first render: the sidebar reads the deal itself from the CRM through the relay.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SidebarInit")] init: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SidebarHostDeal")] deal: JsValue,
    ) -> JsResult<JsSidebar> {
        #[cfg(feature = "sidebar")]
        js_json::install_browser_json();
        let init = SidebarInit::from_json(&read(&init, "init")?).map_err(|(path, message)| invalid(&path, message))?;
        let environment = init.environment;
        let deal = wire::host_deal(&read(&deal, "deal")?, "deal").map_err(|reason| invalid("deal", reason))?;
        let relay =
            RelayClient::new(FetchTransport, &init.relay_url, environment, &init.token).map_err(|e| js_error(&e))?;
        Ok(JsSidebar {
            state: Rc::new(RefCell::new(Sidebar::new(environment, deal))),
            relay: Rc::new(relay),
            tz_offset_minutes: init.tz_offset_minutes,
        })
    }

    /// Applies a message; returns `{ view, effects }`. A malformed message changes nothing and
    /// throws `invalid_input`.
    #[wasm_bindgen(unchecked_return_type = "SidebarOutput")]
    pub fn update(&self, #[wasm_bindgen(unchecked_param_type = "SidebarMsg")] msg: JsValue) -> JsResult<JsValue> {
        let msg = Msg::from_json(&read(&msg, "msg")?).map_err(|reason| invalid("msg", reason))?;
        let now = now_ms();
        let mut state =
            self.state.try_borrow_mut().map_err(|_| invalid("msg", "update was called while another update ran"))?;
        let effects = state.update(msg, now);
        let view = state.view(now, self.tz_offset_minutes);
        Ok(js_json::to_js(&object([("view", view.to_json()), ("effects", effects.to_json())])))
    }

    /// The current view (e.g. for a re-render as relative times age).
    #[wasm_bindgen(unchecked_return_type = "SidebarView")]
    pub fn view(&self) -> JsResult<JsValue> {
        let state = self.state.try_borrow().map_err(|_| invalid("view", "busy"))?;
        Ok(js_json::to_js(&state.view(now_ms(), self.tz_offset_minutes).to_json()))
    }

    /// A fresh session token from the host.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: &str) {
        self.relay.set_token(token);
    }

    /// Runs a relay effect; resolves to the message reporting its outcome, or null for effects that
    /// are not relay calls. Rejects only when the effect itself is malformed.
    #[wasm_bindgen(unchecked_return_type = "Promise<SidebarMsg | null>")]
    pub fn perform(&self, #[wasm_bindgen(unchecked_param_type = "SidebarEffect")] effect: JsValue) -> js_sys::Promise {
        let effect = match read(&effect, "effect").and_then(|v| Effect::from_json(&v).map_err(|r| invalid("effect", r)))
        {
            Ok(effect) => effect,
            Err(error) => return js_sys::Promise::reject(&error),
        };
        let call = match self.state.try_borrow() {
            Ok(state) => effect.relay_call(state.deal_id()),
            Err(_) => None,
        };
        let relay = Rc::clone(&self.relay);
        wasm_bindgen_futures::future_to_promise(async move {
            let Some(call) = call else { return Ok(JsValue::NULL) };
            let answer = relay.call(call).await;
            Ok(effect.outcome(answer).map_or(JsValue::NULL, |message| js_json::to_js(&message)))
        })
    }
}
