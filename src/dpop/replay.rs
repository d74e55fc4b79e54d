//! The `jti` replay cache of DPoP proofs (RFC 9449 §11.1): a proof's `jti`,
//! scoped to the proof key's thumbprint, is accepted once within the window
//! its `iat` is accepted in.
//!
//! [`MemoryReplayCache`] (the default) serves one process; `RedisReplayCache`
//! (feature `redis`) shares the cache between instances (`SET key NX PX`), so
//! a proof replayed against another instance is refused too.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A proof's identity in the replay cache: SHA-256 of the key thumbprint and
/// the `jti`, so a `jti` is scoped per key and entries have a fixed size.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplayKey(pub(crate) [u8; 32]);

impl ReplayKey {
    /// The key for proof `jti` signed by the key with thumbprint `jkt`.
    pub fn new(jkt: &str, jti: &str) -> Self {
        let mut h = Sha256::new();
        h.update(jkt.as_bytes());
        h.update([0u8]);
        h.update(jti.as_bytes());
        Self(h.finalize().into())
    }

    /// The key as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplayKey(..)")
    }
}

/// Why the replay cache could not answer (its store is unreachable). The
/// request is then refused with 503, never let through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DPoP replay cache unavailable: {0}")]
pub struct ReplayCacheError(pub String);

/// Remembers proof `jti`s for a window.
#[async_trait::async_trait]
pub trait ReplayCache: Send + Sync + fmt::Debug + 'static {
    /// Records `key` for `ttl`: `Ok(true)` when it was not seen within its
    /// window (the proof is fresh), `Ok(false)` when it was (a replay).
    async fn insert(&self, key: ReplayKey, ttl: Duration) -> Result<bool, ReplayCacheError>;

    /// The same without waiting, for caches that answer in memory; `None`
    /// (the default) sends the request down the asynchronous path.
    fn try_insert(&self, key: ReplayKey, ttl: Duration) -> Option<Result<bool, ReplayCacheError>> {
        let _ = (key, ttl);
        None
    }
}

/// Default capacity of [`MemoryReplayCache`]: proofs remembered at once.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// An in-process replay cache with a fixed capacity.
///
/// Entries expire after their window; when the cache is full, the oldest
/// entry is dropped first (with a window of 2 × 60 s, the default capacity
/// covers a sustained 800 proofs per second). Dropping an entry before it
/// expires could let that one proof be replayed: size the capacity for the
/// peak rate × the window, or share a `RedisReplayCache`.
pub struct MemoryReplayCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    seen: HashMap<ReplayKey, Instant>,
    order: VecDeque<(Instant, ReplayKey)>,
}

impl MemoryReplayCache {
    /// A cache holding at most `capacity` proofs (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Entries::default()),
        }
    }

    /// Proofs remembered now.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |e| e.seen.len())
    }

    /// Whether no proof is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert_now(&self, key: ReplayKey, ttl: Duration) -> bool {
        let now = Instant::now();
        let Ok(mut e) = self.inner.lock() else {
            // A poisoned lock: refuse rather than let a replay through.
            return false;
        };
        // Drop expired entries from the front (the queue is in insertion
        // order; a stale queue entry for a re-inserted key is skipped).
        while let Some(&(expiry, k)) = e.order.front() {
            if expiry > now {
                break;
            }
            e.order.pop_front();
            if e.seen.get(&k).is_some_and(|x| *x <= now) {
                e.seen.remove(&k);
            }
        }
        if let Some(expiry) = e.seen.get(&key)
            && *expiry > now
        {
            return false;
        }
        while e.seen.len() >= self.capacity {
            let Some((_, k)) = e.order.pop_front() else {
                break;
            };
            if e.seen.remove(&k).is_some() {
                tracing::warn!("tollgate: DPoP replay cache full; dropping an unexpired entry");
            }
        }
        let expiry = now + ttl;
        e.seen.insert(key, expiry);
        e.order.push_back((expiry, key));
        true
    }
}

impl Default for MemoryReplayCache {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl fmt::Debug for MemoryReplayCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[async_trait::async_trait]
impl ReplayCache for MemoryReplayCache {
    async fn insert(&self, key: ReplayKey, ttl: Duration) -> Result<bool, ReplayCacheError> {
        Ok(self.insert_now(key, ttl))
    }

    fn try_insert(&self, key: ReplayKey, ttl: Duration) -> Option<Result<bool, ReplayCacheError>> {
        Some(Ok(self.insert_now(key, ttl)))
    }
}

#[cfg(feature = "redis")]
pub use self::redis_cache::RedisReplayCache;

#[cfg(feature = "redis")]
mod redis_cache {
    use super::{ReplayCache, ReplayCacheError, ReplayKey};
    use crate::redis_conn::RedisConn;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::sync::Arc;
    use std::time::Duration;

    /// A replay cache shared through Redis: one `SET key 1 NX PX window` per
    /// proof, under `prefix` + `dpop:`. While Redis is unreachable, requests
    /// with proofs are answered 503 (a replay is never let through).
    #[derive(Debug)]
    pub struct RedisReplayCache {
        conn: RedisConn,
    }

    impl RedisReplayCache {
        /// A cache in the Redis at `url`, under `prefix` (e.g. `tollgate:`),
        /// with `timeout` per call. Does not connect yet.
        pub fn new(
            url: &str,
            prefix: &str,
            timeout: Duration,
        ) -> Result<Arc<Self>, crate::ConfigError> {
            let conn = RedisConn::new(url, prefix, timeout).map_err(crate::ConfigError::new)?;
            Ok(Arc::new(Self { conn }))
        }
    }

    #[async_trait::async_trait]
    impl ReplayCache for RedisReplayCache {
        async fn insert(&self, key: ReplayKey, ttl: Duration) -> Result<bool, ReplayCacheError> {
            let name = format!("{}dpop:{}", self.conn.prefix, URL_SAFE_NO_PAD.encode(key.0));
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let set: Option<String> = self
                .conn
                .run(|mut c| async move {
                    redis::cmd("SET")
                        .arg(&name)
                        .arg(1)
                        .arg("NX")
                        .arg("PX")
                        .arg(ms)
                        .query_async(&mut c)
                        .await
                })
                .await
                .map_err(|e| ReplayCacheError(e.to_string()))?;
            Ok(set.is_some())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_window_and_bounded() {
        let c = MemoryReplayCache::new(2);
        let ttl = Duration::from_secs(60);
        let a = ReplayKey::new("k", "a");
        assert!(c.insert_now(a, ttl));
        assert!(!c.insert_now(a, ttl));
        // Same jti, another key: a different proof.
        assert!(c.insert_now(ReplayKey::new("k2", "a"), ttl));
        assert!(c.insert_now(ReplayKey::new("k", "b"), ttl));
        assert_eq!(c.len(), 2);
        let short = ReplayKey::new("k", "short");
        assert!(c.insert_now(short, Duration::from_millis(1)));
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.insert_now(short, ttl), "an expired entry is forgotten");
    }
}
