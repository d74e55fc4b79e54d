//! Platform state shared through Redis (feature `redis`), so several
//! instances behave as one: failure throttles and client deactivation.
//! (Sessions: `session::RedisStore`; revocations:
//! `revocation::RedisRevocations`; signing keys: `RedisKeyStore`.)

use super::throttle::{MemoryThrottle, Throttle, ThrottleRule};
use crate::authenticator::ClientStatus;
use crate::redis_conn::{RedisConn, RedisError};
use arc_swap::ArcSwap;
use async_trait::async_trait;
use sha2::Digest;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Failure counts in Redis, shared by every instance on the same prefix.
/// Keys are SHA-256 digests of the throttle key (bounded length; no client
/// id or address is written in clear), each expiring with its window. When
/// Redis is unreachable, counting falls back to a local [`MemoryThrottle`]
/// (logged at warn) rather than failing open or locking everyone out.
#[derive(Debug)]
pub struct RedisThrottle {
    conn: RedisConn,
    local: MemoryThrottle,
    script: redis::Script,
    refund: redis::Script,
}

impl RedisThrottle {
    /// A throttle in the Redis at `url`, under `prefix`. Does not connect yet.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, crate::ConfigError> {
        Ok(Self {
            conn: RedisConn::new(url, prefix, timeout).map_err(crate::ConfigError::new)?,
            local: MemoryThrottle::default(),
            script: redis::Script::new(
                "local n = redis.call('INCR', KEYS[1]) \
                 if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
                 return {n, redis.call('PTTL', KEYS[1])}",
            ),
            // Only a live window's count goes down, never below zero.
            refund: redis::Script::new(
                "local n = tonumber(redis.call('GET', KEYS[1]) or '0') \
                 if n > 0 then return redis.call('DECR', KEYS[1]) end \
                 return 0",
            ),
        })
    }

    fn key(&self, key: &[u8], rule: ThrottleRule) -> String {
        let digest = sha2::Sha256::digest(key);
        let mut hex = String::with_capacity(self.conn.prefix.len() + 48);
        hex.push_str(&self.conn.prefix);
        hex.push_str("throttle:");
        for b in digest.iter().take(16) {
            hex.push_str(&format!("{b:02x}"));
        }
        hex.push_str(&format!(":{}", rule.window.as_secs().max(1)));
        hex
    }
}

#[async_trait]
impl Throttle for RedisThrottle {
    async fn check(&self, key: &[u8], rule: ThrottleRule) -> Option<Duration> {
        let k = self.key(key, rule);
        let answer: Result<(Option<u32>, i64), RedisError> = self
            .conn
            .run(|mut c| async move {
                redis::pipe()
                    .get(&k)
                    .cmd("PTTL")
                    .arg(&k)
                    .query_async(&mut c)
                    .await
            })
            .await;
        match answer {
            Ok((count, pttl)) => (count.unwrap_or(0) >= rule.limit).then(|| retry_after(pttl)),
            Err(e) => {
                tracing::warn!(error = %e, "tollgate: redis throttle unavailable; counting locally");
                self.local.check_now(key, rule)
            }
        }
    }

    async fn fail(&self, key: &[u8], rule: ThrottleRule) {
        let _ = self.spend(key, rule).await;
    }

