//! A bounded set of keys that each count for a while: what the relay remembers briefly (webhook
//! deliveries already applied, "this user may see this deal"). Memory stays bounded whatever arrives:
//! past `capacity`, the older half is forgotten first.

use std::collections::HashMap;

pub struct ExpiringSet {
    ttl_ms: u64,
    capacity: usize,
    /// Key → when it was remembered.
    entries: HashMap<String, u64>,
}

impl ExpiringSet {
    pub fn new(ttl_ms: u64, capacity: usize) -> ExpiringSet {
        ExpiringSet { ttl_ms, capacity: capacity.max(2), entries: HashMap::new() }
    }

    /// Whether `key` was remembered less than the TTL before `now_ms`.
    pub fn contains(&self, key: &str, now_ms: u64) -> bool {
        self.entries.get(key).is_some_and(|at| now_ms.saturating_sub(*at) < self.ttl_ms)
    }

    pub fn insert(&mut self, key: String, now_ms: u64) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let ttl = self.ttl_ms;
            self.entries.retain(|_, at| now_ms.saturating_sub(*at) < ttl);
            if self.entries.len() >= self.capacity {
                let mut times: Vec<u64> = self.entries.values().copied().collect();
                times.sort_unstable();
                let median = times.get(times.len() / 2).copied().unwrap_or(now_ms);
                self.entries.retain(|_, at| *at > median);
            }
        }
        self.entries.insert(key, now_ms);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_count_for_their_ttl_only() {
        let mut set = ExpiringSet::new(1_000, 10);
        set.insert("a".into(), 5_000);
        assert!(set.contains("a", 5_999));
        assert!(!set.contains("a", 6_000));
        assert!(!set.contains("b", 5_000));
    }

    #[test]
    fn memory_stays_bounded_and_the_newest_stay() {
        let mut set = ExpiringSet::new(u64::MAX, 100);
        for i in 0..10_000u64 {
            set.insert(format!("k{i}"), i);
            assert!(set.len() <= 100);
        }
        assert!(set.contains("k9999", 10_000), "the newest key is kept");
        assert!(!set.contains("k0", 10_000), "the oldest went first");
    }
}
