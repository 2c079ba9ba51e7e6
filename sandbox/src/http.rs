//! A deliberately small HTTP/1.1 server on `std::net`, one thread per connection.
//!
//! Hand-rolled rather than a framework so the sandbox controls the wire: it can answer nothing
//! and reset the connection after a handler ran (the "did my create succeed?" fault), and it can
//! refuse oversized bodies before reading them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Requests larger than this are refused with 413 before the body is read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// File uploads: above the relay's largest configurable attachment.
pub const MAX_UPLOAD_BYTES: usize = 128 * 1024 * 1024;
const MAX_HEADER_BYTES: usize = 64 * 1024;
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Raw path as sent (still percent-encoded), without the query string.
    pub path: String,
    pub raw_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// Header lookup by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// Decoded query pairs in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(&self.raw_query)
    }

    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
    }

    pub fn path_and_query(&self) -> String {
        if self.raw_query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.raw_query)
        }
    }
}

pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(&key.replace('+', " ")), percent_decode(&value.replace('+', " ")))
        })
        .collect()
}

/// Decodes `%XX` escapes; malformed escapes are kept literally.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes.get(index).copied().unwrap_or(0);
        if byte == b'%' {
            let hex = text.get(index + 1..index + 3).and_then(|digits| u8::from_str_radix(digits, 16).ok());
            if let Some(decoded) = hex {
                out.push(decoded);
                index += 3;
                continue;
            }
        }
        out.push(byte);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn percent_encode_segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        Self::with_body(status, "application/json", body)
    }

    pub fn with_body(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self { status, headers: vec![("Content-Type".into(), content_type.into())], body }
    }

    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What the connection should do once the handler has finished.
pub enum Outcome {
    Respond(Response),
    /// Answer after sleeping (the "slow response" fault).
    RespondAfter(Duration, Response),
    /// Send nothing and reset the TCP connection (the handler already ran).
    Reset,
}

pub trait Handler: Send + Sync {
    fn handle(&self, request: Request) -> Outcome;
    /// Called for requests the server refused before a handler could see them.
    fn refused(&self, method: &str, path: &str, status: u16);
}

pub fn serve(listener: TcpListener, handler: Arc<dyn Handler>) {
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let handler = Arc::clone(&handler);
            thread::spawn(move || serve_connection(stream, handler.as_ref()));
        }
    });
}

enum ReadError {
    /// Peer closed or went idle: end quietly.
    Closed,
    /// Unparseable or unsupported request: answer with this status and close.
    Refuse(u16, &'static str, String, String),
    /// Body over the limit: answer 413, then discard the body so the client can read the answer
    /// instead of seeing its upload reset.
    TooLarge(usize, String, String),
}

/// Bodies larger than this are not even drained; the connection is simply closed.
const MAX_DRAINED_BYTES: u64 = 64 * 1024 * 1024;

fn serve_connection(stream: TcpStream, handler: &dyn Handler) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader) {
            Ok(request) => request,
            Err(ReadError::Closed) => return,
            Err(ReadError::TooLarge(length, method, path)) => {
                handler.refused(&method, &path, 413);
                let body = serde_json::json!({ "detail": "Request body too large (limit 1 MiB)." });
                let response = Response::json(413, &body).header("Connection", "close");
                let _ = write_response(&mut writer, &response);
                let budget = u64::try_from(length).unwrap_or(u64::MAX).min(MAX_DRAINED_BYTES);
                let _ = reader.get_mut().set_read_timeout(Some(Duration::from_secs(5)));
                let _ = std::io::copy(&mut reader.by_ref().take(budget), &mut std::io::sink());
                return;
            }
            Err(ReadError::Refuse(status, message, method, path)) => {
                handler.refused(&method, &path, status);
                let body = serde_json::json!({ "detail": message });
                let response = Response::json(status, &body).header("Connection", "close");
                let _ = write_response(&mut writer, &response);
                return;
            }
        };
        let wants_close = request.header("connection").is_some_and(|value| value.eq_ignore_ascii_case("close"));
        match handler.handle(request) {
            Outcome::Respond(response) => {
                if write_response(&mut writer, &response).is_err() || wants_close {
                    return;
                }
            }
            Outcome::RespondAfter(delay, response) => {
                thread::sleep(delay);
                if write_response(&mut writer, &response).is_err() || wants_close {
                    return;
                }
            }
            Outcome::Reset => {
                reset_connection(&writer);
                return;
            }
        }
    }
}

