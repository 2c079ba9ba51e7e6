//! Each caller's share of a workspace's SpotDraft allowance. SpotDraft allows 10 requests a second
//! per workspace and the relay queues everything behind that limit in arrival order, so one caller
//! sending many requests (a stuck sidebar, a script with a seller's token) would make every other
//! seller wait behind it. Here each caller (a record and user) may start at most `per_window`
//! calls per window; the rest of the allowance stays free for everyone else. A caller over its share
//! waits on its own timer (it is never woken from inside another request, and a waiter dropped at
//! any point leaves nothing behind).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use super::keyed_lock::YieldNow;
use crate::transport::Transport;

/// Callers remembered at most; callers with nothing in the window are forgotten first.
const MAX_CALLERS: usize = 10_000;

pub struct FairShare {
    per_window: usize,
    window_ms: u64,
    /// Caller → when its calls in the current window started, oldest first.
    started: RefCell<HashMap<String, VecDeque<u64>>>,
}

impl FairShare {
    pub fn new(per_window: usize, window_ms: u64) -> FairShare {
        FairShare { per_window: per_window.max(1), window_ms, started: RefCell::new(HashMap::new()) }
    }

    /// Waits until `caller` may start another call, and counts it.
    pub async fn admit<T: Transport>(&self, caller: &str, clock: &T) {
        loop {
            let wait = self.try_admit(caller, clock.now_ms());
            if wait == 0 {
                return;
            }
            clock.sleep(wait).await;
            YieldNow::default().await;
        }
    }

    /// 0 when admitted (and counted), else how long to wait before asking again.
    fn try_admit(&self, caller: &str, now: u64) -> u64 {
        let mut started = self.started.borrow_mut();
        if started.len() >= MAX_CALLERS && !started.contains_key(caller) {
            let window = self.window_ms;
            started.retain(|_, times| times.back().is_some_and(|&t| now.saturating_sub(t) < window));
        }
        let times = started.entry(caller.to_string()).or_default();
        while times.front().is_some_and(|&t| now.saturating_sub(t) >= self.window_ms) {
            times.pop_front();
        }
        if times.len() < self.per_window {
            times.push_back(now);
            return 0;
        }
        times.front().map_or(1, |&oldest| (oldest + self.window_ms).saturating_sub(now).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_its_share_and_others_theirs() {
        let share = FairShare::new(4, 1_200);
        for _ in 0..4 {
            assert_eq!(share.try_admit("deal-a", 1_000), 0);
        }
        assert_eq!(share.try_admit("deal-a", 1_000), 1_200, "a's fifth call waits for its window");
        assert_eq!(share.try_admit("deal-b", 1_000), 0, "b is not held up by a");
        assert_eq!(share.try_admit("deal-a", 2_200), 0, "a window later, a goes again");
    }

    #[test]
    fn memory_stays_bounded() {
        let share = FairShare::new(2, 1_000);
        for i in 0..(MAX_CALLERS as u64 * 3) {
            share.try_admit(&format!("caller-{i}"), i * 10);
        }
        assert!(share.started.borrow().len() <= MAX_CALLERS + 1);
    }
}
