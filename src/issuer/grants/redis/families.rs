//! [`RedisRefreshTokens`]: refresh-token families in Redis, each state
//! change (start, rotate, revoke, record) one Lua script.

use super::{DEFAULT_TIMEOUT, MAX_KEY_TTL_MS, connect, hex, unavailable};
use crate::issuer::grants::{
    DEFAULT_TOMBSTONE_TTL, Family, FamilyId, GrantStoreError, MAX_SPENT, RefreshStore, Rotation,
    new_refresh_token, now_ms, parse_refresh_token, ttl_ms,
};
use crate::redis_conn::RedisConn;
use async_trait::async_trait;
use std::time::Duration;
use subtle::ConstantTimeEq as _;

/// Family keys outlive the family's expiry by this much (ms), so an expiry
/// is always decided by the stored times, never by a key vanishing early.
const MARGIN_MS: u64 = 60_000;

const START: &str = r"
local s = redis.call('HGET', KEYS[1], 'state')
if s == 'revoked' then return 'revoked' end
if s then return 'exists' end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'live', 'data', ARGV[1], 'client', ARGV[2],
  'abs', ARGV[3], 'idle', ARGV[4], 'last', ARGV[5], 'cur', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 'ok'
";

/// KEYS: family, spent, access tokens. ARGV: presented digest, client id,
/// now (s), next digest, max spent, tombstone ttl (ms), margin (ms), max
/// key ttl (ms).
const ROTATE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'state', 'client', 'abs', 'idle', 'last', 'cur', 'data')
if f[1] ~= 'live' or f[2] ~= ARGV[2] then return {'invalid'} end
local now = tonumber(ARGV[3])
local abs = tonumber(f[3])
local idle = tonumber(f[4])
local last = tonumber(f[5])
if not (abs and idle and last and f[6] and f[7]) then return {'invalid'} end
if now >= abs or now >= last + idle then return {'invalid'} end
local at = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[3], '+inf', 'WITHSCORES')
if f[6] == ARGV[1] then
  redis.call('LPUSH', KEYS[2], f[6])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
  redis.call('HSET', KEYS[1], 'cur', ARGV[4], 'last', ARGV[3])
  local ttl = math.min((math.min(abs, now + idle) - now) * 1000 + tonumber(ARGV[7]), tonumber(ARGV[8]))
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], math.floor(ttl)) end
  return {'rotated', f[7], unpack(at)}
end
local spent = redis.call('LRANGE', KEYS[2], 0, -1)
local hit = false
for _, d in ipairs(spent) do
  if d == ARGV[1] then hit = true end
end
if not hit then return {'invalid'} end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'revoked')
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {'reused', unpack(at)}
";

/// KEYS: family, spent, access tokens. ARGV: now (s), tombstone ttl (ms).
const REVOKE: &str = r"
local at = {}
if redis.call('HGET', KEYS[1], 'state') == 'live' then
  at = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf', 'WITHSCORES')
end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'revoked')
redis.call('PEXPIRE', KEYS[1], ttl)
return at
";

/// KEYS: family, access tokens. ARGV: jti, exp (s), now (s).
const RECORD: &str = r"
local f = redis.call('HMGET', KEYS[1], 'state', 'abs', 'idle', 'last')
if f[1] == 'revoked' then return 'revoked' end
if f[1] ~= 'live' then return 'unknown' end
local now = tonumber(ARGV[3])
local abs = tonumber(f[2])
local idle = tonumber(f[3])
local last = tonumber(f[4])
if not (abs and idle and last) or now >= abs or now >= last + idle then return 'unknown' end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if tonumber(ARGV[2]) > now then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
local left = redis.call('PTTL', KEYS[1])
if left > 0 then redis.call('PEXPIRE', KEYS[2], left) end
return 'ok'
";

/// Refresh-token families in Redis, shared by every instance on the same
/// prefix: a rotation, a reuse or a revocation through one instance is seen
/// by all at once. Keys `<prefix>fam:{<family id>}` (a hash: state, times,
/// client, current digest, the family as started), `…:spent` (spent
/// digests, newest first) and `…:at` (access tokens scored by `exp`), all
/// expiring a minute after the family's idle or absolute expiry; a revoked
/// family leaves a tombstone for its tombstone lifetime.
#[derive(Debug)]
pub struct RedisRefreshTokens {
    conn: RedisConn,
    tombstone_ttl: Duration,
    start: ::redis::Script,
    rotate: ::redis::Script,
    revoke: ::redis::Script,
    record: ::redis::Script,
}

