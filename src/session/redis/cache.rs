//! The optional local read cache (a plain TTL, or kept fresh by Redis
//! tracking invalidations), and the store's fencing of it around writes.

use super::RedisStore;
use crate::session::{SessionId, SessionRecord};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Longest a tracked cache entry is kept (a backstop: invalidations are
/// what keep it fresh).
pub(super) const DEFAULT_TRACKED_MAX_AGE: Duration = Duration::from_secs(60);

/// The tracking connection of a store, started on first use.
pub(super) struct Tracking {
    pub(super) tracker: Arc<crate::session::tracking::Tracker>,
    pub(super) client: redis::Client,
    pub(super) started: AtomicBool,
}

/// Most records the optional local read cache holds.
const LOCAL_CACHE_MAX_ENTRIES: usize = 10_000;

/// The optional local read cache. `generation` is bumped by every write or
/// removal of this store, so a load that raced with one never caches what it
/// fetched before it.
#[derive(Default)]
pub(in crate::session) struct LocalCache {
    pub(in crate::session) entries: HashMap<SessionId, (SessionRecord, Instant)>,
    pub(in crate::session) generation: u64,
}

impl LocalCache {
    /// Makes room for one more record when the cache is full: drops the
    /// records older than `ttl` and, if it is still more than seven eighths
    /// full, arbitrary ones down to that (it is only a cache; Redis has
    /// them). The next eighth of the capacity is then inserted without a
    /// pass over the cache: amortized O(1) per insert. (A full cache of
    /// fresh records used to be read whole, a clock reading per record,
    /// under the lock every cached lookup takes, on every insert, and the
    /// new record was not cached.) Whether it passed over the cache.
    pub(in crate::session) fn make_room(&mut self, ttl: Duration) -> bool {
        const KEEP: usize = LOCAL_CACHE_MAX_ENTRIES - LOCAL_CACHE_MAX_ENTRIES / 8;
        if self.entries.len() < LOCAL_CACHE_MAX_ENTRIES {
            return false;
        }
        let now = Instant::now();
        self.entries
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
        let mut excess = self.entries.len().saturating_sub(KEEP);
        if excess > 0 {
            self.entries.retain(|_, _| {
                let keep = excess == 0;
                excess = excess.saturating_sub(1);
                keep
            });
        }
        true
    }
}

impl RedisStore {
    /// Starts the tracking task on first use (it needs a runtime, which
    /// `new` may not have).
    fn start_tracking(&self) {
        if let Some(t) = &self.tracking
            && !t.started.load(Ordering::Relaxed)
            && let Ok(handle) = tokio::runtime::Handle::try_current()
            && !t.started.swap(true, Ordering::AcqRel)
        {
            handle.spawn(crate::session::tracking::run(
                Arc::downgrade(&t.tracker),
                t.client.clone(),
                self.conn.timeout(),
            ));
        }
    }

    /// Whether the local cache may be used now: always for the plain TTL
    /// cache; with tracking, only while invalidations are being received.
    fn cache_usable(&self) -> bool {
        self.tracking.as_ref().is_none_or(|t| t.tracker.healthy())
    }

    fn lock_cache(&self) -> Option<std::sync::MutexGuard<'_, LocalCache>> {
        // A poisoned cache is only a cache: recover its contents.
        self.cache_ttl?;
        Some(self.cache.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Drops `id` from the local cache (and fences concurrent loads).
    pub(super) fn invalidate(&self, id: &SessionId) {
        if let Some(mut cache) = self.lock_cache() {
            cache.generation = cache.generation.wrapping_add(1);
            cache.entries.remove(id);
        }
    }

    /// Drops every cached session of a customer (and fences concurrent loads).
    pub(super) fn forget_customer(&self, account: &str, customer: &str) {
        if let Some(mut cache) = self.lock_cache() {
            cache.generation = cache.generation.wrapping_add(1);
            cache.entries.retain(|_, (r, _)| {
                !(r.account == account && r.customer.as_deref() == Some(customer))
            });
        }
    }

    pub(super) fn cached(&self, id: &SessionId) -> Option<SessionRecord> {
        let ttl = self.cache_ttl?;
        self.start_tracking();
        if !self.cache_usable() {
            return None;
        }
        let cache = self.lock_cache()?;
        let (record, fetched_at) = cache.entries.get(id)?;
        (fetched_at.elapsed() < ttl).then(|| record.clone())
    }

    pub(super) fn cache_generation(&self) -> Option<u64> {
        self.lock_cache().map(|c| c.generation)
    }

    pub(super) fn remember(&self, generation: Option<u64>, record: &SessionRecord) {
        let (Some(generation), Some(ttl)) = (generation, self.cache_ttl) else {
            return;
        };
        if !self.cache_usable() {
            return;
        }
        let Some(mut cache) = self.lock_cache() else {
            return;
        };
        if cache.generation != generation {
            return;
        }
        cache.make_room(ttl);
        cache
            .entries
            .insert(record.id.clone(), (record.clone(), Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SessionRecord {
        SessionRecord::for_tests(u64::MAX)
    }

    /// A stream of fresh records into a full cache: each is cached, the
    /// cache stays within its bound, and it is passed over once per eighth
    /// of its capacity, not once per insert.
    #[test]
    fn a_full_cache_of_fresh_records_makes_room_in_amortized_constant_time() {
        let mut cache = LocalCache::default();
        let ttl = Duration::from_secs(3600);
        let n = 10 * LOCAL_CACHE_MAX_ENTRIES;
        let mut passes = 0;
        for _ in 0..n {
            passes += usize::from(cache.make_room(ttl));
            let r = record();
            cache
                .entries
                .insert(r.id.clone(), (r.clone(), Instant::now()));
            assert!(
                cache.entries.contains_key(&r.id),
                "the new record is cached"
            );
            assert!(cache.entries.len() <= LOCAL_CACHE_MAX_ENTRIES);
        }
        let most = (n - LOCAL_CACHE_MAX_ENTRIES) / (LOCAL_CACHE_MAX_ENTRIES / 8) + 1;
        assert!(passes <= most, "{passes} passes for {n} inserts");
        // Records past the ttl are what goes first.
        let mut cache = LocalCache::default();
        for _ in 0..LOCAL_CACHE_MAX_ENTRIES {
            let r = record();
            cache.entries.insert(r.id.clone(), (r, Instant::now()));
        }
        std::thread::sleep(Duration::from_millis(20));
        let fresh = record();
        cache
            .entries
            .insert(fresh.id.clone(), (fresh.clone(), Instant::now()));
        cache.make_room(Duration::from_millis(10));
        assert_eq!(cache.entries.len(), 1);
        assert!(cache.entries.contains_key(&fresh.id));
    }
}
