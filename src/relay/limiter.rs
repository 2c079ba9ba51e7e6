//! Keeps the relay under SpotDraft's 10 requests per second per workspace (docs/spotdraft-api.md §13),
//! across every relay instance that shares the state.
//!
//! A transport wrapper: every request reserves a send time in the shared state such that no window
//! holds more than `per_second` sends, then waits for it. A reservation is taken in one step of the
//! state (atomic in a shared store), so concurrent callers, in one process or several, never take
//! the same slot.

use std::rc::Rc;

use super::shared::SharedState;
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// The window the limit is kept over. Slightly longer than SpotDraft's second: a request is
/// reserved here but counted there on arrival, and the two clocks are a network hop apart.
pub const WINDOW_MS: u64 = 1_200;

pub struct RateLimited<T> {
    inner: T,
    state: Rc<dyn SharedState>,
    /// The allowance's key in the shared state (one per workspace).
    key: String,
    per_second: u32,
}

impl<T: Transport> RateLimited<T> {
    pub fn new(inner: T, state: Rc<dyn SharedState>, key: String, per_second: u32) -> Self {
        RateLimited { inner, state, key, per_second: per_second.max(1) }
    }
}

impl<T: Transport> Transport for RateLimited<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let now = self.inner.now_ms();
        let wait = self
            .state
            .reserve(&self.key, self.per_second, WINDOW_MS, now)
            .await
            .map_err(|error| TransportError::Connection(format!("the relay's shared state: {error}")))?;
        if wait > 0 {
            self.inner.sleep(wait).await;
        }
        self.inner.send(request).await
    }

    async fn sleep(&self, ms: u64) {
        self.inner.sleep(ms).await
    }

    fn now_ms(&self) -> u64 {
        self.inner.now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    struct Clock(Cell<u64>);
    impl Transport for Clock {
        async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            Ok(HttpResponse { status: 200, headers: vec![], body: vec![] })
        }
        async fn sleep(&self, ms: u64) {
            self.0.set(self.0.get() + ms);
        }
        fn now_ms(&self) -> u64 {
            self.0.get()
        }
    }

    #[test]
    fn sending_waits_for_the_slot() {
        let state = Rc::new(crate::relay::shared::MemoryState::default());
        let limited = RateLimited::new(Clock(Cell::new(5_000)), state, "uat".into(), 2);
        let request = HttpRequest {
            method: crate::transport::Method::Get,
            url: "http://127.0.0.1/".into(),
            headers: vec![],
            body: None,
            timeout_ms: 1,
            max_response_bytes: 1,
        };
        for _ in 0..5 {
            pollster::block_on(limited.send(request.clone())).unwrap();
        }
        assert_eq!(limited.now_ms(), 5_000 + 2 * WINDOW_MS, "5 sends at 2 per window take two full waits");
    }
}
