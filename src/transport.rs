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

/// A multipart upload whose file part is another request's answer body (a signed PDF copied into
/// a CRM's files API): the bytes go from one connection to the other and never sit in the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCopy {
    /// Fetches the file; only a 200 answer is copied.
    pub download: HttpRequest,
    /// The upload's method, URL, headers and limits; its body is the multipart body framed here
    /// (`Content-Type` is set from `boundary`).
    pub upload: HttpRequest,
    /// The form fields around the file, in order; exactly one is `PartBody::File`.
    pub parts: Vec<Part>,
    pub boundary: String,
    /// The file is refused past this many bytes, whatever its declared length says.
    pub max_file_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub content_type: Option<String>,
    pub body: PartBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartBody {
    Text(String),
    /// The download's body, sent under this file name.
    File {
        file_name: String,
    },
}

impl FileCopy {
    /// The multipart body's bytes before and after the file's own bytes.
    pub fn framing(&self) -> (Vec<u8>, Vec<u8>) {
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut file_seen = false;
        for part in &self.parts {
            let out = if file_seen { &mut after } else { &mut before };
            out.extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
            let disposition = match &part.body {
                PartBody::Text(_) => format!("form-data; name=\"{}\"", quoted(&part.name)),
                PartBody::File { file_name } => {
                    format!("form-data; name=\"{}\"; filename=\"{}\"", quoted(&part.name), quoted(file_name))
                }
            };
            out.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
            if let Some(content_type) = &part.content_type {
                out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            match &part.body {
                PartBody::Text(text) => {
                    out.extend_from_slice(text.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                PartBody::File { .. } => file_seen = true,
            }
        }
        // The file part's closing line break, then the final boundary.
        after.splice(0..0, b"\r\n".iter().copied());
        after.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (before, after)
    }

    /// The upload request's headers with the multipart content type.
    pub fn upload_headers(&self) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = self
            .upload
            .headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-type"))
            .cloned()
            .collect();
        headers.push(("Content-Type".into(), format!("multipart/form-data; boundary={}", self.boundary)));
        headers
    }
}

/// A form field name or file name inside a quoted header parameter: quotes and line breaks would
/// end it early, so they are replaced.
fn quoted(text: &str) -> String {
    text.chars().map(|c| if matches!(c, '"' | '\r' | '\n' | '\\') { '_' } else { c }).collect()
}

/// Why a file copy failed, and on which side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyError {
    /// No answer (or a broken one) from the download.
    Download(TransportError),
    /// The download answered, but not with the file.
    DownloadStatus(u16),
    /// The file is larger than `max_file_bytes`; nothing was kept by the receiver.
    TooLarge { limit: usize },
    /// No answer from the upload (outcome unknown: the receiver may have kept the file).
    Upload(TransportError),
}

/// Sends requests and keeps time. Redirects must not be followed: SpotDraft answers 302 to a wrong
/// URL, and following it would turn a POST into a GET.
#[allow(async_fn_in_trait)] // single-threaded WebAssembly futures are not `Send`; callers need no bound.
pub trait Transport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
    async fn sleep(&self, ms: u64);
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Copies a download into a multipart upload and answers the upload's response. This default
    /// holds the file in memory between the two requests; a transport that can stream (the relay's
    /// `fetch`) passes it through chunk by chunk instead.
    async fn copy_file(&self, copy: FileCopy) -> Result<HttpResponse, CopyError> {
        let limit = copy.max_file_bytes;
        let mut download = copy.download.clone();
        download.max_response_bytes = limit;
        let file = match self.send(download).await {
            Ok(answer) if answer.status == 200 => answer.body,
            Ok(answer) => return Err(CopyError::DownloadStatus(answer.status)),
            Err(TransportError::TooLarge { .. }) => return Err(CopyError::TooLarge { limit }),
            Err(error) => return Err(CopyError::Download(error)),
        };
        if file.len() > limit {
            return Err(CopyError::TooLarge { limit });
        }
        let (mut body, after) = copy.framing();
        body.extend_from_slice(&file);
        body.extend_from_slice(&after);
        let upload = HttpRequest { headers: copy.upload_headers(), body: Some(body), ..copy.upload };
        self.send(upload).await.map_err(CopyError::Upload)
    }
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
    async fn copy_file(&self, copy: FileCopy) -> Result<HttpResponse, CopyError> {
        (**self).copy_file(copy).await
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
    async fn copy_file(&self, copy: FileCopy) -> Result<HttpResponse, CopyError> {
        (**self).copy_file(copy).await
    }
}
