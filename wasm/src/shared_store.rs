//! A shared store the JS host provides (the Node relay's Redis store), seen by the core as its
//! `SharedState`. Each method calls the store's method of the same meaning and converts its answer;
//! a store that throws, rejects or answers in the wrong shape is an error naming the method.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use spotdraft_crm::error::{Error, Result};
use spotdraft_crm::relay::entry_log::EntryLog;
use spotdraft_crm::relay::shared::{LocalFuture, SharedState};

/// The methods a store must have (checked once, when the relay is made).
const METHODS: [&str; 8] = ["tryAcquire", "release", "renew", "reserve", "remember", "recalls", "get", "put"];

pub struct JsSharedStore {
    store: JsValue,
}

fn failed(method: &str, detail: impl std::fmt::Display) -> Error {
    Error::Network { message: format!("the relay's shared store ({method}): {detail}"), attempts: 1 }
}

fn described(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "it failed".to_string())
}

/// A whole number of milliseconds (or a token) from a JS number: finite, not negative.
fn whole(method: &str, value: &JsValue) -> Result<u64> {
    match value.as_f64() {
        Some(n) if (0.0..=9_007_199_254_740_991.0).contains(&n) => Ok(n as u64),
        _ => Err(failed(method, "the answer is not a whole number")),
    }
}

impl JsSharedStore {
    /// Wraps `store` if it has every method the relay calls.
    pub fn new(store: JsValue) -> Result<JsSharedStore> {
        let missing: Vec<&str> = METHODS
            .iter()
            .copied()
            .filter(|name| !Reflect::get(&store, &JsValue::from_str(name)).is_ok_and(|f| f.is_function()))
            .collect();
        if missing.is_empty() {
            Ok(JsSharedStore { store })
        } else {
            Err(Error::invalid_input("shared", format!("the shared store has no {} method", missing.join(", "))))
        }
    }

    fn call(&self, method: &str, args: &[JsValue]) -> Result<JsValue> {
        let function: Function = Reflect::get(&self.store, &JsValue::from_str(method))
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| failed(method, "not a function"))?;
        let list = js_sys::Array::new();
        for arg in args {
            list.push(arg);
        }
        function.apply(&self.store, &list).map_err(|e| failed(method, described(&e)))
    }

    async fn answer(&self, method: &str, args: &[JsValue]) -> Result<JsValue> {
        let value = self.call(method, args)?;
        match value.dyn_into::<Promise>() {
            Ok(promise) => JsFuture::from(promise).await.map_err(|e| failed(method, described(&e))),
            Err(plain) => Ok(plain),
        }
    }
}

impl SharedState for JsSharedStore {
    fn try_acquire<'a>(&'a self, key: &'a str, _now_ms: u64) -> LocalFuture<'a, Result<Option<u64>>> {
        Box::pin(async move {
            let token = self.answer("tryAcquire", &[JsValue::from_str(key)]).await?;
            if token.is_null() || token.is_undefined() {
                return Ok(None);
            }
            whole("tryAcquire", &token).map(Some)
        })
    }

    fn release(&self, key: &str, token: u64) {
        // Fire and forget: the store logs its own failures; the lease runs out regardless.
        let _ = self.call("release", &[JsValue::from_str(key), JsValue::from_f64(token as f64)]);
    }

    fn renew<'a>(&'a self, key: &'a str, token: u64, _now_ms: u64) -> LocalFuture<'a, Result<bool>> {
        Box::pin(async move {
            let held = self.answer("renew", &[JsValue::from_str(key), JsValue::from_f64(token as f64)]).await?;
            held.as_bool().ok_or_else(|| failed("renew", "the answer is not true or false"))
        })
    }

    fn reserve<'a>(&'a self, key: &'a str, limit: u32, window_ms: u64, _now_ms: u64) -> LocalFuture<'a, Result<u64>> {
        Box::pin(async move {
            let args = [JsValue::from_str(key), JsValue::from(limit), JsValue::from_f64(window_ms as f64)];
            whole("reserve", &self.answer("reserve", &args).await?)
        })
    }

    fn remember<'a>(&'a self, key: &'a str, ttl_ms: u64, _now_ms: u64) -> LocalFuture<'a, Result<()>> {
        Box::pin(async move {
            self.answer("remember", &[JsValue::from_str(key), JsValue::from_f64(ttl_ms as f64)]).await.map(|_| ())
        })
    }

    fn recalls<'a>(&'a self, key: &'a str, _now_ms: u64) -> LocalFuture<'a, Result<bool>> {
        Box::pin(async move {
            let known = self.answer("recalls", &[JsValue::from_str(key)]).await?;
            known.as_bool().ok_or_else(|| failed("recalls", "the answer is not true or false"))
        })
    }

    fn get<'a>(&'a self, key: &'a str, _now_ms: u64) -> LocalFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let value = self.answer("get", &[JsValue::from_str(key)]).await?;
            if value.is_null() || value.is_undefined() {
                return Ok(None);
            }
            value.as_string().map(Some).ok_or_else(|| failed("get", "the answer is not text"))
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: u64, _now_ms: u64) -> LocalFuture<'a, Result<()>> {
        Box::pin(async move {
            let args = [JsValue::from_str(key), JsValue::from_str(&value), JsValue::from_f64(ttl_ms as f64)];
            self.answer("put", &args).await.map(|_| ())
        })
    }
}

/// A list of entries the JS host keeps (`options.audit`, `options.setupHistory`:
/// `append(environment, entryText)` and `recent(environment, limit)` answering entry texts newest
/// first), seen by the core as an `EntryLog`.
pub struct JsEntryLog {
    store: JsSharedStore,
}

impl JsEntryLog {
    /// `option` names the relay option the log was given as, for the error.
    pub fn new(log: JsValue, option: &str) -> Result<JsEntryLog> {
        for name in ["append", "recent"] {
            if !Reflect::get(&log, &JsValue::from_str(name)).is_ok_and(|f| f.is_function()) {
                return Err(Error::invalid_input(option, format!("has no {name} method")));
            }
        }
        Ok(JsEntryLog { store: JsSharedStore { store: log } })
    }
}

impl EntryLog for JsEntryLog {
    fn append<'a>(&'a self, environment: &'a str, entry: String) -> LocalFuture<'a, Result<()>> {
        Box::pin(async move {
            let args = [JsValue::from_str(environment), JsValue::from_str(&entry)];
            self.store.answer("append", &args).await.map(|_| ())
        })
    }

    fn recent<'a>(&'a self, environment: &'a str, limit: usize) -> LocalFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let args = [JsValue::from_str(environment), JsValue::from_f64(limit as f64)];
            let answer = self.store.answer("recent", &args).await?;
            let list: js_sys::Array = answer.dyn_into().map_err(|_| failed("recent", "the answer is not a list"))?;
            list.iter().map(|item| item.as_string().ok_or_else(|| failed("recent", "an entry is not text"))).collect()
        })
    }
}
