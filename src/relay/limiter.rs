//! Keeps the relay under SpotDraft's 10 requests per second per workspace (docs/spotdraft-api.md §13).
//!
//! A transport wrapper: every request reserves a send time such that no 1-second window holds more
//! than `per_second` sends, then waits for it. Reservations are taken synchronously, so concurrent
//! callers on the single-threaded runtime can't both take the same slot.

use std::cell::RefCell;
use std::collections::VecDeque;

use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// The window the limit is kept over. Slightly longer than SpotDraft's second: a request is
/// reserved here but counted there on arrival, and the two clocks are a network hop apart.
const WINDOW_MS: u64 = 1_200;

pub struct RateLimited<T> {
    inner: T,
    per_second: usize,
    /// Send times (ms) reserved in the last second, oldest first.
    reserved: RefCell<VecDeque<u64>>,
}

impl<T: Transport> RateLimited<T> {
    pub fn new(inner: T, per_second: usize) -> Self {
        RateLimited { inner, per_second: per_second.max(1), reserved: RefCell::new(VecDeque::new()) }
    }

    /// The earliest time this request may go, recorded as taken.
    fn reserve(&self, now: u64) -> u64 {
        let mut reserved = self.reserved.borrow_mut();
        while reserved.front().is_some_and(|&t| t + WINDOW_MS <= now) {
            reserved.pop_front();
        }
        let slot = if reserved.len() >= self.per_second {
            // The window is full: go just after the request `per_second` back leaves it.
            let index = reserved.len() - self.per_second;
            reserved.get(index).map_or(now, |&t| (t + WINDOW_MS).max(now))
        } else {
            now
        };
        reserved.push_back(slot);
        slot
    }
}

impl<T: Transport> Transport for RateLimited<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let now = self.inner.now_ms();
        let slot = self.reserve(now);
        if slot > now {
            self.inner.sleep(slot - now).await;
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
    fn never_more_than_the_limit_in_any_second() {
        let limited = RateLimited::new(Clock(Cell::new(0)), 10);
        let slots: Vec<u64> = (0..35).map(|_| limited.reserve(0)).collect();
        assert_eq!(&slots[..10], &[0; 10]);
        assert_eq!(&slots[10..20], &[WINDOW_MS; 10]);
        assert_eq!(&slots[20..30], &[2 * WINDOW_MS; 10]);
        for (i, &t) in slots.iter().enumerate() {
            let in_window = slots.iter().filter(|&&s| s <= t && s + WINDOW_MS > t).count();
            assert!(in_window <= 10, "slot {i} at {t}: {in_window} in its window");
        }
    }

    #[test]
    fn sending_waits_for_the_slot() {
        let limited = RateLimited::new(Clock(Cell::new(5_000)), 2);
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
