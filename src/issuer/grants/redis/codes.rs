//! [`RedisCodes`]: authorization codes in Redis, each redeemed once across
//! every instance (one Lua script).

use super::{DEFAULT_TIMEOUT, MAX_KEY_TTL_MS, connect, hex, unavailable};
use crate::issuer::grants::{
    CodeGrant, CodeStore, FamilyId, GrantStoreError, Redeemed, parse_code, random_secret, ttl_ms,
};
use crate::redis_conn::RedisConn;
use async_trait::async_trait;
use std::time::Duration;

const REDEEM: &str = r"
local r = redis.call('HMGET', KEYS[1], 'fam', 'grant')
if not r[1] then return false end
if not r[2] then return {r[1]} end
redis.call('HDEL', KEYS[1], 'grant')
return {r[1], r[2]}
";

/// Authorization codes in Redis, shared by every instance on the same
/// prefix: a code issued through one instance is redeemed once, through
/// any. Key `<prefix>code:<hex sha256 of the code>`, a hash of `fam` and
/// `grant` (JSON, deleted on redemption: what is left is the used marker),
/// expiring with the code.
#[derive(Debug)]
pub struct RedisCodes {
    conn: RedisConn,
    redeem: ::redis::Script,
}

impl RedisCodes {
    /// Codes in the Redis at `url`, under `prefix`, with a 250 ms budget
    /// per call. Checks the URL; does not connect yet.
    pub fn new(url: &str, prefix: &str) -> Result<Self, crate::ConfigError> {
        Self::with_timeout(url, prefix, DEFAULT_TIMEOUT)
    }

    /// As [`new`](Self::new), with a time budget of `timeout` per call.
    pub fn with_timeout(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, crate::ConfigError> {
        Ok(Self {
            conn: connect(url, prefix, timeout)?,
            redeem: ::redis::Script::new(REDEEM),
        })
    }

    fn key(&self, digest: &[u8; 32]) -> String {
        format!("{}code:{}", self.conn.prefix, hex(digest))
    }
}

#[async_trait]
impl CodeStore for RedisCodes {
    async fn issue(&self, grant: &CodeGrant, ttl: Duration) -> Result<String, GrantStoreError> {
        let code = random_secret()?;
        let family = FamilyId::generate()?;
        let Some(digest) = parse_code(&code) else {
            return Err(GrantStoreError::Rng);
        };
        let data =
            serde_json::to_string(grant).map_err(|e| GrantStoreError::Corrupt(e.to_string()))?;
        let key = self.key(&digest);
        let ms = ttl_ms(ttl).min(MAX_KEY_TTL_MS);
        self.conn
            .run(|mut c| async move {
                ::redis::pipe()
                    .atomic()
                    .hset_multiple(&key, &[("fam", family.as_str()), ("grant", &data)])
                    .ignore()
                    .pexpire(&key, i64::try_from(ms).unwrap_or(i64::MAX))
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
            .map_err(unavailable)?;
        Ok(code)
    }

    async fn redeem(&self, code: &str) -> Result<Redeemed, GrantStoreError> {
        let Some(digest) = parse_code(code) else {
            return Ok(Redeemed::Unknown);
        };
        let call = self.redeem.key(self.key(&digest));
        let answer: Option<Vec<String>> = self
            .conn
            .run(|mut c| async move { call.invoke_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        let Some(answer) = answer else {
            return Ok(Redeemed::Unknown);
        };
        let mut parts = answer.into_iter();
        let family = parts
            .next()
            .and_then(|f| FamilyId::parse(&f))
            .ok_or_else(|| GrantStoreError::Corrupt("code without a family id".into()))?;
        match parts.next() {
            None => Ok(Redeemed::Replayed { family }),
            Some(data) => {
                let grant = serde_json::from_str(&data).map_err(|e| {
                    tracing::warn!(error = %e, "tollgate: unreadable stored authorization code");
                    GrantStoreError::Corrupt(e.to_string())
                })?;
                Ok(Redeemed::Fresh { grant, family })
            }
        }
    }
}
