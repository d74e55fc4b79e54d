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
        if cache.entries.len() >= LOCAL_CACHE_MAX_ENTRIES {
            cache.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if cache.entries.len() >= LOCAL_CACHE_MAX_ENTRIES {
                return;
            }
        }
        cache
            .entries
            .insert(record.id.clone(), (record.clone(), Instant::now()));
    }
}
