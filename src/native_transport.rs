//! The transport for native builds: blocking HTTP(S) via ureq. Used by native tools and by the
//! integration tests that talk to the sandbox over real loopback HTTP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

pub struct NativeTransport {
    agent: ureq::Agent,
}

impl Default for NativeTransport {
    fn default() -> Self {
        NativeTransport::new()
    }
}

impl NativeTransport {
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            // A wrong URL earns a 302 from SpotDraft; it is reported, never followed.
            .max_redirects(0)
            // Error statuses are answers for the core to read, not transport failures.
            .http_status_as_error(false)
            .build()
            .into();
        NativeTransport { agent }
    }

    fn send_blocking(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let timeout = Some(Duration::from_millis(request.timeout_ms.max(1)));
        let mut builder = ureq::http::Request::builder().method(request.method.as_str()).uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let outcome = match (request.method, request.body) {
            (Method::Get | Method::Delete, None) => builder.body(()).map_err(connection).and_then(|r| {
                let r = self.agent.configure_request(r).timeout_global(timeout).build();
                self.agent.run(r).map_err(classify)
            }),
            (_, body) => builder.body(body.unwrap_or_default()).map_err(connection).and_then(|r| {
                let r = self.agent.configure_request(r).timeout_global(timeout).build();
                self.agent.run(r).map_err(classify)
            }),
        };
        let mut response = outcome?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
            .collect();
        let limit = request.max_response_bytes;
        let body = response.body_mut().with_config().limit(limit as u64).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => TransportError::TooLarge { limit },
            other => classify(other),
        })?;
        Ok(HttpResponse { status, headers, body })
    }
}

fn connection(error: impl std::fmt::Display) -> TransportError {
    TransportError::Connection(error.to_string())
}

fn classify(error: ureq::Error) -> TransportError {
    match error {
        ureq::Error::Timeout(_) => TransportError::Timeout,
        ureq::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
            TransportError::Timeout
        }
        other => connection(other),
    }
}

impl Transport for NativeTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.send_blocking(request)
    }

    async fn sleep(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn now_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}