impl RedisRefreshTokens {
    /// Families in the Redis at `url`, under `prefix`, with a 250 ms budget
    /// per call and tombstones kept for [`DEFAULT_TOMBSTONE_TTL`]. Checks
    /// the URL; does not connect yet.
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
            tombstone_ttl: DEFAULT_TOMBSTONE_TTL,
            start: ::redis::Script::new(START),
            rotate: ::redis::Script::new(ROTATE),
            revoke: ::redis::Script::new(REVOKE),
            record: ::redis::Script::new(RECORD),
        })
    }

    /// Keeps a revoked family's tombstone this long (at least 1 ms). It
    /// must exceed the longest code lifetime plus the time an exchange takes.
    #[must_use]
    pub fn tombstone_ttl(mut self, ttl: Duration) -> Self {
        self.tombstone_ttl = ttl;
        self
    }

    /// The family's hash, spent list and access-token set.
    fn keys(&self, id: &FamilyId) -> [String; 3] {
        let base = format!("{}fam:{{{id}}}", self.conn.prefix);
        let spent = format!("{base}:spent");
        let at = format!("{base}:at");
        [base, spent, at]
    }

    fn tombstone_ms(&self) -> u64 {
        ttl_ms(self.tombstone_ttl).min(MAX_KEY_TTL_MS)
    }
}

/// `[jti, exp, jti, exp, …]` (a `WITHSCORES` reply) as pairs.
fn pairs(flat: impl Iterator<Item = String>) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut flat = flat;
    while let (Some(jti), Some(score)) = (flat.next(), flat.next()) {
        let exp = score
            .parse::<u64>()
            .ok()
            .or_else(|| score.parse::<f64>().ok().map(|f| f as u64))
            .unwrap_or(0);
        out.push((jti, exp));
    }
    out
}

