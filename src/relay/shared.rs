//! What every relay instance must agree on, behind one interface: per-key leases with fencing tokens
//! (one create per deal, one read-modify-write per CRM record), sliding-window reservations (the
//! workspace's SpotDraft allowance and each caller's share of it), keys that expire (webhook
//! deliveries already applied) and values that expire (what the relay last read of a deal's
//! contracts).
//!
//! One process keeps it in memory (`MemoryState`, the default). Several instances share a store the
//! host provides (the Node relay's Redis store); the core only sees this trait. Times are the
//! store's own: the memory state takes the relay's clock (`now_ms`), a shared store uses one clock
//! for every instance and ignores it.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::{ready, Future};
use std::pin::Pin;

use super::expiring_map::{ExpiringMap, ExpiringSet};
use crate::error::Result;

pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

pub trait SharedState {
    /// Takes `key` for the store's lease time if it is free or its holder's lease ran out: the
    /// fencing token of this hold (greater than any earlier one), or `None` while another holds it.
    fn try_acquire<'a>(&'a self, key: &'a str, now_ms: u64) -> LocalFuture<'a, Result<Option<u64>>>;
    /// Gives `key` up if `token` still holds it. Never waits: called when a guard is dropped, wherever
    /// its request stopped; a release that fails leaves the lease to run out.
    fn release(&self, key: &str, token: u64);
    /// Whether `token` still holds `key` (false once its lease ran out, or another took it); if it
    /// does, its lease starts again, so a holder that checks before each step keeps its key while it
    /// works and loses it soon after it stops (killed, stalled).
    fn renew<'a>(&'a self, key: &'a str, token: u64, now_ms: u64) -> LocalFuture<'a, Result<bool>>;
    /// Reserves the earliest send time such that no `window_ms` holds more than `limit` reservations
    /// of `key`; answers how long to wait for it (0: now).
    fn reserve<'a>(&'a self, key: &'a str, limit: u32, window_ms: u64, now_ms: u64) -> LocalFuture<'a, Result<u64>>;
    /// Remembers `key` for `ttl_ms`.
    fn remember<'a>(&'a self, key: &'a str, ttl_ms: u64, now_ms: u64) -> LocalFuture<'a, Result<()>>;
    /// Whether `key` is remembered.
    fn recalls<'a>(&'a self, key: &'a str, now_ms: u64) -> LocalFuture<'a, Result<bool>>;
    /// The value stored under `key`, while it lasts.
    fn get<'a>(&'a self, key: &'a str, now_ms: u64) -> LocalFuture<'a, Result<Option<String>>>;
    /// Stores `value` under `key` for `ttl_ms`.
    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: u64, now_ms: u64) -> LocalFuture<'a, Result<()>>;
}

/// Longer than any one section may legitimately run (a create with SpotDraft's retries takes at
/// most about 30 s); past it, a holder is taken to be abandoned.
pub const LEASE_MS: u64 = 60_000;
/// Reservation windows and remembered keys kept at most in memory; the idle or oldest go first.
const MAX_WINDOWS: usize = 10_000;
const MAX_REMEMBERED: usize = 100_000;
const MAX_VALUES: usize = 20_000;

/// The one-process state.
pub struct MemoryState {
    lease_ms: u64,
    /// Key → (fencing token, when it was taken).
    leases: RefCell<HashMap<String, (u64, u64)>>,
    next_token: Cell<u64>,
    /// Key → reserved send times in the current window, oldest first.
    windows: RefCell<HashMap<String, VecDeque<u64>>>,
    remembered: RefCell<ExpiringSet>,
    values: RefCell<ExpiringMap<String>>,
}

impl Default for MemoryState {
    fn default() -> Self {
        MemoryState::with_lease(LEASE_MS)
    }
}

impl MemoryState {
    pub fn with_lease(lease_ms: u64) -> MemoryState {
        MemoryState {
            lease_ms,
            leases: RefCell::new(HashMap::new()),
            next_token: Cell::new(0),
            windows: RefCell::new(HashMap::new()),
            remembered: RefCell::new(ExpiringSet::new(MAX_REMEMBERED)),
            values: RefCell::new(ExpiringMap::new(MAX_VALUES)),
        }
    }

    fn acquire_now(&self, key: &str, now_ms: u64) -> Option<u64> {
        let mut leases = self.leases.borrow_mut();
        if leases.get(key).is_some_and(|(_, since)| now_ms.saturating_sub(*since) < self.lease_ms) {
            return None;
        }
        let token = self.next_token.get().wrapping_add(1);
        self.next_token.set(token);
        leases.insert(key.to_string(), (token, now_ms));
        Some(token)
    }

    fn renew_now(&self, key: &str, token: u64, now_ms: u64) -> bool {
        let mut leases = self.leases.borrow_mut();
        match leases.get_mut(key) {
            Some((held, since)) if *held == token && now_ms.saturating_sub(*since) < self.lease_ms => {
                *since = now_ms;
                true
            }
            _ => false,
        }
    }

