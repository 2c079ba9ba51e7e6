//! One-at-a-time sections per key (e.g. per deal): two overlapping creates for one deal run one
//! after the other, and so do two webhook deliveries for one CRM record, in one process or across
//! every relay instance sharing a store (`SharedState`). Different keys never wait for each other.
//!
//! Safe under cancellation by construction:
//! - a waiter registers nothing: it asks, and if the key is held it sleeps on its own timer and
//!   asks again. No request is ever woken from inside another (runtimes such as Cloudflare's
//!   workerd refuse, and cancel, work resumed on behalf of another request), and a waiter dropped at
//!   any point leaves nothing behind;
//! - a holder's guard releases the key when dropped, wherever its request stopped;
//! - a holder that is never dropped (a task a runtime abandoned, an instance killed) holds the key
//!   for at most the store's lease; then the next request takes it over, and the abandoned holder
//!   can tell (`KeyGuard::renew`) before it writes anything (fencing); a holder still at work renews
//!   its lease at each such check.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::shared::SharedState;
use crate::error::Result;
use crate::transport::Transport;

/// How often a waiter asks again, at most.
const MAX_WAIT_STEP_MS: u64 = 50;

#[derive(Clone)]
pub struct KeyedLock {
    state: Rc<dyn SharedState>,
}

pub struct KeyGuard {
    key: String,
    token: u64,
    state: Rc<dyn SharedState>,
}

impl KeyGuard {
    /// Whether this guard still holds its key (false once its lease ran out and another took it);
    /// if it does, the lease starts again. Called before each step that writes (fencing).
    pub async fn renew<T: Transport>(&self, clock: &T) -> Result<bool> {
        self.state.renew(&self.key, self.token, clock.now_ms()).await
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        self.state.release(&self.key, self.token);
    }
}

impl KeyedLock {
    pub fn new(state: Rc<dyn SharedState>) -> KeyedLock {
        KeyedLock { state }
    }

    /// Takes `key`, waiting while another holds it (at most until that holder's lease runs out). An
    /// error is the shared store's (unreachable), never a wait for ever.
    pub async fn lock<T: Transport>(&self, key: &str, clock: &T) -> Result<KeyGuard> {
        let mut step = 1;
        loop {
            if let Some(token) = self.state.try_acquire(key, clock.now_ms()).await? {
                return Ok(KeyGuard { key: key.to_string(), token, state: Rc::clone(&self.state) });
            }
            clock.sleep(step).await;
            // Let everything else run even if the clock's sleep returned at once (tests' clocks).
            YieldNow(false).await;
            step = (step * 2).min(MAX_WAIT_STEP_MS);
        }
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
    use crate::relay::shared::{MemoryState, LEASE_MS};
    use crate::transport::{HttpRequest, HttpResponse, TransportError};
    use std::cell::Cell;

    fn memory_lock() -> (Rc<MemoryState>, KeyedLock) {
        let state = Rc::new(MemoryState::default());
        (Rc::clone(&state), KeyedLock::new(state))
    }

    fn take(lock: &KeyedLock, key: &str, clock: &TestClock) -> KeyGuard {
        match pollster::block_on(lock.lock(key, clock)) {
            Ok(guard) => guard,
            Err(error) => panic!("the memory state never fails: {error}"),
        }
    }

    fn current(guard: &KeyGuard, clock: &TestClock) -> bool {
        pollster::block_on(guard.renew(clock)).unwrap_or(false)
    }

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
        let (state, lock) = memory_lock();
        let first = take(&lock, "deal:1", &clock);
        assert!(state.is_held("deal:1"));
        let mut second = Box::pin(lock.lock("deal:1", &clock));
        for _ in 0..10 {
            assert!(poll_once(second.as_mut()).is_pending(), "held: the second waits");
        }
        let other = take(&lock, "deal:2", &clock);
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
        let (state, lock) = memory_lock();
        let holder = take(&lock, "deal:1", &clock);
        for polls in 0..5 {
            let mut waiter = Box::pin(lock.lock("deal:1", &clock));
            for _ in 0..polls {
                let _ = poll_once(waiter.as_mut());
            }
            drop(waiter);
        }
        drop(holder);
        assert!(!state.is_held("deal:1"));
        let again = take(&lock, "deal:1", &clock);
        assert!(current(&again, &clock));
    }

    #[test]
    fn an_abandoned_holder_loses_the_key_when_its_lease_ends_and_can_tell() {
        let clock = TestClock::default();
        let (_, lock) = memory_lock();
        let abandoned = take(&lock, "deal:1", &clock);
        // Never dropped: a task the runtime stopped polling. The next request waits out the lease.
        let next = take(&lock, "deal:1", &clock);
        assert!(clock.now_ms() >= LEASE_MS, "it waited for the lease, not for ever");
        assert!(current(&next, &clock));
        assert!(!current(&abandoned, &clock), "fenced: the old holder knows it must not write");
        drop(abandoned);
        assert!(current(&next, &clock), "the old holder's release does not free the new holder's key");
    }
}
