//! A fixed-capacity map whose entries expire: the in-memory backing of the
//! pending-login store and the token vault. When full, expired entries go
//! first, then the entry that expires soonest.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub(crate) struct BoundedTtlMap<V> {
    capacity: usize,
    inner: Mutex<Inner<V>>,
}

#[derive(Debug)]
struct Inner<V> {
    seq: u64,
    entries: HashMap<String, (V, (u64, u64))>,
    /// (expires_at_ms, seq) → key order, for expiry and eviction.
    order: BTreeSet<(u64, u64, String)>,
}

impl<V: Clone> BoundedTtlMap<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                seq: 0,
                entries: HashMap::new(),
                order: BTreeSet::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts (or replaces) `key`, live until `expires_at_ms`.
    pub(crate) fn insert(&self, key: &str, value: V, expires_at_ms: u64, now_ms: u64) {
        let mut g = self.lock();
        g.remove(key);
        g.purge_expired(now_ms);
        while g.entries.len() >= self.capacity {
            let Some(first) = g.order.pop_first() else {
                break;
            };
            g.entries.remove(&first.2);
        }
        g.seq = g.seq.wrapping_add(1);
        let stamp = (expires_at_ms, g.seq);
        g.order.insert((stamp.0, stamp.1, key.to_owned()));
        g.entries.insert(key.to_owned(), (value, stamp));
    }

    /// The live value of `key`.
    pub(crate) fn get(&self, key: &str, now_ms: u64) -> Option<V> {
        let g = self.lock();
        g.entries
            .get(key)
            .filter(|(_, (exp, _))| *exp > now_ms)
            .map(|(v, _)| v.clone())
    }

    /// Removes `key`, returning its live value.
    pub(crate) fn take(&self, key: &str, now_ms: u64) -> Option<V> {
        let mut g = self.lock();
        g.remove(key)
            .filter(|(_, (exp, _))| *exp > now_ms)
            .map(|(v, _)| v)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl<V> Inner<V> {
    fn remove(&mut self, key: &str) -> Option<(V, (u64, u64))> {
        let old = self.entries.remove(key)?;
        self.order.remove(&(old.1.0, old.1.1, key.to_owned()));
        Some(old)
    }

    fn purge_expired(&mut self, now_ms: u64) {
        while let Some(first) = self.order.first() {
            if first.0 > now_ms {
                break;
            }
            if let Some(first) = self.order.pop_first() {
                self.entries.remove(&first.2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_expiring_single_use() {
        let m = BoundedTtlMap::new(2);
        m.insert("a", 1, 100, 0);
        m.insert("b", 2, 200, 0);
        m.insert("c", 3, 300, 0);
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("a", 0), None, "the soonest-expiring entry is evicted");
        assert_eq!(m.get("b", 0), Some(2));
        assert_eq!(m.get("b", 200), None, "expired");
        assert_eq!(m.take("c", 0), Some(3));
        assert_eq!(m.take("c", 0), None, "single use");
        m.insert("d", 4, 500, 250);
        assert_eq!(m.len(), 1, "expired entries are purged on insert");
    }
}