    /// The slot reserved (absolute time); see `SharedState::reserve`.
    pub fn reserve_now(&self, key: &str, limit: u32, window_ms: u64, now_ms: u64) -> u64 {
        let limit = (limit as usize).max(1);
        let mut windows = self.windows.borrow_mut();
        if windows.len() >= MAX_WINDOWS && !windows.contains_key(key) {
            windows.retain(|_, times| times.back().is_some_and(|&t| t + window_ms > now_ms));
        }
        let reserved = windows.entry(key.to_string()).or_default();
        while reserved.front().is_some_and(|&t| t + window_ms <= now_ms) {
            reserved.pop_front();
        }
        let slot = if reserved.len() >= limit {
            // The window is full: go just after the reservation `limit` back leaves it.
            let index = reserved.len() - limit;
            reserved.get(index).map_or(now_ms, |&t| (t + window_ms).max(now_ms))
        } else {
            now_ms
        };
        reserved.push_back(slot);
        slot
    }

    #[cfg(test)]
    pub fn is_held(&self, key: &str) -> bool {
        self.leases.borrow().contains_key(key)
    }
}

impl SharedState for MemoryState {
    fn try_acquire<'a>(&'a self, key: &'a str, now_ms: u64) -> LocalFuture<'a, Result<Option<u64>>> {
        Box::pin(ready(Ok(self.acquire_now(key, now_ms))))
    }

    fn release(&self, key: &str, token: u64) {
        let mut leases = self.leases.borrow_mut();
        // Only its own hold: after a lease ran out, the key may belong to someone else now.
        if leases.get(key).is_some_and(|(held, _)| *held == token) {
            leases.remove(key);
        }
    }

    fn renew<'a>(&'a self, key: &'a str, token: u64, now_ms: u64) -> LocalFuture<'a, Result<bool>> {
        Box::pin(ready(Ok(self.renew_now(key, token, now_ms))))
    }

    fn reserve<'a>(&'a self, key: &'a str, limit: u32, window_ms: u64, now_ms: u64) -> LocalFuture<'a, Result<u64>> {
        let slot = self.reserve_now(key, limit, window_ms, now_ms);
        Box::pin(ready(Ok(slot.saturating_sub(now_ms))))
    }

    fn remember<'a>(&'a self, key: &'a str, ttl_ms: u64, now_ms: u64) -> LocalFuture<'a, Result<()>> {
        self.remembered.borrow_mut().insert(key.to_string(), now_ms.saturating_add(ttl_ms), now_ms);
        Box::pin(ready(Ok(())))
    }

    fn recalls<'a>(&'a self, key: &'a str, now_ms: u64) -> LocalFuture<'a, Result<bool>> {
        Box::pin(ready(Ok(self.remembered.borrow().contains(key, now_ms))))
    }

    fn get<'a>(&'a self, key: &'a str, now_ms: u64) -> LocalFuture<'a, Result<Option<String>>> {
        Box::pin(ready(Ok(self.values.borrow().get(key, now_ms).cloned())))
    }

    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: u64, now_ms: u64) -> LocalFuture<'a, Result<()>> {
        self.values.borrow_mut().put(key.to_string(), value, now_ms.saturating_add(ttl_ms), now_ms);
        Box::pin(ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_put_more_than_the_limit_in_any_window() {
        let state = MemoryState::default();
        let slots: Vec<u64> = (0..35).map(|_| state.reserve_now("workspace", 10, 1_200, 0)).collect();
        assert_eq!(&slots[..10], &[0; 10]);
        assert_eq!(&slots[10..20], &[1_200; 10]);
        assert_eq!(&slots[20..30], &[2_400; 10]);
        for (i, &t) in slots.iter().enumerate() {
            let in_window = slots.iter().filter(|&&s| s <= t && s + 1_200 > t).count();
            assert!(in_window <= 10, "slot {i} at {t}: {in_window} in its window");
        }
        assert_eq!(state.reserve_now("another caller", 10, 1_200, 0), 0, "each key has its own window");
    }

    #[test]
    fn a_lease_runs_out_and_its_holder_can_tell() {
        let state = MemoryState::with_lease(1_000);
        let first = state.acquire_now("deal:1", 0).unwrap_or_default();
        assert_eq!(state.acquire_now("deal:1", 999), None);
        let second = state.acquire_now("deal:1", 1_000).unwrap_or_default();
        assert!(second > first);
        assert!(!state.renew_now("deal:1", first, 1_000));
        state.release("deal:1", first);
        assert!(state.renew_now("deal:1", second, 1_001), "a late release of the old hold frees nothing");
        // Renewed at 1,001: held until 2,001, not 2,000.
        assert_eq!(state.acquire_now("deal:1", 2_000), None, "a holder that renews keeps its key");
        assert!(state.acquire_now("deal:1", 2_001).is_some());
    }

    #[test]
    fn remembered_keys_expire() {
        let state = MemoryState::default();
        pollster::block_on(state.remember("uat:delivery-1", 100, 0)).unwrap_or_default();
        assert!(pollster::block_on(state.recalls("uat:delivery-1", 99)).unwrap_or_default());
        assert!(!pollster::block_on(state.recalls("uat:delivery-1", 100)).unwrap_or_default());
    }
}