    async fn spend(&self, key: &[u8], rule: ThrottleRule) -> Option<Duration> {
        let k = self.key(key, rule);
        let window_ms = u64::try_from(rule.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let script = &self.script;
        let answer: Result<(u64, i64), RedisError> = self
            .conn
            .run(|mut c| async move { script.key(&k).arg(window_ms).invoke_async(&mut c).await })
            .await;
        match answer {
            Ok((count, pttl)) => (count > u64::from(rule.limit)).then(|| retry_after(pttl)),
            Err(e) => {
                tracing::warn!(error = %e, "tollgate: redis throttle unavailable; counting locally");
                self.local.spend_now(key, rule)
            }
        }
    }

    async fn refund(&self, key: &[u8], rule: ThrottleRule) {
        let k = self.key(key, rule);
        let script = &self.refund;
        let answer: Result<i64, RedisError> = self
            .conn
            .run(|mut c| async move { script.key(&k).invoke_async(&mut c).await })
            .await;
        if let Err(e) = answer {
            tracing::warn!(error = %e, "tollgate: redis throttle unavailable; refunding locally");
            self.local.refund_now(key, rule);
        }
    }
}

/// Whole seconds until a window that has `pttl_ms` left ends (at least 1).
fn retry_after(pttl_ms: i64) -> Duration {
    let ms = u64::try_from(pttl_ms).unwrap_or(0).max(1000);
    Duration::from_secs(ms.div_ceil(1000))
}

/// Client deactivation shared through Redis: a set of deactivated client
/// ids, mirrored into memory so [`ClientStatus::is_active`] stays a lookup on
/// every request (cached tokens included). A deactivation made through any
/// instance is honoured by every instance within one refresh interval (plus
/// a Redis round trip); the instance that deactivates honours it at once.
/// While Redis is unreachable the last mirrored set stays in force.
#[derive(Debug)]
pub struct RedisClientStatus {
    conn: RedisConn,
    deactivated: ArcSwap<HashSet<String>>,
    /// Further status (e.g. the local registry's own flag).
    inner: Option<Arc<dyn ClientStatus>>,
}

impl RedisClientStatus {
    /// Deactivations in the Redis at `url`, under `prefix`, combined with
    /// `inner` (a client is active only if `inner` also says so).
    pub fn new(
        url: &str,
        prefix: &str,
        timeout: Duration,
        inner: Option<Arc<dyn ClientStatus>>,
    ) -> Result<Arc<Self>, crate::ConfigError> {
        Ok(Arc::new(Self {
            conn: RedisConn::new(url, prefix, timeout).map_err(crate::ConfigError::new)?,
            deactivated: ArcSwap::from_pointee(HashSet::new()),
            inner,
        }))
    }

    fn key(&self) -> String {
        format!("{}clients:deactivated", self.conn.prefix)
    }

    /// Deactivates (`active == false`) or reactivates a client everywhere.
    pub async fn set_active(&self, client_id: &str, active: bool) -> Result<(), RedisError> {
        let key = self.key();
        let id = client_id.to_owned();
        self.conn
            .run(|mut c| async move {
                let cmd = if active { "SREM" } else { "SADD" };
                redis::cmd(cmd)
                    .arg(&key)
                    .arg(&id)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await?;
        self.deactivated.rcu(|cur| {
            let mut next = HashSet::clone(cur);
            if active {
                next.remove(client_id);
            } else {
                next.insert(client_id.to_owned());
            }
            next
        });
        Ok(())
    }

    /// Reloads the mirror from Redis.
    pub async fn refresh(&self) -> Result<(), RedisError> {
        let key = self.key();
        let ids: HashSet<String> = self
            .conn
            .run(|mut c| async move { redis::cmd("SMEMBERS").arg(&key).query_async(&mut c).await })
            .await?;
        self.deactivated.store(Arc::new(ids));
        Ok(())
    }

    /// Refreshes every `every` in the background until dropped.
    pub fn spawn_refresher(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        crate::redis_conn::spawn_refresher(self, every)
    }
}

impl crate::redis_conn::Mirror for RedisClientStatus {
    const WHAT: &'static str = "client status";
    fn reload(&self) -> impl Future<Output = Result<(), RedisError>> + Send {
        self.refresh()
    }
}

impl ClientStatus for RedisClientStatus {
    fn is_active(&self, client_id: &str) -> bool {
        !self.deactivated.load().contains(client_id)
            && self.inner.as_ref().is_none_or(|i| i.is_active(client_id))
    }
}
