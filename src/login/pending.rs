//! Pending logins: what `/login` remembers for `/callback` (state, PKCE
//! verifier, nonce), server-side, keyed by the random id in the short-lived
//! pending-login cookie, and taken exactly once.

use super::bounded::BoundedTtlMap;
use crate::session::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// How long a login may take between `/login` and `/callback` (10 min).
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// Default capacity of [`MemoryPendingLogins`].
pub const DEFAULT_MAX_PENDING: usize = 10_000;

/// One login in progress.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The `state` sent to the authorization server.
    pub state: String,
    /// The PKCE code verifier (secret).
    pub pkce_verifier: String,
    /// The OIDC `nonce`.
    pub nonce: String,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("created_at_ms", &self.created_at_ms)
            .finish_non_exhaustive()
    }
}

/// Storage for pending logins. `take` must be single-use: two callbacks
/// with the same cookie get the entry at most once.
#[async_trait]
pub trait PendingLogins: Send + Sync + fmt::Debug + 'static {
    /// Stores `login` under `id` for `ttl`.
    async fn put(&self, id: &str, login: &PendingLogin, ttl: Duration) -> Result<(), StoreError>;
    /// Removes and returns the live entry under `id`.
    async fn take(&self, id: &str) -> Result<Option<PendingLogin>, StoreError>;
}

/// Pending logins in memory: bounded (oldest-expiring evicted when full),
/// each entry expiring after its TTL. For one process and tests.
#[derive(Debug)]
pub struct MemoryPendingLogins {
    map: BoundedTtlMap<PendingLogin>,
}

impl MemoryPendingLogins {
    /// A store holding at most `capacity` pending logins.
    pub fn new(capacity: usize) -> Self {
        Self {
            map: BoundedTtlMap::new(capacity),
        }
    }
}

impl Default for MemoryPendingLogins {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_PENDING)
    }
}

#[async_trait]
impl PendingLogins for MemoryPendingLogins {
    async fn put(&self, id: &str, login: &PendingLogin, ttl: Duration) -> Result<(), StoreError> {
        let now = crate::session::now_ms();
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.map
            .insert(id, login.clone(), now.saturating_add(ttl), now);
        Ok(())
    }

    async fn take(&self, id: &str) -> Result<Option<PendingLogin>, StoreError> {
        Ok(self.map.take(id, crate::session::now_ms()))
    }
}

#[cfg(feature = "redis")]
pub use redis_impl::RedisPendingLogins;

#[cfg(feature = "redis")]
mod redis_impl {
    use super::*;
    use crate::redis_conn::RedisConn;

    /// Pending logins in Redis (`SET … PX … NX`, taken with `GETDEL`, so a
    /// callback is single-use across instances). Keys are SHA-256 digests
    /// of the cookie's id. Needs Redis ≥ 6.2.
    #[derive(Debug)]
    pub struct RedisPendingLogins {
        conn: RedisConn,
    }

    impl RedisPendingLogins {
        /// A store in the Redis at `url`, keys under `prefix`. Does not connect yet.
        pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, crate::ConfigError> {
            Ok(Self {
                conn: RedisConn::new(url, prefix, timeout).map_err(crate::ConfigError::new)?,
            })
        }

        fn key(&self, id: &str) -> String {
            super::super::digest_key(&self.conn.prefix, "login:pending:", id)
        }
    }

    #[async_trait]
    impl PendingLogins for RedisPendingLogins {
        async fn put(
            &self,
            id: &str,
            login: &PendingLogin,
            ttl: Duration,
        ) -> Result<(), StoreError> {
            let key = self.key(id);
            let value = serde_json::to_string(login)
                .map_err(|_| StoreError::Backend("serializing a pending login failed".into()))?;
            let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let set: Option<String> = self
                .conn
                .run(|mut c| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(&value)
                        .arg("PX")
                        .arg(ttl)
                        .arg("NX")
                        .query_async(&mut c)
                        .await
                })
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            if set.is_none() {
                return Err(StoreError::Backend("pending login id collision".into()));
            }
            Ok(())
        }

        async fn take(&self, id: &str) -> Result<Option<PendingLogin>, StoreError> {
            let key = self.key(id);
            let raw: Option<String> = self
                .conn
                .run(
                    |mut c| async move { redis::cmd("GETDEL").arg(&key).query_async(&mut c).await },
                )
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            raw.map(|r| {
                serde_json::from_str(&r)
                    .map_err(|_| StoreError::Backend("a stored pending login is malformed".into()))
            })
            .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_is_single_use_and_redacts() {
        let s = MemoryPendingLogins::new(4);
        let p = PendingLogin {
            state: "st".into(),
            pkce_verifier: "verifier-secret".into(),
            nonce: "n".into(),
            created_at_ms: 1,
        };
        s.put("id", &p, PENDING_TTL).await.unwrap();
        assert!(!format!("{p:?}").contains("verifier-secret"));
        assert_eq!(s.take("id").await.unwrap(), Some(p));
        assert_eq!(s.take("id").await.unwrap(), None);
        s.put(
            "gone",
            &PendingLogin {
                state: String::new(),
                pkce_verifier: String::new(),
                nonce: String::new(),
                created_at_ms: 0,
            },
            Duration::ZERO,
        )
        .await
        .unwrap();
        assert_eq!(s.take("gone").await.unwrap(), None, "expired");
    }
}
