//! The sidebar's half of the boundary: the state machine (update → view + effects) and the relay
//! calls behind its effects. The shell renders views, runs timers and forwards clicks; nothing else.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use super::fetch::FetchTransport;
use super::{deal_arg, invalid, js_error, to_js, typed_arg, JsResult};
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

#[wasm_bindgen(js_class = SdxSidebar)]
impl JsSidebar {
    /// `init`: `{ environment, relayUrl, token, tzOffsetMinutes }`; `deal`: the host's canonical deal.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SidebarInit")] init: JsValue,
        #[wasm_bindgen(unchecked_param_type = "DealInput")] deal: JsValue,
    ) -> JsResult<JsSidebar> {
        let init: SidebarInit = typed_arg(init, "init")?;
        let environment = Environment::parse(&init.environment)
            .ok_or_else(|| invalid("init.environment", format!("\"{}\" is not uat or production", init.environment)))?;
        let deal = deal_arg(deal)?;
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
        let msg: Msg = typed_arg(msg, "msg")?;
        let now = now_ms();
        let mut state =
            self.state.try_borrow_mut().map_err(|_| invalid("msg", "update was called while another update ran"))?;
        let effects = state.update(msg, now);
        let view = state.view(now, self.tz_offset_minutes);
        to_js(&Output { view: &view, effects: &effects })
    }

    /// The current view (e.g. for a re-render on a clock tick).
    #[wasm_bindgen(unchecked_return_type = "SidebarView")]
    pub fn view(&self) -> JsResult<JsValue> {
        let state = self.state.try_borrow().map_err(|_| invalid("view", "busy"))?;
        to_js(&state.view(now_ms(), self.tz_offset_minutes))
    }

    /// A fresh session token from the host.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: &str) {
        self.relay.set_token(token);
    }

    /// Runs a relay effect; resolves to the message that reports its outcome (never rejects).
    #[wasm_bindgen(unchecked_return_type = "Promise<SidebarMsg | null>")]
    pub fn perform(&self, #[wasm_bindgen(unchecked_param_type = "SidebarEffect")] effect: JsValue) -> js_sys::Promise {
        let effect: Value = match super::json_arg(effect, "effect") {
            Ok(effect) => effect,
            Err(error) => return js_sys::Promise::reject(&error),
        };
        let relay = Rc::clone(&self.relay);
        let state = Rc::clone(&self.state);
        wasm_bindgen_futures::future_to_promise(async move {
            let message = run(&relay, &state, &effect).await;
            match message {
                Some(message) => to_js(&message),
                None => Ok(JsValue::NULL),
            }
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
