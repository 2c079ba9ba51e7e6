//! One-at-a-time sections per key (e.g. per deal) on the single-threaded async runtime, so two
//! overlapping creates for one deal run one after the other, and so do two webhook deliveries for
//! one CRM record. Different keys never wait for each other.
//!
//! Safe under cancellation by construction:
//! - a waiter registers nothing: it looks, and if the key is held it sleeps on its own timer and
//!   looks again. No request is ever woken from inside another (runtimes such as Cloudflare's
//!   workerd refuse, and cancel, work resumed on behalf of another request), and a waiter dropped at
//!   any point leaves nothing behind;
//! - a holder's guard releases the key when dropped, wherever its request stopped;
//! - a holder that is never dropped (a task a runtime abandoned without dropping it) holds the key
//!   for at most `LEASE_MS`; then the next request takes it over, and the abandoned holder can tell
//!   (`KeyGuard::is_current`) before it writes anything (fencing).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::transport::Transport;

/// Longer than any one section may legitimately run (a create with SpotDraft's retries takes at
/// most about 30 s); past it, a holder is taken to be abandoned.
pub const LEASE_MS: u64 = 60_000;
/// How often a waiter looks again, at most.
const MAX_WAIT_STEP_MS: u64 = 50;

#[derive(Default)]
struct Holders {
    /// Key → (fencing token, when it was taken).
    held: RefCell<HashMap<String, (u64, u64)>>,
    next_token: Cell<u64>,
}

#[derive(Default, Clone)]
pub struct KeyedLock {
    holders: Rc<Holders>,
}

pub struct KeyGuard {
    key: String,
    token: u64,
    holders: Rc<Holders>,
}

impl KeyGuard {
    /// Whether this guard still holds its key: false once its lease ran out and another took it.
    pub fn is_current(&self) -> bool {
        self.holders.held.borrow().get(&self.key).is_some_and(|(token, _)| *token == self.token)
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        let mut held = self.holders.held.borrow_mut();
        // Only its own hold: after a lease ran out, the key may belong to someone else now.
        if held.get(&self.key).is_some_and(|(token, _)| *token == self.token) {
            held.remove(&self.key);
        }
    }
}

impl KeyedLock {
    /// Takes `key`, waiting while another holds it (at most until that holder's lease runs out).
    pub async fn lock<T: Transport>(&self, key: &str, clock: &T) -> KeyGuard {
        let mut step = 1;
        loop {
            if let Some(guard) = self.try_lock(key, clock.now_ms()) {
                return guard;
            }
            clock.sleep(step).await;
            // Let everything else run even if the clock's sleep returned at once (tests' clocks).
            YieldNow(false).await;
            step = (step * 2).min(MAX_WAIT_STEP_MS);
        }
    }

    fn try_lock(&self, key: &str, now_ms: u64) -> Option<KeyGuard> {
        let mut held = self.holders.held.borrow_mut();
        if let Some((_, since)) = held.get(key) {
            if now_ms.saturating_sub(*since) < LEASE_MS {
                return None;
            }
        }
        let token = self.holders.next_token.get().wrapping_add(1);
        self.holders.next_token.set(token);
        held.insert(key.to_string(), (token, now_ms));
        Some(KeyGuard { key: key.to_string(), token, holders: Rc::clone(&self.holders) })
    }

    #[cfg(test)]
    pub fn is_held(&self, key: &str) -> bool {
        self.holders.held.borrow().contains_key(key)
    }
}

/// Pending once, then ready: gives every other task on the executor a turn.
#[derive(Default)]
pub(super) struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            context.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::transport::{HttpRequest, HttpResponse, TransportError};

    /// A clock whose sleeps pass at once, moving time on.
    #[derive(Default)]
    struct TestClock {
        now: Cell<u64>,
    }

    impl Transport for TestClock {
        async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
            Err(TransportError::Connection("no network in this test".into()))
        }
        async fn sleep(&self, ms: u64) {
            self.now.set(self.now.get() + ms);
        }
        fn now_ms(&self) -> u64 {
            self.now.get()
        }
    }

    fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn second_holder_waits_until_the_first_is_done() {
        let clock = TestClock::default();
        let lock = KeyedLock::default();
        let first = pollster::block_on(lock.lock("deal:1", &clock));
        assert!(lock.is_held("deal:1"));
        let mut second = Box::pin(lock.lock("deal:1", &clock));
        for _ in 0..10 {
            assert!(poll_once(second.as_mut()).is_pending(), "held: the second waits");
        }
        let other = pollster::block_on(lock.lock("deal:2", &clock));
        drop(first);
        let mut ready = false;
        for _ in 0..10 {
            if poll_once(second.as_mut()).is_ready() {
                ready = true;
                break;
            }
        }
        assert!(ready, "released: the second proceeds");
        drop(other);
    }

    #[test]
    fn a_waiter_dropped_at_any_point_leaves_nothing_behind() {
        let clock = TestClock::default();
        let lock = KeyedLock::default();
        let holder = pollster::block_on(lock.lock("deal:1", &clock));
        for polls in 0..5 {
            let mut waiter = Box::pin(lock.lock("deal:1", &clock));
            for _ in 0..polls {
                let _ = poll_once(waiter.as_mut());
            }
            drop(waiter);
        }
        drop(holder);
        assert!(!lock.is_held("deal:1"));
        let again = pollster::block_on(lock.lock("deal:1", &clock));
        assert!(again.is_current());
    }

    #[test]
    fn an_abandoned_holder_loses_the_key_when_its_lease_ends_and_can_tell() {
        let clock = TestClock::default();
        let lock = KeyedLock::default();
        let abandoned = pollster::block_on(lock.lock("deal:1", &clock));
        // Never dropped: a task the runtime stopped polling. The next request waits out the lease.
        let next = pollster::block_on(lock.lock("deal:1", &clock));
        assert!(clock.now_ms() >= LEASE_MS, "it waited for the lease, not for ever");
        assert!(next.is_current());
        assert!(!abandoned.is_current(), "fenced: the old holder knows it must not write");
        drop(abandoned);
        assert!(next.is_current(), "the old holder's release does not free the new holder's key");
    }
}
