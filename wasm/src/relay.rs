//! The relay's half of the boundary: the request handler, reconciliation, and token minting.

use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use js_sys::Reflect;

use super::fetch::FetchTransport;
use super::shared_store::{JsEntryLog, JsSharedStore};
use super::{in_browser_page, invalid, js_error, promise, rejected, to_js, typed_arg, JsResult};
use spotdraft_crm::auth::{self, Caller};
use spotdraft_crm::model::Environment;
use spotdraft_crm::relay::entry_log::{EntryLog, MemoryEntryLog};
use spotdraft_crm::relay::{Logs, MemoryState, Relay, RelayConfig, RelayRequest, SharedState};
use spotdraft_crm::spotdraft::ClientOptions;

/// The relay: answers sidebar calls and SpotDraft webhooks. Server-side only.
#[wasm_bindgen(js_name = SdxRelay)]
pub struct JsRelay {
    inner: Rc<Relay<FetchTransport>>,
}

#[wasm_bindgen(js_class = SdxRelay)]
impl JsRelay {
    /// Validates the relay configuration (throws `invalid_config` with every problem). With
    /// `options.shared`, locks, allowances and applied deliveries live in that store, shared by
    /// every instance given the same one; without it, in this process's memory. With
    /// `options.audit` and `options.setupHistory`, the audit log and the admins' saved setups are
    /// kept there (else in memory).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | RelayConfigDocument")] config: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RelayOptions | undefined")] options: JsValue,
    ) -> JsResult<JsRelay> {
        if in_browser_page() {
            return Err(invalid("relay", "the relay holds SpotDraft credentials and must never run in a browser page"));
        }
        let parsed = match config.as_string() {
            Some(text) => RelayConfig::parse(&text),
            None => RelayConfig::from_json(&super::json_arg(config, "config")?),
        };
        let shared =
            Reflect::get(&options, &JsValue::from_str("shared")).ok().filter(|s| !s.is_undefined() && !s.is_null());
        let state: Rc<dyn SharedState> = match shared {
            Some(store) => Rc::new(JsSharedStore::new(store).map_err(|e| js_error(&e))?),
            None => Rc::new(MemoryState::default()),
        };
        let entry_log = |name: &str| -> JsResult<Rc<dyn EntryLog>> {
            let option =
                Reflect::get(&options, &JsValue::from_str(name)).ok().filter(|s| !s.is_undefined() && !s.is_null());
            Ok(match option {
                Some(log) => Rc::new(JsEntryLog::new(log, name).map_err(|e| js_error(&e))?),
                None => Rc::new(MemoryEntryLog::default()),
            })
        };
        let logs = Logs { audit: entry_log("audit")?, setup_history: entry_log("setupHistory")? };
        let relay = parsed
            .and_then(|config| {
                Relay::with_parts(config, FetchTransport::default(), ClientOptions::default(), state, logs)
            })
            .map_err(|e| js_error(&e))?;
        Ok(JsRelay { inner: Rc::new(relay) })
    }

    /// Answers one HTTP request. Never rejects: failures are JSON error responses. When `signal`
    /// aborts (the client went away), the work is dropped wherever it waits (for a lock, for its
    /// share of SpotDraft's allowance), releasing what it holds, and answers 499 for the log.
    #[wasm_bindgen(unchecked_return_type = "Promise<RelayResponse>")]
    pub fn handle(
        &self,
        method: String,
        url: String,
        #[wasm_bindgen(unchecked_param_type = "Array<[string, string]>")] headers: JsValue,
        body: Vec<u8>,
        signal: Option<web_sys::AbortSignal>,
    ) -> js_sys::Promise {
        let headers: Vec<(String, String)> = match typed_arg(headers, "headers") {
            Ok(headers) => headers,
            Err(error) => return rejected(error),
        };
        let relay = Rc::clone(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move {
            let request = RelayRequest { method, url, headers, body };
            let response = match signal {
                Some(signal) => relay.handle_until(request, aborted(signal)).await,
                None => relay.handle(request).await,
            };
            let object = to_js(&response)?;
            let bytes = js_sys::Uint8Array::from(response.body.as_slice());
            js_sys::Reflect::set(&object, &JsValue::from_str("body"), &bytes)?;
            Ok(object)
        })
    }

    /// Repairs CRM drift for contracts changed since `since`; returns the next checkpoint.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReconcileReport>")]
    pub fn reconcile(&self, environment: String, since: Option<String>) -> js_sys::Promise {
        let Some(environment) = Environment::parse(&environment) else {
            return rejected(invalid("environment", format!("\"{environment}\" is not uat or production")));
        };
        let relay = Rc::clone(&self.inner);
        promise(async move { relay.reconcile(environment, since).await })
    }

    /// Creates the CRM fields the write-back fills where missing (nothing when `dryRun`).
    #[wasm_bindgen(js_name = provisionFields, unchecked_return_type = "Promise<ProvisionReport>")]
    pub fn provision_fields(&self, environment: String, dry_run: bool) -> js_sys::Promise {
        let Some(environment) = Environment::parse(&environment) else {
            return rejected(invalid("environment", format!("\"{environment}\" is not uat or production")));
        };
        let relay = Rc::clone(&self.inner);
        promise(async move { relay.provision_fields(environment, dry_run).await })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CallerInput {
    host: String,
    tenant: String,
    record: String,
    user: Option<String>,
}

/// Mints a short-lived relay token for one record (what a host's server side does: the demo host,
/// a Salesforce Apex controller, a Zoho function). Server-side only: the secret must stay there.
#[wasm_bindgen(js_name = mintToken)]
pub fn mint_token(
    secret: &str,
    #[wasm_bindgen(unchecked_param_type = "{ host: string; tenant: string; record: string; user?: string }")]
    caller: JsValue,
    #[wasm_bindgen(js_name = ttlSeconds)] ttl_seconds: u32,
) -> JsResult<String> {
    let input: CallerInput = typed_arg(caller, "caller")?;
    let caller =
        Caller { host: input.host, tenant: input.tenant, record: input.record, user: input.user, expires_at: None };
    let now = (js_sys::Date::now() / 1000.0) as u64;
    auth::mint_token(secret.as_bytes(), &caller, now, u64::from(ttl_seconds)).map_err(|e| js_error(&e))
}

/// Resolves when `signal` aborts (at once if it already has).
async fn aborted(signal: web_sys::AbortSignal) {
    let fired = js_sys::Promise::new(&mut |resolve, _reject| {
        if signal.aborted() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        } else {
            let options = web_sys::AddEventListenerOptions::new();
            options.set_once(true);
            let _ = signal.add_event_listener_with_callback_and_add_event_listener_options("abort", &resolve, &options);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(fired).await;
}
