//! [`RedisRevocations`]: a revocation list shared through Redis and mirrored
//! into memory, so the per-request check stays a lookup.
//!
//! Layout (under the key prefix): `revoked:jti`, a sorted set of `jti`s
//! scored by the token's `exp` (entries past it are dropped); `revoked:cust`,
//! a hash of customer key → cut-off (seconds).

use super::{AuthContext, RevocationSet, RevocationView, Revocations, customer_key, now_secs};
use crate::redis_conn::{RedisConn, RedisError};
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::time::Duration;

/// Name → seconds pairs as Redis returns them.
type Pairs = Vec<(String, u64)>;

/// A shared revocation list. A revocation made through any instance is
/// honoured by every instance within one refresh interval (plus a Redis
/// round trip); the instance that revokes honours it at once. While Redis
/// is unreachable the last mirrored list stays in force.
#[derive(Debug)]
pub struct RedisRevocations {
    conn: RedisConn,
    mirror: ArcSwap<RevocationSet>,
}

impl RedisRevocations {
    /// A list in the Redis at `url`, under `prefix` (e.g. `tollgate:`), with
    /// `timeout` per call. Does not connect yet.
    pub fn new(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Arc<Self>, crate::ConfigError> {
        let conn = RedisConn::new(url, prefix, timeout).map_err(crate::ConfigError::new)?;
        Ok(Arc::new(Self {
            conn,
            mirror: ArcSwap::from_pointee(RevocationSet::default()),
        }))
    }

    fn jti_key(&self) -> String {
        format!("{}revoked:jti", self.conn.prefix)
    }

    fn cust_key(&self) -> String {
        format!("{}revoked:cust", self.conn.prefix)
    }

    fn apply_locally(&self, f: impl Fn(&mut RevocationSet)) {
        self.mirror.rcu(|cur| {
            let mut next = RevocationSet::clone(cur);
            f(&mut next);
            next
        });
    }

    /// Revokes the token with `jti` until `expires_at` (seconds).
    pub async fn revoke_jti(&self, jti: &str, expires_at: u64) -> Result<(), RedisError> {
        let key = self.jti_key();
        let jti_owned = jti.to_owned();
        self.conn
            .run(|mut c| async move {
                redis::cmd("ZADD")
                    .arg(&key)
                    .arg(expires_at)
                    .arg(&jti_owned)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await?;
        self.apply_locally(|s| {
            s.jtis.insert(jti.to_owned(), expires_at);
        });
        Ok(())
    }

    /// Revokes every token of `customer` issued at or before `before`.
    pub async fn revoke_customer_before(
        &self,
        account: &str,
        customer: &str,
        before: u64,
    ) -> Result<(), RedisError> {
        let key = self.cust_key();
        let field = customer_key(account, customer);
        let f2 = field.clone();
        // Keep the later cut-off if two instances race.
        let script = redis::Script::new(
            "local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') \
             if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1",
        );
        self.conn
            .run(|mut c| async move {
                script
                    .key(&key)
                    .arg(&f2)
                    .arg(before)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await?;
        self.apply_locally(|s| {
            let e = s.customers.entry(field.clone()).or_insert(0);
            *e = (*e).max(before);
        });
        Ok(())
    }

    /// Reloads the mirror from Redis (dropping expired `jti`s there too).
    pub async fn refresh(&self) -> Result<(), RedisError> {
        let (jkey, ckey) = (self.jti_key(), self.cust_key());
        let now = now_secs();
        let (jtis, customers): (Pairs, Pairs) = self
            .conn
            .run(|mut c| async move {
                redis::pipe()
                    .cmd("ZREMRANGEBYSCORE")
                    .arg(&jkey)
                    .arg("-inf")
                    .arg(now)
                    .ignore()
                    .cmd("ZRANGE")
                    .arg(&jkey)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .cmd("HGETALL")
                    .arg(&ckey)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        self.mirror.store(Arc::new(RevocationSet {
            jtis: jtis.into_iter().collect(),
            customers: customers.into_iter().collect(),
        }));
        Ok(())
    }

    /// Refreshes the mirror every `every` in the background, until the list
    /// is dropped. Failures keep the last mirror and are logged at warn.
    pub fn spawn_refresher(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        crate::redis_conn::spawn_refresher(self, every)
    }
}

impl crate::redis_conn::Mirror for RedisRevocations {
    const WHAT: &'static str = "revocation list";
    fn reload(&self) -> impl Future<Output = Result<(), RedisError>> + Send {
        self.refresh()
    }
}

impl Revocations for RedisRevocations {
    fn is_revoked(&self, ctx: &AuthContext) -> bool {
        self.mirror.load().revokes(&RevocationView::of(ctx))
    }
}

#[async_trait::async_trait]
impl super::RevocationWriter for RedisRevocations {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), super::RevokeError> {
        self.revoke_jti(jti, expires_at)
            .await
            .map_err(|e| super::RevokeError(e.to_string()))
    }
    async fn revoke_customer(
        &self,
        account: &str,
        customer: &str,
        before: u64,
    ) -> Result<(), super::RevokeError> {
        self.revoke_customer_before(account, customer, before)
            .await
            .map_err(|e| super::RevokeError(e.to_string()))
    }
}
