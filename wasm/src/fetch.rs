//! The WebAssembly transport: `fetch` through gloo-net, with a timeout that aborts the request
//! and its body read, and redirects never followed.

use std::cell::Cell;
use std::rc::Rc;

use gloo_net::http::{Method as FetchMethod, RequestBuilder};
use gloo_timers::callback::Timeout;
use web_sys::{AbortController, RequestRedirect};

use spotdraft_crm::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

pub struct FetchTransport;

fn fetch_method(method: Method) -> FetchMethod {
    match method {
        Method::Get => FetchMethod::GET,
        Method::Post => FetchMethod::POST,
        Method::Patch => FetchMethod::PATCH,
        Method::Put => FetchMethod::PUT,
        Method::Delete => FetchMethod::DELETE,
    }
}

fn describe(error: gloo_net::Error) -> String {
    match error {
        gloo_net::Error::JsError(js) => format!("{}: {}", js.name, js.message),
        other => other.to_string(),
    }
}

impl Transport for FetchTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let controller =
            AbortController::new().map_err(|_| TransportError::Connection("AbortController is unavailable".into()))?;
        let timed_out = Rc::new(Cell::new(false));
        let timer = {
            let timed_out = Rc::clone(&timed_out);
            let controller = controller.clone();
            let ms = u32::try_from(request.timeout_ms).unwrap_or(u32::MAX);
            Timeout::new(ms, move || {
                timed_out.set(true);
                controller.abort();
            })
        };
        let signal = controller.signal();
        let mut builder = RequestBuilder::new(&request.url)
            .method(fetch_method(request.method))
            .redirect(RequestRedirect::Manual)
            .abort_signal(Some(&signal));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let built = match request.body {
            Some(body) => builder.body(js_sys::Uint8Array::from(body.as_slice())),
            None => builder.build(),
        }
        .map_err(|e| TransportError::Connection(describe(e)))?;
        let failed = |error: gloo_net::Error| {
            if timed_out.get() {
                TransportError::Timeout
            } else {
                TransportError::Connection(describe(error))
            }
        };
        let response = built.send().await.map_err(failed)?;
        let limit = request.max_response_bytes;
        let declared = response.headers().get("content-length").and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|length| length > limit) {
            controller.abort();
            return Err(TransportError::TooLarge { limit });
        }
        let status = response.status();
        let headers: Vec<(String, String)> = response.headers().entries().collect();
        // An opaque redirect (status 0) has no body to read.
        let body = if status == 0 { Vec::new() } else { response.binary().await.map_err(failed)? };
        drop(timer);
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
