//! The WebAssembly transport: the host's own `fetch` (browser or Node), with a timeout that aborts
//! the request and its body read, and redirects never followed. Called through web-sys directly: a
//! wrapper crate's builder and error types cost the sidebar's download more than these few lines.

use std::cell::RefCell;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, Request, RequestInit, RequestRedirect, Response};

use spotdraft_crm::transport::{HttpRequest, HttpResponse, Transport, TransportError};

#[derive(Default)]
pub struct FetchTransport {
    early: RefCell<Option<EarlyRequest>>,
}

/// A request the page started before the wasm was ready (the sidebar's first view, from
/// `www/sidebar/early.js`): the answer to the first request that is exactly this one, a GET of
/// `url` with this `Authorization`, and to nothing else. Any other first request drops it.
pub struct EarlyRequest {
    pub url: String,
    pub authorization: String,
    pub response: Promise,
}

impl FetchTransport {
    pub fn with_early_request(early: Option<EarlyRequest>) -> FetchTransport {
        FetchTransport { early: RefCell::new(early) }
    }

    /// The early request's pending answer when `request` is the one it made.
    fn early_answer(&self, request: &HttpRequest) -> Option<Promise> {
        let early = self.early.borrow_mut().take()?;
        let same = request.method == spotdraft_crm::transport::Method::Get
            && request.body.is_none()
            && request.url == early.url
            && request
                .headers
                .iter()
                .any(|(name, value)| name.eq_ignore_ascii_case("authorization") && *value == early.authorization);
        same.then_some(early.response)
    }
}

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, whichever global this runs in (a page, a worker, Node).
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &Request) -> Promise;
}

/// Why a JS call failed, in its own words (`TypeError: Failed to fetch`); `TimeoutError` for an
/// abort by the request's timeout signal.
fn describe(error: &JsValue) -> (String, bool) {
    let name = js_sys::Reflect::get(error, &JsValue::from_str("name")).ok().and_then(|n| n.as_string());
    let message = js_sys::Reflect::get(error, &JsValue::from_str("message")).ok().and_then(|m| m.as_string());
    let timed_out = name.as_deref() == Some("TimeoutError");
    (format!("{}: {}", name.unwrap_or_else(|| "Error".into()), message.unwrap_or_default()), timed_out)
}

fn failed(error: JsValue) -> TransportError {
    match describe(&error) {
        (_, true) => TransportError::Timeout,
        (text, false) => TransportError::Connection(text),
    }
}

async fn settle(promise: Promise) -> Result<JsValue, TransportError> {
    JsFuture::from(promise).await.map_err(failed)
}

/// The browser's `Request` for `request`: manual redirects, and one timeout signal that bounds the
/// whole exchange, the body read included (it aborts as `TimeoutError`).
fn build(request: &HttpRequest) -> Result<Request, TransportError> {
    let headers = Headers::new().map_err(failed)?;
    for (name, value) in &request.headers {
        headers.append(name, value).map_err(failed)?;
    }
    let init = RequestInit::new();
    init.set_method(request.method.as_str());
    init.set_redirect(RequestRedirect::Manual);
    init.set_headers(&headers);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(u32::try_from(request.timeout_ms).unwrap_or(u32::MAX))));
    if let Some(body) = &request.body {
        init.set_body(&Uint8Array::from(body.as_slice()));
    }
    Request::new_with_str_and_init(&request.url, &init).map_err(failed)
}

impl Transport for FetchTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let pending = match self.early_answer(&request) {
            Some(early) => early,
            None => global_fetch(&build(&request)?),
        };
        let response: Response = settle(pending).await?.unchecked_into();
        let limit = request.max_response_bytes;
        let found = response.headers();
        let declared = found.get("content-length").ok().flatten().and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|length| length > limit) {
            return Err(TransportError::TooLarge { limit });
        }
        let status = response.status();
        let headers = js_sys::try_iter(&found)
            .ok()
            .flatten()
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let pair: Array = entry.ok()?.unchecked_into();
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect();
        // An opaque redirect (status 0) has no body to read.
        let body = if status == 0 {
            Vec::new()
        } else {
            Uint8Array::new(&settle(response.array_buffer().map_err(failed)?).await?).to_vec()
        };
        if body.len() > limit {
            return Err(TransportError::TooLarge { limit });
        }
        Ok(HttpResponse { status, headers, body })
    }

    async fn sleep(&self, ms: u64) {
        gloo_timers::future::TimeoutFuture::new(u32::try_from(ms).unwrap_or(u32::MAX)).await;
    }

    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
}
