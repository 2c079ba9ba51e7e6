//! A bounded map whose entries each count until their own expiry: what the relay remembers briefly
//! in one process (webhook deliveries already applied, "this user may see this deal", what it last
//! read of a deal's contracts). Memory stays bounded whatever arrives: past `capacity`, the expired
//! go first, then those expiring soonest.

use std::collections::HashMap;

pub struct ExpiringMap<V> {
    capacity: usize,
    /// Key → (value, when it stops counting).
    entries: HashMap<String, (V, u64)>,
}

/// Keys only.
pub type ExpiringSet = ExpiringMap<()>;

impl<V> ExpiringMap<V> {
    pub fn new(capacity: usize) -> ExpiringMap<V> {
        ExpiringMap { capacity: capacity.max(2), entries: HashMap::new() }
    }

    /// The value of `key`, if it is there and not yet expired at `now_ms`.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<&V> {
        self.entries.get(key).filter(|(_, until)| now_ms < *until).map(|(value, _)| value)
    }

    pub fn contains(&self, key: &str, now_ms: u64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// Removes `key`; its value, if it had not expired at `now_ms`.
    pub fn take(&mut self, key: &str, now_ms: u64) -> Option<V> {
        self.entries.remove(key).filter(|(_, until)| now_ms < *until).map(|(value, _)| value)
    }

    pub fn put(&mut self, key: String, value: V, until_ms: u64, now_ms: u64) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.entries.retain(|_, (_, until)| now_ms < *until);
            if self.entries.len() >= self.capacity {
                let mut times: Vec<u64> = self.entries.values().map(|(_, until)| *until).collect();
                times.sort_unstable();
                let median = times.get(times.len() / 2).copied().unwrap_or(now_ms);
                self.entries.retain(|_, (_, until)| *until > median);
            }
        }
        self.entries.insert(key, (value, until_ms));
    }
}

impl ExpiringSet {
    pub fn insert(&mut self, key: String, until_ms: u64, now_ms: u64) {
        self.put(key, (), until_ms, now_ms);
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
    fn keys_count_until_their_expiry_only() {
        let mut set: ExpiringSet = ExpiringMap::new(10);
        set.insert("a".into(), 6_000, 5_000);
        assert!(set.contains("a", 5_999));
        assert!(!set.contains("a", 6_000));
        assert!(!set.contains("b", 5_000));
    }

    #[test]
    fn memory_stays_bounded_and_the_newest_stay() {
        let mut set: ExpiringSet = ExpiringMap::new(100);
        for i in 0..10_000u64 {
            set.insert(format!("k{i}"), u64::MAX - 10_000 + i, i);
            assert!(set.len() <= 100);
        }
        assert!(set.contains("k9999", 10_000), "the newest key is kept");
        assert!(!set.contains("k0", 10_000), "the oldest went first");
    }
}
