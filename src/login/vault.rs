//! The token vault: the upstream access and refresh tokens of each login
//! session, kept server-side and keyed by session id (never in the session
//! record, a cookie or a URL).

use super::bounded::BoundedTtlMap;
use crate::session::{SessionId, StoreError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Default capacity of [`MemoryTokenVault`].
pub const DEFAULT_MAX_VAULT_ENTRIES: usize = 100_000;

/// The upstream tokens of one session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The access token (secret).
    pub access_token: String,
    /// When the access token expires, ms since the epoch.
    pub access_expires_at_ms: u64,
    /// The refresh token (secret), if one was issued.
    pub refresh_token: Option<String>,
    /// The customer the tokens were issued for.
    pub customer: String,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("access_expires_at_ms", &self.access_expires_at_ms)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Storage for [`StoredTokens`], one entry per session.
#[async_trait]
pub trait TokenVault: Send + Sync + fmt::Debug + 'static {
    /// Stores (or replaces) the tokens of `session` for `ttl`.
    async fn put(
        &self,
        session: &SessionId,
        tokens: &StoredTokens,
        ttl: Duration,
    ) -> Result<(), StoreError>;
    /// The tokens of `session`.
    async fn get(&self, session: &SessionId) -> Result<Option<StoredTokens>, StoreError>;
    /// Removes and returns the tokens of `session`.
    async fn take(&self, session: &SessionId) -> Result<Option<StoredTokens>, StoreError>;
}

/// Tokens in memory, bounded (the soonest-expiring entry is evicted when
/// full). For one process and tests.
#[derive(Debug)]
pub struct MemoryTokenVault {
    map: BoundedTtlMap<StoredTokens>,
}

impl MemoryTokenVault {
    /// A vault holding at most `capacity` sessions' tokens.
    pub fn new(capacity: usize) -> Self {
        Self {
            map: BoundedTtlMap::new(capacity),
        }
    }
}

impl Default for MemoryTokenVault {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_VAULT_ENTRIES)
    }
}

#[async_trait]
impl TokenVault for MemoryTokenVault {
    async fn put(
        &self,
        session: &SessionId,
        tokens: &StoredTokens,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = crate::session::now_ms();
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.map.insert(
            session.as_str(),
            tokens.clone(),
            now.saturating_add(ttl),
            now,
        );
        Ok(())
    }

    async fn get(&self, session: &SessionId) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.map.get(session.as_str(), crate::session::now_ms()))
    }

    async fn take(&self, session: &SessionId) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.map.take(session.as_str(), crate::session::now_ms()))
    }
}

#[cfg(feature = "redis")]
pub use redis_impl::RedisTokenVault;

#[cfg(feature = "redis")]
mod redis_impl {
    use super::*;
    use crate::redis_conn::RedisConn;

    /// Tokens in Redis, one key per session (SHA-256 of the session id),
    /// expiring with the session. Anyone who can read this Redis can read
    /// the tokens: protect it as you protect the session store.
    #[derive(Debug)]
    pub struct RedisTokenVault {
        conn: RedisConn,
    }

    impl RedisTokenVault {
        /// A vault in the Redis at `url`, keys under `prefix`. Does not connect yet.
        pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, crate::ConfigError> {
            Ok(Self {
                conn: RedisConn::new(url, prefix, timeout).map_err(crate::ConfigError::new)?,
            })
        }

        fn key(&self, session: &SessionId) -> String {
            super::super::digest_key(&self.conn.prefix, "login:tokens:", session.as_str())
        }
    }

    fn parse(raw: Option<String>) -> Result<Option<StoredTokens>, StoreError> {
        raw.map(|r| {
            serde_json::from_str(&r)
                .map_err(|_| StoreError::Backend("stored tokens are malformed".into()))
        })
        .transpose()
    }

    #[async_trait]
    impl TokenVault for RedisTokenVault {
        async fn put(
            &self,
            session: &SessionId,
            tokens: &StoredTokens,
            ttl: Duration,
        ) -> Result<(), StoreError> {
            let key = self.key(session);
            let value = serde_json::to_string(tokens)
                .map_err(|_| StoreError::Backend("serializing tokens failed".into()))?;
            let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            self.conn
                .run(|mut c| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(&value)
                        .arg("PX")
                        .arg(ttl)
                        .query_async::<()>(&mut c)
                        .await
                })
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        }

        async fn get(&self, session: &SessionId) -> Result<Option<StoredTokens>, StoreError> {
            let key = self.key(session);
            let raw: Option<String> = self
                .conn
                .run(|mut c| async move { redis::cmd("GET").arg(&key).query_async(&mut c).await })
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            parse(raw)
        }

        async fn take(&self, session: &SessionId) -> Result<Option<StoredTokens>, StoreError> {
            let key = self.key(session);
            let raw: Option<String> = self
                .conn
                .run(
                    |mut c| async move { redis::cmd("GETDEL").arg(&key).query_async(&mut c).await },
                )
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            parse(raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_vault_round_trip_and_redaction() {
        let v = MemoryTokenVault::new(8);
        let sid = SessionId::generate().unwrap();
        let t = StoredTokens {
            access_token: "at-secret".into(),
            access_expires_at_ms: 5,
            refresh_token: Some("rt-secret".into()),
            customer: "c".into(),
        };
        v.put(&sid, &t, Duration::from_secs(60)).await.unwrap();
        assert_eq!(v.get(&sid).await.unwrap(), Some(t.clone()));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        assert_eq!(v.take(&sid).await.unwrap(), Some(t));
        assert_eq!(v.get(&sid).await.unwrap(), None);
    }
}
