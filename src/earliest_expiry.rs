//! [`EarliestExpiry`]: when a bounded in-memory store at its limit may
//! find an expired entry to drop.
//!
//! A store at its limit drops expired entries before it refuses a new one,
//! which means reading every entry. Done on every refused write, a flood
//! against a full store cost a pass over the whole store per request, under
//! the lock every lookup waits on. With a lower bound on the earliest
//! expiry, the pass is made only once an entry may have expired, and each
//! pass sets the bound from what it kept.

use std::collections::HashMap;

/// A lower bound on the expiry (ms since the epoch) of every entry of one
/// store. Kept a lower bound by [`note`](Self::note) on every write that
/// can make an entry expire earlier; writes that postpone an expiry, and
/// removals, need nothing.
#[derive(Debug)]
pub(crate) struct EarliestExpiry(u64);

impl Default for EarliestExpiry {
    fn default() -> Self {
        Self(u64::MAX)
    }
}

impl EarliestExpiry {
    /// An entry expiring at `at_ms` was written.
    pub(crate) fn note(&mut self, at_ms: u64) {
        self.0 = self.0.min(at_ms);
    }

    /// Drops from `map` the entries expired at `now_ms` (those whose
    /// `expiry` is at or before it) if one may be; then the bound is the
    /// earliest expiry kept. Whether it read the map.
    pub(crate) fn sweep<K, V>(
        &mut self,
        map: &mut HashMap<K, V>,
        now_ms: u64,
        expiry: impl Fn(&V) -> u64,
    ) -> bool {
        if now_ms < self.0 {
            return false;
        }
        let mut earliest = u64::MAX;
        map.retain(|_, v| {
            let at = expiry(v);
            let keep = at > now_ms;
            if keep {
                earliest = earliest.min(at);
            }
            keep
        });
        self.0 = earliest;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_map_only_once_an_entry_may_have_expired() {
        let mut bound = EarliestExpiry::default();
        let mut map = HashMap::new();
        for (k, at) in [(1, 100), (2, 200), (3, 300)] {
            map.insert(k, at);
            bound.note(at);
        }
        assert!(!bound.sweep(&mut map, 99, |v| *v), "nothing expired yet");
        assert!(bound.sweep(&mut map, 100, |v| *v));
        assert_eq!(map.len(), 2, "expired at its expiry");
        assert!(!bound.sweep(&mut map, 199, |v| *v));
        // An entry removed by its store leaves the bound low: one pass
        // finds nothing and raises it.
        map.remove(&2);
        assert!(bound.sweep(&mut map, 250, |v| *v));
        assert_eq!(map.len(), 1);
        assert!(!bound.sweep(&mut map, 299, |v| *v));
        // An earlier write lowers it again.
        map.insert(4, 260);
        bound.note(260);
        assert!(bound.sweep(&mut map, 270, |v| *v));
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), vec![3]);
    }
}