/// SO_LINGER with a zero timeout makes close() send RST instead of FIN, which is what a client
/// sees when a proxy or server dies mid-request.
fn reset_connection(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    let size = libc::socklen_t::try_from(std::mem::size_of::<libc::linger>()).unwrap_or(8);
    // SAFETY: the descriptor is a live socket owned by `stream`, and `linger` is a valid
    // `struct linger` whose size is passed alongside it.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            size,
        );
    }
    let _ = stream.shutdown(std::net::Shutdown::Read);
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Result<Request, ReadError> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let read = reader.by_ref().take(8192).read_until(b'\n', &mut line).map_err(|_| ReadError::Closed)?;
        if read == 0 {
            return Err(ReadError::Closed);
        }
        if head.is_empty() && (line == b"\r\n" || line == b"\n") {
            continue; // tolerate stray blank lines between keep-alive requests
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if head.len() > MAX_HEADER_BYTES {
            return Err(ReadError::Refuse(431, "Request header fields too large.", String::new(), String::new()));
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ReadError::Refuse(400, "Malformed request line.", String::new(), String::new()));
    };
    let method = method.to_ascii_uppercase();
    let (path, raw_query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (target.to_string(), String::new()),
    };
    if !version.starts_with("HTTP/1.") || !path.starts_with('/') {
        return Err(ReadError::Refuse(400, "Malformed request line.", method, path));
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Refuse(400, "Malformed header line.", method, path));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let find =
        |name: &str| headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.clone());
    // File uploads may be larger than API calls (the vendors' own limits are tens of megabytes).
    let limit = if is_upload_path(&path) { MAX_UPLOAD_BYTES } else { MAX_BODY_BYTES };
    let chunked = match find("transfer-encoding") {
        None => false,
        Some(value) if value.eq_ignore_ascii_case("chunked") => true,
        Some(_) => return Err(ReadError::Refuse(501, "Only chunked transfer coding is supported.", method, path)),
    };
    if chunked {
        if find("expect").is_some_and(|value| value.eq_ignore_ascii_case("100-continue")) {
            let _ = reader.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let body = match read_chunked(reader, limit) {
            Ok(body) => body,
            Err(Some(length)) => return Err(ReadError::TooLarge(length, method, path)),
            Err(None) => return Err(ReadError::Refuse(400, "Malformed chunked body.", method, path)),
        };
        return Ok(Request { method, path, raw_query, headers, body });
    }
    let length = match find("content-length") {
        Some(value) => match value.parse::<usize>() {
            Ok(length) => length,
            Err(_) => return Err(ReadError::Refuse(400, "Invalid Content-Length.", method, path)),
        },
        None => 0,
    };
    if length > limit {
        return Err(ReadError::TooLarge(length, method, path));
    }
    // curl and some HTTP stacks wait for this before sending a larger body.
    if length > 0 && find("expect").is_some_and(|value| value.eq_ignore_ascii_case("100-continue")) {
        let _ = reader.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map_err(|_| ReadError::Closed)?;
    Ok(Request { method, path, raw_query, headers, body })
}

/// The vendors' file upload routes (HubSpot files, Salesforce ContentVersion, Zoho attachments,
/// Pipedrive files).
fn is_upload_path(path: &str) -> bool {
    path.starts_with("/files/v3/files")
        || path.ends_with("/sobjects/ContentVersion")
        || path.ends_with("/Attachments")
        || path.ends_with("/api/v1/files")
}

/// A chunked body (RFC 9112 §7.1), extensions and trailers ignored. `Err(Some(n))`: more than
/// `limit` bytes; `Err(None)`: malformed or cut short.
fn read_chunked<R: BufRead>(reader: &mut R, limit: usize) -> Result<Vec<u8>, Option<usize>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|_| None)? == 0 || line.len() > 1024 {
            return Err(None);
        }
        let size_text = line.trim().split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| None)?;
        if size == 0 {
            // Trailer lines up to the blank one.
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer).map_err(|_| None)? == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let total = body.len().saturating_add(size);
        if total > limit {
            return Err(Some(total));
        }
        let start = body.len();
        body.resize(total, 0);
        reader.read_exact(&mut body[start..]).map_err(|_| None)?;
        let mut end = [0u8; 2];
        reader.read_exact(&mut end).map_err(|_| None)?;
        if &end != b"\r\n" {
            return Err(None);
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        501 => "Not Implemented",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(writer: &mut TcpStream, response: &Response) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", response.status, reason(response.status));
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // RFC 9110: no Content-Length on 204; strict clients (undici) reject it.
    if response.status != 204 {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    // Loopback pages (the demo sidebar) call the emulators from another origin.
    head.push_str("Access-Control-Allow-Origin: *\r\n\r\n");
    writer.write_all(head.as_bytes())?;
    writer.write_all(&response.body)?;
    writer.flush()
}
