//! The WebAssembly transport: the host's own `fetch` (browser or Node), with a timeout that aborts
//! the request and its body read, and redirects never followed. Called through web-sys directly: a
//! wrapper crate's builder and error types cost the sidebar's download more than these few lines.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortSignal, Headers, ReadableStream, ReadableStreamDefaultController, ReadableStreamDefaultReader, Request,
    RequestInit, RequestRedirect, Response,
};

use spotdraft_crm::transport::{CopyError, FileCopy, HttpRequest, HttpResponse, Transport, TransportError};

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

/// Reads an answer: status, headers and a body of at most `limit` bytes.
async fn read_answer(response: Response, limit: usize) -> Result<HttpResponse, TransportError> {
    let found = response.headers();
    if declared_length(&response).is_some_and(|length| length > limit) {
        return Err(TransportError::TooLarge { limit });
    }
    let status = response.status();
    let mut headers = Vec::new();
    // A loop, not iterator adapters: each adapter is generic code the sidebar's download would carry.
    if let Ok(Some(entries)) = js_sys::try_iter(&found) {
        for entry in entries {
            let Ok(entry) = entry else { continue };
            let pair: Array = entry.unchecked_into();
            if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                headers.push((name, value));
            }
        }
    }
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

/// The answer's `Content-Length`, when it is one. Only an early refusal: the body's read is bounded
/// either way.
fn declared_length(response: &Response) -> Option<usize> {
    let text = response.headers().get("content-length").ok().flatten()?;
    spotdraft_crm::decimal::parse_digits(text.trim_ascii().as_bytes()).and_then(|length| usize::try_from(length).ok())
}

/// Where the upload's body is: the multipart lines before the file, the file's chunks, the end.
enum Stage {
    Before,
    File,
    Done,
}

/// The stream's pull callback; kept alive by its owner until the upload is answered.
type Pull = Closure<dyn FnMut(JsValue) -> Promise>;

/// The upload's body as a stream: the framing before the file, the download's chunks as they come
/// (counted; past `limit` the stream errors, which aborts the upload), then the closing framing.
fn multipart_stream(
    reader: ReadableStreamDefaultReader,
    (before, after): (Vec<u8>, Vec<u8>),
    limit: usize,
    too_large: Rc<Cell<bool>>,
) -> Result<(ReadableStream, Pull), JsValue> {
    let stage = Rc::new(Cell::new(Stage::Before));
    let copied = Rc::new(Cell::new(0usize));
    let pull: Pull = Closure::new(move |controller: JsValue| {
        let controller: ReadableStreamDefaultController = controller.unchecked_into();
        let (stage, copied, too_large, reader) = (stage.clone(), copied.clone(), too_large.clone(), reader.clone());
        let (before, after) = (before.clone(), after.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            match stage.replace(Stage::Done) {
                Stage::Before => {
                    controller.enqueue_with_chunk(&Uint8Array::from(before.as_slice()))?;
                    stage.set(Stage::File);
                }
                Stage::File => {
                    let result = JsFuture::from(reader.read()).await?;
                    let done = js_sys::Reflect::get(&result, &JsValue::from_str("done"))?.as_bool().unwrap_or(true);
                    if done {
                        controller.enqueue_with_chunk(&Uint8Array::from(after.as_slice()))?;
                        controller.close()?;
                        return Ok(JsValue::UNDEFINED);
                    }
                    let chunk: Uint8Array =
                        js_sys::Reflect::get(&result, &JsValue::from_str("value"))?.unchecked_into();
                    let total = copied.get().saturating_add(chunk.length() as usize);
                    copied.set(total);
                    if total > limit {
                        too_large.set(true);
                        let _ = reader.cancel();
                        controller.error_with_e(&js_sys::Error::new("the file is larger than the limit"));
                        return Ok(JsValue::UNDEFINED);
                    }
                    controller.enqueue_with_chunk(&chunk)?;
                    stage.set(Stage::File);
                }
                Stage::Done => {}
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    let source = js_sys::Object::new();
    js_sys::Reflect::set(&source, &JsValue::from_str("pull"), pull.as_ref())?;
    Ok((ReadableStream::new_with_underlying_source(&source)?, pull))
}

impl Transport for FetchTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let pending = match self.early_answer(&request) {
            Some(early) => early,
            None => global_fetch(&build(&request)?),
        };
        let response: Response = settle(pending).await?.unchecked_into();
        read_answer(response, request.max_response_bytes).await
    }

    /// Streams: the download's body goes into the upload chunk by chunk (Node's `fetch` sends a
    /// stream body with `duplex: "half"`), so a large PDF never sits whole in memory here.
    async fn copy_file(&self, copy: FileCopy) -> Result<HttpResponse, CopyError> {
        let limit = copy.max_file_bytes;
        let pending = global_fetch(&build(&copy.download).map_err(CopyError::Download)?);
        let download: Response = settle(pending).await.map_err(CopyError::Download)?.unchecked_into();
        if download.status() != 200 {
            return Err(CopyError::DownloadStatus(download.status()));
        }
        if declared_length(&download).is_some_and(|length| length > limit) {
            return Err(CopyError::TooLarge { limit });
        }
        let broken = |error: JsValue| CopyError::Download(failed(error));
        let Some(body) = download.body() else {
            return Err(CopyError::Download(TransportError::Connection("the download has no body".into())));
        };
        let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        let too_large = Rc::new(Cell::new(false));
        let (stream, _pull) = multipart_stream(reader, copy.framing(), limit, too_large.clone()).map_err(broken)?;
        let headers = Headers::new().map_err(broken)?;
        for (name, value) in copy.upload_headers() {
            headers.append(&name, &value).map_err(broken)?;
        }
        let init = RequestInit::new();
        init.set_method(copy.upload.method.as_str());
        init.set_redirect(RequestRedirect::Manual);
        init.set_headers(&headers);
        init.set_signal(Some(&AbortSignal::timeout_with_u32(
            u32::try_from(copy.upload.timeout_ms).unwrap_or(u32::MAX),
        )));
        init.set_body(&stream);
        js_sys::Reflect::set(&init, &JsValue::from_str("duplex"), &JsValue::from_str("half")).map_err(broken)?;
        let upload = Request::new_with_str_and_init(&copy.upload.url, &init).map_err(broken)?;
        // `_pull` lives until the upload is answered: the stream calls it until then.
        let answered = settle(global_fetch(&upload)).await;
        if too_large.get() {
            return Err(CopyError::TooLarge { limit });
        }
        let response: Response = answered.map_err(CopyError::Upload)?.unchecked_into();
        read_answer(response, copy.upload.max_response_bytes).await.map_err(CopyError::Upload)
    }

    async fn sleep(&self, ms: u64) {
        gloo_timers::future::TimeoutFuture::new(u32::try_from(ms).unwrap_or(u32::MAX)).await;
    }

    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
}
