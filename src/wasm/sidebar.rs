//! The sidebar's half of the boundary: the state machine (update → view + effects) and the relay
//! calls behind its effects. The shell renders views, runs timers and forwards clicks; nothing else.
//!
//! Everything crosses as JSON text (`JSON.parse`/`JSON.stringify` on the JS side): one serializer in
//! the sidebar's build instead of two keeps its download small.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use super::fetch::FetchTransport;
use super::{invalid, js_error, JsResult};
use crate::deal::Deal;
use crate::model::Environment;
use crate::sidebar::{Effect, Msg, RelayClient, RemoteError, Sidebar, ViewModel};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SidebarInit {
    environment: String,
    relay_url: String,
    token: String,
    #[serde(default)]
    tz_offset_minutes: i32,
}

#[derive(Serialize)]
struct Output<'a> {
    view: &'a ViewModel,
    effects: &'a [Effect],
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

fn parse(text: &str, what: &str) -> JsResult<Value> {
    serde_json::from_str(text).map_err(|e| invalid(what, format!("is not JSON ({e})")))
}

fn text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[wasm_bindgen(js_class = SdxSidebar)]
impl JsSidebar {
    /// `init`: JSON `{ environment, relayUrl, token, tzOffsetMinutes }`; `deal`: JSON of the host's
    /// canonical deal (`DealInput`).
    #[wasm_bindgen(constructor)]
    pub fn new(init: &str, deal: &str) -> JsResult<JsSidebar> {
        let init: SidebarInit =
            serde_json::from_value(parse(init, "init")?).map_err(|e| invalid("init", e.to_string()))?;
        let environment = Environment::parse(&init.environment)
            .ok_or_else(|| invalid("init.environment", format!("\"{}\" is not uat or production", init.environment)))?;
        let deal = Deal::from_json(&parse(deal, "deal")?).map_err(|e| js_error(&e))?;
        let relay =
            RelayClient::new(FetchTransport, &init.relay_url, environment, &init.token).map_err(|e| js_error(&e))?;
        Ok(JsSidebar {
            state: Rc::new(RefCell::new(Sidebar::new(environment, deal))),
            relay: Rc::new(relay),
            tz_offset_minutes: init.tz_offset_minutes,
        })
    }

    /// Applies a message (JSON `SidebarMsg`); returns JSON `SidebarOutput` `{ view, effects }`. A
    /// malformed message changes nothing and throws `invalid_input`.
    pub fn update(&self, msg: &str) -> JsResult<String> {
        let msg = Msg::from_json(&parse(msg, "msg")?).map_err(|reason| invalid("msg", reason))?;
        let now = now_ms();
        let mut state =
            self.state.try_borrow_mut().map_err(|_| invalid("msg", "update was called while another update ran"))?;
        let effects = state.update(msg, now);
        let view = state.view(now, self.tz_offset_minutes);
        Ok(text(&Output { view: &view, effects: &effects }))
    }

    /// The current view as JSON `SidebarView` (e.g. for a re-render as relative times age).
    pub fn view(&self) -> JsResult<String> {
        let state = self.state.try_borrow().map_err(|_| invalid("view", "busy"))?;
        Ok(text(&state.view(now_ms(), self.tz_offset_minutes)))
    }

    /// A fresh session token from the host.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: &str) {
        self.relay.set_token(token);
    }

    /// Runs a relay effect (JSON `SidebarEffect`); resolves to the JSON message reporting its outcome,
    /// or null for effects that are not relay calls. Never rejects.
    #[wasm_bindgen(unchecked_return_type = "Promise<string | null>")]
    pub fn perform(&self, effect: &str) -> js_sys::Promise {
        let effect = match parse(effect, "effect") {
            Ok(effect) => effect,
            Err(error) => return js_sys::Promise::reject(&error),
        };
        let relay = Rc::clone(&self.relay);
        let state = Rc::clone(&self.state);
        wasm_bindgen_futures::future_to_promise(async move {
            Ok(match run(&relay, &state, &effect).await {
                Some(message) => JsValue::from_str(&message.to_string()),
                None => JsValue::NULL,
            })
        })
    }
}

fn failed(kind: &str, error: RemoteError, extra: Value) -> Value {
    let mut message = json!({"type": kind, "error": error});
    if let (Value::Object(target), Value::Object(fields)) = (&mut message, extra) {
        target.extend(fields);
    }
    message
}

/// Performs one effect against the relay and words its outcome as the next message.
async fn run(relay: &RelayClient<FetchTransport>, state: &RefCell<Sidebar>, effect: &Value) -> Option<Value> {
    let deal = state.try_borrow().ok()?.deal().clone();
    let kind = effect.get("type").and_then(Value::as_str)?;
    let template_id = effect.get("templateId").and_then(Value::as_u64);
    let contract_id = effect.get("contractId").and_then(Value::as_str).and_then(crate::model::ContractId::parse);
    Some(match (kind, template_id, contract_id) {
        ("loadConfig", _, _) => match relay.config().await {
            Ok(config) => json!({"type": "configLoaded", "config": config}),
            Err(error) => failed("configFailed", error, json!({})),
        },
        ("loadContracts", _, _) => match relay.contracts(&deal.id).await {
            Ok(contracts) => json!({"type": "contractsLoaded", "contracts": contracts}),
            Err(error) => failed("contractsFailed", error, json!({})),
        },
        ("loadPreview", Some(template), _) => match relay.preview(&deal, template).await {
            Ok(preview) => json!({"type": "previewLoaded", "templateId": template, "preview": preview}),
            Err(error) => failed("previewFailed", error, json!({"templateId": template})),
        },
        ("create", Some(template), _) => match relay.create(&deal, template).await {
            Ok(outcome) => json!({"type": "created", "contract": outcome.contract, "created": outcome.created}),
            Err(error) => failed("createFailed", error, json!({})),
        },
        ("send", _, Some(id)) => match relay.send(&deal.id, id).await {
            Ok(report) => json!({"type": "sent", "contractId": id, "status": report.status}),
            Err(error) => failed("sendFailed", error, json!({"contractId": id})),
        },
        ("download", _, Some(id)) => match relay.download_link(&deal.id, id).await {
            Ok(link) => json!({"type": "downloadReady", "contractId": id, "url": link.url}),
            Err(error) => failed("downloadFailed", error, json!({"contractId": id})),
        },
        _ => return None,
    })
}
