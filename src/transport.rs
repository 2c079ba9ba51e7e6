//! The I/O seam. The core decides *what* to send and how to read answers; a `Transport` only
//! moves bytes: gloo-net (`fetch`) in WebAssembly, a blocking HTTP client natively, and scripted
//! fakes in tests.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Give up waiting for the answer after this long.
    pub timeout_ms: u64,
    /// Refuse answers with larger bodies.
    pub max_response_bytes: usize,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Header lookup ignoring case, as HTTP requires.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

pub fn find_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Why no HTTP answer was obtained. For a request that changes state, every one of these means
/// "outcome unknown": the server may have acted on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    Timeout,
    /// Connection refused, reset or closed early, DNS failure, CORS refusal, ...
    Connection(String),
    /// The answer's body exceeded `max_response_bytes`.
    TooLarge {
        limit: usize,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Timeout => f.write_str("timed out"),
            TransportError::Connection(message) => write!(f, "connection failed: {message}"),
            TransportError::TooLarge { limit } => write!(f, "response larger than {limit} bytes"),
        }
    }
}

/// Sends requests and keeps time. Redirects must not be followed: SpotDraft answers 302 to a wrong
/// URL, and following it would turn a POST into a GET.
#[allow(async_fn_in_trait)] // single-threaded WebAssembly futures are not `Send`; callers need no bound.
pub trait Transport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
    async fn sleep(&self, ms: u64);
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

impl<T: Transport + ?Sized> Transport for &T {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request).await
    }
    async fn sleep(&self, ms: u64) {
        (**self).sleep(ms).await
    }
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

impl<T: Transport + ?Sized> Transport for std::rc::Rc<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request).await
    }
    async fn sleep(&self, ms: u64) {
        (**self).sleep(ms).await
    }
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}
