//! One-at-a-time sections per key (e.g. per deal) on the single-threaded async runtime, so two
//! overlapping creates for one deal run one after the other, and so do two webhook deliveries for
//! one CRM record. Different keys never wait for each other.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[derive(Default, Clone)]
pub struct KeyedLock {
    /// Held keys, each with the tasks waiting for it.
    held: Rc<RefCell<HashMap<String, Vec<Waker>>>>,
}

pub struct KeyGuard {
    key: String,
    held: Rc<RefCell<HashMap<String, Vec<Waker>>>>,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        let waiters = self.held.borrow_mut().remove(&self.key).unwrap_or_default();
        for waker in waiters {
            waker.wake();
        }
    }
}

pub struct Acquire {
    key: String,
    held: Rc<RefCell<HashMap<String, Vec<Waker>>>>,
}

impl Future for Acquire {
    type Output = KeyGuard;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<KeyGuard> {
        let mut held = self.held.borrow_mut();
        match held.get_mut(&self.key) {
            Some(waiters) => {
                waiters.push(context.waker().clone());
                Poll::Pending
            }
            None => {
                held.insert(self.key.clone(), Vec::new());
                Poll::Ready(KeyGuard { key: self.key.clone(), held: Rc::clone(&self.held) })
            }
        }
    }
}

impl KeyedLock {
    pub fn lock(&self, key: &str) -> Acquire {
        Acquire { key: key.to_string(), held: Rc::clone(&self.held) }
    }

    #[cfg(test)]
    pub fn is_held(&self, key: &str) -> bool {
        self.held.borrow().contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_until_the_first_is_done() {
        let lock = KeyedLock::default();
        let first = pollster::block_on(lock.lock("deal:1"));
        assert!(lock.is_held("deal:1"));
        let mut second = Box::pin(lock.lock("deal:1"));
        let waker = Waker::noop();
        let mut context = Context::from_waker(waker);
        assert!(second.as_mut().poll(&mut context).is_pending());
        let other = pollster::block_on(lock.lock("deal:2"));
        drop(first);
        assert!(second.as_mut().poll(&mut context).is_ready());
        drop(other);
    }
}