#[async_trait]
impl RefreshStore for RedisRefreshTokens {
    async fn start(&self, family: &Family) -> Result<String, GrantStoreError> {
        let (token, digest) = new_refresh_token(&family.id)?;
        let data =
            serde_json::to_string(family).map_err(|e| GrantStoreError::Corrupt(e.to_string()))?;
        let now = now_ms() / 1000;
        let ends = family
            .absolute_expiry
            .min(family.last_used.saturating_add(family.idle_ttl));
        let ttl = ends
            .saturating_sub(now)
            .saturating_mul(1000)
            .saturating_add(MARGIN_MS)
            .min(MAX_KEY_TTL_MS);
        let [k, spent, at] = self.keys(&family.id);
        let mut call = self.start.key(k);
        call.key(spent)
            .key(at)
            .arg(data)
            .arg(&family.client_id)
            .arg(family.absolute_expiry)
            .arg(family.idle_ttl)
            .arg(family.last_used)
            .arg(hex(&digest))
            .arg(ttl);
        let answer: String = self
            .conn
            .run(|mut c| async move { call.invoke_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        match answer.as_str() {
            "ok" => Ok(token),
            "revoked" => Err(GrantStoreError::Revoked),
            _ => Err(GrantStoreError::AlreadyStarted),
        }
    }

    async fn rotate(&self, presented: &str, client_id: &str) -> Result<Rotation, GrantStoreError> {
        let Some((id, digest)) = parse_refresh_token(presented) else {
            return Ok(Rotation::Invalid);
        };
        let (next, next_digest) = new_refresh_token(&id)?;
        let now = now_ms() / 1000;
        let [k, spent, at] = self.keys(&id);
        let mut call = self.rotate.key(k);
        call.key(spent)
            .key(at)
            .arg(hex(&digest))
            .arg(client_id)
            .arg(now)
            .arg(hex(&next_digest))
            .arg(MAX_SPENT)
            .arg(self.tombstone_ms())
            .arg(MARGIN_MS)
            .arg(MAX_KEY_TTL_MS);
        let answer: Vec<String> = self
            .conn
            .run(|mut c| async move { call.invoke_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        let mut answer = answer.into_iter();
        match answer.next().as_deref() {
            Some("rotated") => {
                let data = answer.next().unwrap_or_default();
                let mut family: Family = serde_json::from_str(&data).map_err(|e| {
                    tracing::warn!(family = %id, error = %e, "tollgate: unreadable stored refresh-token family");
                    GrantStoreError::Corrupt(e.to_string())
                })?;
                family.last_used = now;
                family.access_tokens = pairs(answer);
                Ok(Rotation::Rotated {
                    family,
                    refresh_token: next,
                })
            }
            Some("reused") => {
                tracing::debug!(family = %id, client = client_id, "tollgate: refresh token reused; family revoked");
                Ok(Rotation::Reused {
                    family: id,
                    access_tokens: pairs(answer),
                })
            }
            _ => Ok(Rotation::Invalid),
        }
    }

    async fn record_access_token(
        &self,
        family: &FamilyId,
        jti: &str,
        exp: u64,
    ) -> Result<(), GrantStoreError> {
        let [k, _, at] = self.keys(family);
        let mut call = self.record.key(k);
        call.key(at).arg(jti).arg(exp).arg(now_ms() / 1000);
        let answer: String = self
            .conn
            .run(|mut c| async move { call.invoke_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        match answer.as_str() {
            "ok" => Ok(()),
            "revoked" => Err(GrantStoreError::Revoked),
            _ => Err(GrantStoreError::UnknownFamily),
        }
    }

    async fn revoke(&self, family: &FamilyId) -> Result<Vec<(String, u64)>, GrantStoreError> {
        let [k, spent, at] = self.keys(family);
        let mut call = self.revoke.key(k);
        call.key(spent)
            .key(at)
            .arg(now_ms() / 1000)
            .arg(self.tombstone_ms());
        let answer: Vec<String> = self
            .conn
            .run(|mut c| async move { call.invoke_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        Ok(pairs(answer.into_iter()))
    }

    async fn family_of(
        &self,
        presented: &str,
        client_id: &str,
    ) -> Result<Option<FamilyId>, GrantStoreError> {
        let Some((id, digest)) = parse_refresh_token(presented) else {
            return Ok(None);
        };
        let [k, spent, _] = self.keys(&id);
        type Fields = (
            Option<String>,
            Option<String>,
            Option<u64>,
            Option<u64>,
            Option<u64>,
            Option<String>,
        );
        let ((state, client, abs, idle, last, cur), spent): (Fields, Vec<String>) = self
            .conn
            .run(|mut c| async move {
                ::redis::pipe()
                    .atomic()
                    .cmd("HMGET")
                    .arg(&k)
                    .arg(&["state", "client", "abs", "idle", "last", "cur"])
                    .lrange(&spent, 0, -1)
                    .query_async(&mut c)
                    .await
            })
            .await
            .map_err(unavailable)?;
        let (Some("live"), Some(client), Some(abs), Some(idle), Some(last), Some(cur)) =
            (state.as_deref(), client, abs, idle, last, cur)
        else {
            return Ok(None);
        };
        let now = now_ms() / 1000;
        if client != client_id || now >= abs || now >= last.saturating_add(idle) {
            return Ok(None);
        }
        let presented = hex(&digest);
        let mut known = cur.as_bytes().ct_eq(presented.as_bytes());
        for d in &spent {
            known |= d.as_bytes().ct_eq(presented.as_bytes());
        }
        Ok(bool::from(known).then_some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_a_hash_tag() {
        let store = RedisRefreshTokens::new("redis://127.0.0.1:6379", "p:").unwrap();
        let id = FamilyId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let [k, spent, at] = store.keys(&id);
        assert_eq!(k, "p:fam:{AAAAAAAAAAAAAAAAAAAAAA}");
        assert_eq!(spent, "p:fam:{AAAAAAAAAAAAAAAAAAAAAA}:spent");
        assert_eq!(at, "p:fam:{AAAAAAAAAAAAAAAAAAAAAA}:at");
    }

    #[test]
    fn score_pairs_parse() {
        let flat = ["a", "10", "b", "1e3", "c"].map(String::from);
        assert_eq!(
            pairs(flat.into_iter()),
            vec![("a".to_owned(), 10), ("b".to_owned(), 1000)]
        );
    }
}
