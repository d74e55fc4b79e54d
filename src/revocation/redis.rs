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
    /// The list as the last refresh read it.
    mirror: ArcSwap<RevocationSet>,
    /// Revocations made through this instance that a refresh has not yet
    /// read back. Each one copies only this small set (the mirror was
    /// copied whole before: a flood of revocations was quadratic). Kept
    /// apart so that a refresh whose read began before a revocation cannot
    /// drop it (the mirror is replaced; this is not).
    recent: ArcSwap<RevocationSet>,
    /// One refresh at a time, so that an older read never replaces a newer.
    refreshing: tokio::sync::Mutex<()>,
}

/// Revocations made here since the last refresh, past which a revocation
/// reads the list back first (so that they stay few without a refresher).
const MAX_RECENT: usize = 1024;

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
            recent: ArcSwap::from_pointee(RevocationSet::default()),
            refreshing: tokio::sync::Mutex::new(()),
        }))
    }

    fn jti_key(&self) -> String {
        format!("{}revoked:jti", self.conn.prefix)
    }

    fn cust_key(&self) -> String {
        format!("{}revoked:cust", self.conn.prefix)
    }

    /// Records a revocation made here (after Redis has it). With
    /// [`MAX_RECENT`] of them unread, the list is read back first; if that
    /// read fails they are kept (the revocation is honoured either way).
    async fn apply_locally(&self, f: impl Fn(&mut RevocationSet)) {
        if recent_len(&self.recent.load()) >= MAX_RECENT
            && let Err(e) = self.refresh().await
        {
            tracing::warn!(error = %e, "tollgate: could not read the revocation list back");
        }
        self.recent.rcu(|cur| {
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
        })
        .await;
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
        })
        .await;
        Ok(())
    }

    /// Reloads the mirror from Redis (dropping there the `jti`s no
    /// verifier can accept any more: past `exp` by more than
    /// [`MAX_LEEWAY_SECS`](crate::config::MAX_LEEWAY_SECS)).
    pub async fn refresh(&self) -> Result<(), RedisError> {
        let _one = self.refreshing.lock().await;
        // What was revoked here before the read: Redis had it by then.
        let read_back = self.recent.load_full();
        let (jkey, ckey) = (self.jti_key(), self.cust_key());
        let purge_before = now_secs().saturating_sub(crate::config::MAX_LEEWAY_SECS);
        let (jtis, customers): (Pairs, Pairs) = self
            .conn
            .run(|mut c| async move {
                redis::pipe()
                    .cmd("ZREMRANGEBYSCORE")
                    .arg(&jkey)
                    .arg("-inf")
                    .arg(format!("({purge_before}"))
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
        // The mirror now holds what was read back; later ones stay.
        if recent_len(&read_back) > 0 {
            self.recent.rcu(|cur| {
                let mut next = RevocationSet::clone(cur);
                next.jtis
                    .retain(|jti, exp| read_back.jtis.get(jti) != Some(exp));
                next.customers
                    .retain(|key, before| read_back.customers.get(key) != Some(before));
                next
            });
        }
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

fn recent_len(set: &RevocationSet) -> usize {
    set.jtis.len() + set.customers.len()
}

impl Revocations for RedisRevocations {
    fn is_revoked(&self, ctx: &AuthContext) -> bool {
        let view = RevocationView::of(ctx);
        if self.mirror.load().revokes(&view) {
            return true;
        }
        let recent = self.recent.load();
        recent_len(&recent) > 0 && recent.revokes(&view)
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
